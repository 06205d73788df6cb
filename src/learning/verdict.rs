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

use serde::Serialize;

use super::Item;
use super::patterns::{Pattern, PatternKey};
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
/// enough items (on the divergences carrying it), patterns first.
pub fn verdicts(patterns: &[Pattern], items: &[Item], cfg: &VerdictConfig) -> Vec<Verdict> {
    let _ = (patterns, items, cfg);
    Vec::new()
}
