//! The pattern catalog (SPEC §6, pattern keys of §10), each pattern with its evidence.
//!
//! [`detect`] runs every test of the catalog over the items of a look-back window, corrects
//! all their p-values together (Benjamini–Hochberg), and reports the patterns that are
//! both significant (`q ≤ fdr`) and large enough to matter. [`proposal`] turns a pattern
//! into the algorithm change it suggests, and [`backtest`] says what that change would
//! have made on past items.
//!
//! The tests, and why:
//!
//! | key | items | test |
//! |---|---|---|
//! | `dte_shift` | taken recommendations (consent, modify) | sign test on the non-zero DTE differences |
//! | `strike_shift` | taken recommendations | sign test on the non-zero strike differences (in % of the strike, toward out of the money) |
//! | `contract_reduction` | taken recommendations | sign test on the non-zero contract differences |
//! | `low_premium_rejection` | opening recommendations | best cut point over premiums; seeded permutation test of the maximum statistic |
//! | `low_iv_rejection` | opening recommendations with IV rank (else IV) | as for premium |
//! | `symbol_rejection` | opening recommendations, per symbol | Fisher's exact test, one-sided (more rejections than other symbols) |
//! | `earnings_avoidance` | opening recommendations | Fisher's exact test, one-sided (avoided more often when the expiry spans earnings) |
//! | `weekday_effect` | recommendations, per weekday | Fisher's exact test, two-sided (divergence rate vs other weekdays) |
//! | `time_of_day_effect` | recommendations, per hour band | Fisher's exact test, two-sided |
//! | `reason_dominance` | divergences with a reason, per code | exact binomial test, one-sided, against an equal share of all codes |
//!
//! Searching the premium (or IV) cut that best separates rejections from trades would
//! make an ordinary p-value at the chosen cut far too small; the reported p-value is a
//! permutation p-value of the *maximum* over all cuts (a fixed-seed generator, so the
//! same items give the same p-value), so it is honest. The reported threshold is the
//! midpoint between the highest premium under the best cut and the lowest above it,
//! rounded to the cent.
//!
//! Besides significance, a pattern must matter: shifts need a mean of at least the
//! configured size on at least `min_modified_share` of the trades taken; rates need a
//! difference of `min_rate_difference` (and, for rejections, a majority rejected).
//!
//! Measured on the simulator (`cargo bench --bench detection`, 100 seeds of 8 weeks):
//! no false pattern for faithful traders; planted DTE shift, symbol and earnings habits
//! found every time, the $0.30 premium floor 94 times (the misses inspected are seeds
//! where the algorithm made only one or two recommendations under the floor in eight
//! weeks: too little evidence for an honest test).
//!
//! Overlapping explanations: a trader who avoids one symbol with low premiums would also
//! look like a low-premium rejecter. Rejection patterns are therefore checked against
//! each other, strongest first: a weaker pattern is kept only if it stays significant on
//! the items the stronger ones do not explain. Weekday and time-of-day effects are
//! checked the same way against the kept rejection patterns and against each other (one
//! busy Monday makes every other day look calm by contrast), and a dominant reason code
//! against the kept rejection patterns (`premium_low` under the premium threshold only
//! restates the low-premium pattern).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Timelike, Weekday};
use serde::Serialize;

use super::stats::{self, Alternative, Table2};
use super::{Item, RecFacts};
use crate::domain::{MatchType, Money, ReasonCode, RecAction, Right, UnknownName};

/// The pattern keys of SPEC §10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatternKey {
    DteShift,
    StrikeShift,
    LowPremiumRejection,
    SymbolRejection,
    LowIvRejection,
    EarningsAvoidance,
    ContractReduction,
    WeekdayEffect,
    TimeOfDayEffect,
    ReasonDominance,
}

impl PatternKey {
    /// Every key, in catalog order (the order patterns are reported in).
    pub const ALL: &'static [PatternKey] = &[
        PatternKey::DteShift,
        PatternKey::StrikeShift,
        PatternKey::LowPremiumRejection,
        PatternKey::SymbolRejection,
        PatternKey::LowIvRejection,
        PatternKey::EarningsAvoidance,
        PatternKey::ContractReduction,
        PatternKey::WeekdayEffect,
        PatternKey::TimeOfDayEffect,
        PatternKey::ReasonDominance,
    ];

    /// The contract spelling (SPEC §10).
    pub fn as_str(self) -> &'static str {
        match self {
            PatternKey::DteShift => "dte_shift",
            PatternKey::StrikeShift => "strike_shift",
            PatternKey::LowPremiumRejection => "low_premium_rejection",
            PatternKey::SymbolRejection => "symbol_rejection",
            PatternKey::LowIvRejection => "low_iv_rejection",
            PatternKey::EarningsAvoidance => "earnings_avoidance",
            PatternKey::ContractReduction => "contract_reduction",
            PatternKey::WeekdayEffect => "weekday_effect",
            PatternKey::TimeOfDayEffect => "time_of_day_effect",
            PatternKey::ReasonDominance => "reason_dominance",
        }
    }
}

