//! Learning: what the reconciled items say about the trader and the algorithm.
//!
//! Everything here is pure computation over [`Item`]s (one per reconciled match, with
//! the recommendation's context, what was done and both sides' outcomes); the store
//! loads the items, the CLI and the bot show the results.
//!
//! `learning` imports only `domain` (and itself): what it needs from the program's
//! settings arrives as a [`LearningConfig`], built by `config::Settings`.
//!
//! - `ledger`: the one definition of what the trader and the algorithm realized over
//!   items and a period; every figure of money below reads it.
//! - `stats`: the statistical tests, intervals, the bootstrap and the Benjamini–Hochberg
//!   correction.
//! - `patterns`: the pattern catalog of SPEC §6 over a look-back of items.
//! - `verdict`: the core question — who made more money on each pattern and reason code.
//! - `summary`: the weekly message; `analytics`: the seed's three analytics;
//!   `candidates`: the candidates' lifecycle; `insight`: the parts joined for one account.

pub mod analytics;
pub mod candidates;
pub mod insight;
pub mod ledger;
pub mod patterns;
pub mod stats;
pub mod summary;
pub mod verdict;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::domain::outcome::Basis;
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
    /// When it was made, in the schedule time zone (time-of-day effects).
    pub created_local: NaiveDateTime,
    /// The trading session it was sent in, or the next one when it was sent while the
    /// market was shut (a weekend, a holiday): weekday effects count sessions, so a
    /// Saturday's recommendation is a Monday one.
    pub session: NaiveDate,
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
    /// The weekday of its session.
    pub fn session_weekday(&self) -> chrono::Weekday {
        chrono::Datelike::weekday(&self.session)
    }

    /// The hour it was sent at, when it was sent on a session's day (time-of-day
    /// effects are about sessions; a Sunday evening's hour says nothing of them).
    pub fn session_hour(&self) -> Option<u32> {
        (self.session == self.created_local.date())
            .then(|| chrono::Timelike::hour(&self.created_local))
    }

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
    /// The trader's side: the position this item opened, or the close decision it made
    /// (`None` when nothing was executed and nothing was held — a rejected opening
    /// recommendation, which the ledger counts as 0 — or not tracked yet).
    pub actual: Option<SideOutcome>,
    /// The recommendation held as recommended (`None` for an independent trade).
    pub algorithm: Option<SideOutcome>,
    /// The trader's fees per contract, from the account's own fills: the fee schedule the
    /// algorithm's counterfactual side pays in the ledger.
    pub fee_schedule: FeeSchedule,
}

/// One side's outcome of an item, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SideOutcome {
    /// `position` (a position opened here) or `decision` (a close decision, measured from
    /// the decision: never added to position P&L).
    pub basis: Basis,
    /// Realized P&L, fees included, when final.
    pub pnl: Option<Money>,
    /// The day the position closed (or the decision resolved), when final.
    pub closed: Option<NaiveDate>,
    /// Fees included in `pnl`.
    pub fees: Money,
}

impl SideOutcome {
    /// A final position outcome.
    pub fn position(pnl: Money, closed: NaiveDate) -> Self {
        Self {
            basis: Basis::Position,
            pnl: Some(pnl),
            closed: Some(closed),
            fees: Money::ZERO,
        }
    }
}

/// What the trader paid in fees per contract, over the account's own fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FeeSchedule {
    /// Fees of the trader's fills (expirations and assignments excluded).
    pub fees: Money,
    /// Contracts of those fills.
    pub contracts: i64,
}

impl FeeSchedule {
    /// The fee for `contracts` contracts at this schedule (the average fee per contract),
    /// rounded to the nearest unit of money.
    pub fn for_contracts(&self, contracts: i64) -> Money {
        if self.contracts <= 0 || contracts <= 0 {
            return Money::ZERO;
        }
        let num = i128::from(self.fees.units()) * i128::from(contracts);
        let den = i128::from(self.contracts);
        let rounded = num.signum() * ((2 * num.abs() + den) / (2 * den));
        Money::from_units(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

/// The days from `from` to `to`, both included: the period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Self { from, to }
    }

    /// The last `days` days up to `today`, both included (at least one day).
    pub fn last_days(days: u32, today: NaiveDate) -> Self {
        let back = chrono::Duration::days(i64::from(days.max(1)) - 1);
        Self::new(
            today.checked_sub_signed(back).unwrap_or(NaiveDate::MIN),
            today,
        )
    }

    /// How many days it spans, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// Whether `day` is known and inside.
    pub fn holds(&self, day: Option<NaiveDate>) -> bool {
        day.is_some_and(|d| self.contains(d))
    }
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
            actual: None,
            algorithm: None,
            fee_schedule: FeeSchedule::default(),
        }
    }

    /// Both sides' final position P&L, closed on the item's day (`None`: not final).
    pub fn with_pnl(mut i: Item, actual: Option<Money>, algorithm: Option<Money>) -> Item {
        i.actual = actual.map(|p| SideOutcome::position(p, i.day));
        i.algorithm = algorithm.map(|p| SideOutcome::position(p, i.day));
        i
    }
}
