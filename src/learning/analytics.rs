//! The seed's three analytics: divergence rate over time, algorithm accuracy when followed
//! vs diverged, and the most common modifications. Pure functions over items and an
//! explicit period: decisions are counted by the day they were made (the match day),
//! money by the day positions closed ([`super::ledger`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::ledger::{self, Pair};
use super::summary::Week;
use super::{DayRange, Item};
use crate::domain::outcome::Basis;
use crate::domain::{MatchType, Money};

/// One week of the divergence rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekRate {
    pub week: String,
    /// Decisions the trader made: consent, modify, reject and independent trades.
    pub decisions: usize,
    /// Of which diverged: modify, reject, independent.
    pub divergent: usize,
    pub rate: f64,
}

/// The divergence rate over a period, overall and per ISO week.
///
/// `no_action` items are left out: nothing was decided (the position resolved itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DivergenceRate {
    pub decisions: usize,
    pub divergent: usize,
    pub rate: f64,
    pub weeks: Vec<WeekRate>,
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The divergence rate of the decisions made in `period`.
pub fn divergence_rate(items: &[Item], period: DayRange) -> DivergenceRate {
    let mut weeks: BTreeMap<Week, (usize, usize)> = BTreeMap::new();
    let made = items
        .iter()
        .filter(|i| period.contains(i.day) && i.match_type != MatchType::NoAction);
    for i in made {
        let w = weeks.entry(Week::of(i.day)).or_default();
        w.0 += 1;
        w.1 += usize::from(i.match_type.is_divergence());
    }
    let decisions = weeks.values().map(|w| w.0).sum();
    let divergent = weeks.values().map(|w| w.1).sum();
    DivergenceRate {
        decisions,
        divergent,
        rate: rate(divergent, decisions),
        weeks: weeks
            .into_iter()
            .map(|(w, (n, d))| WeekRate {
                week: w.label(),
                decisions: n,
                divergent: d,
                rate: rate(d, n),
            })
            .collect(),
    }
}

/// How one side did on a set of items with a final P&L.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SideRecord {
    pub n: usize,
    /// Items with a P&L above zero.
    pub wins: usize,
    pub win_rate: Option<f64>,
    pub total_pnl: Money,
    pub average_pnl: Option<Money>,
}

impl SideRecord {
    /// The record of these P&L figures.
    pub fn of(pnls: impl IntoIterator<Item = Money>) -> Self {
        let mut r = Self::default();
        for p in pnls {
            r.n += 1;
            r.wins += usize::from(p > Money::ZERO);
            r.total_pnl += p;
        }
        if r.n > 0 {
            r.win_rate = Some(r.wins as f64 / r.n as f64);
            r.average_pnl = Some(Money::from_units(r.total_pnl.units() / r.n as i64));
        }
        r
    }
}

/// The algorithm when followed vs when the trader diverged, and who did better on the
/// divergences: positions closed in the period (a pair when its later side closed),
/// with close decisions and independent trades beside.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// The algorithm's positions on the recommendations the trader followed (consent):
    /// the trader's own outcomes.
    pub followed: SideRecord,
    /// The algorithm's counterfactual positions on the recommendations the trader
    /// modified or rejected.
    pub diverged_algorithm: SideRecord,
    /// The trader's outcomes on those same items (a rejection made 0).
    pub diverged_trader: SideRecord,
    pub trader_better: usize,
    pub algorithm_better: usize,
    pub ties: usize,
    /// Close decisions (buy-back timing) on recommendations: never in the records above.
    pub decisions: DecisionRecord,
    /// The trader's positions from independent trades: no algorithm side to compare.
    pub independent: SideRecord,
    /// Items made in the period (by match day) whose outcome is not final yet.
    pub pending: usize,
}

/// Close decisions on recommendations in a period: followed, and diverged with who did
/// better.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub followed: usize,
    pub diverged: usize,
    pub trader_better: usize,
    pub algorithm_better: usize,
    pub ties: usize,
    /// The trader's and the algorithm's outcomes of the diverged decisions.
    pub trader_total: Money,
    pub algorithm_total: Money,
}