impl FromStr for PatternKey {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        PatternKey::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                kind: "pattern key",
                value: s.trim().to_owned(),
                expected: PatternKey::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for PatternKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PatternKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Settings of the detection.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternConfig {
    /// Weeks of items the caller passes (informational: [`detect`] filters nothing).
    pub lookback_weeks: u32,
    /// Fewest items a test needs: modified items for the shift tests, recommendations of a
    /// symbol/weekday/band, items on the smaller side of a cut, divergences with a reason.
    pub min_samples: usize,
    /// False discovery rate: patterns are reported when their BH q-value is at most this.
    pub fdr: f64,
    /// Fewest items on each side of a premium or IV cut (the threshold search). Small
    /// on purpose: a floor just above the lowest premiums leaves few items under it, and
    /// the permutation test keeps the search honest.
    pub min_cut_side: usize,
    /// Smallest average DTE shift worth reporting, in days.
    pub min_dte_shift_days: f64,
    /// Smallest average strike shift worth reporting, in % of the strike.
    pub min_strike_shift_pct: f64,
    /// Smallest average contract-size reduction worth reporting, in % of the size.
    pub min_contract_reduction_pct: f64,
    /// Smallest share of taken recommendations that must show a modification for it to
    /// be a habit rather than an exception.
    pub min_modified_share: f64,
    /// Smallest difference in rejection (or divergence) rate, as a fraction (0.2 = 20
    /// percentage points), worth reporting.
    pub min_rate_difference: f64,
    /// Smallest share of reasons one code must have to dominate.
    pub min_dominant_share: f64,
    /// Hour bands for the time-of-day effect, in local time: `[start, end)` hours.
    pub hour_bands: Vec<(u32, u32)>,
    /// Permutations for the threshold tests (the p-value cannot go below 1/(this+1)).
    pub permutations: usize,
    /// Seed of the permutations (same seed, same p-values).
    pub seed: u64,
}

impl Default for PatternConfig {
    fn default() -> Self {
        Self {
            lookback_weeks: 8,
            min_samples: 8,
            fdr: 0.05,
            min_cut_side: 3,
            min_dte_shift_days: 1.0,
            min_strike_shift_pct: 0.5,
            min_contract_reduction_pct: 10.0,
            min_modified_share: 0.2,
            min_rate_difference: 0.2,
            min_dominant_share: 0.4,
            hour_bands: vec![(0, 8), (8, 11), (11, 24)],
            permutations: 1999,
            seed: 0x5eed_1ea2,
        }
    }
}

/// The unit of a pattern's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectUnit {
    /// Calendar days (DTE shift: mean of the non-zero differences).
    Days,
    /// Percent of the recommended value (strike shift toward out of the money; contract
    /// size change).
    Percent,
    /// A rate in percent of the items (rejection/divergence rate in the subject's group,
    /// or a reason's share); `baseline` is the rate elsewhere.
    RatePercent,
}

/// A confidence interval of the effect, in the effect's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// A detected pattern and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    pub key: PatternKey,
    /// What the pattern is about, when it is about one thing: a symbol (`TSLA`), a weekday
    /// (`Monday`), an hour band (`08:00–11:00`), a reason code (`premium_low`).
    pub subject: Option<String>,
    /// One sentence in the seed's voice: "User adds 7 days on average to DTE".
    pub description: String,
    /// The sample size: the modified trades (shifts), the opening recommendations
    /// searched (premium, IV), the recommendations of the subject (symbol, earnings,
    /// weekday, hour band), the divergences with a reason (reason dominance).
    pub n: usize,
    /// The effect size, in `unit`.
    pub effect: f64,
    pub unit: EffectUnit,
    /// The comparison value where the effect is a rate (the rate outside the subject).
    pub baseline: Option<f64>,
    pub ci: Option<Interval>,
    /// The test's p-value (for threshold searches: the permutation p-value of the maximum).
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value across all tests of the run.
    pub q_value: f64,
    /// Which test produced `p_value`, in words ("sign test", "Fisher exact, one-sided", …).
    pub test: &'static str,
    /// The premium threshold of `low_premium_rejection` (per share).
    pub threshold: Option<Money>,
    /// The IV threshold of `low_iv_rejection` (IV rank in 0–100, or IV in percent).
    pub threshold_value: Option<f64>,
    /// The matches that show the pattern (the modified / rejected / diverging items).
    pub match_ids: Vec<i64>,
}

/// One test of a run, reported or not (for transparency: BH was applied across these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRecord {
    pub key: PatternKey,
    pub subject: Option<String>,
    pub n: usize,
    pub p_value: f64,
    pub q_value: f64,
    /// Whether it became a reported pattern.
    pub reported: bool,
}

/// Everything a detection run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Reported patterns, in catalog order then subject.
    pub patterns: Vec<Pattern>,
    /// Every test that ran, in the same order.
    pub tests: Vec<TestRecord>,
}

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

/// Which IV number a threshold refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IvMeasure {
    /// IV rank, 0–100.
    IvRank,
    /// Implied volatility in percent.
    Iv,
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
    /// What the algorithm as it is made on them (its counterfactual P&L).
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

/// Runs the catalog over `items` (the look-back window; nothing is filtered by date) and
/// returns the reported patterns. Same input, same output, in any item order.
pub fn detect(items: &[Item], cfg: &PatternConfig) -> Vec<Pattern> {
    run(items, cfg).patterns
}

/// [`detect`], with every test of the run and its p- and q-value.
pub fn run(items: &[Item], cfg: &PatternConfig) -> Detection {
    let mut sorted: Vec<&Item> = items.iter().collect();
    // Item order must not matter: everything below walks items by match id.
    sorted.sort_by_key(|i| i.match_id);

    let evals: Vec<Eval> = specs(&sorted, cfg)
        .iter()
        .filter_map(|spec| evaluate(spec, &sorted, cfg))
        .collect();
    let p: Vec<f64> = evals.iter().map(|e| e.p_value).collect();
    let q = stats::benjamini_hochberg(&p).unwrap_or_else(|_| vec![1.0; p.len()]);

    let mut reported = vec![false; evals.len()];
    for (i, e) in evals.iter().enumerate() {
        reported[i] = q[i] <= cfg.fdr && e.relevant;
    }
    explain_away(&evals, &mut reported, &sorted, cfg);

    let tests = evals
        .iter()
        .zip(&q)
        .zip(&reported)
        .map(|((e, &q), &reported)| TestRecord {
            key: e.key,
            subject: e.subject.clone(),
            n: e.n,
            p_value: e.p_value,
            q_value: q,
            reported,
        })
        .collect();
    let patterns = evals
        .into_iter()
        .zip(q)
        .zip(reported)
        .filter(|(_, reported)| *reported)
        .map(|((e, q), _)| e.into_pattern(q))
        .collect();
    Detection { patterns, tests }
}

