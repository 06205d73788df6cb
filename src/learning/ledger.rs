//! The ledger: the one definition of what the trader realized and what the algorithm
//! would have realized, over a set of items and a period. The weekly summary, the
//! analytics, the chart, the verdicts, the backtests and the validation reports read
//! their money here and nowhere else.
//!
//! The rules, and why:
//!
//! - **Per position, dated by the day it closed.** A position's P&L is realized when it
//!   closes (bought back, expired, assigned); a period holds the positions that closed
//!   in it, whatever day they were opened. Each side is dated by its own close: the
//!   trader's modified trade may close a week after the algorithm's.
//! - **Fees on both sides.** The trader's outcomes carry the fees the trader paid. The
//!   algorithm's counterfactual (a recommendation the trader modified, rejected or left)
//!   pays the trader's own fee schedule — the average fee per contract of the account's
//!   fills — on every fill it would have needed: one to open a sale (held to expiry:
//!   expirations and assignments cost nothing in the trader's fills), one to buy back, two
//!   for a roll. On consent the algorithm's side *is* the trader's outcome, fees included.
//! - **Decisions apart.** A close decision (`basis: decision`: a buy-back, or holding on
//!   when told to buy back) is measured from the moment of the decision; its cost is
//!   already in the position it closes. Decisions are reported on a line of their own
//!   (buy-back timing) and never added into position P&L.
//! - **Independent trades beside.** A trade of the trader's own has no algorithm side: it
//!   counts in what the trader realized, on its own line, and never in a comparison.
//! - **A rejection earned the trader nothing**: 0, known as soon as the algorithm's side
//!   is final, dated like it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{DayRange, Item};
use crate::domain::outcome::Basis;
use crate::domain::{MatchType, Money, RecAction};

/// Money realized by one side over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Positions (or decisions) counted.
    pub count: usize,
    /// Their realized P&L, fees included.
    pub pnl: Money,
    /// The fees in `pnl`.
    pub fees: Money,
}

impl Tally {
    fn add(&mut self, pnl: Money, fees: Money) {
        self.count += 1;
        self.pnl += pnl;
        self.fees += fees;
    }
}

/// Close decisions (buy-back timing) resolved in a period: each side's outcome of the
/// decision, reported apart from position P&L.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Decisions {
    pub trader: Tally,
    pub algorithm: Tally,
}

/// What the trader and the algorithm realized in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The trader's positions opened on recommendations (consent, modify), closed in the
    /// period.
    pub trader: Tally,
    /// The algorithm's positions (every recommendation held as recommended), closed in
    /// the period, fees at the trader's schedule.
    pub algorithm: Tally,
    /// The trader's positions from independent trades, closed in the period.
    pub independent: Tally,
    pub decisions: Decisions,
    /// Items of the period (by match day) with an outcome that is not final yet.
    pub pending: usize,
}

impl Ledger {
    /// The ledger of `period` over `items` (which must include every item with a side
    /// closed in the period; others are ignored).
    pub fn of(items: &[Item], period: DayRange) -> Self {
        let mut l = Ledger {
            from: period.from,
            to: period.to,
            trader: Tally::default(),
            algorithm: Tally::default(),
            independent: Tally::default(),
            decisions: Decisions::default(),
            pending: 0,
        };
        for i in items {
            for e in entries(i) {
                if !period.contains(e.day) {
                    continue;
                }
                let tally = match e.line {
                    Line::Trader => &mut l.trader,
                    Line::Algorithm => &mut l.algorithm,
                    Line::Independent => &mut l.independent,
                    Line::TraderDecision => &mut l.decisions.trader,
                    Line::AlgorithmDecision => &mut l.decisions.algorithm,
                };
                tally.add(e.pnl, e.fees);
            }
            if period.contains(i.day) && is_pending(i) {
                l.pending += 1;
            }
        }
        l
    }

    /// Everything the trader realized on positions in the period: those opened on
    /// recommendations and those of independent trades.
    pub fn trader_realized(&self) -> Money {
        self.trader.pnl + self.independent.pnl
    }

    /// The trader's positions closed in the period (recommended and independent).
    pub fn trader_positions(&self) -> usize {
        self.trader.count + self.independent.count
    }
}

/// The P&L of each of the trader's positions (recommended and independent) closed in
/// `period`, in item order: the values [`Ledger::trader_realized`] adds up.
pub fn trader_position_pnls(items: &[Item], period: DayRange) -> Vec<Money> {
    items
        .iter()
        .flat_map(entries)
        .filter(|e| matches!(e.line, Line::Trader | Line::Independent) && period.contains(e.day))
        .map(|e| e.pnl)
        .collect()
}