/// Algorithm accuracy over the positions closed in `period`.
pub fn algorithm_accuracy(items: &[Item], period: DayRange) -> Accuracy {
    let mut followed = Vec::new();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut decisions = DecisionRecord::default();
    for i in items {
        let Some(p) = ledger::pair(i).filter(|p| period.contains(p.closed)) else {
            continue;
        };
        match (p.basis, i.match_type) {
            (Basis::Position, MatchType::Consent) => followed.push(p.algorithm),
            (Basis::Position, MatchType::Modify | MatchType::Reject) => pairs.push(p),
            (Basis::Decision, MatchType::Consent) => decisions.followed += 1,
            (Basis::Decision, _) | (Basis::Position, MatchType::NoAction) => {
                decisions.diverged += 1;
                decisions.trader_total += p.trader;
                decisions.algorithm_total += p.algorithm;
                match p.trader.cmp(&p.algorithm) {
                    std::cmp::Ordering::Greater => decisions.trader_better += 1,
                    std::cmp::Ordering::Less => decisions.algorithm_better += 1,
                    std::cmp::Ordering::Equal => decisions.ties += 1,
                }
            }
            (Basis::Position, MatchType::Independent) => {}
        }
    }
    let independent: Vec<Money> = items
        .iter()
        .filter(|i| i.match_type == MatchType::Independent)
        .flat_map(|i| ledger::trader_position_pnls(std::slice::from_ref(i), period))
        .collect();
    let pending = items
        .iter()
        .filter(|i| period.contains(i.day) && i.match_type != MatchType::Independent)
        .filter(|i| ledger::pair(i).is_none())
        .count();
    Accuracy {
        followed: SideRecord::of(followed),
        diverged_algorithm: SideRecord::of(pairs.iter().map(|p| p.algorithm)),
        diverged_trader: SideRecord::of(pairs.iter().map(|p| p.trader)),
        trader_better: pairs.iter().filter(|p| p.trader > p.algorithm).count(),
        algorithm_better: pairs.iter().filter(|p| p.trader < p.algorithm).count(),
        ties: pairs.iter().filter(|p| p.trader == p.algorithm).count(),
        decisions,
        independent: SideRecord::of(independent),
        pending,
    }
}

/// One kind of modification and how often the trader made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModificationCount {
    pub modification: String,
    pub count: usize,
    /// Of the modified items.
    pub share: f64,
}

/// The modifications made in `period`, most common first (ties by name).
pub fn top_modifications(items: &[Item], period: DayRange) -> Vec<ModificationCount> {
    let modified: Vec<&Item> = items
        .iter()
        .filter(|i| period.contains(i.day) && i.match_type == MatchType::Modify)
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &modified {
        for m in &i.modifications {
            *counts.entry(m.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<ModificationCount> = counts
        .into_iter()
        .map(|(m, count)| ModificationCount {
            modification: m.to_owned(),
            count,
            share: rate(count, modified.len()),
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.modification.cmp(&b.modification))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::testing::{item, with_pnl};

    fn all() -> DayRange {
        DayRange::new("2025-01-01".parse().unwrap(), "2025-12-31".parse().unwrap())
    }

    #[test]
    fn divergence_rate_counts_decisions_per_week_and_leaves_out_no_action() {
        let items = vec![
            item(1, "2025-01-06", MatchType::Consent),
            item(2, "2025-01-07", MatchType::Modify),
            item(3, "2025-01-08", MatchType::NoAction),
            item(4, "2025-01-13", MatchType::Reject),
            item(5, "2025-01-14", MatchType::Independent),
        ];
        let r = divergence_rate(&items, all());
        assert_eq!((r.decisions, r.divergent), (4, 3));
        assert_eq!(r.weeks.len(), 2);
        assert_eq!(r.weeks[0].week, "2025-W02");
        assert_eq!((r.weeks[0].decisions, r.weeks[0].divergent), (2, 1));
        assert_eq!(r.weeks[1].rate, 1.0);
        assert_eq!(divergence_rate(&[], all()).rate, 0.0);
    }

    #[test]
    fn accuracy_compares_both_sides_on_the_same_divergences() {
        let m = |d| Some(Money::from_dollars(d));
        let a = with_pnl(item(1, "2025-01-06", MatchType::Consent), m(50), m(50));
        let b = with_pnl(item(2, "2025-01-06", MatchType::Reject), None, m(-200));
        let c = with_pnl(item(3, "2025-01-06", MatchType::Modify), m(30), m(40));
        let d = item(4, "2025-01-06", MatchType::Modify);
        let r = algorithm_accuracy(&[a, b, c, d], all());
        assert_eq!(r.followed.n, 1);
        assert_eq!(r.followed.win_rate, Some(1.0));
        assert_eq!(r.diverged_algorithm.total_pnl, Money::from_dollars(-160));
        assert_eq!(
            r.diverged_algorithm.average_pnl,
            Some(Money::from_dollars(-80))
        );
        assert_eq!(r.diverged_trader.wins, 1);
        assert_eq!((r.trader_better, r.algorithm_better, r.ties), (1, 1, 0));
        assert_eq!(r.pending, 1);
    }

    #[test]
    fn top_modifications_are_sorted_by_count_then_name() {
        let mut items = Vec::new();
        for (id, mods) in [
            (1, "dte+7"),
            (2, "dte+7,contracts-1"),
            (3, "contracts-1"),
            (4, "strike-5.00"),
        ] {
            let mut i = item(id, "2025-01-06", MatchType::Modify);
            i.modifications = mods.split(',').map(str::to_owned).collect();
            items.push(i);
        }
        let top = top_modifications(&items, all());
        let names: Vec<_> = top
            .iter()
            .map(|m| (m.modification.as_str(), m.count))
            .collect();
        assert_eq!(
            names,
            [("contracts-1", 2), ("dte+7", 2), ("strike-5.00", 1)]
        );
        assert_eq!(top[0].share, 0.5);
    }
}
