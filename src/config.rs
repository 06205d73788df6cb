//! Typed settings, read once from the environment (and a `.env` file in the working
//! directory) and passed down. Secrets are never printed: `Debug` hides the token.

use std::fmt;
use std::str::FromStr;

use chrono::Weekday;
use chrono_tz::Tz;

use crate::domain::ResponseWindow;
use crate::domain::reconcile::MatchRules;
use crate::domain::schedule::SlotSpec;
use crate::learning::LearningConfig;
use crate::store::RetryPolicy;

/// A setting that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{name} is `{value}`, {why}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub why: String,
}

/// Everything the program can be configured with.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub token: Option<String>,
    pub api_url: Option<String>,
    pub allowed_user_ids: Vec<i64>,
    pub tz: Tz,
    pub rules: MatchRules,
    /// When the scheduled jobs run and how they are retried.
    pub schedule: ScheduleSettings,
    /// Webhook mode when set; long polling otherwise.
    pub webhook: Option<WebhookSettings>,
    /// How long one Bot API request may take before it counts as failed.
    pub send_timeout: std::time::Duration,
    /// How learning looks at the data (learning's own config, built here).
    pub learning: LearningConfig,
    /// What the settings had to say about themselves (a deprecated name in use), for
    /// the log once it is set up.
    pub warnings: Vec<String>,
    /// The HTTP API.
    pub api: ApiSettings,
}

/// The HTTP API's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// `API_LISTEN`: where the API listens (`serve`, and `run` when set).
    pub listen: Option<std::net::SocketAddr>,
    /// `API_BODY_LIMIT_KB`: the largest request body taken, in bytes.
    pub body_limit: usize,
    /// `API_TIMEOUT_SECS`: how long one request may take before it is answered 503.
    pub timeout: std::time::Duration,
    /// `API_RATE_PER_SECOND`: requests per second one token may make, sustained.
    pub rate_per_second: u32,
    /// `API_RATE_BURST`: requests one token may make at once before the rate applies.
    pub rate_burst: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            listen: None,
            body_limit: 16 * 1024 * 1024,
            timeout: std::time::Duration::from_secs(30),
            rate_per_second: 50,
            rate_burst: 200,
        }
    }
}

/// The scheduler's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// `RECONCILE_AT`, default Mon–Fri 21:00.
    pub reconcile_at: SlotSpec,
    /// `TRACK_AT`, default Mon–Fri 22:00.
    pub track_at: SlotSpec,
    /// `SUMMARY_AT`, default Sat 09:00.
    pub summary_at: SlotSpec,
    /// `CATCH_UP_HOURS`: how late a run missed while the bot was down may still start.
    pub catch_up: chrono::Duration,
    /// `JOB_MAX_ATTEMPTS`, `JOB_RETRY_MINUTES`, `JOB_LEASE_MINUTES`.
    pub policy: RetryPolicy,
}

/// Webhook mode: Telegram posts updates to `url`, the bot listens on `listen`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_URL`: the public HTTPS URL Telegram calls.
    pub url: String,
    /// `WEBHOOK_LISTEN`: the local address to listen on (default `0.0.0.0:8443`).
    pub listen: std::net::SocketAddr,
    /// `WEBHOOK_SECRET`: checked against Telegram's `X-Telegram-Bot-Api-Secret-Token`.
    pub secret: String,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("listen", &self.listen)
            .field("secret", &"<set>")
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("api_url", &self.api_url)
            .field("allowed_user_ids", &self.allowed_user_ids)
            .field("tz", &self.tz)
            .field("rules", &self.rules)
            .field("schedule", &self.schedule)
            .field("webhook", &self.webhook)
            .field("send_timeout", &self.send_timeout)
            .field("learning", &self.learning)
            .field("warnings", &self.warnings)
            .field("api", &self.api)
            .finish()
    }
}

/// The database URL without a password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

