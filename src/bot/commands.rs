//! The chat commands (their doc comments are the `/help` text and the Telegram menu) and
//! the parsing of their arguments into domain types.
//!
//! Each command takes the rest of its line as one string, parsed here, so that a wrong
//! argument gets a specific one-line explanation with an example instead of teloxide's
//! generic parse error.

use chrono::NaiveDate;
use teloxide::utils::command::BotCommands;

use super::keyboards::MatchesQuery;
use crate::domain::{MatchType, ReasonCode, Symbol};
use crate::learning::candidates::Decision;
use crate::learning::summary::Week;

/// Everything the trader can type.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// Start here: what this bot does.
    Start(String),
    /// The commands and their arguments.
    Help(String),
    /// Your numeric Telegram id (for ALLOWED_USER_IDS).
    Myid(String),
    /// Matches: [from=DATE] [to=DATE] [type=T] [symbol=S].
    Matches(String),
    /// One match with its outcomes: ID.
    Match(String),
    /// Record why you diverged: ID CODE [TEXT].
    Reason(String),
    /// Reconcile a day now: DATE.
    Reconcile(String),
    /// Track outcomes as of a day: DATE.
    Track(String),
    /// Weekly summaries: [YEAR].
    Summaries(String),
    /// One weekly summary: YEAR WEEK.
    Summary(String),
    /// Generate a weekly summary: YEAR WEEK.
    Generate(String),
    /// Mark a weekly summary reviewed: YEAR WEEK.
    Review(String),
    /// Proposed algorithm changes.
    Candidates(String),
    /// Decide on a candidate: ID implement|defer|reject [REASON].
    Decide(String),
    /// Divergence rate over time: [DAYS].
    Divergence(String),
    /// Algorithm accuracy, followed vs diverged: [DAYS].
    Accuracy(String),
    /// Most common modifications: [DAYS].
    Modifications(String),
    /// A chart: divergence | pnl [DAYS].
    Chart(String),
    /// Stop what the bot is waiting for.
    Cancel(String),
}

/// A wrong argument: what is wrong, and an example of a right one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct ArgError {
    pub problem: String,
    pub example: &'static str,
}

/// The trader's input as an error quotes it: cut to [`MAX_ECHO`](super::messages::MAX_ECHO)
/// characters, so a pasted page does not come back whole.
fn shown(s: &str) -> String {
    super::messages::clip(s, super::messages::MAX_ECHO)
}

fn wrong(problem: impl Into<String>, example: &'static str) -> ArgError {
    ArgError {
        problem: problem.into(),
        example,
    }
}

/// Days an analytics command covers when none is given.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest analytics window.
pub const MAX_DAYS: u32 = 3650;
/// Days a chart covers when none is given.
pub const CHART_DAYS: u32 = 182;

/// The period an analytics command or a chart covers: the last N days up to today, or
/// the days from one date to another (a kept database dated in the past shows its
/// numbers with dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    /// From a date to another, or to today when `to` is `None`.
    Dates {
        from: NaiveDate,
        to: Option<NaiveDate>,
    },
}

impl From<u32> for Period {
    fn from(days: u32) -> Self {
        Period::Days(days)
    }
}

impl Period {
    /// The days it covers, with `today` in the schedule zone: `FROM` alone runs to
    /// today, so only now can it be checked that it is not after today and spans at
    /// most [`MAX_DAYS`] days, as `FROM TO` is when parsed. The error's example is the
    /// analytics commands'; `/chart` puts its own.
    pub fn range(self, today: NaiveDate) -> Result<crate::learning::DayRange, ArgError> {
        match self {
            Period::Days(days) => Ok(crate::learning::DayRange::last_days(days, today)),
            Period::Dates { from, to: Some(to) } => {
                check_span(from, to, &to.to_string(), EX_DAYS)?;
                Ok(crate::learning::DayRange::new(from, to))
            }
            Period::Dates { from, to: None } => {
                check_span(from, today, &format!("today ({today})"), EX_DAYS)?;
                Ok(crate::learning::DayRange::new(from, today))
            }
        }
    }

