//! The seed's three analytics: divergence rate over time, algorithm accuracy when followed
//! vs diverged, and the most common modifications. Pure functions over items.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Item;
use super::summary::Week;
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

pub fn divergence_rate(items: &[Item]) -> DivergenceRate {
    let mut weeks: BTreeMap<Week, (usize, usize)> = BTreeMap::new();
    for i in items.iter().filter(|i| i.match_type != MatchType::NoAction) {
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
/// divergences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// The algorithm's outcomes on the recommendations the trader followed (consent).
    pub followed: SideRecord,
    /// The algorithm's counterfactual outcomes on the recommendations the trader modified
    /// or rejected.
    pub diverged_algorithm: SideRecord,
    /// The trader's outcomes on those same items.
    pub diverged_trader: SideRecord,
    pub trader_better: usize,
    pub algorithm_better: usize,
    pub ties: usize,
    /// Items left out because a side has no final P&L yet.
    pub pending: usize,
}

pub fn algorithm_accuracy(items: &[Item]) -> Accuracy {
    let mut followed = Vec::new();
    let mut pairs = Vec::new();
    let mut pending = 0;
    for i in items {
        match i.match_type {
            MatchType::Consent => match i.algorithm_pnl {
                Some(p) => followed.push(p),
                None => pending += 1,
            },
            MatchType::Modify | MatchType::Reject => match (i.actual_pnl, i.algorithm_pnl) {
                (Some(a), Some(g)) => pairs.push((a, g)),
                _ => pending += 1,
            },
            MatchType::Independent | MatchType::NoAction => {}
        }
    }
    Accuracy {
        followed: SideRecord::of(followed),
        diverged_algorithm: SideRecord::of(pairs.iter().map(|p| p.1)),
        diverged_trader: SideRecord::of(pairs.iter().map(|p| p.0)),
        trader_better: pairs.iter().filter(|(a, g)| a > g).count(),
        algorithm_better: pairs.iter().filter(|(a, g)| a < g).count(),
        ties: pairs.iter().filter(|(a, g)| a == g).count(),
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

/// The modifications, most common first (ties by name).
pub fn top_modifications(items: &[Item]) -> Vec<ModificationCount> {
    let modified: Vec<&Item> = items
        .iter()
        .filter(|i| i.match_type == MatchType::Modify)
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
    use crate::learning::testing::item;

    #[test]
    fn divergence_rate_counts_decisions_per_week_and_leaves_out_no_action() {
        let items = vec![
            item(1, "2025-01-06", MatchType::Consent),
            item(2, "2025-01-07", MatchType::Modify),
            item(3, "2025-01-08", MatchType::NoAction),
            item(4, "2025-01-13", MatchType::Reject),
            item(5, "2025-01-14", MatchType::Independent),
        ];
        let r = divergence_rate(&items);
        assert_eq!((r.decisions, r.divergent), (4, 3));
        assert_eq!(r.weeks.len(), 2);
        assert_eq!(r.weeks[0].week, "2025-W02");
        assert_eq!((r.weeks[0].decisions, r.weeks[0].divergent), (2, 1));
        assert_eq!(r.weeks[1].rate, 1.0);
        assert_eq!(divergence_rate(&[]).rate, 0.0);
    }

    #[test]
    fn accuracy_compares_both_sides_on_the_same_divergences() {
        let mut a = item(1, "2025-01-06", MatchType::Consent);
        a.algorithm_pnl = Some(Money::from_dollars(50));
        let mut b = item(2, "2025-01-06", MatchType::Reject);
        b.actual_pnl = Some(Money::ZERO);
        b.algorithm_pnl = Some(Money::from_dollars(-200));
        let mut c = item(3, "2025-01-06", MatchType::Modify);
        c.actual_pnl = Some(Money::from_dollars(30));
        c.algorithm_pnl = Some(Money::from_dollars(40));
        let d = item(4, "2025-01-06", MatchType::Modify);
        let r = algorithm_accuracy(&[a, b, c, d]);
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
        let top = top_modifications(&items);
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