impl Settings {
    /// Reads the settings from the process environment, after loading `.env` if present.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let tz = match get("SCHEDULE_TZ") {
            None => chrono_tz::America::Los_Angeles,
            Some(v) => v.parse::<Tz>().map_err(|_| ConfigError {
                name: "SCHEDULE_TZ",
                value: v.clone(),
                why: "not an IANA time zone (e.g. America/Los_Angeles)".to_owned(),
            })?,
        };
        let allowed_user_ids = match get("ALLOWED_USER_IDS") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>().map_err(|_| ConfigError {
                        name: "ALLOWED_USER_IDS",
                        value: v.clone(),
                        why: format!("`{s}` is not a numeric Telegram user id"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut warnings = Vec::new();
        let defaults = MatchRules::default();
        let rules = MatchRules {
            window: ResponseWindow {
                sessions_after: response_window_sessions(
                    &get,
                    defaults.window.sessions_after,
                    &mut warnings,
                )?,
                calendar: defaults.window.calendar.clone(),
            },
            strike_tolerance_bp: number(
                &get,
                "MATCH_STRIKE_TOLERANCE_BP",
                defaults.strike_tolerance_bp,
                0,
                10_000,
            )?,
            dte_tolerance_days: number(
                &get,
                "MATCH_DTE_TOLERANCE_DAYS",
                defaults.dte_tolerance_days,
                0,
                365,
            )?,
            contracts_tolerance: number(
                &get,
                "MATCH_CONTRACTS_TOLERANCE",
                defaults.contracts_tolerance,
                0,
                1000,
            )?,
        };
        const WEEKDAYS: [Weekday; 5] = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let spec = |name: &'static str, default: &str, days: &[Weekday]| {
            let value = get(name).unwrap_or_else(|| default.to_owned());
            SlotSpec::parse(&value, days).map_err(|e| ConfigError {
                name,
                value: value.clone(),
                why: format!("{e} (e.g. `21:00` for Mon–Fri, `Sat 09:00`, `Mon-Fri 21:00`)"),
            })
        };
        let defaults = RetryPolicy::default();
        let schedule = ScheduleSettings {
            reconcile_at: spec("RECONCILE_AT", "21:00", &WEEKDAYS)?,
            track_at: spec("TRACK_AT", "22:00", &WEEKDAYS)?,
            summary_at: spec("SUMMARY_AT", "Sat 09:00", &[Weekday::Sat])?,
            catch_up: chrono::Duration::hours(number(&get, "CATCH_UP_HOURS", 12, 0, 24 * 7)?),
            policy: RetryPolicy {
                max_attempts: number(&get, "JOB_MAX_ATTEMPTS", defaults.max_attempts, 1, 20)?,
                backoff: chrono::Duration::minutes(number(
                    &get,
                    "JOB_RETRY_MINUTES",
                    defaults.backoff.num_minutes(),
                    1,
                    24 * 60,
                )?),
                lease: chrono::Duration::minutes(number(
                    &get,
                    "JOB_LEASE_MINUTES",
                    defaults.lease.num_minutes(),
                    1,
                    24 * 60,
                )?),
            },
        };
        let webhook = match get("WEBHOOK_URL") {
            None => None,
            Some(url) => {
                if !url.starts_with("https://") && !url.starts_with("http://") {
                    return Err(ConfigError {
                        name: "WEBHOOK_URL",
                        value: url,
                        why: "expected the public https:// URL Telegram should call".to_owned(),
                    });
                }
                let listen_text =
                    get("WEBHOOK_LISTEN").unwrap_or_else(|| "0.0.0.0:8443".to_owned());
                let listen = listen_text.parse().map_err(|_| ConfigError {
                    name: "WEBHOOK_LISTEN",
                    value: listen_text.clone(),
                    why: "expected an address and port such as 0.0.0.0:8443".to_owned(),
                })?;
                let secret = get("WEBHOOK_SECRET").ok_or_else(|| ConfigError {
                    name: "WEBHOOK_SECRET",
                    value: String::new(),
                    why:
                        "must be set with WEBHOOK_URL (1–256 characters of A–Z, a–z, 0–9, _ and -)"
                            .to_owned(),
                })?;
                let secret_ok = (1..=256).contains(&secret.len())
                    && secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !secret_ok {
                    return Err(ConfigError {
                        name: "WEBHOOK_SECRET",
                        value: "<hidden>".to_owned(),
                        why: "must be 1–256 characters of A–Z, a–z, 0–9, _ and -".to_owned(),
                    });
                }
                Some(WebhookSettings {
                    url,
                    listen,
                    secret,
                })
            }
        };
        let learning = LearningConfig {
            lookback_weeks: number(&get, "LEARNING_LOOKBACK_WEEKS", 8, 1, 104)?,
            candidate_label: get("CANDIDATE_LABEL").unwrap_or_else(|| "V4".to_owned()),
            ..LearningConfig::default()
        };
        let defaults = ApiSettings::default();
        let api = ApiSettings {
            listen: match get("API_LISTEN") {
                None => None,
                Some(v) => Some(v.parse().map_err(|_| ConfigError {
                    name: "API_LISTEN",
                    value: v.clone(),
                    why: "expected an address and port such as 127.0.0.1:8080".to_owned(),
                })?),
            },
            body_limit: number(
                &get,
                "API_BODY_LIMIT_KB",
                defaults.body_limit / 1024,
                1,
                1024 * 1024,
            )? * 1024,
            timeout: std::time::Duration::from_secs(number(
                &get,
                "API_TIMEOUT_SECS",
                defaults.timeout.as_secs(),
                1,
                3600,
            )?),
            rate_per_second: number(
                &get,
                "API_RATE_PER_SECOND",
                defaults.rate_per_second,
                1,
                1_000_000,
            )?,
            rate_burst: number(&get, "API_RATE_BURST", defaults.rate_burst, 1, 1_000_000)?,
        };
        Ok(Self {
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://rlhf.db".to_owned()),
            token: get("TELOXIDE_TOKEN"),
            api_url: get("TELOXIDE_API_URL"),
            allowed_user_ids,
            tz,
            rules,
            schedule,
            webhook,
            send_timeout: std::time::Duration::from_secs(number(
                &get,
                "SEND_TIMEOUT_SECS",
                30,
                // Long polling asks Telegram to hold getUpdates for 10 s.
                15,
                600,
            )?),
            learning,
            warnings,
            api,
        })
    }
}

