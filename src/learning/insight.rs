//! Joins the engine's parts for one account: patterns with their evidence, the verdicts
//! of the core question, the candidates the patterns propose (with backtests), and the
//! validation report of an implemented change.

use chrono::NaiveDate;
use serde::Serialize;

use std::borrow::Cow;

use super::analytics::{self, SideRecord};
use super::candidates::{Candidate, Evidence, Outcome, Period, Proposal, ValidationReport};
use super::ledger::{self, Ledger};
use super::patterns::{self, Pattern, PatternConfig};
use super::stats::{self, Alternative, Table2};
use super::verdict::{self, Verdict, VerdictSubject};
use super::{DayRange, Item, LearningConfig};
use crate::domain::Money;

/// Significance level of the validation tests.
const VALIDATION_ALPHA: f64 = 0.05;

/// A reported pattern as summaries store it: the pattern, its verdict, and the change it
/// suggests with its backtest.
#[derive(Debug, Clone, Serialize)]
pub struct PatternReport<'a> {
    #[serde(flatten)]
    pub pattern: &'a Pattern,
    pub verdict: Option<&'a Verdict>,
    pub proposal: Option<serde_json::Value>,
}

/// What one account's look-back says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    /// The reported patterns, as JSON (key, description, n, effect, the evidence, the
    /// verdict and the proposal).
    pub patterns: Vec<serde_json::Value>,
    /// One sentence per reported pattern.
    pub descriptions: Vec<String>,
    /// The verdicts on reason codes, as JSON (those on patterns are in `patterns`).
    pub reason_verdicts: Vec<serde_json::Value>,
    pub proposals: Vec<Proposal>,
}

/// The detection's settings: the configured ones, with the configured look-back.
pub fn pattern_config(cfg: &LearningConfig) -> PatternConfig {
    PatternConfig {
        lookback_weeks: cfg.lookback_weeks,
        ..cfg.patterns.clone()
    }
}

/// The items made in `period` (by match day): what patterns are computed over.
fn made_in(items: &[Item], period: DayRange) -> Cow<'_, [Item]> {
    if items.iter().all(|i| period.contains(i.day)) {
        Cow::Borrowed(items)
    } else {
        Cow::Owned(
            items
                .iter()
                .filter(|i| period.contains(i.day))
                .cloned()
                .collect(),
        )
    }
}

/// Patterns, verdicts and proposals of one account's look-back: the items made in
/// `lookback` (items of `items` made earlier, loaded because they closed in it, are left
/// out).
pub fn learn(items: &[Item], lookback: DayRange, cfg: &LearningConfig) -> Learned {
    let items = made_in(items, lookback);
    let items: &[Item] = &items;
    let found = patterns::detect(items, &pattern_config(cfg));
    let verdicts = verdict::verdicts(&found, items, &cfg.verdicts);
    let mut learned = Learned::default();
    for p in &found {
        let v = verdicts.iter().find(|v| {
            matches!(&v.subject, VerdictSubject::Pattern { key, subject } if *key == p.key && *subject == p.subject)
        });
        let proposal = patterns::proposal(p);
        let backtest = proposal
            .as_ref()
            .and_then(|pr| patterns::backtest(&pr.change, items));
        let proposal_json = proposal.as_ref().map(|pr| {
            serde_json::json!({
                "title": pr.title,
                "change": pr.change,
                "backtest": backtest,
            })
        });
        let report = PatternReport {
            pattern: p,
            verdict: v,
            proposal: proposal_json,
        };
        let json = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
        if let Some(pr) = proposal {
            // A change that would have lost money is not proposed as a gain: its title
            // says what it would have cost.
            let title = match backtest.as_ref().and_then(patterns::Backtest::cost) {
                Some(cost) => format!("{} — {cost}", pr.title),
                None => pr.title,
            };
            learned.proposals.push(Proposal {
                pattern_key: p.key.as_str().to_owned(),
                subject: p.subject.clone().unwrap_or_default(),
                title,
                change: serde_json::to_value(&pr.change).unwrap_or(serde_json::Value::Null),
                evidence: Evidence {
                    n: p.n,
                    effect: p.effect,
                    q_value: p.q_value,
                    description: p.description.clone(),
                    detail: json.clone(),
                },
            });
        }
        learned.descriptions.push(p.description.clone());
        learned.patterns.push(json);
    }
    learned.reason_verdicts = verdicts
        .iter()
        .filter(|v| matches!(v.subject, VerdictSubject::Reason { .. }))
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    learned
}

