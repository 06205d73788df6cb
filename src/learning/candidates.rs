//! Algorithm change candidates ("V4 candidates") through their life, as the seed lays it
//! out: proposed → implement / defer / reject → implemented → validating for 4 weeks →
//! kept / rolled back / modified.
//!
//! Pure: which transitions exist, what a new week's patterns do to existing candidates,
//! and the validation report. The store writes every transition as an audit row.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::kinds::named_enum;
use crate::domain::{Money, UnknownName};

/// How long a change is validated.
pub const VALIDATION_WEEKS: i64 = 4;

named_enum!(
    /// Where a candidate is in its life (SPEC §10 names).
    State, "candidate state" {
        Proposed => "proposed",
        Implemented => "implemented",
        Deferred => "deferred",
        Rejected => "rejected",
        Validating => "validating",
        Kept => "kept",
        RolledBack => "rolled_back",
        Modified => "modified",
    }
);

named_enum!(
    /// The trader's decision on a proposed (or deferred) candidate.
    Decision, "decision" {
        Implement => "implement",
        Defer => "defer",
        Reject => "reject",
    }
);

named_enum!(
    /// The trader's verdict after validation.
    Final, "final decision" {
        Keep => "keep",
        Rollback => "rollback",
        Modify => "modify",
    }
);

/// A transition that is not allowed, or a name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("candidate {id} is {state}; only a proposed or deferred candidate can be decided")]
    NotOpen { id: i64, state: State },
    #[error("candidate {id} is already deferred")]
    AlreadyDeferred { id: i64 },
    #[error("a {action} needs a reason (--reason TEXT)")]
    ReasonRequired { action: &'static str },
    #[error("candidate {id} is {state}; only a candidate in validation can be finalized")]
    NotValidating { id: i64, state: State },
    #[error("candidate {id} is validated until {until}; its report comes after that")]
    StillValidating { id: i64, until: NaiveDate },
}

/// What the evidence looked like when a transition was made: enough to tell later
/// whether it "grew materially".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Items behind the pattern.
    pub n: usize,
    pub effect: f64,
    /// The pattern's adjusted p-value (Benjamini–Hochberg).
    pub q_value: f64,
    pub description: String,
    /// Everything else: the pattern with its statistics, the backtest.
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl Evidence {
    /// Grown materially since `before`: at least half as many items again (and at least
    /// five more), with an effect no weaker.
    pub fn grew_from(&self, before: &Evidence) -> bool {
        let more = self.n >= before.n + (before.n / 2).max(5);
        let as_strong = self.effect.abs() >= before.effect.abs() * 0.9;
        more && as_strong
    }
}

/// A candidate as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub account: i64,
    pub pattern_key: String,
    /// The pattern's subject ("TSLA", "mon", ...), empty when the pattern has none.
    pub subject: String,
    pub title: String,
    pub state: State,
    pub change: serde_json::Value,
    pub evidence: Evidence,
    /// The evidence when the candidate was last rejected or rolled back.
    pub evidence_at_close: Option<Evidence>,
    pub created_at: String,
    pub updated_at: String,
    /// First day of validation (the Monday after it was implemented).
    pub validation_from: Option<NaiveDate>,
    pub report: Option<ValidationReport>,
}

impl Candidate {
    /// The day validation ends (inclusive).
    pub fn validation_until(&self) -> Option<NaiveDate> {
        self.validation_from
            .map(|d| d + Duration::weeks(VALIDATION_WEEKS) - Duration::days(1))
    }
}

/// The state after a decision.
pub fn decide(c: &Candidate, d: Decision, reason: &str) -> Result<State, LifecycleError> {
    match c.state {
        State::Proposed | State::Deferred => {}
        state => return Err(LifecycleError::NotOpen { id: c.id, state }),
    }
    match d {
        Decision::Implement => Ok(State::Implemented),
        Decision::Defer if c.state == State::Deferred => {
            Err(LifecycleError::AlreadyDeferred { id: c.id })
        }
        Decision::Defer => Ok(State::Deferred),
        Decision::Reject if reason.trim().is_empty() => Err(LifecycleError::ReasonRequired {
            action: "rejection",
        }),
        Decision::Reject => Ok(State::Rejected),
    }
}