/// The change a pattern suggests, if it suggests one.
pub fn proposal(p: &Pattern) -> Option<Proposal> {
    let (title, change) = match p.key {
        PatternKey::DteShift => {
            let days = p.effect.round() as i64;
            match days.cmp(&0) {
                std::cmp::Ordering::Greater => (
                    format!("Increase default DTE by {days} {}", plural(days, "day")),
                    Change::ShiftDte { days },
                ),
                std::cmp::Ordering::Less => (
                    format!("Decrease default DTE by {} {}", -days, plural(-days, "day")),
                    Change::ShiftDte { days },
                ),
                std::cmp::Ordering::Equal => return None,
            }
        }
        PatternKey::StrikeShift => {
            let percent = round1(p.effect);
            if percent == 0.0 {
                return None;
            }
            let way = if percent > 0.0 {
                "further out of the money"
            } else {
                "closer to the money"
            };
            (
                format!("Move strikes {}% {way}", fmt1(percent.abs())),
                Change::ShiftStrike { percent },
            )
        }
        PatternKey::LowPremiumRejection => {
            let min = p.threshold?;
            (
                format!("Add minimum premium filter ({})", min.to_dollars_display()),
                Change::MinPremium { min },
            )
        }
        PatternKey::LowIvRejection => {
            let min = p.threshold_value?;
            let measure = match p.subject.as_deref() {
                Some("iv") => IvMeasure::Iv,
                _ => IvMeasure::IvRank,
            };
            (
                format!("Add minimum {} filter ({})", measure.label(), fmt1(min)),
                Change::MinIv { measure, min },
            )
        }
        PatternKey::SymbolRejection => {
            let symbol = p.subject.clone()?;
            (format!("Skip {symbol}"), Change::SkipSymbol { symbol })
        }
        PatternKey::EarningsAvoidance => (
            "Skip recommendations spanning earnings".to_owned(),
            Change::SkipEarnings,
        ),
        PatternKey::ContractReduction => {
            let percent = round1(-p.effect);
            if percent <= 0.0 {
                return None;
            }
            (
                format!("Reduce default size by {}%", fmt1(percent)),
                Change::ReduceContracts { percent },
            )
        }
        PatternKey::WeekdayEffect => {
            let weekday = p.subject.clone()?;
            if p.effect <= p.baseline.unwrap_or(0.0) {
                return None;
            }
            (
                format!("Skip recommendations on {weekday}s"),
                Change::SkipWeekday { weekday },
            )
        }
        PatternKey::TimeOfDayEffect => {
            let (from_hour, to_hour) = parse_band(p.subject.as_deref()?)?;
            if p.effect <= p.baseline.unwrap_or(0.0) {
                return None;
            }
            (
                format!(
                    "Skip recommendations sent {}",
                    band_label(from_hour, to_hour)
                ),
                Change::SkipHours { from_hour, to_hour },
            )
        }
        PatternKey::ReasonDominance => {
            let code: ReasonCode = p.subject.as_deref()?.parse().ok()?;
            let (title, input) = match code {
                ReasonCode::EarningsConcern => ("Add an earnings-date input", "earnings_date"),
                ReasonCode::AlreadyExposed => {
                    ("Add an existing-exposure input", "existing_exposure")
                }
                ReasonCode::IvLow => ("Add an IV-rank input", "iv_rank"),
                _ => return None,
            };
            (
                title.to_owned(),
                Change::AddDataInput {
                    input: input.to_owned(),
                },
            )
        }
    };
    Some(Proposal {
        key: p.key,
        subject: p.subject.clone(),
        title,
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
/// realized P&L against the algorithm's counterfactual.
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
                    weekday_name(r.created_local.weekday()).eq_ignore_ascii_case(weekday)
                })
            })
            .collect(),
        Change::SkipHours { from_hour, to_hour } => recommended
            .filter(|i| {
                i.rec
                    .as_ref()
                    .is_some_and(|r| (*from_hour..*to_hour).contains(&r.created_local.hour()))
            })
            .collect(),
        Change::ShiftDte { days } => recommended
            .filter(|i| {
                i.dte_diff
                    .is_some_and(|d| d != 0 && d.signum() == days.signum())
            })
            .collect(),
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
        let Some(alg) = i.algorithm_pnl else { continue };
        if is_filter {
            with_outcomes += 1;
            before += alg;
        } else if let Some(actual) = i.actual_pnl {
            with_outcomes += 1;
            before += alg;
            after += actual;
        }
    }
    let pending = affected.len() - with_outcomes;
    let pending_note = if pending > 0 {
        format!(" ({pending} not final yet)")
    } else {
        String::new()
    };
    let summary = if is_filter {
        format!(
            "Would have skipped {} {} that made {}{pending_note}",
            affected.len(),
            plural(affected.len() as i64, "recommendation"),
            before.to_dollars_display()
        )
    } else {
        format!(
            "On {} {} traded this way: {} instead of the algorithm's {}{pending_note}",
            affected.len(),
            plural(affected.len() as i64, "trade"),
            after.to_dollars_display(),
            before.to_dollars_display()
        )
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

impl IvMeasure {
    /// The item's value of this measure (IV in percent).
    fn value(self, item: &Item) -> Option<f64> {
        let rec = item.rec.as_ref()?;
        match self {
            IvMeasure::IvRank => rec.iv_rank,
            IvMeasure::Iv => rec.iv.map(iv_percent),
        }
        .filter(|v| v.is_finite())
    }

    fn label(self) -> &'static str {
        match self {
            IvMeasure::IvRank => "IV rank",
            IvMeasure::Iv => "IV",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            IvMeasure::IvRank => "iv_rank",
            IvMeasure::Iv => "iv",
        }
    }
}

