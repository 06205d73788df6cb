//! Joins the engine's parts for one account: patterns with their evidence, the verdicts
//! of the core question, the candidates the patterns propose (with backtests), and the
//! validation report of an implemented change.

use chrono::NaiveDate;

use super::Item;
use super::candidates::{Candidate, Outcome, Period, Proposal, ValidationReport};
use crate::config::Settings;
use crate::domain::{MatchType, Money};

/// What one account's look-back says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    /// The reported patterns, as JSON (key, description, n, effect and the evidence).
    pub patterns: Vec<serde_json::Value>,
    /// One sentence per reported pattern.
    pub descriptions: Vec<String>,
    /// The verdicts of the core question, as JSON.
    pub verdicts: Vec<serde_json::Value>,
    pub proposals: Vec<Proposal>,
}

/// Patterns, verdicts and proposals of `items` (the look-back of one account).
pub fn learn(_items: &[Item], _settings: &Settings) -> Learned {
    Learned::default()
}

fn period(from: NaiveDate, to: NaiveDate, items: &[Item]) -> Period {
    let decisions: Vec<&Item> = items
        .iter()
        .filter(|i| i.match_type != MatchType::NoAction)
        .collect();
    let divergent = decisions
        .iter()
        .filter(|i| i.match_type.is_divergence())
        .count();
    let pnls: Vec<Money> = items.iter().filter_map(|i| i.actual_pnl).collect();
    let pnl = pnls.iter().fold(Money::ZERO, |a, b| a + *b);
    Period {
        from,
        to,
        decisions: decisions.len(),
        divergent,
        divergence_rate: if decisions.is_empty() {
            0.0
        } else {
            divergent as f64 / decisions.len() as f64
        },
        trades: pnls.len(),
        pnl,
        pnl_per_trade: (!pnls.is_empty())
            .then(|| Money::from_units(pnl.units() / pnls.len() as i64)),
        pattern_effect: None,
    }
}

/// Before vs after an implemented change.
pub fn validate(
    _c: &Candidate,
    before: (NaiveDate, NaiveDate, &[Item]),
    after: (NaiveDate, NaiveDate, &[Item]),
    _settings: &Settings,
) -> ValidationReport {
    let b = period(before.0, before.1, before.2);
    let a = period(after.0, after.1, after.2);
    ValidationReport {
        before: b,
        after: a,
        outcome: Outcome::Inconclusive,
        divergence_p: None,
        pnl_p: None,
        sentence: "inconclusive".to_owned(),
    }
}
