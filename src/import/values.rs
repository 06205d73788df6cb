//! Value parsers shared by every format: each takes a trimmed, non-empty cell and either
//! returns the domain value or says in one sentence what is wrong with it (the sentence
//! names the value and what was expected, so a row error reads on its own).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

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
        .ok()
        .filter(|_| four_digit_year(s))
        .ok_or_else(|| format!("`{s}` is not a date (expected YYYY-MM-DD, such as 2025-01-17)"))
}

/// Whether `s` starts with a year of four digits and no sign. chrono's `%Y` also reads
/// `-5-04-01` (the year −5) and `20250-01-17` (a typo, the year 20250), which no
/// trader means.
pub(crate) fn four_digit_year(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && !b[4].is_ascii_digit()
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

// ---------------------------------------------------------------------------------------
// As brokers write them

/// A money cell as broker exports write it: `$1,180.00`, `-$3.10`, `($31.04)`, `.35`,
/// `1.6200000000`. Digits beyond the fourth decimal (IBKR's `-1.06074`) are rounded half
/// away from zero, as a fee that precise is still a fee.
pub(crate) fn broker_money(s: &str) -> Result<Money, String> {
    let (kept, extra) = split_extra_decimals(s);
    let m = money(&kept)?;
    if extra.first().is_some_and(|d| *d >= b'5') {
        let unit = Money::from_units(if m.is_negative() || kept.contains(['-', '(']) {
            -1
        } else {
            1
        });
        return Ok(m + unit);
    }
    Ok(m)
}

/// `s` without the decimals after the fourth, and those decimals.
fn split_extra_decimals(s: &str) -> (String, Vec<u8>) {
    let Some(dot) = s.find('.') else {
        return (s.to_owned(), Vec::new());
    };
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    if digits <= 4 {
        return (s.to_owned(), Vec::new());
    }
    let cut = dot + 1 + 4;
    let end = dot + 1 + digits;
    let extra = s.as_bytes()[cut..end].to_vec();
    (format!("{}{}", &s[..cut], &s[end..]), extra)
}

/// A signed whole quantity as brokers write it: `4`, `+4`, `-1`, `"1,000"`, `2.0`, and
/// Robinhood's `1S` (an expired short).
pub(crate) fn quantity(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a whole quantity (expected e.g. 1, -2 or +4)");
    let t = s.trim().trim_end_matches(['S', 's']).replace(',', "");
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(&t)),
    };
    let whole = match digits.split_once('.') {
        Some((w, f)) if f.bytes().all(|b| b == b'0') => w,
        Some(_) => return Err(bad()),
        None => digits,
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = whole.parse().map_err(|_| bad())?;
    if n > MAX_CONTRACTS * 100 {
        return Err(bad());
    }
    Ok(sign * n)
}

/// A signed number of option contracts as brokers write it (see [`quantity`]): the
/// sign is the side, the size is from 1 to [`MAX_CONTRACTS`].
pub(crate) fn signed_contracts(s: &str) -> Result<i64, String> {
    match quantity(s) {
        Ok(n) if (1..=MAX_CONTRACTS).contains(&n.abs()) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of contracts (expected a whole number from 1 to {MAX_CONTRACTS}, with or without a sign)"
        )),
    }
}

/// A two-digit year as in `25` or `'25`: 2000–2099 (options listed before 2000 have
/// long expired).
fn full_year(s: &str) -> Option<i32> {
    let s = s.trim_start_matches('\'');
    match s.len() {
        2 => s.parse::<i32>().ok().map(|y| 2000 + y),
        4 => s.parse::<i32>().ok(),
        _ => None,
    }
}

/// A US date: `M/D/YYYY`, `MM/DD/YYYY` or `M/D/YY`.
pub(crate) fn us_date(s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("`{s}` is not a date (expected MM/DD/YYYY, such as 01/17/2025)");
    let mut parts = s.trim().split('/');
    let (Some(m), Some(d), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (Ok(m), Ok(d), Some(y)) = (m.parse::<u32>(), d.parse::<u32>(), full_year(y)) else {
        return Err(bad());
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)
}

/// A month by its English abbreviation or name, any case: `Jan`, `JAN`, `January`.
fn month(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let s = s.to_ascii_lowercase();
    if s.len() < 3 {
        return None;
    }
    let i = MONTHS.iter().position(|m| s.starts_with(m))?;
    (s.len() == 3 || "january february march april may june july august september october november december sept"
        .split(' ')
        .any(|name| name == s))
    .then_some(i as u32 + 1)
}

/// A date with the day first and the month in letters: `19 DEC 25`, `17JAN25`,
/// `17 Jan 2025`.
pub(crate) fn day_month_year(s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("`{s}` is not a date (expected day, month and year, such as 17 JAN 25)");
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let day_len = compact.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &compact[day_len..];
    let month_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (Ok(d), Some(m), Some(y)) = (
        compact[..day_len].parse::<u32>(),
        month(&rest[..month_len]),
        full_year(&rest[month_len..]),
    ) else {
        return Err(bad());
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)
}

/// A date with the month first, in letters: `Mar 21 '25`, `Jan-24-2025`, `May 17 24`.
pub(crate) fn month_day_year(s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("`{s}` is not a date (expected month, day and year, such as Jan 17 '25)");
    let parts: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == '-' || c == ',')
        .filter(|p| !p.is_empty())
        .collect();
    let [m, d, y] = parts[..] else {
        return Err(bad());
    };
    let (Some(m), Ok(d), Some(y)) = (month(m), d.parse::<u32>(), full_year(y)) else {
        return Err(bad());
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)
}