/// IV as stored may be a fraction (0.35) or percent (35); shown and compared in percent.
fn iv_percent(iv: f64) -> f64 {
    if iv.abs() <= 3.0 { iv * 100.0 } else { iv }
}

// ---------------------------------------------------------------------------------------
// The tests of the catalog.

/// One test to run.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    DteShift,
    StrikeShift,
    LowPremium,
    Symbol(String),
    LowIv(IvMeasure),
    Earnings,
    ContractReduction,
    Weekday(Weekday),
    Band(u32, u32),
    Reason(ReasonCode),
}

/// Which items a rejection pattern explains (for checking patterns against each other).
#[derive(Debug, Clone, PartialEq)]
enum Cover {
    PremiumBelow(Money),
    IvBelow(IvMeasure, f64),
    Symbol(String),
    SpansEarnings,
    Weekday(Weekday),
    Band(u32, u32),
}

/// Patterns that explain each other's items (besides the rejection patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Weekday,
    Band,
}

fn family_of(spec: &Spec) -> Option<Family> {
    match spec {
        Spec::Weekday(_) => Some(Family::Weekday),
        Spec::Band(..) => Some(Family::Band),
        _ => None,
    }
}

impl Cover {
    fn covers(&self, item: &Item) -> bool {
        let Some(rec) = item.rec.as_ref() else {
            return false;
        };
        match self {
            Cover::PremiumBelow(t) => is_opening(item) && rec.premium < *t,
            Cover::IvBelow(m, t) => is_opening(item) && m.value(item).is_some_and(|v| v < *t),
            Cover::Symbol(s) => item.underlying.as_str() == s,
            Cover::SpansEarnings => is_opening(item) && rec.spans_earnings(),
            Cover::Weekday(w) => rec.created_local.weekday() == *w,
            Cover::Band(a, b) => (*a..*b).contains(&rec.created_local.hour()),
        }
    }
}

/// A test's result before the multiple-testing correction.
#[derive(Debug, Clone)]
struct Eval {
    spec: Spec,
    key: PatternKey,
    subject: Option<String>,
    n: usize,
    effect: f64,
    unit: EffectUnit,
    baseline: Option<f64>,
    ci: Option<Interval>,
    p_value: f64,
    /// A parametric p-value used only to order overlapping patterns (permutation
    /// p-values tie at their floor).
    strength: f64,
    test: &'static str,
    relevant: bool,
    description: String,
    threshold: Option<Money>,
    threshold_value: Option<f64>,
    match_ids: Vec<i64>,
    cover: Option<Cover>,
}

impl Eval {
    fn into_pattern(self, q_value: f64) -> Pattern {
        Pattern {
            key: self.key,
            subject: self.subject,
            description: self.description,
            n: self.n,
            effect: self.effect,
            unit: self.unit,
            baseline: self.baseline,
            ci: self.ci,
            p_value: self.p_value,
            q_value,
            test: self.test,
            threshold: self.threshold,
            threshold_value: self.threshold_value,
            match_ids: self.match_ids,
        }
    }
}

const LEVEL: f64 = 0.95;

/// Every test of the catalog the items allow, in report order.
fn specs(items: &[&Item], cfg: &PatternConfig) -> Vec<Spec> {
    let mut out = vec![Spec::DteShift, Spec::StrikeShift, Spec::LowPremium];
    let symbols: BTreeSet<&str> = items
        .iter()
        .filter(|i| is_opening(i))
        .map(|i| i.underlying.as_str())
        .collect();
    out.extend(symbols.into_iter().map(|s| Spec::Symbol(s.to_owned())));
    // The IV measure with more values (IV rank on a tie: it is comparable across symbols).
    let ranks = items
        .iter()
        .filter(|i| IvMeasure::IvRank.value(i).is_some())
        .count();
    let ivs = items
        .iter()
        .filter(|i| IvMeasure::Iv.value(i).is_some())
        .count();
    out.push(Spec::LowIv(if ranks >= ivs {
        IvMeasure::IvRank
    } else {
        IvMeasure::Iv
    }));
    out.push(Spec::Earnings);
    out.push(Spec::ContractReduction);
    out.extend(
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .map(Spec::Weekday),
    );
    out.extend(cfg.hour_bands.iter().map(|&(a, b)| Spec::Band(a, b)));
    out.extend(ReasonCode::ALL.iter().map(|&c| Spec::Reason(c)));
    out
}

fn evaluate(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    match spec {
        Spec::DteShift => shift_test(spec, items, cfg, |i| i.dte_diff.map(|d| d as f64)),
        Spec::StrikeShift => shift_test(spec, items, cfg, otm_strike_shift_pct),
        Spec::ContractReduction => shift_test(spec, items, cfg, contract_change_pct),
        Spec::LowPremium => threshold_test(spec, items, cfg),
        Spec::LowIv(_) => threshold_test(spec, items, cfg),
        Spec::Symbol(_) | Spec::Earnings => group_rejection_test(spec, items, cfg),
        Spec::Weekday(_) | Spec::Band(..) => divergence_rate_test(spec, items, cfg),
        Spec::Reason(code) => reason_test(*code, items, cfg),
    }
}