/// The first day of validation for a change implemented on `day`: the next Monday, the
/// first full week the new algorithm runs.
pub fn validation_start(day: NaiveDate) -> NaiveDate {
    let ahead = 7 - i64::from(day.weekday().num_days_from_monday());
    day + Duration::days(ahead)
}

/// The state after the trader's final verdict; only once the report exists.
pub fn finalize(c: &Candidate, f: Final, reason: &str) -> Result<State, LifecycleError> {
    if c.state != State::Validating {
        return Err(LifecycleError::NotValidating {
            id: c.id,
            state: c.state,
        });
    }
    if c.report.is_none() {
        return Err(LifecycleError::StillValidating {
            id: c.id,
            until: c.validation_until().unwrap_or_default(),
        });
    }
    if f != Final::Keep && reason.trim().is_empty() {
        return Err(LifecycleError::ReasonRequired {
            action: if f == Final::Rollback {
                "rollback"
            } else {
                "modification"
            },
        });
    }
    Ok(match f {
        Final::Keep => State::Kept,
        Final::Rollback => State::RolledBack,
        Final::Modify => State::Modified,
    })
}

/// A change a pattern suggests this week.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub pattern_key: String,
    pub subject: String,
    pub title: String,
    pub change: serde_json::Value,
    pub evidence: Evidence,
}

/// What this week's proposals do to the stored candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A new candidate.
    Propose(Proposal),
    /// An open candidate (proposed or deferred) gets the new evidence.
    Update { id: i64, proposal: Proposal },
    /// A rejected or rolled-back candidate whose evidence grew materially is proposed again.
    Repropose { id: i64, proposal: Proposal },
}

/// Matches proposals to candidates by pattern key and subject. A candidate being
/// implemented, validated, kept or modified is left alone: the change is already in
/// the algorithm and the validation report shows whether the pattern went away.
pub fn plan(existing: &[Candidate], proposals: Vec<Proposal>) -> Vec<Step> {
    let mut steps = Vec::new();
    for p in proposals {
        let same = existing
            .iter()
            .find(|c| c.pattern_key == p.pattern_key && c.subject == p.subject);
        match same {
            None => steps.push(Step::Propose(p)),
            Some(c) => match c.state {
                State::Proposed | State::Deferred => {
                    if c.evidence != p.evidence || c.title != p.title {
                        steps.push(Step::Update {
                            id: c.id,
                            proposal: p,
                        });
                    }
                }
                State::Rejected | State::RolledBack => {
                    let before = c.evidence_at_close.as_ref().unwrap_or(&c.evidence);
                    if p.evidence.grew_from(before) {
                        steps.push(Step::Repropose {
                            id: c.id,
                            proposal: p,
                        });
                    }
                }
                State::Implemented | State::Validating | State::Kept | State::Modified => {}
            },
        }
    }
    steps
}

/// One side of a validation: the four weeks before the change or the four after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub decisions: usize,
    pub divergent: usize,
    pub divergence_rate: f64,
    /// The trader's positions closed in the period (the ledger's).
    pub trades: usize,
    pub pnl: Money,
    pub pnl_per_trade: Option<Money>,
    /// The pattern's own effect in the period (None: not detected there).
    pub pattern_effect: Option<f64>,
}

/// The verdict of a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Improved,
    Worse,
    Inconclusive,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Improved => "improved",
            Outcome::Worse => "worse",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// Before vs after, with a verdict and the tests behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub before: Period,
    pub after: Period,
    pub outcome: Outcome,
    /// Fisher's exact test (two-sided) of the divergence rates.
    pub divergence_p: Option<f64>,
    /// Welch's t-test (two-sided) of the P&L per trade.
    pub pnl_p: Option<f64>,
    pub sentence: String,
}
