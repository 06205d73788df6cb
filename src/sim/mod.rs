//! A seeded simulator of trading weeks: price paths, an algorithm selling ~0.30-delta
//! options at Black–Scholes premiums, and trader personas with planted behaviour.
//!
//! `simulate` is a pure function of its `SimConfig`: the same seed gives the same
//! weeks, byte for byte. Its output is the project's own domain records — what an
//! import of the algorithm's recommendations, the broker's executions and the daily
//! closes would produce — plus the truth that was planted (`Planted`), so a pattern
//! detector can be scored against it.
//!
//! The market, the algorithm and the trader draw from three separate random streams of
//! one seed: with the same seed every persona trades in the same market and is offered
//! the same sales, so personas differ only by their habits.
//!
//! ```
//! use rlhf_bot::sim::{Persona, SimConfig, simulate};
//!
//! let sim = simulate(&SimConfig {
//!     persona: Persona::AddsWeek,
//!     weeks: 2,
//!     ..SimConfig::default()
//! });
//! for n in 0..sim.week_count() {
//!     let week = sim.week(n);
//!     // Import week.recommendations, week.executions and week.prices, then reconcile
//!     // each of its days and track outcomes.
//!     assert!(n >= 2 || !week.recommendations.is_empty());
//! }
//! assert_eq!(sim.planted.dte_shift_days, Some(7));
//! ```

pub mod algorithm;
pub mod black_scholes;
pub mod market;
pub mod persona;
pub mod trader;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::domain::outcome::Closes;
use crate::domain::{
    AccountId, Execution, PriceClose, RecAction, Recommendation, Right, Stored, Symbol, day_of,
};

pub use algorithm::{Algorithm, Holding, TARGET_DELTA};
pub use market::{Market, UNIVERSE, Underlying};
pub use persona::{
    AVOIDED_SYMBOL, DTE_SHIFT_DAYS, PREMIUM_FLOOR, Persona, Planted, SHIFT_RATE, spans_earnings,
};
pub use trader::{Habits, Trader};

/// Weeks simulated after the last trading week so that every position reaches its
/// expiration (at most 21 days recommended, plus the 7 a trader may add).
pub const SETTLEMENT_WEEKS: u32 = 4;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Weeks in which the algorithm recommends and the trader trades.
    pub weeks: u32,
    pub persona: Persona,
    /// A day of the first week; the simulation starts on that week's Monday.
    pub start: NaiveDate,
    pub account: AccountId,
    /// The schedule zone: recommendations come 09:31–11:00 and trades before 15:45 in
    /// it, expirations are posted at 16:30, so every record falls on its intended day.
    pub tz: Tz,
    /// Chance that the trader skips a recommendation for no reason.
    pub ignore_rate: f64,
    /// Chance per trading day of a trade of the trader's own.
    pub independent_rate: f64,
    /// The algorithm recommends buying back a short once this share of its premium is
    /// earned (`None`: it never recommends closing).
    pub close_at_profit: Option<f64>,
    pub algorithm_version: String,
    pub broker: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            weeks: 8,
            persona: Persona::Faithful,
            start: NaiveDate::from_ymd_opt(2025, 1, 6).expect("a valid date"),
            account: AccountId(123_456_789),
            tz: chrono_tz::America::Los_Angeles,
            ignore_rate: 0.05,
            independent_rate: 0.15,
            close_at_profit: Some(0.5),
            algorithm_version: "v3.2-sim".to_owned(),
            broker: "sim".to_owned(),
        }
    }
}

/// The simulated weeks as domain records, each list in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOutput {
    /// The Monday of the first week.
    pub start: NaiveDate,
    pub tz: Tz,
    pub recommendations: Vec<Recommendation>,
    pub executions: Vec<Execution>,
    /// Every weekday's close of every underlying, from the first day to the last
    /// expiration of anything recommended or held.
    pub prices: Vec<PriceClose>,
    pub planted: Planted,
}

