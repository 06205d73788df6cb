//! The simulated market: eight liquid underlyings with geometric-Brownian daily paths
//! (an open and a close per weekday), a volatility that wanders, an implied volatility
//! a little above it, the IV rank over the past year, and quarterly earnings dates whose
//! reports gap the next open.
//!
//! An option whose life spans an earnings report is priced with the report's expected
//! move added to its variance, so its implied volatility is higher the closer its
//! expiration: the market prices the gap, as a real one does.
//!
//! The universe mixes expensive and cheap underlyings on purpose: a 0.30-delta option
//! on SPY is worth dollars, on SOFI or INTC cents, so premiums spread from about $0.10
//! to a few dollars and a premium floor of $0.30 is something a trader can hold.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::black_scholes::{self, Inputs};
use crate::domain::{Contract, Money, Symbol};

/// The risk-free rate the simulated market prices with.
pub const RATE: f64 = 0.045;
/// Trading days a year, for daily volatility.
const TRADING_DAYS: f64 = 252.0;
/// Days of implied-volatility history before the first simulated day, for the IV rank.
const WARM_UP_DAYS: usize = 252;
/// An earnings gap moves the price as much as this many ordinary days, in standard
/// deviations (about 2.5 typical daily moves).
const EARNINGS_MOVE_DAYS: f64 = 2.5;
/// How far implied volatility runs over realized: the premium option sellers earn.
const VARIANCE_PREMIUM: f64 = 1.10;

/// One underlying of the universe, as it looks on the first simulated day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Underlying {
    pub symbol: &'static str,
    /// Typical price on the first day (each seed moves it by a few percent).
    pub price: f64,
    /// Typical annual realized volatility.
    pub vol: f64,
    /// Annual dividend yield.
    pub dividend: f64,
    /// Listed strike increment near the money.
    pub increment: Money,
    /// Reports earnings each quarter (an ETF does not).
    pub reports_earnings: bool,
}

/// The eight underlyings traded, with realistic prices, volatilities and strike grids.
pub const UNIVERSE: [Underlying; 8] = [
    Underlying {
        symbol: "SPY",
        price: 590.0,
        vol: 0.14,
        dividend: 0.013,
        increment: Money::from_dollars(1),
        reports_earnings: false,
    },
    Underlying {
        symbol: "AAPL",
        price: 235.0,
        vol: 0.25,
        dividend: 0.005,
        increment: Money::from_cents(250),
        reports_earnings: true,
    },
    Underlying {
        symbol: "NVDA",
        price: 135.0,
        vol: 0.50,
        dividend: 0.0,
        increment: Money::from_dollars(1),
        reports_earnings: true,
    },
    Underlying {
        symbol: "TSLA",
        price: 220.0,
        vol: 0.55,
        dividend: 0.0,
        increment: Money::from_cents(250),
        reports_earnings: true,
    },
    Underlying {
        symbol: "AMD",
        price: 120.0,
        vol: 0.45,
        dividend: 0.0,
        increment: Money::from_dollars(1),
        reports_earnings: true,
    },
    Underlying {
        symbol: "BAC",
        price: 44.0,
        vol: 0.25,
        dividend: 0.024,
        increment: Money::from_cents(50),
        reports_earnings: true,
    },
    Underlying {
        symbol: "INTC",
        price: 21.0,
        vol: 0.45,
        dividend: 0.0,
        increment: Money::from_cents(50),
        reports_earnings: true,
    },
    Underlying {
        symbol: "SOFI",
        price: 14.0,
        vol: 0.60,
        dividend: 0.0,
        increment: Money::from_cents(50),
        reports_earnings: true,
    },
];

/// One underlying on one weekday.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    pub date: NaiveDate,
    /// The morning price, when the algorithm and the trader look.
    pub open: f64,
    pub close: f64,
    /// Implied volatility without earnings (annual, a fraction: 0.32 = 32 %).
    pub iv: f64,
    /// Where `iv` stands in its past year's range, 0–100.
    pub iv_rank: f64,
}

impl Quote {
    /// The close as the broker and the price file state it: whole cents.
    pub fn close_money(&self) -> Money {
        dollars(self.close)
    }
}