/// `RESPONSE_WINDOW_SESSIONS`, or the name it had when windows counted weekdays
/// (`RESPONSE_WINDOW_WEEKDAYS`, still read, with a deprecation line for the log).
fn response_window_sessions(
    get: &impl Fn(&str) -> Option<String>,
    default: u32,
    warnings: &mut Vec<String>,
) -> Result<u32, ConfigError> {
    const NAME: &str = "RESPONSE_WINDOW_SESSIONS";
    const OLD_NAME: &str = "RESPONSE_WINDOW_WEEKDAYS";
    match (get(NAME), get(OLD_NAME)) {
        (Some(_), Some(_)) => {
            warnings.push(format!(
                "{OLD_NAME} is deprecated and ignored: {NAME} is set"
            ));
            number(get, NAME, default, 0, 20)
        }
        (None, Some(_)) => {
            warnings.push(format!(
                "{OLD_NAME} is deprecated: response windows count trading sessions now; \
                 rename it to {NAME}"
            ));
            number(get, OLD_NAME, default, 0, 20)
        }
        _ => number(get, NAME, default, 0, 20),
    }
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(ConfigError {
                name,
                value: v,
                why: format!("expected a whole number from {min} to {max}"),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url, "sqlite://rlhf.db");
        assert_eq!(s.tz, chrono_tz::America::Los_Angeles);
        assert!(s.allowed_user_ids.is_empty());
        assert_eq!(s.rules, MatchRules::default());
        assert_eq!(
            s.schedule.reconcile_at.to_string(),
            "Mon,Tue,Wed,Thu,Fri 21:00"
        );
        assert_eq!(s.schedule.track_at.to_string(), "Mon,Tue,Wed,Thu,Fri 22:00");
        assert_eq!(s.schedule.summary_at.to_string(), "Sat 09:00");
        assert_eq!(s.schedule.catch_up, chrono::Duration::hours(12));
        assert!(s.webhook.is_none());
        assert_eq!(s.api, ApiSettings::default());
    }

    #[test]
    fn api_settings_are_read_and_checked() {
        let s = settings(&[
            ("API_LISTEN", "127.0.0.1:9000"),
            ("API_BODY_LIMIT_KB", "64"),
            ("API_RATE_PER_SECOND", "5"),
        ])
        .unwrap();
        assert_eq!(s.api.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(s.api.body_limit, 64 * 1024);
        assert_eq!(s.api.rate_per_second, 5);
        let e = settings(&[("API_LISTEN", "localhost")]).unwrap_err();
        assert_eq!(e.name, "API_LISTEN");
        let e = settings(&[("API_RATE_BURST", "0")]).unwrap_err();
        assert_eq!(e.name, "API_RATE_BURST");
    }

    #[test]
    fn schedule_and_webhook_settings_are_read_and_checked() {
        let s = settings(&[
            ("RECONCILE_AT", "Mon-Sat 20:30"),
            ("CATCH_UP_HOURS", "3"),
            ("WEBHOOK_URL", "https://bot.example.com/tg"),
            ("WEBHOOK_SECRET", "s3cret_value"),
        ])
        .unwrap();
        assert_eq!(s.schedule.reconcile_at.days.len(), 6);
        assert_eq!(s.schedule.catch_up, chrono::Duration::hours(3));
        let w = s.webhook.clone().unwrap();
        assert_eq!(w.listen.to_string(), "0.0.0.0:8443");
        assert!(!format!("{s:?}").contains("s3cret_value"));
        let e = settings(&[("SUMMARY_AT", "Saturday morning")]).unwrap_err();
        assert_eq!(e.name, "SUMMARY_AT");
        let e = settings(&[("WEBHOOK_URL", "https://bot.example.com/tg")]).unwrap_err();
        assert_eq!(e.name, "WEBHOOK_SECRET");
        let e = settings(&[
            ("WEBHOOK_URL", "https://bot.example.com/tg"),
            ("WEBHOOK_SECRET", "has spaces"),
        ])
        .unwrap_err();
        assert!(!e.to_string().contains("has spaces"));
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let e = settings(&[("SCHEDULE_TZ", "Mars/Olympus")]).unwrap_err();
        assert_eq!(e.name, "SCHEDULE_TZ");
        let e = settings(&[("ALLOWED_USER_IDS", "12, abc")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("`abc` is not a numeric Telegram user id")
        );
        let e = settings(&[("RESPONSE_WINDOW_WEEKDAYS", "-1")]).unwrap_err();
        assert_eq!(e.name, "RESPONSE_WINDOW_WEEKDAYS");
        let e = settings(&[("RESPONSE_WINDOW_SESSIONS", "x")]).unwrap_err();
        assert_eq!(e.name, "RESPONSE_WINDOW_SESSIONS");
    }

    #[test]
    fn the_window_counts_sessions_and_the_old_name_still_works_with_a_warning() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.rules.window.sessions_after, 1);
        assert_eq!(
            s.rules.window.calendar,
            crate::domain::TradingCalendar::nyse()
        );
        assert!(s.warnings.is_empty());
        let s = settings(&[("RESPONSE_WINDOW_SESSIONS", "2")]).unwrap();
        assert_eq!(s.rules.window.sessions_after, 2);
        assert!(s.warnings.is_empty());
        let s = settings(&[("RESPONSE_WINDOW_WEEKDAYS", "3")]).unwrap();
        assert_eq!(s.rules.window.sessions_after, 3);
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("RESPONSE_WINDOW_WEEKDAYS is deprecated"));
        assert!(s.warnings[0].contains("RESPONSE_WINDOW_SESSIONS"));
        let s = settings(&[
            ("RESPONSE_WINDOW_SESSIONS", "2"),
            ("RESPONSE_WINDOW_WEEKDAYS", "5"),
        ])
        .unwrap();
        assert_eq!(s.rules.window.sessions_after, 2);
        assert!(s.warnings[0].contains("ignored"));
    }

    #[test]
    fn the_token_and_password_never_print() {
        let s = settings(&[
            ("TELOXIDE_TOKEN", "123:SECRET"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("SECRET"));
        assert!(!shown.contains("pw@"));
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://rlhf.db"), "sqlite://rlhf.db");
        assert_eq!(s.allowed_user_ids, Vec::<i64>::new());
    }

    #[test]
    fn env_example_documents_every_setting_and_its_values_are_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example");
        let example: HashMap<String, String> = dotenvy::from_path_iter(path)
            .expect(".env.example exists")
            .map(|kv| kv.expect("a valid .env line"))
            .collect();
        let text = std::fs::read_to_string(path).unwrap();
        let source = include_str!("config.rs");
        let source = &source[..source.find("#[cfg(test)]").unwrap_or(source.len())];
        // Every quoted NAME the settings read (`"SCHEDULE_TZ"`) is in the example.
        let names: Vec<&str> = source
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                w.len() > 4
                    && w.contains('_')
                    && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .collect();
        assert!(names.len() > 15, "{names:?}");
        for name in names {
            assert!(
                text.contains(name),
                "{name} is not documented in .env.example"
            );
        }
        let s = Settings::from_lookup(|k| example.get(k).cloned()).expect("the example is valid");
        assert_eq!(s.schedule.summary_at.to_string(), "Sat 09:00");
    }
}
