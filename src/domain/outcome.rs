//! Outcomes (SPEC §5) as pure functions: what each path earned.
//!
//! The `actual` side follows the trader's positions lot by lot (first in, first out per
//! contract): closing trades, expirations and assignments from the broker come first;
//! only a position left open past its expiration is settled from the underlying's close
//! at expiry, and without that close it stays `awaiting_price`. The
//! `algorithm` side is the recommendation held to expiry (the seed's counterfactual),
//! or the actual outcome itself for `consent`.
//!
//! "At expiry" means the exchange's last session on or before the expiration date: an
//! expiration that falls on a closure (Good Friday) settles on the session before, and
//! the close looked up is that session's.
//!
//! Opening positions are measured as positions (premium − cost to close − fees). Close
//! decisions (a `buy_to_close`, or not closing when told to) are measured from the
//! decision: what closing cost against what holding cost.
//!
//! Cash is signed: `premium` is what the opening brought in (negative when buying),
//! `close_cost` what closing paid out (negative when selling), so
//! `realized_pnl = (premium − close_cost) × 100 × contracts − fees` for every position.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use super::calendar::{TradingCalendar, day_of};
use super::contract::{Contract, Symbol};
use super::kinds::{ExecAction, MatchType, OutcomeStatus, RecAction, Side};
use super::money::Money;
use super::reconcile::{Trade, group_fills};
use super::records::{Execution, Recommendation, Stored};

/// Underlying closes by symbol and date.
pub type Closes = BTreeMap<(Symbol, NaiveDate), Money>;

const SHARES: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A position opened here, from premium to close.
    Position,
    /// A close decision, measured from the moment of the decision.
    Decision,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Position => "position",
            Basis::Decision => "decision",
        }
    }
}

/// One side's outcome of a match. Totals, not per share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub side: Side,
    pub basis: Basis,
    pub status: OutcomeStatus,
    pub contracts: i64,
    pub opened_day: NaiveDate,
    pub closed_day: Option<NaiveDate>,
    pub premium: Money,
    pub close_cost: Option<Money>,
    pub fees: Money,
    pub realized_pnl: Option<Money>,
    pub days_held: Option<i64>,
    /// Realized P&L over the capital at risk (strike × 100 × contracts), basis points.
    pub return_on_capital_bp: Option<i64>,
}

impl Outcome {
    fn settle(mut self, strike: Money) -> Self {
        if let (true, Some(cost)) = (self.status.is_final(), self.close_cost) {
            let pnl = self.premium - cost - self.fees;
            self.realized_pnl = Some(pnl);
            self.days_held = self.closed_day.map(|d| (d - self.opened_day).num_days());
            self.return_on_capital_bp =
                pnl.basis_points_of(strike.times(SHARES * self.contracts.max(1)));
        }
        self
    }
}

/// How a position ended (or stands), per share, for `contracts` contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ending {
    status: OutcomeStatus,
    closed_day: Option<NaiveDate>,
    /// Total signed cash paid to close (None while open or awaiting a price).
    cost: Option<Money>,
    fees: Money,
}

/// Settles a position of `contracts` still open at expiry from the close of the session
/// it settles in.
fn at_expiry(
    contract: &Contract,
    contracts: i64,
    short: bool,
    closes: &Closes,
    as_of: NaiveDate,
    calendar: &TradingCalendar,
) -> Ending {
    let settles = calendar.session_on_or_before(contract.expiration);
    if as_of < settles {
        return Ending {
            status: OutcomeStatus::Open,
            closed_day: None,
            cost: None,
            fees: Money::ZERO,
        };
    }
    match closes.get(&(contract.underlying.clone(), settles)) {
        None => Ending {
            status: OutcomeStatus::AwaitingPrice,
            closed_day: None,
            cost: None,
            fees: Money::ZERO,
        },
        Some(&close) => {
            let intrinsic = contract.intrinsic(close).times(SHARES * contracts);
            let status = if intrinsic.is_zero() {
                OutcomeStatus::Expired
            } else {
                OutcomeStatus::Assigned
            };
            Ending {
                status,
                closed_day: Some(settles),
                cost: Some(if short { intrinsic } else { -intrinsic }),
                fees: Money::ZERO,
            }
        }
    }
}

/// A closing event applied to lots: a closing trade or a lifecycle event.
#[derive(Debug, Clone)]
struct CloseEvent {
    day: NaiveDate,
    at: chrono::DateTime<chrono::Utc>,
    /// The first execution id: orders events of the same instant the same way whatever
    /// order they were given in.
    first_id: i64,
    contracts: i64,
    kind: OutcomeStatus,
    /// Per share, signed as paid; `None` for an assignment/exercise valued at the close.
    price: Option<Money>,
    fees: Money,
}