/// DTE, strike and size: a sign test on the non-zero differences of taken
/// recommendations; the effect is their mean, with a t interval.
fn shift_test(
    spec: &Spec,
    items: &[&Item],
    cfg: &PatternConfig,
    diff: impl Fn(&Item) -> Option<f64>,
) -> Option<Eval> {
    // A consent may come without differences: it has none.
    let taken: Vec<(&Item, f64)> = items
        .iter()
        .filter(|i| is_taken(i))
        .filter_map(|i| {
            diff(i)
                .or((i.match_type == MatchType::Consent).then_some(0.0))
                .filter(|d| d.is_finite())
                .map(|d| (*i, d))
        })
        .collect();
    let changed: Vec<(&Item, f64)> = taken.iter().copied().filter(|(_, d)| *d != 0.0).collect();
    if changed.len() < cfg.min_samples.max(1) {
        return None;
    }
    let values: Vec<f64> = changed.iter().map(|(_, d)| *d).collect();
    let plus = values.iter().filter(|d| **d > 0.0).count() as u64;
    let minus = values.len() as u64 - plus;
    let p_value = stats::sign_test(plus, minus, Alternative::TwoSided).ok()?;
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let ci = stats::t_test_one_sample(&values, 0.0, LEVEL)
        .ok()
        .map(|t| Interval {
            low: t.ci.low,
            high: t.ci.high,
            level: LEVEL,
        });
    let share = changed.len() as f64 / taken.len() as f64;
    let of = format!("{} of {} trades", changed.len(), taken.len());
    let (key, unit, relevant, description) = match spec {
        Spec::DteShift => {
            let days = mean.round() as i64;
            let text = if mean >= 0.0 {
                format!(
                    "User adds {} {} on average to DTE ({of})",
                    days,
                    plural(days, "day")
                )
            } else {
                format!(
                    "User cuts {} {} on average from DTE ({of})",
                    -days,
                    plural(-days, "day")
                )
            };
            (
                PatternKey::DteShift,
                EffectUnit::Days,
                mean.abs() >= cfg.min_dte_shift_days,
                text,
            )
        }
        Spec::StrikeShift => {
            let way = if mean >= 0.0 {
                "further out of the money"
            } else {
                "closer to the money"
            };
            (
                PatternKey::StrikeShift,
                EffectUnit::Percent,
                mean.abs() >= cfg.min_strike_shift_pct,
                format!(
                    "User moves strikes {}% {way} on average ({of})",
                    fmt1(mean.abs())
                ),
            )
        }
        _ => {
            let text = if mean < 0.0 {
                format!(
                    "User trades {}% fewer contracts than recommended ({of})",
                    fmt0(-mean)
                )
            } else {
                format!(
                    "User trades {}% more contracts than recommended ({of})",
                    fmt0(mean)
                )
            };
            (
                PatternKey::ContractReduction,
                EffectUnit::Percent,
                -mean >= cfg.min_contract_reduction_pct,
                text,
            )
        }
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject: None,
        n: changed.len(),
        effect: mean,
        unit,
        baseline: None,
        ci,
        p_value,
        strength: p_value,
        test: "sign test (two-sided)",
        relevant: relevant && share >= cfg.min_modified_share,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: changed.iter().map(|(i, _)| i.match_id).collect(),
        cover: None,
    })
}

/// Exceedances after which a permutation test stops (Besag–Clifford).
const SEQUENTIAL_HITS: usize = 10;

/// Low premium / low IV: the cut that best separates rejected from taken opening
/// recommendations (largest one-sided two-proportion z), with a permutation p-value of
/// that maximum so that searching the cut does not inflate significance.
fn threshold_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let value = |i: &Item| -> Option<f64> {
        match spec {
            Spec::LowIv(m) => m.value(i),
            _ => i.rec.as_ref().map(|r| r.premium.units() as f64),
        }
    };
    let mut pop: Vec<(f64, bool, &Item)> = items
        .iter()
        .filter(|i| is_opening(i))
        .filter_map(|i| value(i).map(|v| (v, i.match_type == MatchType::Reject, *i)))
        .collect();
    let min_side = cfg.min_cut_side.max(1);
    let rejected = pop.iter().filter(|p| p.1).count();
    if pop.len() < 2 * cfg.min_samples.max(min_side) || rejected == 0 || rejected == pop.len() {
        return None;
    }
    pop.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.match_id.cmp(&b.2.match_id)));
    let values: Vec<f64> = pop.iter().map(|p| p.0).collect();
    // Cuts: positions between distinct values leaving at least `min_side` on each side.
    let cuts: Vec<usize> = (min_side..=pop.len() - min_side)
        .filter(|&c| values[c - 1] < values[c])
        .collect();
    if cuts.is_empty() {
        return None;
    }
    let labels: Vec<bool> = pop.iter().map(|p| p.1).collect();
    let (best_cut, observed) = max_z(&labels, &cuts);
    if observed <= 0.0 {
        return None;
    }
    let salt = match spec {
        Spec::LowIv(_) => 0x1f,
        _ => 0x9e,
    };
    let mut rng = SplitMix64(cfg.seed ^ salt);
    let mut perm = labels.clone();
    // Sequential Monte Carlo p-value (Besag & Clifford 1991): stop once `h` permutations
    // reach the observed maximum, p = h / k after k permutations; otherwise all of them
    // run and p = (hits + 1) / (B + 1). Valid either way, and a clearly unremarkable cut
    // (most accounts, most weeks) costs a few dozen permutations instead of thousands.
    let mut at_least = 0usize;
    let mut p_value = None;
    for k in 1..=cfg.permutations {
        shuffle(&mut perm, &mut rng);
        if max_z(&perm, &cuts).1 >= observed - 1e-12 {
            at_least += 1;
            if at_least == SEQUENTIAL_HITS {
                p_value = Some(at_least as f64 / k as f64);
                break;
            }
        }
    }
    let p_value = p_value.unwrap_or((at_least + 1) as f64 / (cfg.permutations + 1) as f64);

    let below = &labels[..best_cut];
    let above = &labels[best_cut..];
    let rej_below = below.iter().filter(|b| **b).count() as u64;
    let rej_above = above.iter().filter(|b| **b).count() as u64;
    let rate_below = rej_below as f64 / below.len() as f64;
    let rate_above = rej_above as f64 / above.len() as f64;
    let strength = stats::fisher_exact(
        Table2 {
            a: rej_below,
            b: below.len() as u64 - rej_below,
            c: rej_above,
            d: above.len() as u64 - rej_above,
        },
        Alternative::Greater,
    )
    .ok()?;
    let ci = stats::wilson_interval(rej_below, below.len() as u64, LEVEL)
        .ok()
        .map(|c| Interval {
            low: 100.0 * c.low,
            high: 100.0 * c.high,
            level: LEVEL,
        });
    let mid = (values[best_cut - 1] + values[best_cut]) / 2.0;
    let relevant =
        rate_below - rate_above >= cfg.min_rate_difference && rate_below >= 0.5 && rej_below >= 3;
    let match_ids = pop[..best_cut]
        .iter()
        .filter(|p| p.1)
        .map(|p| p.2.match_id)
        .collect();
    let evidence = format!("rejected {rej_below} of {}", below.len());
    let (key, subject, threshold, threshold_value, description, cover) = match spec {
        Spec::LowIv(m) => {
            let t = round1(mid);
            (
                PatternKey::LowIvRejection,
                Some(m.subject().to_owned()),
                None,
                Some(t),
                format!(
                    "User rejects low-IV recommendations ({} under {}; {evidence})",
                    m.label(),
                    fmt1(t)
                ),
                Cover::IvBelow(*m, values[best_cut]),
            )
        }
        _ => {
            let t = Money::from_units(mid.round() as i64).round_to_cents();
            (
                PatternKey::LowPremiumRejection,
                None,
                Some(t),
                None,
                format!(
                    "User rejects low-premium recommendations (under {}; {evidence})",
                    t.to_dollars_display()
                ),
                // The items under the cut exactly (the rounded threshold may sit a
                // fraction of a cent off).
                Cover::PremiumBelow(Money::from_units(values[best_cut] as i64)),
            )
        }
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject,
        n: pop.len(),
        effect: 100.0 * rate_below,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * rate_above),
        ci,
        p_value,
        strength,
        test: "permutation test of the best cut (max statistic)",
        relevant,
        description,
        threshold,
        threshold_value,
        match_ids,
        cover: Some(cover),
    })
}

