//! The simulated algorithm: each weekday morning it recommends selling a few ~0.30-delta
//! puts and calls expiring on a Friday 7–21 days out, priced at Black–Scholes, and
//! recommends buying back any short the account holds that has earned half its premium.
//!
//! Its sell recommendations depend only on the market and its own random stream, never
//! on the trader: with one seed, every persona is offered the same trades.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

use super::black_scholes::{self, Inputs};
use super::market::{Market, Series, dollars, money_f64};
use super::{local_time, round_to};
use crate::domain::{
    AccountId, Contract, Money, RecAction, RecContext, Recommendation, Right, Symbol,
};

/// The delta the algorithm sells.
pub const TARGET_DELTA: f64 = 0.30;
/// The cheapest option the algorithm will recommend selling.
const MIN_PREMIUM: Money = Money::from_cents(5);

/// A short position the account holds, as the algorithm sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub contracts: i64,
    /// Average premium received per share.
    pub premium: Money,
}

/// The algorithm and what it remembers between mornings.
#[derive(Debug)]
pub struct Algorithm {
    rng: ChaCha8Rng,
    account: AccountId,
    tz: Tz,
    version: String,
    close_at_profit: Option<f64>,
    /// Positions already recommended for buying back (recommended once).
    closing: BTreeSet<Contract>,
}

impl Algorithm {
    pub fn new(
        rng: ChaCha8Rng,
        account: AccountId,
        tz: Tz,
        version: String,
        close_at_profit: Option<f64>,
    ) -> Self {
        Self {
            rng,
            account,
            tz,
            version,
            close_at_profit,
            closing: BTreeSet::new(),
        }
    }

    /// The recommendations of the morning of weekday `index`, in time order: buy-backs
    /// of the account's `holdings` first, then 3–6 sales.
    ///
    /// A buy-back waits for a day without a sale on its underlying: a close and an open
    /// on one underlying and day read as a roll, and this algorithm does not roll.
    pub fn morning(
        &mut self,
        market: &Market,
        index: usize,
        holdings: &BTreeMap<Contract, Holding>,
    ) -> Vec<Recommendation> {
        let sales = self.sales(market, index);
        let selling: BTreeSet<&Symbol> = sales.iter().map(|r| &r.contract.underlying).collect();
        let mut out = self.buy_backs(market, index, holdings, &selling);
        out.extend(sales);
        out
    }

    fn buy_backs(
        &mut self,
        market: &Market,
        index: usize,
        holdings: &BTreeMap<Contract, Holding>,
        selling: &BTreeSet<&Symbol>,
    ) -> Vec<Recommendation> {
        let Some(target) = self.close_at_profit else {
            return Vec::new();
        };
        // A position closed (or expired) and sold again later may be recommended again.
        self.closing.retain(|c| holdings.contains_key(c));
        let date = market.date(index);
        let mut out = Vec::new();
        for (contract, holding) in holdings {
            if holding.contracts <= 0
                || contract.expiration <= date
                || self.closing.contains(contract)
                || selling.contains(&contract.underlying)
            {
                continue;
            }
            let Some(series) = market.series_of(&contract.underlying) else {
                continue;
            };
            let value = market.morning_value(series, index, contract);
            let keep = 1.0 - target;
            if value > keep * money_f64(holding.premium) {
                continue;
            }
            self.closing.insert(contract.clone());
            let quote = &series.quotes[index];
            let premium = dollars(value).max(Money::from_cents(1));
            let delta = black_scholes::delta(
                contract.right,
                &market.inputs(series, index, contract, quote.open),
            );
            let minute = 9 * 60 + 31 + out.len() as u32 % 4;
            out.push(Recommendation {
                account: self.account,
                external_id: format!(
                    "sim-{}-close-{}",
                    date.format("%Y%m%d"),
                    contract.occ().replace(' ', "").to_ascii_lowercase()
                ),
                created_at: local_time(self.tz, date, minute),
                action: RecAction::BuyToClose,
                contract: contract.clone(),
                contracts: holding.contracts,
                premium,
                position: Some(contract.clone()),
                context: self.context(
                    series,
                    index,
                    contract,
                    delta,
                    format!(
                        "{:.0} % of the premium earned: buy back",
                        100.0 * (1.0 - value / money_f64(holding.premium).max(0.01))
                    ),
                ),
            });
        }
        out
    }