/// Every lot of an account, settled as of a day: trade key → ending of that lot. The
/// book keeps the calendar it settled expirations by, for the outcomes read from it.
#[derive(Debug)]
pub struct Book {
    endings: HashMap<String, Ending>,
    calendar: TradingCalendar,
}

impl Default for Book {
    fn default() -> Self {
        Self {
            endings: HashMap::new(),
            calendar: TradingCalendar::nyse(),
        }
    }
}

impl Book {
    /// Builds the book from all of an account's executions, by the NYSE calendar.
    pub fn build(
        executions: &[Stored<Execution>],
        closes: &Closes,
        as_of: NaiveDate,
        tz: Tz,
    ) -> Self {
        Self::build_with(executions, closes, as_of, tz, &TradingCalendar::nyse())
    }

    /// Builds the book from all of an account's executions, settling expirations by
    /// `calendar`.
    pub fn build_with(
        executions: &[Stored<Execution>],
        closes: &Closes,
        as_of: NaiveDate,
        tz: Tz,
        calendar: &TradingCalendar,
    ) -> Self {
        let trades = group_fills(executions, tz);
        // Days on which the account sold to open on an underlying: a close on such a day is a roll.
        let mut opened_on: std::collections::HashSet<(Symbol, NaiveDate)> = Default::default();
        for t in &trades {
            if t.action == ExecAction::SellToOpen {
                opened_on.insert((t.contract.underlying.clone(), t.day));
            }
        }
        let mut by_contract: BTreeMap<Contract, (Vec<&Trade>, Vec<CloseEvent>)> = BTreeMap::new();
        for t in &trades {
            let entry = by_contract.entry(t.contract.clone()).or_default();
            match t.action {
                ExecAction::SellToOpen | ExecAction::BuyToOpen => entry.0.push(t),
                _ => {
                    let rolled = t.action == ExecAction::BuyToClose
                        && opened_on.contains(&(t.contract.underlying.clone(), t.day));
                    let sign = if t.action == ExecAction::BuyToClose {
                        1
                    } else {
                        -1
                    };
                    entry.1.push(CloseEvent {
                        day: t.day,
                        at: t.first_at,
                        first_id: t.fills.first().copied().unwrap_or_default(),
                        contracts: t.contracts,
                        kind: if rolled {
                            OutcomeStatus::Rolled
                        } else {
                            OutcomeStatus::Closed
                        },
                        price: Some(t.price.times(sign)),
                        fees: t.fees,
                    });
                }
            }
        }
        for e in executions.iter().filter(|e| e.action.is_lifecycle()) {
            let entry = by_contract.entry(e.contract.clone()).or_default();
            let day = day_of(e.executed_at, tz);
            let (kind, price) = match e.action {
                ExecAction::Expired => (OutcomeStatus::Expired, Some(Money::ZERO)),
                _ => (OutcomeStatus::Assigned, None),
            };
            entry.1.push(CloseEvent {
                day,
                at: e.executed_at,
                first_id: e.id,
                contracts: e.contracts,
                kind,
                price,
                fees: e.fees,
            });
        }
        let mut endings = HashMap::new();
        for (contract, (mut lots, mut events)) in by_contract {
            lots.sort_by_key(|t| (t.first_at, t.key()));
            events.sort_by_key(|e| (e.at, e.first_id));
            let mut ev = events.into_iter().peekable();
            let mut left_in_event: Option<(CloseEvent, i64)> = None;
            for lot in lots {
                let short = lot.action == ExecAction::SellToOpen;
                let mut remaining = lot.contracts;
                let mut cost = Some(Money::ZERO);
                let mut fees = Money::ZERO;
                let mut last: Option<(OutcomeStatus, NaiveDate)> = None;
                let mut awaiting = false;
                while remaining > 0 {
                    let (event, avail) = match left_in_event.take() {
                        // What is left of a close made before this lot opened closed
                        // something else (e.g. a lot from before the imported history).
                        Some((e, _)) if e.at < lot.first_at => continue,
                        Some(x) => x,
                        None => match ev.next() {
                            Some(e) if e.at >= lot.first_at => {
                                let n = e.contracts;
                                (e, n)
                            }
                            Some(_) => continue,
                            None => break,
                        },
                    };
                    let used = remaining.min(avail);
                    remaining -= used;
                    let per_share = match event.price {
                        Some(p) => Some(p),
                        None => closes
                            .get(&(contract.underlying.clone(), event.day))
                            .map(|&c| {
                                if short {
                                    contract.intrinsic(c)
                                } else {
                                    -contract.intrinsic(c)
                                }
                            }),
                    };
                    match per_share {
                        Some(p) => cost = cost.map(|c| c + p.times(SHARES * used)),
                        None => awaiting = true,
                    }
                    // Fees of a partly used event are shared by contracts.
                    fees += Money::from_units(
                        event.fees.units().saturating_mul(used) / event.contracts.max(1),
                    );
                    last = Some((event.kind, event.day));
                    if avail > used {
                        left_in_event = Some((event, avail - used));
                    }
                }
                let mut ending = if remaining > 0 {
                    let rest = at_expiry(&contract, remaining, short, closes, as_of, calendar);
                    let status = rest.status;
                    Ending {
                        status,
                        // Still open (or awaiting a price) means not closed yet, even
                        // when part of the lot was bought back.
                        closed_day: rest.closed_day,
                        cost: match (cost, rest.cost) {
                            (Some(a), Some(b)) => Some(a + b),
                            _ => None,
                        },
                        fees,
                    }
                } else {
                    let (status, day) = last.expect("a fully closed lot has a last event");
                    Ending {
                        status,
                        closed_day: Some(day),
                        cost,
                        fees,
                    }
                };
                if awaiting && ending.status.is_final() {
                    ending.status = OutcomeStatus::AwaitingPrice;
                    ending.cost = None;
                    ending.closed_day = None;
                }
                endings.insert(lot.key(), ending);
            }
        }
        Self {
            endings,
            calendar: calendar.clone(),
        }
    }
}