/// The largest one-sided two-proportion z (rejections below the cut minus above) over
/// the cuts, and the cut where it is reached (the first on ties).
fn max_z(labels: &[bool], cuts: &[usize]) -> (usize, f64) {
    let n = labels.len() as f64;
    let total: usize = labels.iter().filter(|b| **b).count();
    let pooled = total as f64 / n;
    let spread = pooled * (1.0 - pooled);
    let mut best = (cuts[0], f64::NEG_INFINITY);
    let mut below_rej = 0usize;
    let mut pos = 0usize;
    for &c in cuts {
        while pos < c {
            below_rej += usize::from(labels[pos]);
            pos += 1;
        }
        let (n1, n2) = (c as f64, n - c as f64);
        let z = if spread > 0.0 {
            let p1 = below_rej as f64 / n1;
            let p2 = (total - below_rej) as f64 / n2;
            (p1 - p2) / (spread * (1.0 / n1 + 1.0 / n2)).sqrt()
        } else {
            0.0
        };
        if z > best.1 {
            best = (c, z);
        }
    }
    best
}

/// Symbol and earnings: is the group avoided more than the rest of the opening
/// recommendations? Fisher's exact test, one-sided.
fn group_rejection_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let pop: Vec<&Item> = items.iter().copied().filter(|i| is_opening(i)).collect();
    let in_group = |i: &Item| match spec {
        Spec::Symbol(s) => i.underlying.as_str() == s,
        _ => i.rec.as_ref().is_some_and(RecFacts::spans_earnings),
    };
    let avoided = |i: &Item| match spec {
        Spec::Symbol(_) => i.match_type == MatchType::Reject,
        _ => avoids_earnings(i),
    };
    let (group, rest): (Vec<&Item>, Vec<&Item>) = pop.iter().copied().partition(|i| in_group(i));
    if group.len() < cfg.min_samples.max(1) || rest.is_empty() {
        return None;
    }
    let RateTest {
        a,
        rate,
        base,
        p_value,
        ci,
    } = rate_test(&group, &rest, avoided, Alternative::Greater)?;
    let evidence = format!("{a} of {}", group.len());
    let (key, subject, description, cover) = match spec {
        Spec::Symbol(s) => (
            PatternKey::SymbolRejection,
            Some(s.clone()),
            format!("User avoids {s} (rejected {evidence})"),
            Cover::Symbol(s.clone()),
        ),
        _ => (
            PatternKey::EarningsAvoidance,
            None,
            format!("User avoids recommendations spanning earnings (avoided {evidence})"),
            Cover::SpansEarnings,
        ),
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject,
        n: group.len(),
        effect: 100.0 * rate,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * base),
        ci,
        p_value,
        strength: p_value,
        test: "Fisher exact test (one-sided)",
        relevant: rate - base >= cfg.min_rate_difference && rate >= 0.5,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: group
            .iter()
            .filter(|i| avoided(i))
            .map(|i| i.match_id)
            .collect(),
        cover: Some(cover),
    })
}

/// A group's rate of `hit` against the rest's.
struct RateTest {
    /// Hits in the group.
    a: u64,
    rate: f64,
    base: f64,
    /// Fisher's exact test of the 2×2 table group/rest × hit/miss.
    p_value: f64,
    /// Wilson interval of the group's rate, in percent.
    ci: Option<Interval>,
}