/// The cumulative realized P&L on recommendations, the trader's and the algorithm's, on
/// each day of `period` where either side closed a position (what `/chart pnl` draws).
/// Positions only, each dated by its close, as in [`Ledger`]: the last point is the
/// period's `trader.pnl` and `algorithm.pnl`. Independent trades (no algorithm side) and
/// decisions are left out.
pub fn cumulative(items: &[Item], period: DayRange) -> Vec<(NaiveDate, Money, Money)> {
    let mut by_day: BTreeMap<NaiveDate, (Money, Money)> = BTreeMap::new();
    for e in items.iter().flat_map(entries) {
        if !period.contains(e.day) {
            continue;
        }
        match e.line {
            Line::Trader => by_day.entry(e.day).or_default().0 += e.pnl,
            Line::Algorithm => by_day.entry(e.day).or_default().1 += e.pnl,
            _ => {}
        }
    }
    let (mut trader, mut algorithm) = (Money::ZERO, Money::ZERO);
    by_day
        .into_iter()
        .map(|(day, (t, a))| {
            trader += t;
            algorithm += a;
            (day, trader, algorithm)
        })
        .collect()
}

/// One item compared: what the trader realized against what the algorithm would have,
/// both final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub match_id: i64,
    /// The algorithm's side's basis: a position, or a close decision.
    pub basis: Basis,
    pub trader: Money,
    pub algorithm: Money,
    /// The day the later of the two sides closed: when the comparison became known.
    pub closed: NaiveDate,
}

impl Pair {
    /// Trader − algorithm: what the trader's way made over the algorithm's.
    pub fn difference(&self) -> Money {
        self.trader - self.algorithm
    }
}

/// The item as a comparison, when both sides are final. Independent trades have no
/// algorithm side and are never compared.
pub fn pair(i: &Item) -> Option<Pair> {
    if i.match_type == MatchType::Independent {
        return None;
    }
    let algorithm = i.algorithm?;
    let trader = trader_pnl(i)?;
    let algorithm_pnl = algorithm_pnl(i)?;
    let closed = [trader_closed(i), algorithm.closed]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(i.day);
    Some(Pair {
        match_id: i.match_id,
        basis: algorithm.basis,
        trader,
        algorithm: algorithm_pnl,
        closed,
    })
}

/// What the trader realized on the item, when final (fees included); 0 on a rejected
/// recommendation once the algorithm's side is final.
pub fn trader_pnl(i: &Item) -> Option<Money> {
    match &i.actual {
        Some(a) => a.pnl,
        None if i.match_type == MatchType::Reject => algorithm_pnl(i).map(|_| Money::ZERO),
        None => None,
    }
}

/// What the algorithm's side realized, when final, with the trader's fee schedule paid.
pub fn algorithm_pnl(i: &Item) -> Option<Money> {
    let a = i.algorithm?;
    Some(a.pnl? - schedule_fees(i))
}

/// The fees of the algorithm's side: those stored (the trader's, on consent) and those
/// its counterfactual pays at the trader's schedule.
pub fn algorithm_fees(i: &Item) -> Money {
    i.algorithm.map_or(Money::ZERO, |a| a.fees) + schedule_fees(i)
}

/// The day the trader's side closed, when final.
fn trader_closed(i: &Item) -> Option<NaiveDate> {
    match &i.actual {
        Some(a) => a.pnl.and(a.closed),
        None if i.match_type == MatchType::Reject => i.algorithm.and_then(|a| a.pnl.and(a.closed)),
        None => None,
    }
}

/// Fees the algorithm's counterfactual pays at the trader's schedule: none on consent
/// (its outcome is the trader's), otherwise one fill per contract and leg.
fn schedule_fees(i: &Item) -> Money {
    match (&i.rec, i.match_type) {
        (_, MatchType::Consent | MatchType::Independent) | (None, _) => Money::ZERO,
        (Some(r), _) => i.fee_schedule.for_contracts(r.contracts * legs(r.action)),
    }
}

/// Fills a recommendation needs when followed to the letter and held to expiry.
fn legs(action: RecAction) -> i64 {
    match action {
        RecAction::SellToOpen | RecAction::BuyToClose => 1,
        // Buy the old contract back, sell the new one.
        RecAction::Roll => 2,
    }
}

/// Where an item's money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Trader,
    Algorithm,
    Independent,
    TraderDecision,
    AlgorithmDecision,
}

/// One final outcome, dated by its close.
#[derive(Debug, Clone, Copy)]
struct Entry {
    line: Line,
    day: NaiveDate,
    pnl: Money,
    fees: Money,
}

