//! Query parameters and path segments into domain values, once, at the edge: each bad
//! value is a 422 naming its parameter. Cursors are opaque to clients: the key of the
//! last row of a page, base64url-encoded.

use base64::Engine;
use chrono::NaiveDate;

use super::problem::ApiError;
use crate::domain::{AccountId, Week};
use crate::store::{CandidateKey, MatchKey, Scope, SummaryKey};

/// Rows per page unless `limit` says otherwise, and the most `limit` may say.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A day as `YYYY-MM-DD` (exactly: a four-digit year).
pub fn day(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let parsed = (value.len() == 10)
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten();
    parsed.ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("`{value}` is not a date (expected YYYY-MM-DD, e.g. 2025-01-02)"),
        )
    })
}

/// An optional day.
pub fn opt_day(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    value.map(|v| day(field, v)).transpose()
}

/// A whole number from `min` to `max`.
pub fn number(field: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            field,
            format!("`{value}` is not a whole number from {min} to {max}"),
        )),
    }
}

/// `limit`: rows per page.
pub fn limit(value: Option<&str>) -> Result<i64, ApiError> {
    value.map_or(Ok(DEFAULT_LIMIT), |v| number("limit", v, 1, MAX_LIMIT))
}

/// An ISO year as the API takes it.
pub fn year(field: &str, value: &str) -> Result<i32, ApiError> {
    number(field, value, 1, 9999).map(|y| y as i32)
}

/// An ISO week that exists.
pub fn week(year: i32, week: u32) -> Result<Week, ApiError> {
    Week::new(year, week).map_err(|e| ApiError::invalid("week", e.to_string()))
}

/// A named value (match type, reason code, decision…), spelled exactly as the contract
/// spells it (the command line also takes `No-Action`; the API takes what its document
/// lists).
pub fn named<T>(field: &str, value: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let parsed: T = value
        .parse()
        .map_err(|e: T::Err| ApiError::invalid(field, e.to_string()))?;
    if parsed.to_string() != value {
        return Err(ApiError::invalid(
            field,
            format!("`{value}` is not spelled as the API takes it (write `{parsed}`)"),
        ));
    }
    Ok(parsed)
}

/// The scope of a request: the token's account, or — for a token of every account —
/// the one `account` names (all when none). A token for one account naming another
/// answers 404, as another account's ids do.
pub fn scope(token: Scope, account: Option<&str>) -> Result<Scope, ApiError> {
    let Some(given) = account else {
        return Ok(token);
    };
    let given = AccountId(given.parse().map_err(|_| {
        ApiError::invalid(
            "account",
            format!("`{given}` is not a Telegram chat id (a whole number)"),
        )
    })?);
    match token {
        Scope::All => Ok(Scope::Account(given)),
        Scope::Account(mine) if mine == given => Ok(token),
        Scope::Account(_) => Err(ApiError::NotFound(format!("there is no account {given}"))),
    }
}

/// The one account a request about one account's summary is for.
pub fn one_account(scope: Scope) -> Result<AccountId, ApiError> {
    match scope {
        Scope::Account(a) => Ok(a),
        Scope::All => Err(ApiError::invalid(
            "account",
            "this token serves every account; say which with ?account=CHAT_ID",
        )),
    }
}

fn encode(text: String) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode(value: &str) -> Option<Vec<String>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(text.split(':').map(str::to_owned).collect())
}

fn bad_cursor(value: &str) -> ApiError {
    ApiError::invalid(
        "cursor",
        format!(
            "`{}` is not a cursor of this list (pass the next_cursor of the page before)",
            value.chars().take(40).collect::<String>()
        ),
    )
}

/// The cursor after a match.
pub fn match_cursor(k: MatchKey) -> String {
    encode(format!("m:{}:{}", k.day, k.id))
}

pub fn match_after(value: Option<&str>) -> Result<Option<MatchKey>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match decode(value).as_deref() {
        Some([m, day, id]) if m == "m" => Ok(Some(MatchKey {
            day: day.parse().map_err(|_| bad_cursor(value))?,
            id: id.parse().map_err(|_| bad_cursor(value))?,
        })),
        _ => Err(bad_cursor(value)),
    }
}

/// The cursor after a summary.
pub fn summary_cursor(k: SummaryKey) -> String {
    encode(format!("s:{}:{}:{}", k.year, k.week, k.account))
}

pub fn summary_after(value: Option<&str>) -> Result<Option<SummaryKey>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match decode(value).as_deref() {
        Some([s, year, week, account]) if s == "s" => Ok(Some(SummaryKey {
            year: year.parse().map_err(|_| bad_cursor(value))?,
            week: week.parse().map_err(|_| bad_cursor(value))?,
            account: account.parse().map_err(|_| bad_cursor(value))?,
        })),
        _ => Err(bad_cursor(value)),
    }
}

/// The cursor after a candidate.
pub fn candidate_cursor(k: CandidateKey) -> String {
    encode(format!("c:{}:{}", k.account, k.id))
}

pub fn candidate_after(value: Option<&str>) -> Result<Option<CandidateKey>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match decode(value).as_deref() {
        Some([c, account, id]) if c == "c" => Ok(Some(CandidateKey {
            account: account.parse().map_err(|_| bad_cursor(value))?,
            id: id.parse().map_err(|_| bad_cursor(value))?,
        })),
        _ => Err(bad_cursor(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_others_are_refused() {
        let k = MatchKey {
            day: "2025-01-02".parse().unwrap(),
            id: 42,
        };
        assert_eq!(match_after(Some(&match_cursor(k))).unwrap(), Some(k));
        let s = SummaryKey {
            year: 2025,
            week: 3,
            account: -7,
        };
        assert_eq!(summary_after(Some(&summary_cursor(s))).unwrap(), Some(s));
        assert!(match_after(Some(&summary_cursor(s))).is_err());
        assert!(match_after(Some("!!")).is_err());
        assert_eq!(candidate_after(None).unwrap(), None);
    }

    #[test]
    fn days_are_exactly_yyyy_mm_dd() {
        assert!(day("d", "2025-01-02").is_ok());
        assert!(day("d", "+262143-01-02").is_err());
        assert!(day("d", "2025-1-2").is_err());
        assert!(day("d", "2025-02-30").is_err());
    }

    #[test]
    fn a_token_for_one_account_cannot_name_another() {
        let mine = Scope::Account(AccountId(1));
        assert_eq!(scope(mine, Some("1")).unwrap(), mine);
        assert_eq!(
            scope(mine, Some("2")).unwrap_err().status(),
            axum::http::StatusCode::NOT_FOUND
        );
        assert_eq!(
            scope(Scope::All, Some("2")).unwrap(),
            Scope::Account(AccountId(2))
        );
    }
}
