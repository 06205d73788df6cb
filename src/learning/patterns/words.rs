//! The patterns' words: every sentence in the seed's voice ("User adds 7 days on average
//! to DTE", "Increase default DTE by 7 days", "Would have skipped 12 recommendations that
//! made $340.00"), and the small formatting rules they share.

use chrono::Weekday;

use super::Change;
use crate::domain::{Money, ReasonCode};

// ---------------------------------------------------------------------------------------
// Pattern descriptions.

/// "User adds 7 days on average to DTE (145 of 278 trades)".
pub(super) fn dte_shift(mean: f64, changed: usize, taken: usize) -> String {
    let days = mean.round() as i64;
    let of = trades_of(changed, taken);
    if mean >= 0.0 {
        format!(
            "User adds {days} {} on average to DTE ({of})",
            plural(days, "day")
        )
    } else {
        format!(
            "User cuts {} {} on average from DTE ({of})",
            -days,
            plural(-days, "day")
        )
    }
}

/// "User moves strikes 2.5% further out of the money on average (20 of 40 trades)".
pub(super) fn strike_shift(mean: f64, changed: usize, taken: usize) -> String {
    format!(
        "User moves strikes {}% {} on average ({})",
        fmt1(mean.abs()),
        strike_way(mean),
        trades_of(changed, taken)
    )
}

/// "User trades 50% fewer contracts than recommended (12 of 30 trades)".
pub(super) fn contract_change(mean: f64, changed: usize, taken: usize) -> String {
    let of = trades_of(changed, taken);
    if mean < 0.0 {
        format!(
            "User trades {}% fewer contracts than recommended ({of})",
            fmt0(-mean)
        )
    } else {
        format!(
            "User trades {}% more contracts than recommended ({of})",
            fmt0(mean)
        )
    }
}

fn trades_of(changed: usize, taken: usize) -> String {
    format!("{changed} of {taken} trades")
}

fn strike_way(shift: f64) -> &'static str {
    if shift >= 0.0 {
        "further out of the money"
    } else {
        "closer to the money"
    }
}

/// "User rejects low-IV recommendations (IV rank under 20; rejected 9 of 12)".
pub(super) fn rejects_low_iv(label: &str, threshold: f64, rejected: u64, of: usize) -> String {
    format!(
        "User rejects low-IV recommendations ({label} under {}; rejected {rejected} of {of})",
        fmt1(threshold)
    )
}

/// "User rejects low-premium recommendations (under $0.30; rejected 9 of 12)".
pub(super) fn rejects_low_premium(threshold: Money, rejected: u64, of: usize) -> String {
    format!(
        "User rejects low-premium recommendations (under {}; rejected {rejected} of {of})",
        threshold.to_dollars_display()
    )
}

/// "User avoids TSLA (rejected 30 of 31)".
pub(super) fn avoids_symbol(symbol: &str, rejected: u64, of: usize) -> String {
    format!("User avoids {symbol} (rejected {rejected} of {of})")
}

/// "User avoids recommendations spanning earnings (avoided 30 of 31)".
pub(super) fn avoids_earnings(avoided: u64, of: usize) -> String {
    format!("User avoids recommendations spanning earnings (avoided {avoided} of {of})")
}

/// A group's divergences against the rest's rate.
pub(super) struct GroupRate {
    pub hits: u64,
    pub of: usize,
    pub rate: f64,
    pub base: f64,
}

/// "User diverges more often on Mondays (12 of 20 vs 10% otherwise)".
pub(super) fn diverges_on(what: &str, r: &GroupRate) -> String {
    let more = if r.rate >= r.base { "more" } else { "less" };
    format!(
        "User diverges {more} often on {what} ({} of {} vs {}% otherwise)",
        r.hits,
        r.of,
        fmt0(100.0 * r.base)
    )
}

/// "User's most common reason: premium too low (12 of 20 divergences)".
pub(super) fn dominant_reason(code: ReasonCode, k: u64, n: u64) -> String {
    format!(
        "User's most common reason: {} ({k} of {n} divergences)",
        reason_words(code)
    )
}

