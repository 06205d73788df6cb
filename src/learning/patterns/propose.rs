//! Proposals and backtests: the algorithm change a pattern suggests, and what that
//! change would have made on past items.

use serde::Serialize;

use super::words;
use super::{IvMeasure, Pattern, PatternKey, is_opening, is_recommended, otm_strike_shift_pct};
use crate::domain::{Money, ReasonCode};
use crate::learning::{Item, RecFacts, ledger};

/// The algorithm change a pattern suggests (machine-readable).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Recommend expirations `days` later (negative: sooner).
    ShiftDte { days: i64 },
    /// Move strikes by `percent` of the strike toward out of the money (negative: toward
    /// the money).
    ShiftStrike { percent: f64 },
    /// Do not recommend opening trades with a premium per share under `min`.
    MinPremium { min: Money },
    /// Do not recommend opening trades with IV rank (or IV, see `measure`) under `min`.
    MinIv { measure: IvMeasure, min: f64 },
    /// Do not recommend this symbol.
    SkipSymbol { symbol: String },
    /// Do not recommend opening trades whose expiry spans an earnings date.
    SkipEarnings,
    /// Give the algorithm a data input it lacks (e.g. `earnings_date`, `existing_exposure`).
    AddDataInput { input: String },
    /// Recommend `percent` fewer contracts.
    ReduceContracts { percent: f64 },
    /// Do not send recommendations on this weekday (`Monday`…).
    SkipWeekday { weekday: String },
    /// Do not send recommendations in this local hour band `[from_hour, to_hour)`.
    SkipHours { from_hour: u32, to_hour: u32 },
}

/// A candidate algorithm change suggested by a pattern.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub key: PatternKey,
    pub subject: Option<String>,
    /// In the seed's voice: "Increase default DTE by 7 days", "Skip TSLA".
    pub title: String,
    pub change: Change,
}

/// What a change would have made on past items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Past recommendations the change would have touched.
    pub affected: usize,
    /// Of those, the ones with both P&L figures needed (the sums below cover only these).
    pub with_outcomes: usize,
    /// What the algorithm as it is made on them (its counterfactual P&L, with the
    /// trader's fees: [`crate::learning::ledger`]).
    pub pnl_before: Money,
    /// What the changed algorithm would have made on them: 0 for a filter (the
    /// recommendation is not made), the trader's realized P&L where the trader already
    /// traded the change (DTE, strike, size).
    pub pnl_after: Money,
    /// `pnl_after − pnl_before`.
    pub pnl_delta: Money,
    /// One line: "Would have skipped 12 recommendations that made $340.00".
    pub summary: String,
}

impl Backtest {
    /// What the change would have cost, when it would have lost money: "would have cost
    /// $3,430.33". A losing change is never presented as a gain.
    pub fn cost(&self) -> Option<String> {
        words::cost(self.pnl_delta)
    }
}

/// The change a pattern suggests, if it suggests one.
pub fn proposal(p: &Pattern) -> Option<Proposal> {
    let change = match p.key {
        PatternKey::DteShift => {
            let days = p.effect.round() as i64;
            if days == 0 {
                return None;
            }
            Change::ShiftDte { days }
        }
        PatternKey::StrikeShift => {
            let percent = words::round1(p.effect);
            if percent == 0.0 {
                return None;
            }
            Change::ShiftStrike { percent }
        }
        PatternKey::LowPremiumRejection => Change::MinPremium { min: p.threshold? },
        PatternKey::LowIvRejection => {
            let min = p.threshold_value?;
            let measure = match p.subject.as_deref() {
                Some("iv") => IvMeasure::Iv,
                _ => IvMeasure::IvRank,
            };
            Change::MinIv { measure, min }
        }
        PatternKey::SymbolRejection => Change::SkipSymbol {
            symbol: p.subject.clone()?,
        },
        PatternKey::EarningsAvoidance => Change::SkipEarnings,
        PatternKey::ContractReduction => {
            let percent = words::round1(-p.effect);
            if percent <= 0.0 {
                return None;
            }
            Change::ReduceContracts { percent }
        }
        PatternKey::WeekdayEffect => {
            let weekday = p.subject.clone()?;
            if p.effect <= p.baseline.unwrap_or(0.0) {
                return None;
            }
            Change::SkipWeekday { weekday }
        }
        PatternKey::TimeOfDayEffect => {
            let (from_hour, to_hour) = words::parse_band(p.subject.as_deref()?)?;
            if p.effect <= p.baseline.unwrap_or(0.0) {
                return None;
            }
            Change::SkipHours { from_hour, to_hour }
        }
        PatternKey::ReasonDominance => {
            let code: ReasonCode = p.subject.as_deref()?.parse().ok()?;
            Change::AddDataInput {
                input: data_input(code)?.to_owned(),
            }
        }
    };
    Some(Proposal {
        key: p.key,
        subject: p.subject.clone(),
        title: words::title(&change),
        change,
    })
}

