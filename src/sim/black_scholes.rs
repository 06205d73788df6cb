//! Black–Scholes–Merton prices and deltas of European options on an underlying with a
//! continuous dividend yield, and the strike that has a given delta: how the simulated
//! algorithm quotes premiums and picks its ~0.30-delta strikes.
//!
//! Plain `f64` on purpose: this is a model of a market, not money. Results become
//! `Money` only when they are rounded to a quote.

use std::f64::consts::SQRT_2;

use statrs::function::erf::{erfc, erfc_inv};

use crate::domain::Right;

/// One valuation's inputs. Rates, yield and volatility are annual and continuously
/// compounded; `years` is the time to expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    pub spot: f64,
    pub strike: f64,
    pub years: f64,
    /// Risk-free rate `r`.
    pub rate: f64,
    /// Dividend yield `q`.
    pub dividend: f64,
    /// Volatility `σ`.
    pub vol: f64,
}

/// The standard normal distribution function Φ.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / SQRT_2)
}

/// Φ⁻¹, for `p` in (0, 1).
pub fn norm_inv(p: f64) -> f64 {
    -SQRT_2 * erfc_inv(2.0 * p)
}

impl Inputs {
    fn discounts(&self) -> (f64, f64) {
        (
            (-self.rate * self.years).exp(),
            (-self.dividend * self.years).exp(),
        )
    }

    /// `(d1, d2)`; `None` at or past expiry, with no volatility, or with a non-positive
    /// price, where the formula degenerates to the discounted intrinsic value.
    fn d1_d2(&self) -> Option<(f64, f64)> {
        let valid = self.spot > 0.0 && self.strike > 0.0 && self.years > 0.0 && self.vol > 0.0;
        if !valid {
            return None;
        }
        let sd = self.vol * self.years.sqrt();
        let d1 = ((self.spot / self.strike).ln()
            + (self.rate - self.dividend + 0.5 * self.vol * self.vol) * self.years)
            / sd;
        Some((d1, d1 - sd))
    }
}

/// The option's price per share.
pub fn price(right: Right, i: &Inputs) -> f64 {
    let (df_r, df_q) = i.discounts();
    let (s, k) = (i.spot * df_q, i.strike * df_r);
    match (i.d1_d2(), right) {
        (Some((d1, d2)), Right::Call) => s * norm_cdf(d1) - k * norm_cdf(d2),
        (Some((d1, d2)), Right::Put) => k * norm_cdf(-d2) - s * norm_cdf(-d1),
        (None, Right::Call) => (s - k).max(0.0),
        (None, Right::Put) => (k - s).max(0.0),
    }
}

/// The option's delta: ∂price/∂spot (positive for calls, negative for puts).
pub fn delta(right: Right, i: &Inputs) -> f64 {
    let (_, df_q) = i.discounts();
    match (i.d1_d2(), right) {
        (Some((d1, _)), Right::Call) => df_q * norm_cdf(d1),
        (Some((d1, _)), Right::Put) => -df_q * norm_cdf(-d1),
        (None, Right::Call) if i.spot * df_q > i.strike * i.discounts().0 => df_q,
        (None, Right::Put) if i.spot * df_q < i.strike * i.discounts().0 => -df_q,
        (None, _) => 0.0,
    }
}

/// The strike at which an option of `right` has delta `±abs_delta`, with `strike`
/// in `i` ignored. `None` when no strike has that delta (`abs_delta` outside
/// (0, e^(−qT))) or the inputs degenerate.
pub fn strike_for_delta(right: Right, abs_delta: f64, i: &Inputs) -> Option<f64> {
    let (_, df_q) = i.discounts();
    let valid = abs_delta > 0.0 && abs_delta < df_q && i.spot > 0.0 && i.years > 0.0 && i.vol > 0.0;
    if !valid {
        return None;
    }
    // Call: Δ = e^(−qT) Φ(d1); put: Δ = −e^(−qT) Φ(−d1). Solve for d1, then for K.
    let d1 = match right {
        Right::Call => norm_inv(abs_delta / df_q),
        Right::Put => -norm_inv(abs_delta / df_q),
    };
    let sd = i.vol * i.years.sqrt();
    let ln_s_over_k = d1 * sd - (i.rate - i.dividend + 0.5 * i.vol * i.vol) * i.years;
    let k = i.spot / ln_s_over_k.exp();
    k.is_finite().then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hull() -> Inputs {
        // Hull, Options, Futures, and Other Derivatives, example 15.6.
        Inputs {
            spot: 42.0,
            strike: 40.0,
            years: 0.5,
            rate: 0.1,
            dividend: 0.0,
            vol: 0.2,
        }
    }

    fn with_dividend() -> Inputs {
        Inputs {
            spot: 100.0,
            strike: 95.0,
            years: 0.75,
            rate: 0.05,
            dividend: 0.02,
            vol: 0.3,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} != {b}");
    }

    #[test]
    fn hulls_example_prices_the_call_at_4_76_and_the_put_at_0_81() {
        close(price(Right::Call, &hull()), 4.759_422_392_871_535);
        close(price(Right::Put, &hull()), 0.808_599_372_900_096);
        close(delta(Right::Call, &hull()), 0.779_131_290_942_669);
        close(delta(Right::Put, &hull()), -0.220_868_709_057_331);
    }

    #[test]
    fn a_dividend_yield_lowers_calls_and_raises_puts() {
        let i = with_dividend();
        close(price(Right::Call, &i), 13.714_602_979_959_835);
        close(price(Right::Put, &i), 6.706_878_703_131_65);
        close(delta(Right::Call, &i), 0.650_704_757_454_79);
        close(delta(Right::Put, &i), -0.334_407_182_148_272_75);
    }

    #[test]
    fn put_call_parity_holds() {
        for i in [hull(), with_dividend()] {
            let (df_r, df_q) = i.discounts();
            let lhs = price(Right::Call, &i) - price(Right::Put, &i);
            close(lhs, i.spot * df_q - i.strike * df_r);
        }
    }

    #[test]
    fn the_strike_for_a_delta_has_that_delta() {
        for right in [Right::Call, Right::Put] {
            for target in [0.1, 0.3, 0.5, 0.7] {
                let i = with_dividend();
                let k = strike_for_delta(right, target, &i).unwrap();
                let d = delta(right, &Inputs { strike: k, ..i });
                close(d.abs(), target);
            }
        }
        assert_eq!(strike_for_delta(Right::Call, 0.0, &hull()), None);
        assert_eq!(strike_for_delta(Right::Put, 1.0, &hull()), None);
    }

    #[test]
    fn at_expiry_the_price_is_the_intrinsic_value() {
        let i = Inputs {
            years: 0.0,
            ..hull()
        };
        close(price(Right::Call, &i), 2.0);
        close(price(Right::Put, &i), 0.0);
        close(delta(Right::Call, &i), 1.0);
        close(delta(Right::Put, &i), 0.0);
    }
}