    /// "last 30 days", "2025-01-06 to 2025-02-28", "since 2025-01-06".
    pub fn label(self) -> String {
        match self {
            Period::Days(days) => format!("last {days} days"),
            Period::Dates { from, to: Some(to) } => format!("{from} to {to}"),
            Period::Dates { from, to: None } => format!("since {from}"),
        }
    }

    /// The label after "in": "the last 30 days", "2025-01-06 to 2025-02-28".
    pub fn within(self) -> String {
        match self {
            Period::Days(_) => format!("the {}", self.label()),
            _ => self.label(),
        }
    }
}

/// Which chart `/chart` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Divergence,
    Pnl,
}

const EX_MATCHES: &str = "/matches from=2025-01-01 type=modify symbol=AAPL";
const EX_MATCH: &str = "/match 12";
const EX_REASON: &str = "/reason 12 timing   or   /reason 12 other waiting for CPI";
const EX_DATE_RECONCILE: &str = "/reconcile 2025-01-31";
const EX_DATE_TRACK: &str = "/track 2025-01-31";
const EX_WEEK: &str = "/summary 2025 5";
const EX_DAYS: &str = "/divergence 90";
const EX_DECIDE: &str = "/decide 3 defer waiting for more data";
pub const EX_CHART: &str = "/chart pnl 90";

/// `/matches` arguments: `key=value` pairs, or bare words (a date is `from` then `to`, a
/// match type is `type`, anything else a symbol).
pub fn parse_matches(args: &str) -> Result<MatchesQuery, ArgError> {
    let mut q = MatchesQuery::default();
    for word in args.split_whitespace() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (Some(k.to_ascii_lowercase()), v),
            None => (None, word),
        };
        match key.as_deref() {
            Some("from") => q.from = Some(date(value, EX_MATCHES)?),
            Some("to") => q.to = Some(date(value, EX_MATCHES)?),
            Some("type") => q.match_type = Some(match_type(value)?),
            Some("symbol") => q.symbol = Some(symbol(value)?),
            Some(other) => {
                return Err(wrong(
                    format!(
                        "`{}` is not a filter (use from, to, type or symbol)",
                        shown(other)
                    ),
                    EX_MATCHES,
                ));
            }
            None => {
                if let Ok(d) = crate::import::values::date(value) {
                    if q.from.is_none() {
                        q.from = Some(d);
                    } else {
                        q.to = Some(d);
                    }
                } else if let Ok(t) = value.parse::<MatchType>() {
                    q.match_type = Some(t);
                } else {
                    q.symbol = Some(symbol(value)?);
                }
            }
        }
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(wrong(format!("from {f} is after to {t}"), EX_MATCHES));
    }
    Ok(q)
}

/// `/match ID`.
pub fn parse_match_id(args: &str) -> Result<i64, ArgError> {
    let mut words = args.split_whitespace();
    let id = words
        .next()
        .ok_or_else(|| wrong("give the match id", EX_MATCH))?;
    let id = row_id(id, "match", EX_MATCH)?;
    if words.next().is_some() {
        return Err(wrong("give only the match id", EX_MATCH));
    }
    Ok(id)
}

