//! Nightly reconciliation (SPEC §4) as a pure function: one account, one day, the
//! recommendations still open that day and the executions of that day in, the match
//! rows of that day out. No IO, no clock.
//!
//! Pairing is a minimum-cost assignment (Kuhn–Munkres) per underlying, so two
//! recommendations and two trades on one symbol pair up the way a person would pair
//! them, whatever order they arrived in. A roll is a close plus an open: each roll
//! recommendation offers two "halves" to the assignment, and its match takes whatever
//! halves found a trade.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use pathfinding::prelude::{Matrix, kuhn_munkres};

use super::calendar::{ResponseWindow, TradingCalendar, day_of};
use super::contract::{Contract, Symbol};
use super::kinds::{ExecAction, MatchType, RecAction};
use super::money::Money;
use super::records::{Execution, Recommendation, Stored};

/// The tolerances and window that decide consent versus modify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRules {
    pub window: ResponseWindow,
    /// Strike difference still counted as the same, in basis points of the recommended
    /// strike (100 = 1 %).
    pub strike_tolerance_bp: i64,
    /// Expiration difference still counted as the same, in days.
    pub dte_tolerance_days: i64,
    /// Contract-count difference still counted as the same.
    pub contracts_tolerance: i64,
}

impl Default for MatchRules {
    fn default() -> Self {
        Self {
            window: ResponseWindow::default(),
            strike_tolerance_bp: 100,
            dte_tolerance_days: 0,
            contracts_tolerance: 0,
        }
    }
}

/// Fills of one contract and action on one day, taken together as one trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub action: ExecAction,
    pub contract: Contract,
    pub day: NaiveDate,
    pub contracts: i64,
    /// Quantity-weighted price per share.
    pub price: Money,
    pub fees: Money,
    pub first_at: DateTime<Utc>,
    /// Execution ids of the fills, ascending.
    pub fills: Vec<i64>,
}

impl Trade {
    /// The stable identity of the trade, used as the key of its `independent` match.
    pub fn key(&self) -> String {
        trade_key(self.day, self.action, &self.contract)
    }
}

/// The key of the trade of `contract` (as its first fill wrote it) done by `action` on
/// `day`. The underlying is spelled as written, as keys were before symbols had one
/// canonical name, so the trader's reasons stored under older keys stay attached.
pub fn trade_key(day: NaiveDate, action: ExecAction, contract: &Contract) -> String {
    format!(
        "t:{day}:{}:{}",
        action.as_str(),
        contract.occ_as_written().replace(' ', "")
    )
}

/// The stable identity of a recommendation's match.
pub fn rec_key(rec_id: i64) -> String {
    format!("r:{rec_id}")
}

/// Differences between what was done and what was recommended (done − recommended).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    pub strike: Option<Money>,
    /// Days the trader's expiration lies after the recommended one (the DTE shift at the
    /// same trade date).
    pub dte: Option<i64>,
    pub contracts: Option<i64>,
    pub premium: Option<Money>,
}

/// One match row of a day, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchDraft {
    /// Stable per account across re-runs: `r:<recommendation id>` or a trade key.
    pub key: String,
    pub match_type: MatchType,
    pub underlying: Symbol,
    pub recommendation: Option<i64>,
    /// Execution ids (fills and, for `no_action`, the lifecycle event), ascending.
    pub executions: Vec<i64>,
    pub diff: Differences,
    pub modifications: Vec<String>,
}

/// Groups fills of the same contract and action on the same day into trades.
/// Lifecycle events are left out.
pub fn group_fills<'a>(
    executions: impl IntoIterator<Item = &'a Stored<Execution>>,
    tz: Tz,
) -> Vec<Trade> {
    let mut groups: BTreeMap<(NaiveDate, ExecAction, Contract), Vec<&Stored<Execution>>> =
        BTreeMap::new();
    for e in executions {
        if e.action.is_lifecycle() {
            continue;
        }
        groups
            .entry((day_of(e.executed_at, tz), e.action, e.contract.clone()))
            .or_default()
            .push(e);
    }
    groups
        .into_iter()
        .map(|((day, action, _), mut fills)| {
            fills.sort_by_key(|f| f.id);
            // The first fill's contract, with its spelling of the underlying: the same
            // whatever order the fills came in.
            let contract = fills[0].contract.clone();
            let contracts = fills.iter().map(|f| f.contracts).sum();
            let price = Money::weighted_mean(fills.iter().map(|f| (f.price, f.contracts)))
                .unwrap_or(Money::ZERO);
            Trade {
                action,
                contract,
                day,
                contracts,
                price,
                fees: fills.iter().map(|f| f.fees).sum(),
                first_at: fills
                    .iter()
                    .map(|f| f.executed_at)
                    .min()
                    .expect("a group has a fill"),
                fills: fills.iter().map(|f| f.id).collect(),
            }
        })
        .collect()
}