// ---------------------------------------------------------------------------------------
// Proposals and backtests.

/// A change's title, in the seed's voice: "Increase default DTE by 7 days".
pub(super) fn title(change: &Change) -> String {
    match change {
        Change::ShiftDte { days } if *days >= 0 => {
            format!("Increase default DTE by {days} {}", plural(*days, "day"))
        }
        Change::ShiftDte { days } => {
            format!("Decrease default DTE by {} {}", -days, plural(-days, "day"))
        }
        Change::ShiftStrike { percent } => {
            format!(
                "Move strikes {}% {}",
                fmt1(percent.abs()),
                strike_way(*percent)
            )
        }
        Change::MinPremium { min } => {
            format!("Add minimum premium filter ({})", min.to_dollars_display())
        }
        Change::MinIv { measure, min } => {
            format!("Add minimum {} filter ({})", measure.label(), fmt1(*min))
        }
        Change::SkipSymbol { symbol } => format!("Skip {symbol}"),
        Change::SkipEarnings => "Skip recommendations spanning earnings".to_owned(),
        Change::AddDataInput { input } => match input.as_str() {
            "earnings_date" => "Add an earnings-date input".to_owned(),
            "existing_exposure" => "Add an existing-exposure input".to_owned(),
            "iv_rank" => "Add an IV-rank input".to_owned(),
            other => format!("Add a {other} input"),
        },
        Change::ReduceContracts { percent } => {
            format!("Reduce default size by {}%", fmt1(*percent))
        }
        Change::SkipWeekday { weekday } => format!("Skip recommendations on {weekday}s"),
        Change::SkipHours { from_hour, to_hour } => format!(
            "Skip recommendations sent {}",
            band_label(*from_hour, *to_hour)
        ),
    }
}

/// A filter's backtest: "Would have skipped 3 recommendations that made $45.00".
pub(super) fn skipped(n: usize, made: Money, pending: usize) -> String {
    format!(
        "Would have skipped {n} {} that made {}{}",
        plural(n as i64, "recommendation"),
        made.to_dollars_display(),
        pending_note(pending)
    )
}

/// A traded change's backtest: "On 145 trades traded this way: … instead of the
/// algorithm's …".
pub(super) fn traded_this_way(n: usize, after: Money, before: Money, pending: usize) -> String {
    format!(
        "On {n} {} traded this way: {} instead of the algorithm's {}{}",
        plural(n as i64, "trade"),
        after.to_dollars_display(),
        before.to_dollars_display(),
        pending_note(pending)
    )
}

/// "would have cost $3,430.33" when a backtest's change loses money.
pub(super) fn cost(delta: Money) -> Option<String> {
    delta
        .is_negative()
        .then(|| format!("would have cost {}", (-delta).to_dollars_display()))
}

fn pending_note(pending: usize) -> String {
    if pending > 0 {
        format!(" ({pending} not final yet)")
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------------------
// Names and numbers.

fn reason_words(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::Timing => "timing",
        ReasonCode::PremiumLow => "premium too low",
        ReasonCode::IvLow => "IV too low",
        ReasonCode::EarningsConcern => "earnings concern",
        ReasonCode::GutFeeling => "gut feeling",
        ReasonCode::BetterOpportunity => "a better opportunity",
        ReasonCode::RiskTooHigh => "risk too high",
        ReasonCode::AlreadyExposed => "already exposed",
        ReasonCode::Other => "other",
    }
}

/// The English name of a weekday (`Monday`).
pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// `08:00–11:00` (the subject of a time-of-day pattern).
pub(super) fn band_label(from: u32, to: u32) -> String {
    format!("{from:02}:00–{to:02}:00")
}

pub(super) fn parse_band(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('–')?;
    let hour = |t: &str| t.strip_suffix(":00")?.parse::<u32>().ok();
    Some((hour(a)?, hour(b)?))
}

fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

pub(super) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One decimal, without a trailing `.0`.
fn fmt1(x: f64) -> String {
    let r = round1(x);
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn fmt0(x: f64) -> String {
    format!("{:.0}", x.round())
}