/// One underlying's simulated days and earnings dates.
#[derive(Debug, Clone)]
pub struct Series {
    pub underlying: Underlying,
    pub symbol: Symbol,
    /// One quote per weekday from the market's start.
    pub quotes: Vec<Quote>,
    /// Earnings dates (after the close), ascending; empty for an ETF.
    pub earnings: Vec<NaiveDate>,
}

impl Series {
    /// The first earnings date on or after `day`.
    pub fn next_earnings(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.earnings.iter().copied().find(|e| *e >= day)
    }

    /// The standard deviation of the log gap an earnings report causes.
    pub fn earnings_move(&self) -> f64 {
        EARNINGS_MOVE_DAYS * self.underlying.vol / TRADING_DAYS.sqrt()
    }

    /// The implied volatility of an option bought on the morning of weekday `index`
    /// and expiring on `expiration`: the day's volatility, plus the expected earnings
    /// gap spread over the option's life when a report falls inside it.
    pub fn option_iv(&self, index: usize, expiration: NaiveDate) -> f64 {
        let q = &self.quotes[index];
        let years = years_to(q.date, expiration);
        let spans = super::persona::spans_earnings(q.date, expiration, self.next_earnings(q.date));
        if spans && years > 0.0 {
            (q.iv * q.iv + self.earnings_move().powi(2) / years).sqrt()
        } else {
            q.iv
        }
    }
}

/// Every underlying over the same run of weekdays.
#[derive(Debug, Clone)]
pub struct Market {
    /// The Monday of the first week.
    pub start: NaiveDate,
    pub series: Vec<Series>,
}

impl Market {
    /// Simulates `weeks` weeks of weekdays from the Monday `start`.
    pub fn generate(rng: &mut ChaCha8Rng, start: NaiveDate, weeks: u32) -> Self {
        let days = weeks as usize * 5;
        let dates: Vec<NaiveDate> = (0..days).map(|i| weekday_at(start, i)).collect();
        let series = UNIVERSE
            .iter()
            .map(|u| simulate_series(rng, *u, start, &dates))
            .collect();
        Self { start, series }
    }

    /// Number of simulated weekdays.
    pub fn days(&self) -> usize {
        self.series.first().map_or(0, |s| s.quotes.len())
    }

    /// The date of weekday `index`.
    pub fn date(&self, index: usize) -> NaiveDate {
        weekday_at(self.start, index)
    }

    /// The index of `date` when it is a simulated weekday.
    pub fn index_of(&self, date: NaiveDate) -> Option<usize> {
        let offset = (date - self.start).num_days();
        if offset < 0 || matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return None;
        }
        let index = (offset / 7 * 5 + offset % 7) as usize;
        (index < self.days()).then_some(index)
    }

    pub fn series_of(&self, symbol: &Symbol) -> Option<&Series> {
        self.series.iter().find(|s| &s.symbol == symbol)
    }

    /// What `contract` is worth per share on the morning of weekday `index`: the
    /// Black–Scholes price at the open with the day's implied volatility.
    pub fn morning_value(&self, series: &Series, index: usize, contract: &Contract) -> f64 {
        let q = &series.quotes[index];
        black_scholes::price(
            contract.right,
            &self.inputs(series, index, contract, q.open),
        )
    }

    /// The valuation inputs for `contract` at `spot` on the morning of weekday `index`.
    pub fn inputs(&self, series: &Series, index: usize, contract: &Contract, spot: f64) -> Inputs {
        let q = &series.quotes[index];
        Inputs {
            spot,
            strike: money_f64(contract.strike),
            years: years_to(q.date, contract.expiration),
            rate: RATE,
            dividend: series.underlying.dividend,
            vol: series.option_iv(index, contract.expiration),
        }
    }
}

/// Years from a morning on `day` to the close on `expiration`.
pub fn years_to(day: NaiveDate, expiration: NaiveDate) -> f64 {
    // The morning look happens about a quarter day before the close.
    ((expiration - day).num_days() as f64 + 0.25).max(0.0) / 365.0
}