/// The final outcomes of an item, each on its line. A rejection puts nothing on the
/// trader's lines: it opened no position.
fn entries(i: &Item) -> impl Iterator<Item = Entry> + '_ {
    let trader = i.actual.and_then(|a| {
        let (pnl, day) = (a.pnl?, a.closed?);
        let line = match (i.match_type, a.basis) {
            (MatchType::Independent, Basis::Position) => Line::Independent,
            // An independent close has no algorithm side, and its cost is already in
            // the position it closes: it is on no line.
            (MatchType::Independent, Basis::Decision) => return None,
            (_, Basis::Position) => Line::Trader,
            (_, Basis::Decision) => Line::TraderDecision,
        };
        Some(Entry {
            line,
            day,
            pnl,
            fees: a.fees,
        })
    });
    let algorithm = i.algorithm.and_then(|a| {
        let day = a.closed?;
        Some(Entry {
            line: match a.basis {
                Basis::Position => Line::Algorithm,
                Basis::Decision => Line::AlgorithmDecision,
            },
            day,
            pnl: algorithm_pnl(i)?,
            fees: algorithm_fees(i),
        })
    });
    trader.into_iter().chain(algorithm)
}

/// An outcome that should exist is missing or not final.
fn is_pending(i: &Item) -> bool {
    let open = |s: &Option<super::SideOutcome>| s.is_some_and(|s| s.pnl.is_none());
    if open(&i.actual) || open(&i.algorithm) {
        return true;
    }
    match i.match_type {
        MatchType::Independent => i.actual.is_none(),
        MatchType::Reject => i.algorithm.is_none(),
        _ => i.actual.is_none() || i.algorithm.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Right;
    use crate::learning::testing::{item, with_pnl};
    use crate::learning::{FeeSchedule, RecFacts, SideOutcome};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_recommendation_sent_while_the_market_is_shut_counts_on_its_next_session() {
        use crate::domain::TradingCalendar;
        let nyse = TradingCalendar::nyse();
        let mut r = rec(RecAction::SellToOpen, 1);
        // Sent on MLK Day 2025-01-20 at 10:00: a Tuesday recommendation, with no hour.
        r.created_local = d("2025-01-20").and_hms_opt(10, 0, 0).unwrap();
        r.session = nyse.session_on_or_after(r.created_local.date());
        assert_eq!(r.session_weekday(), chrono::Weekday::Tue);
        assert_eq!(r.session_hour(), None);
        // Sent on a session: its own weekday and hour.
        r.created_local = d("2025-01-21").and_hms_opt(10, 0, 0).unwrap();
        r.session = nyse.session_on_or_after(r.created_local.date());
        assert_eq!(r.session_weekday(), chrono::Weekday::Tue);
        assert_eq!(r.session_hour(), Some(10));
    }

    fn rec(action: RecAction, contracts: i64) -> RecFacts {
        RecFacts {
            action,
            created_local: d("2025-01-06").and_hms_opt(9, 30, 0).unwrap(),
            session: d("2025-01-06"),
            right: Right::Put,
            strike: Money::from_dollars(100),
            expiration: d("2025-01-17"),
            dte: 11,
            contracts,
            premium: Money::from_cents(100),
            underlying_price: None,
            delta: None,
            iv: None,
            iv_rank: None,
            earnings_date: None,
        }
    }

    fn side(basis: Basis, pnl: i64, closed: &str, fees: i64) -> Option<SideOutcome> {
        Some(SideOutcome {
            basis,
            pnl: Some(Money::from_dollars(pnl)),
            closed: Some(d(closed)),
            fees: Money::from_dollars(fees),
        })
    }

    fn week() -> DayRange {
        DayRange::new(d("2025-01-13"), d("2025-01-19"))
    }

    #[test]
    fn positions_count_in_the_week_they_close_whatever_day_they_opened() {
        let mut opened_before = item(1, "2025-01-06", MatchType::Modify);
        opened_before.rec = Some(rec(RecAction::SellToOpen, 1));
        opened_before.actual = side(Basis::Position, 80, "2025-01-17", 1);
        opened_before.algorithm = side(Basis::Position, 50, "2025-01-10", 0);
        let mut independent = item(2, "2025-01-13", MatchType::Independent);
        independent.actual = side(Basis::Position, -30, "2025-01-14", 1);
        let l = Ledger::of(&[opened_before, independent], week());
        assert_eq!(l.trader.pnl, Money::from_dollars(80));
        // The algorithm's position closed the week before.
        assert_eq!(l.algorithm.count, 0);
        assert_eq!(l.independent.pnl, Money::from_dollars(-30));
        assert_eq!(l.trader_realized(), Money::from_dollars(50));
        assert_eq!(l.trader_positions(), 2);
    }

    #[test]
    fn the_algorithm_pays_the_traders_fee_schedule_except_on_consent() {
        let schedule = FeeSchedule {
            fees: Money::from_cents(130),
            contracts: 2,
        };
        let mut modified = item(1, "2025-01-13", MatchType::Modify);
        modified.rec = Some(rec(RecAction::SellToOpen, 3));
        modified.fee_schedule = schedule;
        modified.algorithm = side(Basis::Position, 100, "2025-01-17", 0);
        // 3 contracts at $0.65.
        assert_eq!(
            algorithm_pnl(&modified),
            Some(Money::from_cents(10_000 - 195))
        );
        let mut roll = modified.clone();
        roll.rec = Some(rec(RecAction::Roll, 1));
        assert_eq!(algorithm_fees(&roll), Money::from_cents(130));
        let mut consent = modified.clone();
        consent.match_type = MatchType::Consent;
        consent.algorithm = side(Basis::Position, 100, "2025-01-17", 2);
        assert_eq!(algorithm_pnl(&consent), Some(Money::from_dollars(100)));
        assert_eq!(algorithm_fees(&consent), Money::from_dollars(2));
    }

    #[test]
    fn decisions_are_reported_apart_and_independent_trades_are_never_compared() {
        let mut buy_back = item(1, "2025-01-13", MatchType::Reject);
        buy_back.rec = Some(rec(RecAction::BuyToClose, 1));
        buy_back.actual = side(Basis::Decision, -40, "2025-01-15", 0);
        buy_back.algorithm = side(Basis::Decision, -25, "2025-01-13", 0);
        let mut independent = item(2, "2025-01-13", MatchType::Independent);
        independent.actual = side(Basis::Position, 70, "2025-01-14", 0);
        let items = [buy_back.clone(), independent.clone()];
        let l = Ledger::of(&items, week());
        assert_eq!((l.trader.count, l.algorithm.count), (0, 0));
        assert_eq!(l.decisions.trader.pnl, Money::from_dollars(-40));
        assert_eq!(l.decisions.algorithm.pnl, Money::from_dollars(-25));
        assert_eq!(l.trader_realized(), Money::from_dollars(70));
        assert_eq!(pair(&independent), None);
        let p = pair(&buy_back).unwrap();
        assert_eq!(
            (p.basis, p.difference()),
            (Basis::Decision, Money::from_dollars(-15))
        );
        assert_eq!(p.closed, d("2025-01-15"));
    }

    #[test]
    fn a_rejection_earns_the_trader_nothing_once_the_algorithms_side_is_final() {
        let mut r = item(1, "2025-01-13", MatchType::Reject);
        r.rec = Some(rec(RecAction::SellToOpen, 1));
        assert_eq!(trader_pnl(&r), None);
        assert!(is_pending(&r));
        r.algorithm = side(Basis::Position, -200, "2025-01-17", 0);
        assert_eq!(trader_pnl(&r), Some(Money::ZERO));
        let p = pair(&r).unwrap();
        assert_eq!(p.difference(), Money::from_dollars(200));
        let l = Ledger::of(&[r], week());
        assert_eq!(
            (l.trader.count, l.algorithm.pnl),
            (0, Money::from_dollars(-200))
        );
        assert_eq!(l.pending, 0);
    }

    #[test]
    fn the_chart_ends_on_the_ledgers_figures_and_dates_points_by_close() {
        let items = [
            with_pnl(
                item(1, "2025-01-13", MatchType::Consent),
                Some(Money::from_dollars(5)),
                Some(Money::from_dollars(5)),
            ),
            with_pnl(
                item(2, "2025-01-14", MatchType::Modify),
                Some(Money::from_dollars(10)),
                None,
            ),
            with_pnl(
                item(3, "2025-01-13", MatchType::Independent),
                Some(Money::from_dollars(99)),
                None,
            ),
            with_pnl(
                item(4, "2025-01-20", MatchType::Consent),
                Some(Money::from_dollars(1)),
                Some(Money::from_dollars(1)),
            ),
        ];
        let m = Money::from_dollars;
        let series = cumulative(&items, week());
        assert_eq!(
            series,
            vec![
                (d("2025-01-13"), m(5), m(5)),
                (d("2025-01-14"), m(15), m(5))
            ]
        );
        let l = Ledger::of(&items, week());
        assert_eq!((l.trader.pnl, l.algorithm.pnl), (m(15), m(5)));
        assert_eq!(
            trader_position_pnls(&items, week()),
            vec![m(5), m(10), m(99)]
        );
        assert_eq!(l.pending, 1);
    }
}