/// What a match is about, as the outcome tracker needs it.
#[derive(Debug, Clone)]
pub struct MatchView {
    pub match_type: MatchType,
    pub day: NaiveDate,
    pub recommendation: Option<Stored<Recommendation>>,
    /// The trades of the match (grouped fills), without lifecycle events.
    pub trades: Vec<Trade>,
}

/// The outcomes of one match: `actual` when the trader holds or held something because
/// of it, `algorithm` whenever there is a recommendation.
pub fn outcomes_for(
    m: &MatchView,
    book: &Book,
    executions: &[Stored<Execution>],
    closes: &Closes,
    as_of: NaiveDate,
    tz: Tz,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let actual = actual_outcome(m, book, executions, closes, as_of, tz);
    if let Some(a) = &actual {
        out.push(a.clone());
    }
    if let Some(rec) = &m.recommendation {
        let algo = match (&actual, m.match_type) {
            (Some(a), MatchType::Consent) => Outcome {
                side: Side::Algorithm,
                ..a.clone()
            },
            _ => {
                let mut algo = counterfactual_with(rec, closes, as_of, tz, &book.calendar);
                // A roll's premium is a net credit. When the trader bought the old
                // contract back in this match, its cost turns that net credit into the
                // premium of the new contract, so both sides measure the new position.
                let bought_back = m.trades.iter().find(|t| !t.action.is_open());
                if let (RecAction::Roll, Some(c)) = (rec.action, bought_back) {
                    algo.premium += c.price.times(SHARES * rec.contracts);
                    algo = algo.settle(rec.contract.strike);
                }
                algo
            }
        };
        out.push(algo);
    }
    out
}

fn actual_outcome(
    m: &MatchView,
    book: &Book,
    executions: &[Stored<Execution>],
    closes: &Closes,
    as_of: NaiveDate,
    tz: Tz,
) -> Option<Outcome> {
    let open = m.trades.iter().find(|t| t.action.is_open());
    let close = m.trades.iter().find(|t| !t.action.is_open());
    if let Some(open) = open {
        let ending = book.endings.get(&open.key()).cloned().unwrap_or(Ending {
            status: OutcomeStatus::Open,
            closed_day: None,
            cost: None,
            fees: Money::ZERO,
        });
        let sign = if open.action == ExecAction::SellToOpen {
            1
        } else {
            -1
        };
        let o = Outcome {
            side: Side::Actual,
            basis: Basis::Position,
            status: ending.status,
            contracts: open.contracts,
            opened_day: open.day,
            closed_day: ending.closed_day,
            premium: open.price.times(sign * SHARES * open.contracts),
            close_cost: ending.cost,
            fees: open.fees + ending.fees,
            realized_pnl: None,
            days_held: None,
            return_on_capital_bp: None,
        };
        // In a roll the buy-back's cost stays with the old position (its own outcome,
        // status `rolled`); this outcome is the new position, so no cost counts twice.
        return Some(o.settle(open.contract.strike));
    }
    if let Some(c) = close {
        let sign = if c.action == ExecAction::BuyToClose {
            1
        } else {
            -1
        };
        let o = Outcome {
            side: Side::Actual,
            basis: Basis::Decision,
            status: OutcomeStatus::Closed,
            contracts: c.contracts,
            opened_day: c.day,
            closed_day: Some(c.day),
            premium: Money::ZERO,
            close_cost: Some(c.price.times(sign * SHARES * c.contracts)),
            fees: c.fees,
            realized_pnl: None,
            days_held: None,
            return_on_capital_bp: None,
        };
        return Some(o.settle(c.contract.strike));
    }
    // No trade: for a close the trader was told to make, the actual path is holding on.
    let rec = m.recommendation.as_ref()?;
    if rec.action == RecAction::SellToOpen {
        return None;
    }
    let position = rec.position.as_ref().unwrap_or(&rec.contract);
    let decided = day_of(rec.created_at, tz);
    let ending = holding_cost(
        position,
        rec.contracts,
        decided,
        executions,
        closes,
        as_of,
        tz,
        &book.calendar,
    );
    let o = Outcome {
        side: Side::Actual,
        basis: Basis::Decision,
        status: ending.status,
        contracts: rec.contracts,
        opened_day: decided,
        closed_day: ending.closed_day,
        premium: Money::ZERO,
        close_cost: ending.cost,
        fees: ending.fees,
        realized_pnl: None,
        days_held: None,
        return_on_capital_bp: None,
    };
    Some(o.settle(position.strike))
}

