//! Value parsers shared by every format: each takes a trimmed, non-empty cell and either
//! returns the domain value or says in one sentence what is wrong with it (the sentence
//! names the value and what was expected, so a row error reads on its own).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::domain::{AccountId, Contract, Money, Right, Symbol};

/// More contracts than any real order has.
pub(crate) const MAX_CONTRACTS: i64 = 100_000;

/// The most one row may be worth (price × 100 shares × contracts): far above any
/// trader's order, and far inside `Money`'s range (10¹² of its 9.2 × 10¹⁸ units), so
/// millions of rows can be summed without overflow; beyond that, money arithmetic
/// saturates rather than wraps (`domain::money`).
pub(crate) const MAX_ROW_DOLLARS: i64 = 100_000_000;

/// More dollars than any price per share, premium, strike or fee.
pub(crate) const MAX_DOLLARS: i64 = 10_000_000;

/// The longest id (`external_id`, `broker_ref`) a row may carry.
pub(crate) const MAX_ID_CHARS: usize = 128;

pub(crate) fn text(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

/// An id: at most [`MAX_ID_CHARS`] characters, no control characters.
pub(crate) fn key(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n > MAX_ID_CHARS {
        return Err(format!(
            "`{}` is {n} characters long; an id may be at most {MAX_ID_CHARS}",
            super::reading::snippet(s)
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "`{}` contains the control character U+{:04X}; an id may not",
            s.escape_default(),
            u32::from(c)
        ));
    }
    Ok(s.to_owned())
}

pub(crate) fn account(s: &str) -> Result<AccountId, String> {
    match s.parse::<i64>() {
        Ok(id) if id != 0 => Ok(AccountId(id)),
        _ => Err(format!(
            "`{s}` is not a Telegram chat id (expected a whole number such as 123456789)"
        )),
    }
}

pub(crate) fn timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let without_offset = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok());
    if without_offset {
        Err(format!(
            "`{s}` has no UTC offset, and one is required (as in 2025-01-02T09:35:00-08:00 or 2025-01-02T17:35:00Z)"
        ))
    } else if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        Err(format!(
            "`{s}` is a date without a time (expected a timestamp with an offset such as 2025-01-02T09:35:00-08:00)"
        ))
    } else {
        Err(format!(
            "`{s}` is not an RFC 3339 timestamp (expected e.g. 2025-01-02T09:35:00-08:00)"
        ))
    }
}

/// The exchange's date of an instant (New York): the day a trade counts against its
/// contract's expiration.
pub(crate) fn exchange_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::New_York).date_naive()
}

pub(crate) fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date (expected YYYY-MM-DD, such as 2025-01-17)"))
}

pub(crate) fn ticker(s: &str) -> Result<Symbol, String> {
    Symbol::parse(s).map_err(|e| e.to_string())
}

/// The underlying of an option row: an adjusted root (`AAPL1`) is refused.
pub(crate) fn root(s: &str) -> Result<Symbol, String> {
    Symbol::parse_root(s).map_err(|e| e.to_string())
}

pub(crate) fn right(s: &str) -> Result<Right, String> {
    s.parse::<Right>().map_err(|e| e.to_string())
}

pub(crate) fn occ(s: &str) -> Result<Contract, String> {
    Contract::parse_occ(s).map_err(|e| e.to_string())
}

pub(crate) fn money(s: &str) -> Result<Money, String> {
    let m = Money::parse(s).map_err(|e| e.to_string())?;
    if m.abs() > Money::from_dollars(MAX_DOLLARS) {
        return Err(format!(
            "`{s}` is too large (expected at most {})",
            Money::from_dollars(MAX_DOLLARS).to_dollars_display()
        ));
    }
    Ok(m)
}

pub(crate) fn strike(s: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m <= Money::ZERO {
        return Err(format!(
            "`{s}` is not a positive strike (expected a price above 0 such as 150)"
        ));
    }
    Ok(m)
}

pub(crate) fn positive(s: &str, what: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m <= Money::ZERO {
        return Err(format!(
            "`{s}` is not a positive {what} (expected an amount above 0)"
        ));
    }
    Ok(m)
}

pub(crate) fn not_negative(s: &str, what: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m.is_negative() {
        return Err(format!("`{s}` is negative, but a {what} must be 0 or more"));
    }
    Ok(m)
}

pub(crate) fn contracts(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if (1..=MAX_CONTRACTS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of contracts (expected a whole number from 1 to {MAX_CONTRACTS})"
        )),
    }
}

/// Refuses a row worth more than [`MAX_ROW_DOLLARS`] (`price` per share × 100 ×
/// `contracts`, the premium of a recommendation likewise).
pub(crate) fn row_value(price: Money, contracts: i64) -> Result<(), String> {
    let worth = i128::from(price.abs().units()) * 100 * i128::from(contracts);
    let limit = i128::from(Money::from_dollars(MAX_ROW_DOLLARS).units());
    if worth > limit {
        let worth = i64::try_from(worth)
            .map(|u| Money::from_units(u).to_dollars_display())
            .unwrap_or_else(|_| "more than $922 trillion".to_owned());
        return Err(format!(
            "{contracts} contracts at {} a share are worth {worth}, more than the {} one row may carry",
            price.to_dollars_display(),
            Money::from_dollars(MAX_ROW_DOLLARS).to_dollars_display()
        ));
    }
    Ok(())
}

pub(crate) fn number_between(s: &str, expected: &str, low: f64, high: f64) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (low..=high).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not {expected}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamps_with_an_offset_or_z_become_utc() {
        let cases = [
            ("2025-01-02T09:35:00-08:00", "2025-01-02T17:35:00Z"),
            ("2025-01-02T17:35:00Z", "2025-01-02T17:35:00Z"),
            ("2025-01-02T17:35:00.250+00:00", "2025-01-02T17:35:00.250Z"),
            ("2025-01-03T02:35:00+09:00", "2025-01-02T17:35:00Z"),
        ];
        for (input, utc) in cases {
            assert_eq!(timestamp(input), Ok(at(utc)), "{input}");
        }
    }
}