/// Reconciles one account's day.
///
/// `open_recs` are the account's recommendations not paired with a trade before `day`
/// (those whose window does not contain `day` are ignored); `executions` are the
/// account's executions of `day`. Recommendations still in their window and unpaired
/// produce no row yet.
pub fn reconcile_day(
    day: NaiveDate,
    open_recs: &[Stored<Recommendation>],
    executions: &[Stored<Execution>],
    rules: &MatchRules,
    tz: Tz,
) -> Vec<MatchDraft> {
    let mut recs: Vec<&Stored<Recommendation>> = open_recs
        .iter()
        .filter(|r| rules.window.contains(day_of(r.created_at, tz), day))
        .collect();
    // Order-independence: everything below sees the inputs in one canonical order.
    recs.sort_by(|a, b| {
        (a.created_at, &a.external_id, a.id).cmp(&(b.created_at, &b.external_id, b.id))
    });
    let todays: Vec<&Stored<Execution>> = executions
        .iter()
        .filter(|e| day_of(e.executed_at, tz) == day)
        .collect();
    let trades = group_fills(todays.iter().copied(), tz);

    let slots: Vec<Slot> = recs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| Slot::of(i, r))
        .collect();
    let assignment = assign(&slots, &trades);

    let mut drafts = Vec::new();
    let mut paired_trades = BTreeSet::new();
    // An event resolves a position once: when two recommendations closed the same
    // position, the first (in canonical order) carries the event.
    let mut used_events: BTreeSet<i64> = BTreeSet::new();
    for (i, rec) in recs.iter().enumerate() {
        let halves: Vec<(&Slot, &Trade)> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.rec == i)
            .filter_map(|(si, s)| assignment.get(&si).map(|&ti| (s, &trades[ti])))
            .collect();
        for &(_, t) in &halves {
            paired_trades.insert(t.key());
        }
        if let Some(d) = classify_paired(rec, &halves, rules) {
            drafts.push(d);
            continue;
        }
        if let Some(mut events) = resolution(rec, day, &todays, &rules.window.calendar) {
            events.retain(|e| used_events.insert(*e));
            drafts.push(MatchDraft {
                key: rec_key(rec.id),
                match_type: MatchType::NoAction,
                underlying: rec.contract.underlying.clone(),
                recommendation: Some(rec.id),
                executions: events,
                diff: Differences::default(),
                modifications: Vec::new(),
            });
        } else if rules.window.last_day(day_of(rec.created_at, tz)) <= day {
            drafts.push(MatchDraft {
                key: rec_key(rec.id),
                match_type: MatchType::Reject,
                underlying: rec.contract.underlying.clone(),
                recommendation: Some(rec.id),
                executions: Vec::new(),
                diff: Differences::default(),
                modifications: Vec::new(),
            });
        }
    }
    for t in &trades {
        if !paired_trades.contains(&t.key()) {
            drafts.push(MatchDraft {
                key: t.key(),
                match_type: MatchType::Independent,
                underlying: t.contract.underlying.clone(),
                recommendation: None,
                executions: t.fills.clone(),
                diff: Differences::default(),
                modifications: Vec::new(),
            });
        }
    }
    drafts.sort_by(|a, b| a.key.cmp(&b.key));
    drafts
}

/// Reconciles every day from `from` to `to` in order, as the nightly job would, and
/// returns all rows. Used by tests and the demo to check whole-history invariants.
pub fn reconcile_range(
    from: NaiveDate,
    to: NaiveDate,
    recs: &[Stored<Recommendation>],
    executions: &[Stored<Execution>],
    rules: &MatchRules,
    tz: Tz,
) -> Vec<(NaiveDate, MatchDraft)> {
    let mut out = Vec::new();
    let mut settled: BTreeSet<i64> = BTreeSet::new();
    let mut day = from;
    while day <= to {
        let open: Vec<Stored<Recommendation>> = recs
            .iter()
            .filter(|r| !settled.contains(&r.id))
            .cloned()
            .collect();
        for d in reconcile_day(day, &open, executions, rules, tz) {
            if let Some(r) = d.recommendation {
                settled.insert(r);
            }
            out.push((day, d));
        }
        day = day.succ_opt().expect("date in range");
    }
    out
}

/// What a night's message says when the market was shut on a weekday: "market closed
/// today: `held_open` recommendations stay open until `until`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosureNotice {
    pub day: NaiveDate,
    /// Recommendations still waiting for an answer whose window now ends on `until`.
    pub held_open: usize,
    /// The next session: the last day a trade still answers them.
    pub until: NaiveDate,
}