/// What holding a short position from `from` on cost: the first later buy-back or
/// lifecycle event of the contract from the broker, else its value at expiry.
#[allow(clippy::too_many_arguments)]
fn holding_cost(
    position: &Contract,
    contracts: i64,
    from: NaiveDate,
    executions: &[Stored<Execution>],
    closes: &Closes,
    as_of: NaiveDate,
    tz: Tz,
    calendar: &TradingCalendar,
) -> Ending {
    let mut later: Vec<&Stored<Execution>> = executions
        .iter()
        .filter(|e| &e.contract == position && day_of(e.executed_at, tz) >= from)
        .filter(|e| e.action == ExecAction::BuyToClose || e.action.is_lifecycle())
        .collect();
    later.sort_by_key(|e| (e.executed_at, e.id));
    if let Some(e) = later.first() {
        let day = day_of(e.executed_at, tz);
        let (status, per_share) = match e.action {
            ExecAction::BuyToClose => (OutcomeStatus::Closed, Some(e.price)),
            ExecAction::Expired => (OutcomeStatus::Expired, Some(Money::ZERO)),
            _ => (
                OutcomeStatus::Assigned,
                closes
                    .get(&(position.underlying.clone(), day))
                    .map(|&c| position.intrinsic(c)),
            ),
        };
        return match per_share {
            Some(p) => Ending {
                status,
                closed_day: Some(day),
                cost: Some(p.times(SHARES * contracts)),
                fees: if e.action == ExecAction::BuyToClose {
                    e.fees
                } else {
                    Money::ZERO
                },
            },
            None => Ending {
                status: OutcomeStatus::AwaitingPrice,
                closed_day: None,
                cost: None,
                fees: Money::ZERO,
            },
        };
    }
    at_expiry(position, contracts, true, closes, as_of, calendar)
}

/// The recommendation followed to the letter and held to expiry, by the NYSE calendar.
pub fn counterfactual(
    rec: &Stored<Recommendation>,
    closes: &Closes,
    as_of: NaiveDate,
    tz: Tz,
) -> Outcome {
    counterfactual_with(rec, closes, as_of, tz, &TradingCalendar::nyse())
}

/// The recommendation followed to the letter and held to expiry, settling its
/// expiration by `calendar`.
pub fn counterfactual_with(
    rec: &Stored<Recommendation>,
    closes: &Closes,
    as_of: NaiveDate,
    tz: Tz,
    calendar: &TradingCalendar,
) -> Outcome {
    let day = day_of(rec.created_at, tz);
    let base = Outcome {
        side: Side::Algorithm,
        basis: Basis::Position,
        status: OutcomeStatus::Open,
        contracts: rec.contracts,
        opened_day: day,
        closed_day: None,
        premium: Money::ZERO,
        close_cost: None,
        fees: Money::ZERO,
        realized_pnl: None,
        days_held: None,
        return_on_capital_bp: None,
    };
    let total = rec.premium.times(SHARES * rec.contracts);
    let o = match rec.action {
        RecAction::BuyToClose => Outcome {
            basis: Basis::Decision,
            status: OutcomeStatus::Closed,
            closed_day: Some(day),
            close_cost: Some(total),
            ..base
        },
        // A roll's premium is its net credit; the new contract is then held to expiry.
        RecAction::SellToOpen | RecAction::Roll => {
            let end = at_expiry(&rec.contract, rec.contracts, true, closes, as_of, calendar);
            Outcome {
                status: end.status,
                closed_day: end.closed_day,
                premium: total,
                close_cost: end.cost,
                ..base
            }
        }
    };
    o.settle(rec.contract.strike)
}