    fn sales(&mut self, market: &Market, index: usize) -> Vec<Recommendation> {
        let date = market.date(index);
        let mut pairs: Vec<(usize, Right)> = (0..market.series.len())
            .flat_map(|s| [(s, Right::Put), (s, Right::Call)])
            .collect();
        pairs.shuffle(&mut self.rng);
        let n = self.rng.random_range(3..=6usize).min(pairs.len());
        let mut minutes: Vec<u32> = (0..n).map(|_| self.rng.random_range(0..=85)).collect();
        minutes.sort_unstable();
        let mut out = Vec::new();
        for (&(s, right), minute) in pairs[..n].iter().zip(minutes) {
            let series = &market.series[s];
            let Some(&expiration) = fridays_between(date, 7, 21).choose(&mut self.rng) else {
                continue;
            };
            let contracts = self.rng.random_range(1..=3i64);
            let Some(pick) = pick_strike(series, index, right, expiration, TARGET_DELTA) else {
                continue;
            };
            if pick.premium < MIN_PREMIUM {
                continue;
            }
            let quote = &series.quotes[index];
            let dte = (expiration - date).num_days();
            let rationale = format!(
                "{:.2} delta {right}, {dte} DTE, IV rank {:.0}",
                pick.delta.abs(),
                quote.iv_rank
            );
            let context = self.context(series, index, &pick.contract, pick.delta, rationale);
            out.push(Recommendation {
                account: self.account,
                external_id: format!(
                    "sim-{}-{}-{}",
                    date.format("%Y%m%d"),
                    series.symbol.as_str().to_ascii_lowercase(),
                    right
                ),
                created_at: local_time(self.tz, date, 9 * 60 + 35 + minute),
                action: RecAction::SellToOpen,
                contract: pick.contract,
                contracts,
                premium: pick.premium,
                position: None,
                context,
            });
        }
        out
    }

    /// What the algorithm saw: the open, the option's delta and implied volatility (with
    /// earnings priced in), the day's IV rank and the next earnings date.
    fn context(
        &self,
        series: &Series,
        index: usize,
        contract: &Contract,
        delta: f64,
        rationale: String,
    ) -> RecContext {
        let quote = &series.quotes[index];
        RecContext {
            underlying_price: Some(dollars(quote.open)),
            delta: Some(round_to(delta, 3)),
            iv: Some(round_to(series.option_iv(index, contract.expiration), 4)),
            iv_rank: Some(round_to(quote.iv_rank, 1)),
            earnings_date: series.next_earnings(quote.date),
            algorithm_version: Some(self.version.clone()),
            rationale: Some(rationale),
        }
    }
}

/// A listed contract chosen for its delta, with its model price.
#[derive(Debug, Clone, PartialEq)]
pub struct StrikePick {
    pub contract: Contract,
    /// Signed delta at the chosen strike.
    pub delta: f64,
    /// The Black–Scholes price at the open, rounded to cents.
    pub premium: Money,
}

/// The listed strike (on the underlying's increment) whose delta is nearest
/// `target` (an absolute delta), for an option expiring on `expiration`, valued on the
/// morning of weekday `index`.
pub fn pick_strike(
    series: &Series,
    index: usize,
    right: Right,
    expiration: NaiveDate,
    target: f64,
) -> Option<StrikePick> {
    let quote = &series.quotes[index];
    let increment = series.underlying.increment;
    let base = Inputs {
        spot: quote.open,
        strike: quote.open,
        years: super::market::years_to(quote.date, expiration),
        rate: super::market::RATE,
        dividend: series.underlying.dividend,
        vol: series.option_iv(index, expiration),
    };
    let ideal = black_scholes::strike_for_delta(right, target, &base)?;
    let steps = (ideal / money_f64(increment)).round() as i64;
    let (strike, delta) = [steps - 1, steps, steps + 1]
        .into_iter()
        .filter(|n| *n >= 1)
        .map(|n| {
            let strike = increment.times(n);
            let i = Inputs {
                strike: money_f64(strike),
                ..base
            };
            (strike, black_scholes::delta(right, &i))
        })
        .min_by(|a, b| {
            (a.1.abs() - target)
                .abs()
                .total_cmp(&(b.1.abs() - target).abs())
        })?;
    let contract = Contract::new(series.symbol.clone(), expiration, right, strike).ok()?;
    let premium = dollars(black_scholes::price(
        right,
        &Inputs {
            strike: money_f64(strike),
            ..base
        },
    ));
    Some(StrikePick {
        contract,
        delta,
        premium,
    })
}

/// Fridays from `min_days` to `max_days` calendar days after `day` (never empty when
/// the span is at least a week).
pub fn fridays_between(day: NaiveDate, min_days: i64, max_days: i64) -> Vec<NaiveDate> {
    (min_days..=max_days)
        .map(|n| day + Duration::days(n))
        .filter(|d| d.weekday() == Weekday::Fri)
        .collect()
}