/// One side of a validation: the decisions made in the period and the trader's
/// positions closed in it, from the ledger.
fn period(from: NaiveDate, to: NaiveDate, items: &[Item]) -> (Period, Vec<f64>) {
    let range = DayRange::new(from, to);
    let rate = analytics::divergence_rate(items, range);
    let ledger = Ledger::of(items, range);
    let pnls = ledger::trader_position_pnls(items, range);
    let trader = SideRecord::of(pnls.iter().copied());
    debug_assert_eq!(trader.total_pnl, ledger.trader_realized());
    let period = Period {
        from,
        to,
        decisions: rate.decisions,
        divergent: rate.divergent,
        divergence_rate: rate.rate,
        trades: trader.n,
        pnl: ledger.trader_realized(),
        pnl_per_trade: trader.average_pnl,
        pattern_effect: None,
    };
    let dollars = pnls.iter().map(|m| m.units() as f64 / 10_000.0).collect();
    (period, dollars)
}

/// The candidate's own pattern in a period's items, if detected there.
fn own_effect(
    c: &Candidate,
    period: DayRange,
    items: &[Item],
    cfg: &LearningConfig,
) -> Option<f64> {
    patterns::detect(&made_in(items, period), &pattern_config(cfg))
        .into_iter()
        .find(|p| {
            p.key.as_str() == c.pattern_key && p.subject.clone().unwrap_or_default() == c.subject
        })
        .map(|p| p.effect)
}

/// Before vs after an implemented change: divergence rate (Fisher's exact test), P&L per
/// trade (Welch's t-test) and the pattern's own effect. Improved when a test shows a
/// significant change for the better and none for the worse; worse the other way round;
/// otherwise inconclusive.
pub fn validate(
    c: &Candidate,
    before: (NaiveDate, NaiveDate, &[Item]),
    after: (NaiveDate, NaiveDate, &[Item]),
    cfg: &LearningConfig,
) -> ValidationReport {
    let (mut b, b_pnl) = period(before.0, before.1, before.2);
    let (mut a, a_pnl) = period(after.0, after.1, after.2);
    b.pattern_effect = own_effect(c, DayRange::new(before.0, before.1), before.2, cfg);
    a.pattern_effect = own_effect(c, DayRange::new(after.0, after.1), after.2, cfg);
    let divergence_p = stats::fisher_exact(
        Table2 {
            a: b.divergent as u64,
            b: (b.decisions - b.divergent) as u64,
            c: a.divergent as u64,
            d: (a.decisions - a.divergent) as u64,
        },
        Alternative::TwoSided,
    )
    .ok();
    let pnl_p = stats::welch_t_test(&a_pnl, &b_pnl, 0.95)
        .ok()
        .map(|t| t.p_value);
    let significant = |p: Option<f64>| p.is_some_and(|p| p <= VALIDATION_ALPHA);
    let mut better = Vec::new();
    let mut worse = Vec::new();
    if significant(divergence_p) {
        if a.divergence_rate < b.divergence_rate {
            better.push("you diverged less");
        } else {
            worse.push("you diverged more");
        }
    }
    if significant(pnl_p) {
        if a.pnl_per_trade > b.pnl_per_trade {
            better.push("P&L per trade rose");
        } else {
            worse.push("P&L per trade fell");
        }
    }
    let outcome = match (better.is_empty(), worse.is_empty()) {
        (false, true) => Outcome::Improved,
        (true, false) => Outcome::Worse,
        _ => Outcome::Inconclusive,
    };
    let pct = |r: f64| format!("{:.0}%", r * 100.0);
    let per = |m: Option<Money>| m.map_or("—".to_owned(), Money::to_dollars_display);
    let gone = match (b.pattern_effect, a.pattern_effect) {
        (Some(_), None) => "; the pattern is gone",
        (_, Some(_)) => "; the pattern is still there",
        (None, None) => "",
    };
    let why = match outcome {
        Outcome::Improved => better.join(" and "),
        Outcome::Worse => worse.join(" and "),
        Outcome::Inconclusive => "no significant change".to_owned(),
    };
    let sentence = format!(
        "{}: {why} (divergence {} → {}, P&L per trade {} → {}{gone})",
        outcome.as_str(),
        pct(b.divergence_rate),
        pct(a.divergence_rate),
        per(b.pnl_per_trade),
        per(a.pnl_per_trade),
    );
    ValidationReport {
        before: b,
        after: a,
        outcome,
        divergence_p,
        pnl_p,
        sentence,
    }
}
