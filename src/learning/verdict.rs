//! The core question (seed "The Core Question", SPEC §6): on the items of a pattern or a
//! reason code, who was right — the trader or the algorithm?
//!
//! Each item is a pair: what the trader realized (`actual_pnl`; 0 for a rejection) and
//! what the recommendation held as recommended realized (`algorithm_pnl`). Items missing
//! either figure are skipped and counted. The test is the **sign test** (exact binomial,
//! two-sided, p = ½) on the pairs where one side did better; ties are left out. It asks
//! "who is more often right", does not assume P&L is normally distributed, and is not
//! swayed by one large trade; the P&L totals are reported beside it.
//!
//! Verdicts:
//! - `trader_right`: the trader is significantly more often right — a pattern the
//!   algorithm misses (a candidate);
//! - `information`: the same, but the divergence is about information the algorithm
//!   lacks (earnings avoidance; reasons `earnings_concern`, `already_exposed`, `iv_low`) —
//!   the algorithm needs that data input;
//! - `algorithm_right`: the algorithm is significantly more often right — trust it more;
//! - `inconclusive`: neither (too few pairs, or no clear winner).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde::Serialize;

use super::Item;
use super::patterns::{Pattern, PatternKey};
use super::stats::{self, Alternative};
use crate::domain::{Money, ReasonCode};

/// Settings of the verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictConfig {
    /// Significance level of the sign test.
    pub alpha: f64,
    /// Fewest divergences with a reason code (with both P&L figures) for the code to get a
    /// verdict. Patterns always get one (possibly inconclusive).
    pub min_reason_items: usize,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_reason_items: 6,
        }
    }
}

/// What a verdict is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerdictSubject {
    Pattern {
        key: PatternKey,
        subject: Option<String>,
    },
    Reason {
        code: ReasonCode,
    },
}

/// The answer to the core question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    TraderRight,
    AlgorithmRight,
    Information,
    Inconclusive,
}

impl VerdictKind {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::TraderRight => "trader_right",
            VerdictKind::AlgorithmRight => "algorithm_right",
            VerdictKind::Information => "information",
            VerdictKind::Inconclusive => "inconclusive",
        }
    }
}

/// Who was right on one pattern or reason code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub subject: VerdictSubject,
    /// Pairs compared (items with both P&L figures).
    pub n: usize,
    /// Items left out because a P&L figure is missing (not final yet).
    pub skipped: usize,
    pub trader_pnl_total: Money,
    pub algorithm_pnl_total: Money,
    /// Pairs where the trader realized more.
    pub trader_better: usize,
    /// Pairs where the algorithm's recommendation would have realized more.
    pub algorithm_better: usize,
    /// Pairs with equal P&L.
    pub ties: usize,
    /// Two-sided sign-test p-value (`None` when no pair differs).
    pub p_value: Option<f64>,
    pub kind: VerdictKind,
    /// One line for the trader.
    pub sentence: String,
}

/// Verdicts for each pattern (on its supporting matches) and each reason code with
/// enough items (on the divergences carrying it), patterns first, in the patterns' order
/// and then the reason codes' order.
pub fn verdicts(patterns: &[Pattern], items: &[Item], cfg: &VerdictConfig) -> Vec<Verdict> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by_key(|i| i.match_id);
    let mut out = Vec::new();
    for p in patterns {
        let ids: BTreeSet<i64> = p.match_ids.iter().copied().collect();
        let chosen: Vec<&Item> = sorted
            .iter()
            .copied()
            .filter(|i| ids.contains(&i.match_id))
            .collect();
        let subject = VerdictSubject::Pattern {
            key: p.key,
            subject: p.subject.clone(),
        };
        let information = p.key == PatternKey::EarningsAvoidance
            || (p.key == PatternKey::ReasonDominance
                && p.subject
                    .as_deref()
                    .and_then(|s| s.parse::<ReasonCode>().ok())
                    .is_some_and(is_information_reason));
        out.push(judge(subject, &p.description, &chosen, information, cfg));
    }
    for &code in ReasonCode::ALL {
        let chosen: Vec<&Item> = sorted
            .iter()
            .copied()
            .filter(|i| i.match_type.is_divergence() && i.reason == Some(code))
            .collect();
        let complete = chosen
            .iter()
            .filter(|i| i.actual_pnl.is_some() && i.algorithm_pnl.is_some())
            .count();
        if complete < cfg.min_reason_items.max(1) {
            continue;
        }
        let label = format!("Divergences for \"{}\"", code.as_str());
        out.push(judge(
            VerdictSubject::Reason { code },
            &label,
            &chosen,
            is_information_reason(code),
            cfg,
        ));
    }
    out
}

/// Reasons that say the trader knew something the algorithm does not see.
pub fn is_information_reason(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::EarningsConcern | ReasonCode::AlreadyExposed | ReasonCode::IvLow
    )
}

fn judge(
    subject: VerdictSubject,
    label: &str,
    items: &[&Item],
    information: bool,
    cfg: &VerdictConfig,
) -> Verdict {
    let (mut n, mut skipped, mut ties) = (0usize, 0usize, 0usize);
    let (mut trader_better, mut algorithm_better) = (0usize, 0usize);
    let (mut trader_total, mut algorithm_total) = (Money::ZERO, Money::ZERO);
    for i in items {
        let (Some(actual), Some(alg)) = (i.actual_pnl, i.algorithm_pnl) else {
            skipped += 1;
            continue;
        };
        n += 1;
        trader_total += actual;
        algorithm_total += alg;
        match actual.cmp(&alg) {
            Ordering::Greater => trader_better += 1,
            Ordering::Less => algorithm_better += 1,
            Ordering::Equal => ties += 1,
        }
    }
    let p_value = stats::sign_test(
        trader_better as u64,
        algorithm_better as u64,
        Alternative::TwoSided,
    )
    .ok();
    let significant = p_value.is_some_and(|p| p <= cfg.alpha);
    let kind = match trader_better.cmp(&algorithm_better) {
        Ordering::Greater if significant && information => VerdictKind::Information,
        Ordering::Greater if significant => VerdictKind::TraderRight,
        Ordering::Less if significant => VerdictKind::AlgorithmRight,
        _ => VerdictKind::Inconclusive,
    };
    let record = format!(
        "you {trader_better}, algorithm {algorithm_better} of {n}; {} vs {}",
        trader_total.to_dollars_display(),
        algorithm_total.to_dollars_display()
    );
    let sentence = match kind {
        VerdictKind::TraderRight => format!(
            "{label}: you were right more often ({record}) — a pattern the algorithm misses."
        ),
        VerdictKind::Information => format!(
            "{label}: you were right more often ({record}) — the algorithm needs that data input."
        ),
        VerdictKind::AlgorithmRight => format!(
            "{label}: the algorithm was right more often ({record}) — trust the algorithm more."
        ),
        VerdictKind::Inconclusive if n == 0 => {
            format!("{label}: no final outcomes yet ({skipped} pending).")
        }
        VerdictKind::Inconclusive => {
            format!("{label}: no clear winner yet ({record}).")
        }
    };
    Verdict {
        subject,
        n,
        skipped,
        trader_pnl_total: trader_total,
        algorithm_pnl_total: algorithm_total,
        trader_better,
        algorithm_better,
        ties,
        p_value,
        kind,
        sentence,
    }
}