/// The closure notice for one account's `day`, or `None` when the day is a session, a
/// weekend, or no waiting recommendation's window ends on the next session.
///
/// `open_recs` are what [`reconcile_day`] was given for the day and `decided` what it
/// returned: a recommendation decided on the day (by a trade or a lifecycle event) is
/// not waiting.
pub fn closure_notice(
    day: NaiveDate,
    open_recs: &[Stored<Recommendation>],
    decided: &[MatchDraft],
    rules: &MatchRules,
    tz: Tz,
) -> Option<ClosureNotice> {
    let calendar = &rules.window.calendar;
    if !calendar.is_closure(day) {
        return None;
    }
    let until = calendar.next_session(day);
    let decided: BTreeSet<i64> = decided.iter().filter_map(|d| d.recommendation).collect();
    let held_open = open_recs
        .iter()
        .filter(|r| !decided.contains(&r.id))
        .filter(|r| {
            let sent = day_of(r.created_at, tz);
            rules.window.contains(sent, day) && rules.window.last_day(sent) == until
        })
        .count();
    (held_open > 0).then_some(ClosureNotice {
        day,
        held_open,
        until,
    })
}

/// The part of a recommendation offered to the assignment.
#[derive(Debug)]
struct Slot {
    rec: usize,
    half: Half,
    /// What the trade is compared with.
    contract: Contract,
    contracts: i64,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Open,
    Close,
    RollOpen,
    RollClose,
}

impl Half {
    fn wants(self) -> ExecAction {
        match self {
            Half::Open | Half::RollOpen => ExecAction::SellToOpen,
            Half::Close | Half::RollClose => ExecAction::BuyToClose,
        }
    }
}

impl Slot {
    fn of(i: usize, r: &Stored<Recommendation>) -> Vec<Slot> {
        let slot = |half, contract: &Contract| Slot {
            rec: i,
            half,
            contract: contract.clone(),
            contracts: r.contracts,
            at: r.created_at,
        };
        let position = r.position.as_ref().unwrap_or(&r.contract);
        match r.action {
            RecAction::SellToOpen => vec![slot(Half::Open, &r.contract)],
            RecAction::BuyToClose => vec![slot(Half::Close, position)],
            RecAction::Roll => vec![
                slot(Half::RollClose, position),
                slot(Half::RollOpen, &r.contract),
            ],
        }
    }

    fn underlying(&self) -> &Symbol {
        &self.contract.underlying
    }
}

/// Cost of pairing a slot with a trade; `None` when they cannot pair.
fn cost(slot: &Slot, trade: &Trade) -> Option<i64> {
    if trade.action != slot.half.wants()
        || trade.contract.underlying != slot.contract.underlying
        || trade.contract.right != slot.contract.right
    {
        return None;
    }
    let strike_bp = (trade.contract.strike - slot.contract.strike)
        .abs()
        .basis_points_of(slot.contract.strike)
        .unwrap_or(i64::MAX / 4);
    let days = (trade.contract.expiration - slot.contract.expiration)
        .num_days()
        .abs();
    let qty = (trade.contracts - slot.contracts).abs();
    // One day of expiration, one contract and one percent of strike weigh the same; the
    // time between recommendation and trade only breaks ties.
    let primary = strike_bp
        .saturating_add(days.saturating_mul(100))
        .saturating_add(qty.saturating_mul(100))
        .min(MAX_PRIMARY);
    let minutes = (trade.first_at - slot.at).num_minutes().abs().min(999_999);
    Some(primary * 1_000_000 + minutes)
}

const MAX_PRIMARY: i64 = 1_000_000;
/// Larger than any cost: pairing always beats leaving both sides unpaired.
const PAIR_BONUS: i64 = 2_000_000_000_000;
const FORBIDDEN: i64 = -1_000_000_000_000_000;

/// Minimum-cost assignment of slots to trades, per underlying. Returns slot → trade.
fn assign(slots: &[Slot], trades: &[Trade]) -> BTreeMap<usize, usize> {
    let mut result = BTreeMap::new();
    let symbols: BTreeSet<&Symbol> = slots.iter().map(Slot::underlying).collect();
    for sym in symbols {
        let s_idx: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].underlying() == sym)
            .collect();
        let t_idx: Vec<usize> = (0..trades.len())
            .filter(|&j| &trades[j].contract.underlying == sym)
            .collect();
        if t_idx.is_empty() {
            continue;
        }
        // Square matrix: slots then "unpaired" rows; trades then "unpaired" columns.
        let n = s_idx.len() + t_idx.len();
        let mut m = Matrix::new(n, n, 0i64);
        for (r, &si) in s_idx.iter().enumerate() {
            for (c, &tj) in t_idx.iter().enumerate() {
                m[(r, c)] = match cost(&slots[si], &trades[tj]) {
                    Some(cost) => PAIR_BONUS - cost,
                    None => FORBIDDEN,
                };
            }
        }
        let (_, cols) = kuhn_munkres(&m);
        for (r, &si) in s_idx.iter().enumerate() {
            let c = cols[r];
            if c < t_idx.len() && m[(r, c)] > 0 {
                result.insert(si, t_idx[c]);
            }
        }
    }
    result
}