/// What `change` would have made on `items`, where the data allows (`None` when no item
/// is affected).
///
/// A filter (minimum premium or IV, skipped symbol, weekday, hours, earnings) removes
/// the recommendations it catches: `pnl_before` is what the algorithm made on them and
/// `pnl_after` is 0. A change the trader already trades (DTE, strike, size, a data
/// input the trader had) is measured on the items where the trader did it: the trader's
/// realized P&L against the algorithm's counterfactual. A DTE change is measured on the
/// trades shifted by exactly its size where there are some (+7 days is not +14 days),
/// otherwise on every shift in its direction. Money is the ledger's.
pub fn backtest(change: &Change, items: &[Item]) -> Option<Backtest> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by_key(|i| i.match_id);
    let recommended = sorted.iter().copied().filter(|i| is_recommended(i));
    let affected: Vec<&Item> = match change {
        Change::MinPremium { min } => recommended
            .filter(|i| is_opening(i) && i.rec.as_ref().is_some_and(|r| r.premium < *min))
            .collect(),
        Change::MinIv { measure, min } => recommended
            .filter(|i| is_opening(i) && measure.value(i).is_some_and(|v| v < *min))
            .collect(),
        Change::SkipSymbol { symbol } => recommended
            .filter(|i| i.underlying.as_str().eq_ignore_ascii_case(symbol))
            .collect(),
        Change::SkipEarnings => recommended
            .filter(|i| is_opening(i) && i.rec.as_ref().is_some_and(RecFacts::spans_earnings))
            .collect(),
        Change::SkipWeekday { weekday } => recommended
            .filter(|i| {
                i.rec.as_ref().is_some_and(|r| {
                    words::weekday_name(r.session_weekday()).eq_ignore_ascii_case(weekday)
                })
            })
            .collect(),
        Change::SkipHours { from_hour, to_hour } => recommended
            .filter(|i| {
                i.rec
                    .as_ref()
                    .and_then(RecFacts::session_hour)
                    .is_some_and(|h| (*from_hour..*to_hour).contains(&h))
            })
            .collect(),
        Change::ShiftDte { days } => {
            let shifted: Vec<&Item> = recommended
                .filter(|i| {
                    i.dte_diff
                        .is_some_and(|d| d != 0 && d.signum() == days.signum())
                })
                .collect();
            let exact: Vec<&Item> = shifted
                .iter()
                .copied()
                .filter(|i| i.dte_diff == Some(*days))
                .collect();
            if exact.is_empty() { shifted } else { exact }
        }
        Change::ShiftStrike { percent } => recommended
            .filter(|i| {
                otm_strike_shift_pct(i).is_some_and(|s| s != 0.0 && s.signum() == percent.signum())
            })
            .collect(),
        Change::ReduceContracts { .. } => recommended
            .filter(|i| i.contracts_diff.is_some_and(|d| d < 0))
            .collect(),
        Change::AddDataInput { input } => recommended
            .filter(|i| {
                i.match_type.is_divergence()
                    && input_reason(input).is_some_and(|c| i.reason == Some(c))
            })
            .collect(),
    };
    if affected.is_empty() {
        return None;
    }
    let is_filter = !matches!(
        change,
        Change::ShiftDte { .. }
            | Change::ShiftStrike { .. }
            | Change::ReduceContracts { .. }
            | Change::AddDataInput { .. }
    );
    let (mut with_outcomes, mut before, mut after) = (0usize, Money::ZERO, Money::ZERO);
    for i in &affected {
        if is_filter {
            if let Some(alg) = ledger::algorithm_pnl(i) {
                with_outcomes += 1;
                before += alg;
            }
        } else if let Some(p) = ledger::pair(i) {
            with_outcomes += 1;
            before += p.algorithm;
            after += p.trader;
        }
    }
    let pending = affected.len() - with_outcomes;
    let summary = if is_filter {
        words::skipped(affected.len(), before, pending)
    } else {
        words::traded_this_way(affected.len(), after, before, pending)
    };
    Some(Backtest {
        affected: affected.len(),
        with_outcomes,
        pnl_before: before,
        pnl_after: after,
        pnl_delta: after - before,
        summary,
    })
}

/// The data input a reason asks for, when the reason is about information the algorithm
/// lacks.
fn data_input(code: ReasonCode) -> Option<&'static str> {
    match code {
        ReasonCode::EarningsConcern => Some("earnings_date"),
        ReasonCode::AlreadyExposed => Some("existing_exposure"),
        ReasonCode::IvLow => Some("iv_rank"),
        _ => None,
    }
}

/// The reason behind a data input (the inverse of [`data_input`]).
fn input_reason(input: &str) -> Option<ReasonCode> {
    match input {
        "earnings_date" => Some(ReasonCode::EarningsConcern),
        "existing_exposure" => Some(ReasonCode::AlreadyExposed),
        "iv_rank" => Some(ReasonCode::IvLow),
        _ => None,
    }
}