/// Simulates `cfg.weeks` trading weeks and the settlement of what they opened.
pub fn simulate(cfg: &SimConfig) -> SimOutput {
    let start = monday_of(cfg.start);
    let stream = |n: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(n);
        rng
    };
    let mut market_rng = stream(1);
    let market = Market::generate(&mut market_rng, start, cfg.weeks + SETTLEMENT_WEEKS);
    let mut algorithm = Algorithm::new(
        stream(2),
        cfg.account,
        cfg.tz,
        cfg.algorithm_version.clone(),
        cfg.close_at_profit,
    );
    let habits = Habits {
        persona: cfg.persona,
        ignore_rate: cfg.ignore_rate,
        independent_rate: cfg.independent_rate,
    };
    let mut trader = Trader::new(stream(3), habits, cfg.account, cfg.broker.clone(), cfg.tz);

    let trading_days = cfg.weeks as usize * 5;
    let mut recommendations = Vec::new();
    let mut yesterday: BTreeSet<(Symbol, Right)> = BTreeSet::new();
    for index in 0..market.days() {
        if index < trading_days {
            let recs = algorithm.morning(&market, index, trader.holdings());
            for rec in &recs {
                trader.answer(rec, &market, index);
            }
            let today: BTreeSet<(Symbol, Right)> = recs
                .iter()
                .filter(|r| r.action == RecAction::SellToOpen)
                .map(|r| (r.contract.underlying.clone(), r.contract.right))
                .collect();
            // A sale of its own must pair with no open recommendation (it would be a
            // modify), and not fall on an underlying bought back today (a roll).
            let mut busy: BTreeSet<_> = today.union(&yesterday).cloned().collect();
            for r in recs.iter().filter(|r| r.action == RecAction::BuyToClose) {
                for right in [Right::Put, Right::Call] {
                    busy.insert((r.contract.underlying.clone(), right));
                }
            }
            trader.trade_on_own(&market, index, &busy);
            yesterday = today;
            recommendations.extend(recs);
        }
        trader.settle_expirations(&market, index);
    }
    let mut executions = trader.into_executions();
    recommendations
        .sort_by(|a, b| (a.created_at, &a.external_id).cmp(&(b.created_at, &b.external_id)));
    executions.sort_by(|a, b| (a.executed_at, &a.broker_ref).cmp(&(b.executed_at, &b.broker_ref)));

    let last_trading_day = market.date(trading_days.saturating_sub(1));
    let last = recommendations
        .iter()
        .map(|r| r.contract.expiration)
        .chain(executions.iter().map(|e| e.contract.expiration))
        .fold(last_trading_day, NaiveDate::max);
    let mut prices: Vec<PriceClose> = market
        .series
        .iter()
        .flat_map(|s| {
            s.quotes
                .iter()
                .take_while(|q| q.date <= last)
                .map(|q| PriceClose {
                    symbol: s.symbol.clone(),
                    date: q.date,
                    close: q.close_money(),
                })
        })
        .collect();
    prices.sort_by(|a, b| (a.date, &a.symbol).cmp(&(b.date, &b.symbol)));
    if cfg.weeks == 0 {
        prices.clear();
    }

    SimOutput {
        start,
        tz: cfg.tz,
        recommendations,
        executions,
        prices,
        planted: cfg.persona.planted(),
    }
}

impl SimOutput {
    /// The records of week `n` (0 = the first week, Monday to Sunday in `tz`), for
    /// importing week by week. Weeks after the trading weeks hold settlement: closes
    /// and expirations.
    pub fn week(&self, n: u32) -> SimOutput {
        let from = self.start + Duration::weeks(i64::from(n));
        let to = from + Duration::days(6);
        let within = |d: NaiveDate| from <= d && d <= to;
        SimOutput {
            start: self.start,
            tz: self.tz,
            recommendations: self
                .recommendations
                .iter()
                .filter(|r| within(day_of(r.created_at, self.tz)))
                .cloned()
                .collect(),
            executions: self
                .executions
                .iter()
                .filter(|e| within(day_of(e.executed_at, self.tz)))
                .cloned()
                .collect(),
            prices: self
                .prices
                .iter()
                .filter(|p| within(p.date))
                .cloned()
                .collect(),
            planted: self.planted.clone(),
        }
    }

    /// How many weeks `week` can return something for: the trading weeks and the
    /// settlement weeks after them.
    pub fn week_count(&self) -> u32 {
        self.last_day()
            .map_or(0, |d| ((d - self.start).num_days() / 7 + 1) as u32)
    }

    /// The last day with a record (the last close).
    pub fn last_day(&self) -> Option<NaiveDate> {
        let recs = self
            .recommendations
            .iter()
            .map(|r| day_of(r.created_at, self.tz));
        let execs = self
            .executions
            .iter()
            .map(|e| day_of(e.executed_at, self.tz));
        let prices = self.prices.iter().map(|p| p.date);
        recs.chain(execs).chain(prices).max()
    }

    /// The recommendations as a store would hand them out: ids 1, 2, … in time order.
    pub fn stored_recommendations(&self) -> Vec<Stored<Recommendation>> {
        number(&self.recommendations)
    }

    /// The executions as a store would hand them out: ids 1, 2, … in time order.
    pub fn stored_executions(&self) -> Vec<Stored<Execution>> {
        number(&self.executions)
    }

    /// The closes, for the outcome tracker.
    pub fn closes(&self) -> Closes {
        self.prices
            .iter()
            .map(|p| ((p.symbol.clone(), p.date), p.close))
            .collect()
    }
}

fn number<T: Clone>(items: &[T]) -> Vec<Stored<T>> {
    items
        .iter()
        .zip(1..)
        .map(|(item, id)| Stored {
            id,
            item: item.clone(),
        })
        .collect()
}

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// `minutes` after local midnight of `day` in `tz`, as UTC. In a daylight-saving gap
/// the earlier reading wins; these are daytime hours, where gaps do not fall.
pub(crate) fn local_time(tz: Tz, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(minutes.min(24 * 60 - 1) * 60, 0)
        .unwrap_or(NaiveTime::MIN);
    let naive = day.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// `x` rounded to `digits` decimals, for context values a person reads.
pub(crate) fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
