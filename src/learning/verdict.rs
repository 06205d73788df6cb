//! The core question (seed "The Core Question", SPEC §6): on the items of a pattern or a
//! reason code, who made more money — the trader or the algorithm?
//!
//! Each item is a pair from the ledger ([`super::ledger::pair`]): what the trader
//! realized (0 for a rejection) and what the recommendation held as recommended would
//! have (fees at the trader's schedule). Items missing either figure are skipped and
//! counted.
//!
//! **The verdict follows the money.** The statistic is the paired difference, trader −
//! algorithm, per item: its mean and total, with a 95 % BCa bootstrap interval of the
//! mean (seeded, so the same items give the same interval; `docs/LEARNING.md` says why
//! this method suits option sellers' skewed, heavy-tailed P&L and not a sign test or a
//! signed-rank test). The trader's way is right when the interval lies above zero, the
//! algorithm's when it lies below; with fewer than `min_pairs` pairs, or an interval
//! across zero, there is no clear winner yet.
//!
//! Beside it, the win counts and their sign test (who is *more often* better): for a
//! seller of options, many small wins and a few large losses, they can point the other
//! way, and then the sentence says so in one line.
//!
//! Verdicts:
//! - `trader_right`: the trader's way made significantly more money — a pattern the
//!   algorithm misses (a candidate);
//! - `information`: the same, but the divergence is about information the algorithm
//!   lacks (earnings avoidance; reasons `earnings_concern`, `already_exposed`, `iv_low`) —
//!   the algorithm needs that data input;
//! - `algorithm_right`: the algorithm's way made significantly more money — trust it
//!   more;
//! - `inconclusive`: neither (too few pairs, or no clear winner).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Item;
use super::ledger::{self, Pair};
use super::patterns::{Pattern, PatternKey};
use super::stats::{self, Alternative};
use crate::domain::outcome::Basis;
use crate::domain::{Money, ReasonCode};

/// Settings of the verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictConfig {
    /// Significance level of the sign test on the win counts.
    pub alpha: f64,
    /// Fewest divergences with a reason code (with both P&L figures) for the code to get a
    /// verdict. Patterns always get one (possibly inconclusive).
    pub min_reason_items: usize,
    /// Fewest pairs for a verdict on money (fewer: inconclusive).
    pub min_pairs: usize,
    /// Confidence level of the interval of the mean difference.
    pub level: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resamples (same seed, same intervals).
    pub seed: u64,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_reason_items: 6,
            min_pairs: 6,
            level: 0.95,
            resamples: 4999,
            seed: 0x0b0b_5eed,
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

/// The paired difference in money, trader − algorithm, over a verdict's pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MoneyDifference {
    /// Sum of the differences: what the trader's way made over the algorithm's.
    pub total: Money,
    /// Mean difference per item (`None` without pairs).
    pub mean: Option<Money>,
    /// BCa bootstrap interval of the mean (`None` with fewer than `min_pairs` pairs).
    pub ci_low: Option<Money>,
    pub ci_high: Option<Money>,
    pub level: f64,
}

/// The difference for one size of a modification (`+7 days`, `+14 days`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeEffect {
    pub size: String,
    pub n: usize,
    pub trader_pnl_total: Money,
    pub algorithm_pnl_total: Money,
    /// Trader − algorithm.
    pub difference: Money,
}