/// `/reason ID CODE [TEXT]`: the match id, the code and the optional text (checked by
/// `Reason::new` later).
pub fn parse_reason(args: &str) -> Result<(i64, ReasonCode, Option<String>), ArgError> {
    let args = args.trim();
    let (id, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    if id.is_empty() {
        return Err(wrong("give the match id and a reason code", EX_REASON));
    }
    let id = row_id(id, "match", EX_REASON)?;
    let rest = rest.trim();
    let (code, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if code.is_empty() {
        return Err(wrong("give a reason code after the match id", EX_REASON));
    }
    let code = code
        .parse::<ReasonCode>()
        .map_err(|e| wrong(unknown(e).to_string(), EX_REASON))?;
    let text = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    Ok((id, code, text))
}

/// `/reconcile DATE`.
pub fn parse_reconcile_day(args: &str) -> Result<NaiveDate, ArgError> {
    one_date(args, EX_DATE_RECONCILE)
}

/// `/track DATE`.
pub fn parse_track_day(args: &str) -> Result<NaiveDate, ArgError> {
    one_date(args, EX_DATE_TRACK)
}

/// `YEAR WEEK` (ISO week) for summaries; also `2025-W05`.
pub fn parse_week(args: &str) -> Result<Week, ArgError> {
    let words: Vec<&str> = args
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .collect();
    let [year, week] = words.as_slice() else {
        return Err(wrong("give the year and the ISO week number", EX_WEEK));
    };
    let year: i32 = year
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| wrong(format!("`{}` is not a year", shown(year)), EX_WEEK))?;
    let week_s = week.trim_start_matches(['W', 'w']);
    week_s
        .parse()
        .ok()
        .and_then(|w| Week::new(year, w).ok())
        .ok_or_else(|| {
            wrong(
                format!("`{}` is not a week of {year}", shown(week)),
                EX_WEEK,
            )
        })
}

/// `/summaries [YEAR]`.
pub fn parse_optional_year(args: &str) -> Result<Option<i32>, ArgError> {
    let args = args.trim();
    if args.is_empty() {
        return Ok(None);
    }
    args.parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .map(Some)
        .ok_or_else(|| {
            wrong(
                format!("`{}` is not a year", shown(args)),
                "/summaries 2025",
            )
        })
}

/// `[DAYS]` of the analytics commands, 1 to [`MAX_DAYS`], default [`DEFAULT_DAYS`].
pub fn parse_days(args: &str) -> Result<u32, ArgError> {
    let args = args.trim();
    if args.is_empty() {
        return Ok(DEFAULT_DAYS);
    }
    args.parse()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d))
        .ok_or_else(|| {
            wrong(
                format!(
                    "`{}` is not a number of days from 1 to {MAX_DAYS}",
                    shown(args)
                ),
                EX_DAYS,
            )
        })
}

/// An analytics period: nothing (the last [`DEFAULT_DAYS`] days), `DAYS`, `FROM` or
/// `FROM TO` (dates, `YYYY-MM-DD`).
pub fn parse_period(args: &str) -> Result<Period, ArgError> {
    period_or(args, DEFAULT_DAYS, EX_DAYS)
}

fn period_or(args: &str, default: u32, example: &'static str) -> Result<Period, ArgError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let is_date = |w: &str| w.contains('-');
    match words.as_slice() {
        [] => Ok(Period::Days(default)),
        [one] if !is_date(one) => parse_days(one).map(Period::Days),
        [from] => Ok(Period::Dates {
            from: date(from, example)?,
            to: None,
        }),
        [from, to] => {
            let (from, to) = (date(from, example)?, date(to, example)?);
            check_span(from, to, &to.to_string(), example)?;
            Ok(Period::Dates { from, to: Some(to) })
        }
        _ => Err(wrong(
            "give a number of days, or a first and a last date",
            example,
        )),
    }
}

/// A period from `from` to `to` (called `end` in the error) is in order and spans at
/// most [`MAX_DAYS`] days.
fn check_span(
    from: NaiveDate,
    to: NaiveDate,
    end: &str,
    example: &'static str,
) -> Result<(), ArgError> {
    if from > to {
        return Err(wrong(format!("{from} is after {end}"), example));
    }
    if (to - from).num_days() >= i64::from(MAX_DAYS) {
        return Err(wrong(
            format!("a period may span at most {MAX_DAYS} days"),
            example,
        ));
    }
    Ok(())
}

/// `/decide ID implement|defer|reject [REASON]`.
pub fn parse_decide(args: &str) -> Result<(i64, Decision, Option<String>), ArgError> {
    let mut words = args.split_whitespace();
    let id = words
        .next()
        .ok_or_else(|| wrong("give the candidate id and a decision", EX_DECIDE))?;
    let id = row_id(id, "candidate", EX_DECIDE)?;
    let decision = words
        .next()
        .ok_or_else(|| wrong("give a decision: implement, defer or reject", EX_DECIDE))?;
    let decision = decision.parse::<Decision>().map_err(|_| {
        wrong(
            format!(
                "`{}` is not a decision (implement, defer or reject)",
                shown(decision)
            ),
            EX_DECIDE,
        )
    })?;
    let text = words.collect::<Vec<_>>().join(" ");
    Ok((id, decision, Some(text).filter(|t| !t.is_empty())))
}