/// A model value as a quote: rounded to whole cents.
pub fn dollars(x: f64) -> Money {
    Money::from_cents((x * 100.0).round() as i64)
}

/// Money as a model input.
pub fn money_f64(m: Money) -> f64 {
    m.units() as f64 / crate::domain::money::SCALE as f64
}

/// The weekday `index` weekdays after the Monday `start`.
pub fn weekday_at(start: NaiveDate, index: usize) -> NaiveDate {
    start + Duration::days((index / 5 * 7 + index % 5) as i64)
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Earnings after the close on a Tuesday to Thursday, a per-symbol number of days into
/// each calendar quarter (as companies keep their slot from quarter to quarter).
fn earnings_dates(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let offset = rng.random_range(18..=48);
    let mut out = Vec::new();
    for year in from.year() - 1..=to.year() + 1 {
        for month in [1, 4, 7, 10] {
            let Some(q) = NaiveDate::from_ymd_opt(year, month, 1) else {
                continue;
            };
            let mut d = q + Duration::days(offset);
            while !matches!(d.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu) {
                d += Duration::days(1);
            }
            if from <= d && d <= to {
                out.push(d);
            }
        }
    }
    out
}

/// One underlying: a year of implied-volatility history for the rank, then the
/// simulated weekdays.
fn simulate_series(
    rng: &mut ChaCha8Rng,
    u: Underlying,
    start: NaiveDate,
    dates: &[NaiveDate],
) -> Series {
    let history_from = start - Duration::days((WARM_UP_DAYS / 5 * 7) as i64 + 7);
    let last = dates.last().copied().unwrap_or(start);
    let earnings = if u.reports_earnings {
        earnings_dates(rng, history_from, last + Duration::days(120))
    } else {
        Vec::new()
    };
    // The volatility regime: log-deviation from the typical volatility, AR(1).
    let mut regime = 0.15 * normal(rng);
    let mut iv_noise = 0.0;
    let mut ivs: Vec<f64> = Vec::with_capacity(WARM_UP_DAYS + dates.len());
    let mut step = |rng: &mut ChaCha8Rng| -> (f64, f64) {
        regime = 0.97 * regime + 0.05 * normal(rng);
        iv_noise = 0.8 * iv_noise + 0.04 * normal(rng);
        let vol = u.vol * regime.exp();
        // Implied runs a little over realized (earnings are priced per option).
        let iv = vol * VARIANCE_PREMIUM * iv_noise.exp();
        (vol, iv)
    };
    for _ in 0..WARM_UP_DAYS {
        let (_, iv) = step(rng);
        ivs.push(iv);
    }
    let mut price = u.price * (0.08 * normal(rng)).exp();
    let mut quotes = Vec::with_capacity(dates.len());
    let mut prev: Option<NaiveDate> = None;
    for &date in dates {
        let (vol, iv) = step(rng);
        ivs.push(iv);
        let daily = vol / TRADING_DAYS.sqrt();
        let drift = (0.08 - 0.5 * vol * vol) / TRADING_DAYS;
        // Overnight gap, then the session; an earnings report moves the next open.
        let mut gap = 0.35 * daily * normal(rng);
        if prev.is_some_and(|p| earnings.iter().any(|e| p <= *e && *e < date)) {
            gap += EARNINGS_MOVE_DAYS * u.vol / TRADING_DAYS.sqrt() * normal(rng);
        }
        let open = price * (gap + 0.5 * drift).exp();
        let close = open * (0.94 * daily * normal(rng) + 0.5 * drift).exp();
        let window = &ivs[ivs.len().saturating_sub(WARM_UP_DAYS)..];
        let (lo, hi) = window
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let iv_rank = if hi > lo {
            100.0 * (iv - lo) / (hi - lo)
        } else {
            50.0
        };
        quotes.push(Quote {
            date,
            open,
            close,
            iv,
            iv_rank,
        });
        price = close;
        prev = Some(date);
    }
    Series {
        underlying: u,
        symbol: Symbol::parse(u.symbol).expect("the universe's symbols are valid"),
        quotes,
        earnings,
    }
}
