//! Learning: what the reconciled items say about the trader and the algorithm.
//!
//! Everything here is pure computation over [`Item`]s (one per reconciled match, with
//! the recommendation's context, what was done and both sides' outcomes); the store
//! loads the items, the CLI and the bot show the results.
//!
//! `learning` imports only `domain` (and itself): what it needs from the program's
//! settings arrives as a [`LearningConfig`], built by `config::Settings`.
//!
//! - `stats`: the statistical tests, intervals and the Benjamini–Hochberg correction.
//! - `patterns`: the pattern catalog of SPEC §6 over a look-back of items.
//! - `verdict`: the core question — who was right on each pattern and reason code.

pub mod analytics;
pub mod candidates;
pub mod insight;
pub mod patterns;
pub mod stats;
pub mod summary;
pub mod verdict;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::domain::{MatchType, Money, ReasonCode, RecAction, Right, Symbol};
use patterns::PatternConfig;
use verdict::VerdictConfig;

/// Everything learning is configured with. Days and times arrive in [`Item`]s already
/// in the schedule time zone (the store converts them), so no zone is needed here.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningConfig {
    /// Weeks of items the patterns are computed over (`LEARNING_LOOKBACK_WEEKS`).
    pub lookback_weeks: u32,
    /// What candidates are called in messages (`CANDIDATE_LABEL`, "V4").
    pub candidate_label: String,
    /// The pattern tests' settings.
    pub patterns: PatternConfig,
    /// The core question's settings.
    pub verdicts: VerdictConfig,
}

impl Default for LearningConfig {
    fn default() -> Self {
        Self {
            lookback_weeks: 8,
            candidate_label: "V4".to_owned(),
            patterns: PatternConfig::default(),
            verdicts: VerdictConfig::default(),
        }
    }
}

/// What the algorithm recommended, as learning needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecFacts {
    pub action: RecAction,
    /// When it was made, in the schedule time zone (weekday and time-of-day effects).
    pub created_local: NaiveDateTime,
    pub right: Right,
    pub strike: Money,
    pub expiration: NaiveDate,
    /// Days from the recommendation's day to its expiration.
    pub dte: i64,
    pub contracts: i64,
    /// Expected premium per share (net credit for a roll).
    pub premium: Money,
    pub underlying_price: Option<Money>,
    pub delta: Option<f64>,
    pub iv: Option<f64>,
    pub iv_rank: Option<f64>,
    pub earnings_date: Option<NaiveDate>,
}

impl RecFacts {
    /// Whether the option is still alive when the market answers an earnings report
    /// (released after the close on the earnings date): from the recommendation's day up
    /// to the day before expiration.
    pub fn spans_earnings(&self) -> bool {
        self.earnings_date
            .is_some_and(|e| self.created_local.date() <= e && e < self.expiration)
    }
}

/// One reconciled item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub match_id: i64,
    /// The match's day (the recommendation's day, or the trade's for `independent`).
    pub day: NaiveDate,
    pub match_type: MatchType,
    pub underlying: Symbol,
    pub rec: Option<RecFacts>,
    /// Trader's expiration minus the recommended one, in days (modify/consent).
    pub dte_diff: Option<i64>,
    /// Trader's strike minus the recommended one.
    pub strike_diff: Option<Money>,
    /// Trader's contracts minus the recommended ones.
    pub contracts_diff: Option<i64>,
    pub modifications: Vec<String>,
    pub reason: Option<ReasonCode>,
    /// Realized P&L of the trader's side (`basis: position` or `decision` as stored), when
    /// final. A rejected recommendation earned the trader 0.
    pub actual_pnl: Option<Money>,
    /// Realized P&L of the recommendation held as recommended, when final.
    pub algorithm_pnl: Option<Money>,
}

/// Builders for the unit tests of this module tree.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A bare item of `match_type` on `day` (YYYY-MM-DD), without recommendation facts.
    pub fn item(id: i64, day: &str, match_type: MatchType) -> Item {
        Item {
            match_id: id,
            day: day.parse().expect("a test date"),
            match_type,
            underlying: Symbol::parse("AAPL").expect("a symbol"),
            rec: None,
            dte_diff: None,
            strike_diff: None,
            contracts_diff: None,
            modifications: Vec::new(),
            reason: None,
            actual_pnl: None,
            algorithm_pnl: None,
        }
    }
}