fn rate_test(
    group: &[&Item],
    rest: &[&Item],
    hit: impl Fn(&Item) -> bool,
    alternative: Alternative,
) -> Option<RateTest> {
    let a = group.iter().filter(|i| hit(i)).count() as u64;
    let c = rest.iter().filter(|i| hit(i)).count() as u64;
    let table = Table2 {
        a,
        b: group.len() as u64 - a,
        c,
        d: rest.len() as u64 - c,
    };
    let p_value = stats::fisher_exact(table, alternative).ok()?;
    let ci = stats::wilson_interval(a, group.len() as u64, LEVEL)
        .ok()
        .map(|w| Interval {
            low: 100.0 * w.low,
            high: 100.0 * w.high,
            level: LEVEL,
        });
    Some(RateTest {
        a,
        rate: a as f64 / group.len() as f64,
        base: c as f64 / rest.len() as f64,
        p_value,
        ci,
    })
}

/// Weekday and hour band: does the trader diverge more (or less) often on these
/// recommendations than on the others? Fisher's exact test, two-sided.
fn divergence_rate_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let in_group = |i: &Item| -> bool {
        let Some(rec) = i.rec.as_ref() else {
            return false;
        };
        match spec {
            Spec::Weekday(w) => rec.created_local.weekday() == *w,
            Spec::Band(a, b) => (*a..*b).contains(&rec.created_local.hour()),
            _ => false,
        }
    };
    let pop: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| is_recommended(i))
        .collect();
    let (group, rest): (Vec<&Item>, Vec<&Item>) = pop.iter().copied().partition(|i| in_group(i));
    if group.len() < cfg.min_samples.max(1) || rest.is_empty() {
        return None;
    }
    let RateTest {
        a,
        rate,
        base,
        p_value,
        ci,
    } = rate_test(
        &group,
        &rest,
        |i| i.match_type.is_divergence(),
        Alternative::TwoSided,
    )?;
    let more = if rate >= base { "more" } else { "less" };
    let numbers = format!(
        "{a} of {} vs {}% otherwise",
        group.len(),
        fmt0(100.0 * base)
    );
    let (key, subject, description) = match spec {
        Spec::Weekday(w) => {
            let name = weekday_name(*w);
            (
                PatternKey::WeekdayEffect,
                name.to_owned(),
                format!("User diverges {more} often on {name}s ({numbers})"),
            )
        }
        Spec::Band(a, b) => {
            let band = band_label(*a, *b);
            (
                PatternKey::TimeOfDayEffect,
                band.clone(),
                format!("User diverges {more} often on recommendations sent {band} ({numbers})"),
            )
        }
        _ => return None,
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject: Some(subject),
        n: group.len(),
        effect: 100.0 * rate,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * base),
        ci,
        p_value,
        strength: p_value,
        test: "Fisher exact test (two-sided)",
        relevant: (rate - base).abs() >= cfg.min_rate_difference,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: group
            .iter()
            .filter(|i| i.match_type.is_divergence())
            .map(|i| i.match_id)
            .collect(),
        cover: None,
    })
}

/// One reason code's share of the divergences that have a reason, against an equal share
/// of all codes: exact binomial test, one-sided.
fn reason_test(code: ReasonCode, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let with_reason: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| i.match_type.is_divergence() && i.reason.is_some())
        .collect();
    let k = with_reason
        .iter()
        .filter(|i| i.reason == Some(code))
        .count() as u64;
    let n = with_reason.len() as u64;
    if with_reason.len() < cfg.min_samples.max(1) || k == 0 {
        return None;
    }
    let equal_share = 1.0 / ReasonCode::ALL.len() as f64;
    let p_value = stats::binomial_test(k, n, equal_share, Alternative::Greater).ok()?;
    let share = k as f64 / n as f64;
    let ci = stats::wilson_interval(k, n, LEVEL).ok().map(|c| Interval {
        low: 100.0 * c.low,
        high: 100.0 * c.high,
        level: LEVEL,
    });
    Some(Eval {
        spec: Spec::Reason(code),
        key: PatternKey::ReasonDominance,
        subject: Some(code.as_str().to_owned()),
        n: with_reason.len(),
        effect: 100.0 * share,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * equal_share),
        ci,
        p_value,
        strength: p_value,
        test: "exact binomial test (one-sided)",
        relevant: share >= cfg.min_dominant_share && k as usize >= cfg.min_samples,
        description: format!(
            "User's most common reason: {} ({k} of {n} divergences)",
            reason_words(code)
        ),
        threshold: None,
        threshold_value: None,
        match_ids: with_reason
            .iter()
            .filter(|i| i.reason == Some(code))
            .map(|i| i.match_id)
            .collect(),
        cover: None,
    })
}