/// `/chart divergence|pnl [DAYS | FROM [TO]]` (days default [`CHART_DAYS`]).
pub fn parse_chart_period(args: &str) -> Result<(ChartKind, Period), ArgError> {
    let (first, rest) = args
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((args.trim(), ""));
    let (kind, _) = parse_chart(first)?;
    Ok((kind, period_or(rest, CHART_DAYS, EX_CHART)?))
}

/// `/chart divergence|pnl [DAYS]` (days default [`CHART_DAYS`]).
pub fn parse_chart(args: &str) -> Result<(ChartKind, u32), ArgError> {
    let mut words = args.split_whitespace();
    let kind = match words.next().map(str::to_ascii_lowercase).as_deref() {
        Some("divergence") => ChartKind::Divergence,
        Some("pnl" | "p&l") => ChartKind::Pnl,
        None => return Err(wrong("say which chart: divergence or pnl", EX_CHART)),
        Some(other) => {
            return Err(wrong(
                format!("`{}` is not a chart (divergence or pnl)", shown(other)),
                EX_CHART,
            ));
        }
    };
    let days = words.collect::<Vec<_>>().join(" ");
    let days = if days.is_empty() {
        CHART_DAYS
    } else {
        parse_days(&days)?
    };
    Ok((kind, days))
}

fn one_date(args: &str, example: &'static str) -> Result<NaiveDate, ArgError> {
    let args = args.trim();
    if args.is_empty() {
        return Err(wrong("give the day as YYYY-MM-DD", example));
    }
    date(args, example)
}

fn date(s: &str, example: &'static str) -> Result<NaiveDate, ArgError> {
    crate::import::values::date(s).map_err(|_| {
        wrong(
            format!("`{}` is not a date (YYYY-MM-DD)", shown(s)),
            example,
        )
    })
}

fn match_type(s: &str) -> Result<MatchType, ArgError> {
    s.parse()
        .map_err(|e| wrong(unknown(e).to_string(), EX_MATCHES))
}

/// An unknown name, quoting no more of the input than [`shown`] does.
fn unknown(mut e: crate::domain::UnknownName) -> crate::domain::UnknownName {
    e.value = shown(&e.value);
    e
}

fn symbol(s: &str) -> Result<Symbol, ArgError> {
    Symbol::parse(s)
        .map_err(|_| wrong(format!("`{}` is not a ticker symbol", shown(s)), EX_MATCHES))
}