/// Compares a trade with what the slot recommended: the differences and the
/// modification kinds outside tolerance (prefixed for the close half of a roll).
fn compare(
    slot: &Slot,
    trade: &Trade,
    rules: &MatchRules,
    prefix: &str,
) -> (Differences, Vec<String>) {
    let strike = trade.contract.strike - slot.contract.strike;
    let dte = (trade.contract.expiration - slot.contract.expiration).num_days();
    let contracts = trade.contracts - slot.contracts;
    let mut kinds = Vec::new();
    if dte.abs() > rules.dte_tolerance_days {
        kinds.push(format!("{prefix}dte{dte:+}"));
    }
    // Compared exactly: a difference just over the tolerance (99.50 → 100.50 is 1.005 %)
    // must not round down into it.
    let strike_outside = i128::from(strike.abs().units()) * 10_000
        > i128::from(rules.strike_tolerance_bp) * i128::from(slot.contract.strike.units());
    if strike_outside {
        let sign = if strike.is_negative() { "-" } else { "+" };
        kinds.push(format!("{prefix}strike{sign}{}", strike.abs()));
    }
    if contracts.abs() > rules.contracts_tolerance {
        kinds.push(format!("{prefix}contracts{contracts:+}"));
    }
    if trade.contract.right != slot.contract.right {
        kinds.push(format!("{prefix}right"));
    }
    let diff = Differences {
        strike: Some(strike),
        dte: Some(dte),
        contracts: Some(contracts),
        premium: None,
    };
    (diff, kinds)
}

fn classify_paired(
    rec: &Stored<Recommendation>,
    halves: &[(&Slot, &Trade)],
    rules: &MatchRules,
) -> Option<MatchDraft> {
    if halves.is_empty() {
        return None;
    }
    let find = |h: Half| halves.iter().find(|(s, _)| s.half == h).copied();
    let (diff, modifications) = match rec.action {
        RecAction::SellToOpen | RecAction::BuyToClose => {
            let (slot, trade) = halves[0];
            let (mut diff, kinds) = compare(slot, trade, rules, "");
            diff.premium = Some(trade.price - rec.premium);
            (diff, kinds)
        }
        RecAction::Roll => {
            let open = find(Half::RollOpen);
            let close = find(Half::RollClose);
            let mut kinds = Vec::new();
            let mut diff = Differences::default();
            if let Some((slot, trade)) = close {
                let (d, k) = compare(slot, trade, rules, "close_");
                diff = d;
                kinds.extend(k);
            }
            if let Some((slot, trade)) = open {
                let (d, k) = compare(slot, trade, rules, "");
                diff = d;
                kinds.extend(k);
            }
            match (open, close) {
                (Some((_, o)), Some((_, c))) => {
                    diff.premium = Some(o.price - c.price - rec.premium)
                }
                (Some(_), None) => kinds.push("no_close".to_owned()),
                (None, Some(_)) => kinds.push("no_open".to_owned()),
                (None, None) => unreachable!("halves is not empty"),
            }
            (diff, kinds)
        }
    };
    let mut executions: Vec<i64> = halves
        .iter()
        .flat_map(|(_, t)| t.fills.iter().copied())
        .collect();
    executions.sort_unstable();
    Some(MatchDraft {
        key: rec_key(rec.id),
        underlying: rec.contract.underlying.clone(),
        match_type: if modifications.is_empty() {
            MatchType::Consent
        } else {
            MatchType::Modify
        },
        recommendation: Some(rec.id),
        executions,
        diff,
        modifications,
    })
}

/// For a close or roll recommendation: the lifecycle events that resolved its position
/// on `day` (possibly none, when the position simply reached its expiration: the last
/// session on or before its expiration date, the day it settles).
/// `None` when the position is still alive or the recommendation opens a position.
fn resolution(
    rec: &Stored<Recommendation>,
    day: NaiveDate,
    todays: &[&Stored<Execution>],
    calendar: &TradingCalendar,
) -> Option<Vec<i64>> {
    if rec.action == RecAction::SellToOpen {
        return None;
    }
    let position = rec.position.as_ref().unwrap_or(&rec.contract);
    let mut events: Vec<i64> = todays
        .iter()
        .filter(|e| e.action.is_lifecycle() && &e.contract == position)
        .map(|e| e.id)
        .collect();
    events.sort_unstable();
    if !events.is_empty() || calendar.session_on_or_before(position.expiration) <= day {
        Some(events)
    } else {
        None
    }
}