/// Rejection patterns (premium, IV, symbol, earnings) are checked against each other,
/// strongest first: a weaker one is kept only if it is still significant (raw p ≤ fdr)
/// and relevant on the items the kept ones do not explain. Weekday and time-of-day
/// effects are then checked the same way against all kept rejection patterns. This only
/// removes patterns, so the false discovery rate stays controlled.
fn explain_away(evals: &[Eval], reported: &mut [bool], items: &[&Item], cfg: &PatternConfig) {
    let mut order: Vec<usize> = (0..evals.len())
        .filter(|&i| reported[i] && evals[i].cover.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        evals[a]
            .strength
            .total_cmp(&evals[b].strength)
            .then(evals[b].effect.total_cmp(&evals[a].effect))
            .then(a.cmp(&b))
    });
    let mut kept: Vec<Cover> = Vec::new();
    let survives = |e: &Eval, kept: &[Cover]| -> bool {
        if kept.is_empty() {
            return true;
        }
        let rest: Vec<&Item> = items
            .iter()
            .copied()
            .filter(|i| !kept.iter().any(|c| c.covers(i)))
            .collect();
        evaluate(&e.spec, &rest, cfg).is_some_and(|r| r.p_value <= cfg.fdr && r.relevant)
    };
    for i in order {
        if survives(&evals[i], &kept) {
            if let Some(c) = evals[i].cover.clone() {
                kept.push(c);
            }
        } else {
            reported[i] = false;
        }
    }
    let rejection_covers = kept;
    // A dominant reason that only restates a kept pattern (premium_low under the premium
    // threshold) adds nothing.
    for (i, e) in evals.iter().enumerate() {
        if reported[i] && matches!(e.spec, Spec::Reason(_)) && !survives(e, &rejection_covers) {
            reported[i] = false;
        }
    }
    // Weekday and time-of-day effects: checked against the kept rejection patterns and
    // against each other (one day with many divergences makes every other day look calm
    // by contrast). When a modification habit (DTE, strike, size) is reported, it already
    // explains the modifications, so only rejections count as divergences here.
    let habit = evals.iter().zip(reported.iter()).any(|(e, &r)| {
        r && matches!(
            e.spec,
            Spec::DteShift | Spec::StrikeShift | Spec::ContractReduction
        )
    });
    let survives_family = |e: &Eval, kept: &[Cover]| -> bool {
        let rest: Vec<Item> = items
            .iter()
            .filter(|i| !kept.iter().any(|c| c.covers(i)))
            .map(|i| {
                let mut i = (*i).clone();
                if habit && i.match_type == MatchType::Modify {
                    i.match_type = MatchType::Consent;
                }
                i
            })
            .collect();
        let rest: Vec<&Item> = rest.iter().collect();
        evaluate(&e.spec, &rest, cfg).is_some_and(|r| r.p_value <= cfg.fdr && r.relevant)
    };
    for family in [Family::Weekday, Family::Band] {
        let mut order: Vec<usize> = (0..evals.len())
            .filter(|&i| reported[i] && family_of(&evals[i].spec) == Some(family))
            .collect();
        order.sort_by(|&a, &b| {
            evals[a]
                .strength
                .total_cmp(&evals[b].strength)
                .then(a.cmp(&b))
        });
        let mut kept = rejection_covers.clone();
        for i in order {
            if survives_family(&evals[i], &kept) {
                kept.push(match evals[i].spec {
                    Spec::Weekday(w) => Cover::Weekday(w),
                    Spec::Band(a, b) => Cover::Band(a, b),
                    _ => continue,
                });
            } else {
                reported[i] = false;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Populations and measures.

/// A recommendation the trader answered (took, modified or rejected).
fn is_recommended(i: &Item) -> bool {
    i.rec.is_some()
        && matches!(
            i.match_type,
            MatchType::Consent | MatchType::Modify | MatchType::Reject
        )
}

/// A recommendation the trader traded (as recommended or modified).
fn is_taken(i: &Item) -> bool {
    i.rec.is_some() && matches!(i.match_type, MatchType::Consent | MatchType::Modify)
}

/// A recommendation to open a position (the ones a premium, IV or symbol filter applies to).
fn is_opening(i: &Item) -> bool {
    is_recommended(i)
        && i.rec
            .as_ref()
            .is_some_and(|r| r.action == RecAction::SellToOpen)
}

/// Rejected, or modified to expire before the earnings date.
fn avoids_earnings(i: &Item) -> bool {
    if i.match_type == MatchType::Reject {
        return true;
    }
    let (Some(rec), Some(d)) = (i.rec.as_ref(), i.dte_diff) else {
        return false;
    };
    let Some(earnings) = rec.earnings_date else {
        return false;
    };
    i.match_type == MatchType::Modify
        && rec
            .expiration
            .checked_add_signed(chrono::Duration::days(d))
            .is_some_and(|e| e < earnings)
}

/// Strike difference in % of the recommended strike, positive toward out of the money
/// (a higher call strike, a lower put strike).
fn otm_strike_shift_pct(i: &Item) -> Option<f64> {
    let rec = i.rec.as_ref()?;
    let diff = i.strike_diff?;
    if rec.strike.units() <= 0 {
        return None;
    }
    let pct = 100.0 * diff.units() as f64 / rec.strike.units() as f64;
    Some(match rec.right {
        Right::Call => pct,
        Right::Put => -pct,
    })
}

/// Contract difference in % of the recommended count.
fn contract_change_pct(i: &Item) -> Option<f64> {
    let rec = i.rec.as_ref()?;
    let diff = i.contracts_diff?;
    (rec.contracts > 0).then(|| 100.0 * diff as f64 / rec.contracts as f64)
}

fn input_reason(input: &str) -> Option<ReasonCode> {
    match input {
        "earnings_date" => Some(ReasonCode::EarningsConcern),
        "existing_exposure" => Some(ReasonCode::AlreadyExposed),
        "iv_rank" => Some(ReasonCode::IvLow),
        _ => None,
    }
}

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
fn band_label(from: u32, to: u32) -> String {
    format!("{from:02}:00–{to:02}:00")
}

fn parse_band(s: &str) -> Option<(u32, u32)> {
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

fn round1(x: f64) -> f64 {
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

/// A small, fixed pseudo-random generator (SplitMix64) so permutation p-values never
/// change with a dependency's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by rejection to avoid modulo bias.
    fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let v = self.next();
            if v < zone {
                return v % bound;
            }
        }
    }
}

/// Fisher–Yates shuffle.
fn shuffle<T>(xs: &mut [T], rng: &mut SplitMix64) {
    for i in (1..xs.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        xs.swap(i, j);
    }
}