/// Who was right on one pattern or reason code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub subject: VerdictSubject,
    /// Pairs compared (items with both P&L figures).
    pub n: usize,
    /// Of which close decisions (buy-back timing) rather than positions.
    pub decisions: usize,
    /// Items left out because a P&L figure is missing (not final yet).
    pub skipped: usize,
    pub trader_pnl_total: Money,
    pub algorithm_pnl_total: Money,
    pub difference: MoneyDifference,
    /// Pairs where the trader realized more.
    pub trader_better: usize,
    /// Pairs where the algorithm's recommendation would have realized more.
    pub algorithm_better: usize,
    /// Pairs with equal P&L.
    pub ties: usize,
    /// Two-sided sign-test p-value of the win counts (`None` when no pair differs).
    pub p_value: Option<f64>,
    /// A modification habit's difference by the size of the modification, when the
    /// trader made it in more than one size.
    pub by_size: Vec<SizeEffect>,
    pub kind: VerdictKind,
    /// One line for the trader (two when wins and money disagree).
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
        out.push(judge(
            subject,
            &p.description,
            &chosen,
            information,
            size_of(p.key),
            cfg,
        ));
    }
    for &code in ReasonCode::ALL {
        let chosen: Vec<&Item> = sorted
            .iter()
            .copied()
            .filter(|i| i.match_type.is_divergence() && i.reason == Some(code))
            .collect();
        let complete = chosen.iter().filter(|i| ledger::pair(i).is_some()).count();
        if complete < cfg.min_reason_items.max(1) {
            continue;
        }
        let label = format!("Divergences for \"{}\"", code.as_str());
        out.push(judge(
            VerdictSubject::Reason { code },
            &label,
            &chosen,
            is_information_reason(code),
            None,
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

/// How a modification pattern sizes its items: the size's sort key and label.
type Sizer = fn(&Item) -> Option<(i64, String)>;

fn size_of(key: PatternKey) -> Option<Sizer> {
    match key {
        PatternKey::DteShift => Some(|i| {
            let d = i.dte_diff.filter(|d| *d != 0)?;
            Some((
                d,
                format!("{d:+} {}", if d.abs() == 1 { "day" } else { "days" }),
            ))
        }),
        PatternKey::StrikeShift => Some(|i| {
            let d = i.strike_diff.filter(|d| !d.is_zero())?;
            let sign = if d.is_negative() { "-" } else { "+" };
            Some((
                d.units(),
                format!("strike {sign}{}", d.abs().to_dollars_display()),
            ))
        }),
        PatternKey::ContractReduction => Some(|i| {
            let d = i.contracts_diff.filter(|d| *d != 0)?;
            let word = if d.abs() == 1 {
                "contract"
            } else {
                "contracts"
            };
            Some((d, format!("{d:+} {word}")))
        }),
        _ => None,
    }
}

fn judge(
    subject: VerdictSubject,
    label: &str,
    items: &[&Item],
    information: bool,
    sizer: Option<Sizer>,
    cfg: &VerdictConfig,
) -> Verdict {
    let mut pairs: Vec<(&Item, Pair)> = Vec::new();
    let mut skipped = 0usize;
    for i in items {
        match ledger::pair(i) {
            Some(p) => pairs.push((i, p)),
            None => skipped += 1,
        }
    }
    let n = pairs.len();
    let trader_total: Money = pairs.iter().map(|(_, p)| p.trader).sum();
    let algorithm_total: Money = pairs.iter().map(|(_, p)| p.algorithm).sum();
    let count = |o: Ordering| {
        pairs
            .iter()
            .filter(|(_, p)| p.trader.cmp(&p.algorithm) == o)
            .count()
    };
    let (trader_better, algorithm_better, ties) = (
        count(Ordering::Greater),
        count(Ordering::Less),
        count(Ordering::Equal),
    );
    let p_value = stats::sign_test(
        trader_better as u64,
        algorithm_better as u64,
        Alternative::TwoSided,
    )
    .ok();
    let difference = money_difference(&pairs, cfg);
    let kind = match (difference.ci_low, difference.ci_high) {
        (Some(low), _) if low > Money::ZERO && information => VerdictKind::Information,
        (Some(low), _) if low > Money::ZERO => VerdictKind::TraderRight,
        (_, Some(high)) if high < Money::ZERO => VerdictKind::AlgorithmRight,
        _ => VerdictKind::Inconclusive,
    };
    let by_size = sizer.map(|s| sizes(&pairs, s)).unwrap_or_default();
    let record = Record {
        n,
        trader_total,
        algorithm_total,
        difference,
        trader_better,
        algorithm_better,
    };
    let mut sentence = match kind {
        VerdictKind::TraderRight => format!(
            "{label}: your way made more money ({}) — a pattern the algorithm misses.",
            record.words()
        ),
        VerdictKind::Information => format!(
            "{label}: your way made more money ({}) — the algorithm needs that data input.",
            record.words()
        ),
        VerdictKind::AlgorithmRight => format!(
            "{label}: the algorithm's way made more money ({}) — trust the algorithm more.",
            record.words()
        ),
        VerdictKind::Inconclusive if n == 0 => {
            format!("{label}: no final outcomes yet ({skipped} pending).")
        }
        VerdictKind::Inconclusive => {
            format!(
                "{label}: no clear winner in money yet ({}).",
                record.words()
            )
        }
    };
    if let Some(line) = record.disagreement() {
        sentence.push(' ');
        sentence.push_str(&line);
    }
    if !by_size.is_empty() {
        let parts: Vec<String> = by_size
            .iter()
            .map(|s| format!("{} {} on {}", s.size, effect_words(s.difference), s.n))
            .collect();
        sentence.push_str(&format!(" By size: {}.", parts.join("; ")));
    }
    Verdict {
        subject,
        n,
        decisions: pairs
            .iter()
            .filter(|(_, p)| p.basis == Basis::Decision)
            .count(),
        skipped,
        trader_pnl_total: trader_total,
        algorithm_pnl_total: algorithm_total,
        difference,
        trader_better,
        algorithm_better,
        ties,
        p_value,
        by_size,
        kind,
        sentence,
    }
}

/// The mean and total difference with its bootstrap interval. Money goes to the
/// bootstrap in units (1/10,000 of a dollar): whole numbers, so sums are exact and the
/// interval does not depend on the order of additions.
fn money_difference(pairs: &[(&Item, Pair)], cfg: &VerdictConfig) -> MoneyDifference {
    let diffs: Vec<f64> = pairs
        .iter()
        .map(|(_, p)| p.difference().units() as f64)
        .collect();
    let total: Money = pairs.iter().map(|(_, p)| p.difference()).sum();
    let mean = (!pairs.is_empty()).then(|| Money::from_units(total.units() / pairs.len() as i64));
    let ci = (pairs.len() >= cfg.min_pairs.max(2))
        .then(|| stats::bootstrap_mean(&diffs, cfg.level, cfg.resamples, cfg.seed).ok())
        .flatten();
    let units = |x: f64| Money::from_units(x.round() as i64);
    MoneyDifference {
        total,
        mean,
        ci_low: ci.map(|c| units(c.ci.low)),
        ci_high: ci.map(|c| units(c.ci.high)),
        level: cfg.level,
    }
}

/// The pairs by the size of their modification, when there is more than one size.
fn sizes(pairs: &[(&Item, Pair)], sizer: Sizer) -> Vec<SizeEffect> {
    let mut by: BTreeMap<i64, SizeEffect> = BTreeMap::new();
    for (i, p) in pairs {
        let Some((key, size)) = sizer(i) else {
            continue;
        };
        let e = by.entry(key).or_insert_with(|| SizeEffect {
            size,
            n: 0,
            trader_pnl_total: Money::ZERO,
            algorithm_pnl_total: Money::ZERO,
            difference: Money::ZERO,
        });
        e.n += 1;
        e.trader_pnl_total += p.trader;
        e.algorithm_pnl_total += p.algorithm;
        e.difference += p.difference();
    }
    if by.len() < 2 {
        return Vec::new();
    }
    by.into_values().collect()
}

/// What a verdict's sentence shows of its numbers.
struct Record {
    n: usize,
    trader_total: Money,
    algorithm_total: Money,
    difference: MoneyDifference,
    trader_better: usize,
    algorithm_better: usize,
}

impl Record {
    /// "you -$16,156.33 vs the algorithm -$12,726.00 on 145; -$23.65 per item, 95% CI
    /// -$41.00 to -$5.10; better: you 87, the algorithm 58".
    fn words(&self) -> String {
        let mut s = format!(
            "you {} vs the algorithm {} on {}",
            self.trader_total.to_dollars_display(),
            self.algorithm_total.to_dollars_display(),
            self.n
        );
        if let Some(mean) = self.difference.mean {
            s.push_str(&format!("; {} per item", signed(mean)));
        }
        if let (Some(lo), Some(hi)) = (self.difference.ci_low, self.difference.ci_high) {
            s.push_str(&format!(
                ", {:.0}% CI {} to {}",
                self.difference.level * 100.0,
                signed(lo),
                signed(hi)
            ));
        }
        s.push_str(&format!(
            "; better: you {}, the algorithm {}",
            self.trader_better, self.algorithm_better
        ));
        s
    }

    /// One line when the win counts and the money point different ways.
    fn disagreement(&self) -> Option<String> {
        let total = self.difference.total;
        match self.trader_better.cmp(&self.algorithm_better) {
            Ordering::Less if total > Money::ZERO => Some(format!(
                "The algorithm wins more often but loses more when it loses: your habit saved {}.",
                total.to_dollars_display()
            )),
            Ordering::Greater if total < Money::ZERO => Some(format!(
                "You win more often but lose more when you lose: your habit cost {}.",
                (-total).to_dollars_display()
            )),
            _ => None,
        }
    }
}

/// "saved $200.00" / "cost $3,000.00" / "made no difference".
fn effect_words(difference: Money) -> String {
    match difference.cmp(&Money::ZERO) {
        Ordering::Greater => format!("saved {}", difference.to_dollars_display()),
        Ordering::Less => format!("cost {}", (-difference).to_dollars_display()),
        Ordering::Equal => "made no difference".to_owned(),
    }
}

/// A difference with its sign: "+$23.65", "-$5.10", "$0.00".
fn signed(m: Money) -> String {
    if m > Money::ZERO {
        format!("+{}", m.to_dollars_display())
    } else {
        m.to_dollars_display()
    }
}