/// A compact date: `20250117` or `2025-01-17`.
pub(crate) fn compact_date(s: &str) -> Result<NaiveDate, String> {
    let eight_digits = s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
        .filter(|_| eight_digits || four_digit_year(s))
        .ok_or_else(|| format!("`{s}` is not a date (expected YYYYMMDD or YYYY-MM-DD)"))
}

/// A clock time: `10:15:30`, `9:45`, `7:24 PM`, `101530`.
pub(crate) fn clock(s: &str) -> Result<NaiveTime, String> {
    let t = s.trim();
    ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H%M%S"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
        .ok_or_else(|| format!("`{s}` is not a time of day (expected e.g. 10:15:30)"))
}

/// A contract from its parts, as one sentence when they do not make one.
pub(crate) fn contract(
    root: &str,
    expiration: NaiveDate,
    right: Right,
    strike: Money,
) -> Result<Contract, String> {
    let underlying = ticker(root)?;
    if strike <= Money::ZERO {
        return Err(format!(
            "`{strike}` is not a positive strike (expected a price above 0 such as 150)"
        ));
    }
    Contract::new(underlying, expiration, right, strike).map_err(|e| e.to_string())
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

    /// Found by fuzzing (`fuzz/fuzz_targets/cells.rs`): chrono's `%Y` read `-5-4-1` as
    /// the year −5 (whose date then printed as `-00050401`, which no longer read), and
    /// reads a typo such as `20250-01-17` as the year 20250.
    #[test]
    fn dates_need_a_four_digit_year() {
        for s in [
            "-5-4-1",
            "-0005-04-01",
            "+2025-01-17",
            "20250-01-17",
            "202-01-17",
            "-00050401",
        ] {
            assert!(date(s).is_err(), "{s}");
            assert!(compact_date(s).is_err(), "{s}");
        }
        let day = NaiveDate::from_ymd_opt(2025, 1, 17).unwrap();
        assert_eq!(date("2025-01-17"), Ok(day));
        assert_eq!(date("2025-1-17"), Ok(day));
        assert_eq!(compact_date("20250117"), Ok(day));
        assert_eq!(compact_date("2025-01-17"), Ok(day));
    }
}

#[cfg(test)]
mod broker_tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn broker_money_reads_every_spelling_and_rounds_past_four_decimals() {
        let cases = [
            ("$1,180.00", "1180"),
            ("-$3.10", "-3.10"),
            ("($31.04)", "-31.04"),
            (".35", "0.35"),
            ("1.6200000000", "1.62"),
            ("-1.06074", "-1.0607"),
            ("-1.06075", "-1.0608"),
            ("2.139458", "2.1395"),
            ("$0.93 ", "0.93"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                broker_money(input.trim()),
                Ok(Money::parse(expected).unwrap()),
                "{input}"
            );
        }
        assert!(broker_money("abc").is_err());
    }

    #[test]
    fn quantities_keep_their_sign_and_drop_separators_and_suffixes() {
        let cases = [
            ("4", 4),
            ("+4", 4),
            ("-1", -1),
            ("1,000", 1000),
            ("2.0", 2),
            ("-1.0", -1),
            ("1S", 1),
            ("0.000", 0),
        ];
        for (input, expected) in cases {
            assert_eq!(quantity(input), Ok(expected), "{input}");
        }
        for bad in ["1.5", "USD", "", "-"] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
        assert_eq!(signed_contracts("-2"), Ok(-2));
        for bad in ["0", "0.000", "100001", "-100001"] {
            assert_eq!(
                signed_contracts(bad),
                Err(format!(
                    "`{bad}` is not a number of contracts (expected a whole number from 1 to 100000, with or without a sign)"
                ))
            );
        }
    }

    #[test]
    fn dates_in_broker_spellings() {
        assert_eq!(us_date("1/7/2025"), Ok(d("2025-01-07")));
        assert_eq!(us_date("01/17/2025"), Ok(d("2025-01-17")));
        assert_eq!(us_date("9/20/24"), Ok(d("2024-09-20")));
        assert!(us_date("13/01/2025").is_err());
        assert_eq!(day_month_year("19 DEC 25"), Ok(d("2025-12-19")));
        assert_eq!(day_month_year("17JAN25"), Ok(d("2025-01-17")));
        assert_eq!(day_month_year("17 Jan 2025"), Ok(d("2025-01-17")));
        assert!(day_month_year("17 XYZ 25").is_err());
        assert_eq!(month_day_year("Mar 21 '25"), Ok(d("2025-03-21")));
        assert_eq!(month_day_year("Jan-24-2025"), Ok(d("2025-01-24")));
        assert_eq!(month_day_year("MAY 17 24"), Ok(d("2024-05-17")));
        assert_eq!(compact_date("20221230"), Ok(d("2022-12-30")));
        assert_eq!(compact_date("2022-12-30"), Ok(d("2022-12-30")));
    }

    #[test]
    fn clock_times_with_or_without_seconds_and_meridiem() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(clock("10:15:30"), Ok(t(10, 15, 30)));
        assert_eq!(clock("9:45"), Ok(t(9, 45, 0)));
        assert_eq!(clock("7:24 PM"), Ok(t(19, 24, 0)));
        assert_eq!(clock("101530"), Ok(t(10, 15, 30)));
        assert!(clock("noon").is_err());
    }
}
