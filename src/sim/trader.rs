//! The simulated trader at the broker: answers each recommendation as its persona
//! would (minutes to hours later the same day, sometimes in two partial fills), now
//! and then trades on its own, and holds its shorts until the broker reports them
//! expired or assigned on their expiration date.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::algorithm::{Holding, fridays_between, pick_strike};
use super::local_time;
use super::market::{Market, Series, dollars};
use super::persona::{DTE_SHIFT_DAYS, Offer, Persona, SHIFT_RATE};
use crate::domain::{
    AccountId, Contract, ExecAction, Execution, Money, RecAction, Recommendation, Right, Symbol,
};

/// Commission per contract per fill.
const FEE_PER_CONTRACT: Money = Money::from_cents(65);
/// Minutes after midnight (local) of the last fill of a day.
const LAST_FILL: u32 = 15 * 60 + 45;
/// Minutes after midnight (local) at which the broker posts expirations and assignments.
const LIFECYCLE_AT: u32 = 16 * 60 + 30;

/// How the trader behaves, beyond its persona.
#[derive(Debug, Clone)]
pub struct Habits {
    pub persona: Persona,
    /// Chance of skipping a recommendation for no reason.
    pub ignore_rate: f64,
    /// Chance, per trading day, of one trade of its own.
    pub independent_rate: f64,
}

/// The trader, its open shorts and what the broker recorded.
#[derive(Debug)]
pub struct Trader {
    rng: ChaCha8Rng,
    habits: Habits,
    account: AccountId,
    broker: String,
    tz: Tz,
    positions: BTreeMap<Contract, Holding>,
    next_ref: u64,
    executions: Vec<Execution>,
}

impl Trader {
    pub fn new(
        rng: ChaCha8Rng,
        habits: Habits,
        account: AccountId,
        broker: String,
        tz: Tz,
    ) -> Self {
        Self {
            rng,
            habits,
            account,
            broker,
            tz,
            positions: BTreeMap::new(),
            next_ref: 1,
            executions: Vec::new(),
        }
    }

    /// The shorts the account holds now.
    pub fn holdings(&self) -> &BTreeMap<Contract, Holding> {
        &self.positions
    }

    /// Everything the broker recorded, in the order it was recorded.
    pub fn into_executions(self) -> Vec<Execution> {
        self.executions
    }

    /// Answers one recommendation made on the morning of weekday `index`.
    pub fn answer(&mut self, rec: &Recommendation, market: &Market, index: usize) {
        match rec.action {
            RecAction::SellToOpen => self.answer_sale(rec, market, index),
            RecAction::BuyToClose => {
                if self.chance(self.habits.ignore_rate) {
                    return;
                }
                let held = self.positions.get(&rec.contract).map_or(0, |h| h.contracts);
                let contracts = rec.contracts.min(held);
                if contracts > 0 {
                    let at = self.response_time(rec.created_at, market, index);
                    self.fill(
                        ExecAction::BuyToClose,
                        &rec.contract,
                        contracts,
                        rec.premium,
                        at,
                    );
                }
            }
            // The simulated algorithm does not roll.
            RecAction::Roll => {}
        }
    }

    fn answer_sale(&mut self, rec: &Recommendation, market: &Market, index: usize) {
        let date = market.date(index);
        let offer = Offer {
            underlying: &rec.contract.underlying,
            premium: rec.premium,
            day: date,
            expiration: rec.contract.expiration,
            earnings: rec.context.earnings_date,
        };
        if self.habits.persona.refuses(&offer) || self.chance(self.habits.ignore_rate) {
            return;
        }
        let planted = self.habits.persona.planted();
        let shift = planted.dte_shift_days.is_some() && self.chance(SHIFT_RATE);
        let (contract, price) = match market.series_of(&rec.contract.underlying) {
            Some(series) if shift => {
                let later = Contract {
                    expiration: rec.contract.expiration + Duration::days(DTE_SHIFT_DAYS),
                    ..rec.contract.clone()
                };
                let value = market.morning_value(series, index, &later);
                (later, dollars(value).max(Money::from_cents(1)))
            }
            _ => (rec.contract.clone(), rec.premium),
        };
        let at = self.response_time(rec.created_at, market, index);
        self.fill(ExecAction::SellToOpen, &contract, rec.contracts, price, at);
    }

