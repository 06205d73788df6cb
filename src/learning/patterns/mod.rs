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

//!
//! Layout: [`detect`] (the statistics over items that find each pattern key), [`propose`]
//! (the change a pattern suggests and what it would have made on past items) and
//! [`words`] (every sentence in the seed's voice). This file holds the types they share
//! and the populations both detection and backtests select from.

mod detect;
mod propose;
mod words;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::Item;
use crate::domain::{MatchType, Money, RecAction, Right, UnknownName};

pub use detect::{detect, run};
pub use propose::{Backtest, Change, Proposal, backtest, proposal};
pub use words::weekday_name;

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

/// Which IV number a threshold refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IvMeasure {
    /// IV rank, 0–100.
    IvRank,
    /// Implied volatility in percent.
    Iv,
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
