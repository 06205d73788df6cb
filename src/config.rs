//! Typed settings, read once from the environment (and a `.env` file in the working
//! directory) and passed down. Secrets are never printed: `Debug` hides the token.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::domain::ResponseWindow;
use crate::domain::reconcile::MatchRules;

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
    pub learning: LearningSettings,
}

/// How learning looks at the data.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningSettings {
    /// Weeks of items the patterns are computed over (`LEARNING_LOOKBACK_WEEKS`).
    pub lookback_weeks: u32,
    /// What candidates are called in messages (`CANDIDATE_LABEL`, "V4").
    pub candidate_label: String,
}

impl Default for LearningSettings {
    fn default() -> Self {
        Self {
            lookback_weeks: 8,
            candidate_label: "V4".to_owned(),
        }
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
            .field("learning", &self.learning)
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
        let defaults = MatchRules::default();
        let rules = MatchRules {
            window: ResponseWindow {
                weekdays_after: number(
                    &get,
                    "RESPONSE_WINDOW_WEEKDAYS",
                    defaults.window.weekdays_after,
                    0,
                    20,
                )?,
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
        let learning = LearningSettings {
            lookback_weeks: number(&get, "LEARNING_LOOKBACK_WEEKS", 8, 1, 104)?,
            candidate_label: get("CANDIDATE_LABEL").unwrap_or_else(|| "V4".to_owned()),
        };
        Ok(Self {
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://rlhf.db".to_owned()),
            token: get("TELOXIDE_TOKEN"),
            api_url: get("TELOXIDE_API_URL"),
            allowed_user_ids,
            tz,
            rules,
            learning,
        })
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
}