    /// Now and then, a sale of its own on weekday `index`, on an underlying and right
    /// that no open recommendation covers (`busy`), so it reconciles as `independent`.
    pub fn trade_on_own(
        &mut self,
        market: &Market,
        index: usize,
        busy: &BTreeSet<(Symbol, Right)>,
    ) {
        if !self.chance(self.habits.independent_rate) {
            return;
        }
        let date = market.date(index);
        // What is free today: an underlying and right no open recommendation covers.
        let free: Vec<(&Series, Right)> = market
            .series
            .iter()
            .flat_map(|s| [(s, Right::Put), (s, Right::Call)])
            .filter(|(s, r)| !busy.contains(&(s.symbol.clone(), *r)))
            .collect();
        let Some(&(series, right)) = free.choose(&mut self.rng) else {
            return;
        };
        let Some(&expiration) = fridays_between(date, 7, 28).choose(&mut self.rng) else {
            return;
        };
        let target = self.rng.random_range(0.20..0.35);
        let contracts = self.rng.random_range(1..=2i64);
        let minute = self.rng.random_range(11 * 60..15 * 60);
        let Some(pick) = pick_strike(series, index, right, expiration, target) else {
            return;
        };
        let offer = Offer {
            underlying: &series.symbol,
            premium: pick.premium,
            day: date,
            expiration,
            earnings: series.next_earnings(date),
        };
        // What the persona refuses from the algorithm it does not do on its own either.
        if pick.premium.is_zero() || self.habits.persona.refuses(&offer) {
            return;
        }
        let at = local_time(self.tz, date, minute);
        self.fill(
            ExecAction::SellToOpen,
            &pick.contract,
            contracts,
            pick.premium,
            at,
        );
    }

    /// After the close of weekday `index`: every short expiring that day is reported
    /// expired (out of the money at the close) or assigned.
    pub fn settle_expirations(&mut self, market: &Market, index: usize) {
        let date = market.date(index);
        let expiring: Vec<(Contract, i64)> = self
            .positions
            .iter()
            .filter(|(c, h)| c.expiration == date && h.contracts > 0)
            .map(|(c, h)| (c.clone(), h.contracts))
            .collect();
        for (contract, contracts) in expiring {
            let Some(quote) = market
                .series_of(&contract.underlying)
                .map(|s| s.quotes[index])
            else {
                continue;
            };
            let action = if contract.intrinsic(quote.close_money()).is_zero() {
                ExecAction::Expired
            } else {
                ExecAction::Assigned
            };
            let at = local_time(self.tz, date, LIFECYCLE_AT);
            self.record(action, &contract, contracts, Money::ZERO, Money::ZERO, at);
            self.positions.remove(&contract);
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        // A comparison, not `random_bool`: an out-of-range rate must not panic.
        self.rng.random::<f64>() < p
    }

    /// When the trader acts on something sent at `sent`: usually within half an hour,
    /// sometimes hours later, always the same day before the close.
    fn response_time(
        &mut self,
        sent: DateTime<Utc>,
        market: &Market,
        index: usize,
    ) -> DateTime<Utc> {
        let u: f64 = self.rng.random();
        let minutes = if u < 0.7 {
            self.rng.random_range(1..30)
        } else if u < 0.95 {
            self.rng.random_range(30..180)
        } else {
            self.rng.random_range(180..300)
        };
        let latest = local_time(self.tz, market.date(index), LAST_FILL);
        (sent + Duration::minutes(minutes)).min(latest).max(sent)
    }

    /// A trade at the broker, in one fill or (for several contracts, sometimes) two.
    fn fill(
        &mut self,
        action: ExecAction,
        contract: &Contract,
        contracts: i64,
        price: Money,
        at: DateTime<Utc>,
    ) {
        let selling = action == ExecAction::SellToOpen;
        let parts: Vec<i64> = if contracts >= 2 && self.chance(0.3) {
            let first = self.rng.random_range(1..contracts);
            vec![first, contracts - first]
        } else {
            vec![contracts]
        };
        let mut when = at;
        for part in parts {
            // Slippage of a cent or two, usually against the trader.
            let cents: i64 = [-2, -1, -1, 0, 0, 0, 1]
                .choose(&mut self.rng)
                .copied()
                .unwrap_or(0);
            let slip = Money::from_cents(if selling { cents } else { -cents });
            let filled = (price + slip).max(Money::from_cents(1));
            self.record(
                action,
                contract,
                part,
                filled,
                FEE_PER_CONTRACT.times(part),
                when,
            );
            when += Duration::minutes(self.rng.random_range(1..15));
            let latest = local_time(self.tz, crate::domain::day_of(at, self.tz), LAST_FILL);
            when = when.min(latest.max(at));
        }
    }

    fn record(
        &mut self,
        action: ExecAction,
        contract: &Contract,
        contracts: i64,
        price: Money,
        fees: Money,
        at: DateTime<Utc>,
    ) {
        self.executions.push(Execution {
            account: self.account,
            broker: self.broker.clone(),
            broker_ref: format!("SIM-{:06}", self.next_ref),
            executed_at: at,
            action,
            contract: contract.clone(),
            contracts,
            price,
            fees,
        });
        self.next_ref += 1;
        match action {
            ExecAction::SellToOpen => {
                let h = self.positions.entry(contract.clone()).or_insert(Holding {
                    contracts: 0,
                    premium: Money::ZERO,
                });
                let premium = Money::weighted_mean([(h.premium, h.contracts), (price, contracts)])
                    .unwrap_or(price);
                h.contracts += contracts;
                h.premium = premium;
            }
            ExecAction::BuyToClose => {
                if let Some(h) = self.positions.get_mut(contract) {
                    h.contracts -= contracts;
                    if h.contracts <= 0 {
                        self.positions.remove(contract);
                    }
                }
            }
            _ => {}
        }
    }
}