fn row_id(s: &str, what: &str, example: &'static str) -> Result<i64, ArgError> {
    s.trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            wrong(
                format!("`{}` is not a {what} id (a positive number)", shown(s)),
                example,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn matches_filters_parse_as_pairs_or_bare_words() {
        let q = parse_matches("from=2025-01-01 to=2025-01-31 type=modify symbol=aapl").unwrap();
        assert_eq!(q.from, Some(day("2025-01-01")));
        assert_eq!(q.to, Some(day("2025-01-31")));
        assert_eq!(q.match_type, Some(MatchType::Modify));
        assert_eq!(q.symbol.unwrap().as_str(), "AAPL");
        let q = parse_matches("2025-01-01 2025-01-31 reject TSLA").unwrap();
        assert_eq!(q.to, Some(day("2025-01-31")));
        assert_eq!(q.match_type, Some(MatchType::Reject));
        assert_eq!(parse_matches("").unwrap(), MatchesQuery::default());
    }

    #[test]
    fn a_first_date_alone_runs_to_today_within_the_longest_period() {
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let since = |args: &str| parse_period(args).unwrap().range(today);
        assert_eq!(
            since("2026-01-01").unwrap(),
            crate::learning::DayRange::new("2026-01-01".parse().unwrap(), today)
        );
        assert_eq!(since("2026-12-01").unwrap().days(), 1);
        let e = since("2026-12-02").unwrap_err();
        assert_eq!(e.problem, "2026-12-02 is after today (2026-12-01)");
        assert_eq!(e.example, EX_DAYS);
        assert!(since("2016-12-04").is_ok(), "3,650 days, today included");
        let e = since("2016-12-03").unwrap_err();
        assert_eq!(e.problem, "a period may span at most 3650 days");
        assert!(since("0001-01-01").is_err());
        assert_eq!(since("90").unwrap().days(), 90);
    }

    #[test]
    fn wrong_arguments_say_what_is_wrong_with_an_example() {
        let cases: Vec<(Result<(), ArgError>, &str)> = vec![
            (parse_matches("from=2025-13-01").map(drop), "not a date"),
            (parse_matches("type=maybe").map(drop), "not a match type"),
            (parse_matches("colour=red").map(drop), "not a filter"),
            (parse_matches("2025-02-01 2025-01-01").map(drop), "is after"),
            (parse_matches("$$$").map(drop), "not a ticker"),
            (parse_match_id("").map(drop), "give the match id"),
            (parse_match_id("abc").map(drop), "not a match id"),
            (parse_match_id("-3").map(drop), "not a match id"),
            (parse_match_id("3 4").map(drop), "only the match id"),
            (parse_reason("12").map(drop), "give a reason code"),
            (parse_reason("12 bored").map(drop), "not a reason code"),
            (parse_reconcile_day("").map(drop), "YYYY-MM-DD"),
            (parse_track_day("yesterday").map(drop), "not a date"),
            (parse_week("2025").map(drop), "year and the ISO week"),
            (parse_week("2025 54").map(drop), "not a week of 2025"),
            (parse_days("0").map(drop), "number of days"),
            (parse_decide("3 maybe").map(drop), "not a decision"),
            (parse_chart("pie").map(drop), "not a chart"),
        ];
        for (result, expected) in cases {
            let e = result.unwrap_err();
            assert!(e.problem.contains(expected), "{e:?} should say {expected}");
            assert!(e.example.starts_with('/'), "{e:?}");
            assert!(!e.problem.contains('\n'));
        }
    }

    #[test]
    fn reason_text_is_the_rest_of_the_line() {
        assert_eq!(
            parse_reason("12 other  waiting for CPI ").unwrap(),
            (12, ReasonCode::Other, Some("waiting for CPI".to_owned()))
        );
        assert_eq!(
            parse_reason("#7 premium_low").unwrap(),
            (7, ReasonCode::PremiumLow, None)
        );
    }

    #[test]
    fn weeks_days_and_charts_parse() {
        assert_eq!(parse_week("2025 5").unwrap(), Week::new(2025, 5).unwrap());
        assert_eq!(parse_week("2025-W05").unwrap(), Week::new(2025, 5).unwrap());
        assert_eq!(parse_days("").unwrap(), DEFAULT_DAYS);
        assert_eq!(parse_days("90").unwrap(), 90);
        assert_eq!(parse_chart(" PnL ").unwrap(), (ChartKind::Pnl, CHART_DAYS));
        assert_eq!(
            parse_chart("divergence 90").unwrap(),
            (ChartKind::Divergence, 90)
        );
    }

    /// As in the import (found by fuzzing `import::values`): a year is four digits, so
    /// a typo such as `20250-01-31` is refused instead of read as the year 20250.
    #[test]
    fn dates_need_a_four_digit_year() {
        for args in ["20250-01-31", "-5-01-31", "+2025-01-31"] {
            assert!(parse_reconcile_day(args).is_err(), "{args}");
            assert!(parse_period(args).is_err(), "{args}");
        }
        assert!(parse_matches("from=20250-01-01").is_err());
        assert_eq!(parse_track_day("2025-01-31").unwrap(), day("2025-01-31"));
    }
}
