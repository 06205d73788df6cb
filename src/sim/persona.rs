//! Trader personas: how a simulated trader answers the algorithm, each with one planted
//! habit the learning system should find, and the truth about it (`Planted`) for the
//! detection benchmark.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::domain::{Money, Symbol, UnknownName};

/// The premium under which the `premium-floor` persona will not sell.
pub const PREMIUM_FLOOR: Money = Money::from_cents(30);
/// The underlying the `avoids-symbol` persona never sells.
pub const AVOIDED_SYMBOL: &str = "TSLA";
/// How much later the `adds-week` persona's expirations are.
pub const DTE_SHIFT_DAYS: i64 = 7;
/// How often the `adds-week` persona moves the expiration (otherwise it sells as told).
pub const SHIFT_RATE: f64 = 0.85;

/// A simulated trader's habit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Persona {
    /// Sells what is recommended; now and then, at random, skips one.
    #[default]
    Faithful,
    /// Sells the recommended strike one week later, most of the time.
    AddsWeek,
    /// Skips every recommendation whose premium is under $0.30.
    PremiumFloor,
    /// Never sells TSLA.
    AvoidsSymbol,
    /// Skips every recommendation whose expiration spans the next earnings date.
    AvoidsEarnings,
    /// `adds-week` and `premium-floor` together.
    Combined,
}

/// What a trader knows about a sell recommendation when deciding on it.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    pub underlying: &'a Symbol,
    pub premium: Money,
    pub day: NaiveDate,
    pub expiration: NaiveDate,
    pub earnings: Option<NaiveDate>,
}

impl Offer<'_> {
    pub fn spans_earnings(&self) -> bool {
        spans_earnings(self.day, self.expiration, self.earnings)
    }
}

/// Whether an option sold on `day` and expiring on `expiration` is still alive when the
/// market answers an earnings report released after the close on `earnings`.
pub fn spans_earnings(day: NaiveDate, expiration: NaiveDate, earnings: Option<NaiveDate>) -> bool {
    earnings.is_some_and(|e| day <= e && e < expiration)
}

impl Persona {
    /// Every persona, in declaration order.
    pub const ALL: &'static [Persona] = &[
        Persona::Faithful,
        Persona::AddsWeek,
        Persona::PremiumFloor,
        Persona::AvoidsSymbol,
        Persona::AvoidsEarnings,
        Persona::Combined,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Persona::Faithful => "faithful",
            Persona::AddsWeek => "adds-week",
            Persona::PremiumFloor => "premium-floor",
            Persona::AvoidsSymbol => "avoids-symbol",
            Persona::AvoidsEarnings => "avoids-earnings",
            Persona::Combined => "combined",
        }
    }

    /// The habit planted in this persona.
    pub fn planted(self) -> Planted {
        let shifts = matches!(self, Persona::AddsWeek | Persona::Combined);
        let floor = matches!(self, Persona::PremiumFloor | Persona::Combined);
        Planted {
            persona: self,
            dte_shift_days: shifts.then_some(DTE_SHIFT_DAYS),
            premium_floor: floor.then_some(PREMIUM_FLOOR),
            avoided_symbol: (self == Persona::AvoidsSymbol)
                .then(|| Symbol::parse(AVOIDED_SYMBOL).expect("a valid symbol")),
            avoids_earnings: self == Persona::AvoidsEarnings,
        }
    }

    /// Whether the planted habit rules the offer out, whatever chance says.
    pub fn refuses(self, offer: &Offer<'_>) -> bool {
        let planted = self.planted();
        planted.premium_floor.is_some_and(|f| offer.premium < f)
            || planted
                .avoided_symbol
                .as_ref()
                .is_some_and(|s| s == offer.underlying)
            || (planted.avoids_earnings && offer.spans_earnings())
    }
}

impl fmt::Display for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Persona {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Persona::ALL
            .iter()
            .copied()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| UnknownName {
                kind: "persona",
                value: s.trim().to_owned(),
                expected: Persona::ALL
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The truth planted in a simulation: what a pattern detector should find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    pub persona: Persona,
    /// Days the trader moves recommended expirations (`Some(7)`: one week later).
    pub dte_shift_days: Option<i64>,
    /// Recommendations with a premium under this are never sold.
    pub premium_floor: Option<Money>,
    /// This underlying is never sold.
    pub avoided_symbol: Option<Symbol>,
    /// Recommendations whose expiration spans earnings are never sold.
    pub avoids_earnings: bool,
}

impl Planted {
    /// Nothing planted: every divergence is chance.
    pub fn is_nothing(&self) -> bool {
        self.dte_shift_days.is_none()
            && self.premium_floor.is_none()
            && self.avoided_symbol.is_none()
            && !self.avoids_earnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persona_names_round_trip_and_unknown_names_are_refused() {
        for p in Persona::ALL {
            assert_eq!(p.name().parse::<Persona>(), Ok(*p));
        }
        assert_eq!("Adds_Week".parse::<Persona>(), Ok(Persona::AddsWeek));
        let err = "lazy".parse::<Persona>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`lazy` is not a persona (expected one of: faithful, adds-week, premium-floor, \
             avoids-symbol, avoids-earnings, combined)"
        );
    }

    #[test]
    fn only_faithful_plants_nothing() {
        for p in Persona::ALL {
            assert_eq!(p.planted().is_nothing(), *p == Persona::Faithful, "{p}");
        }
        let combined = Persona::Combined.planted();
        assert_eq!(combined.dte_shift_days, Some(7));
        assert_eq!(combined.premium_floor, Some(PREMIUM_FLOOR));
    }

    #[test]
    fn earnings_after_expiration_or_before_the_trade_are_not_spanned() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (day, exp) = (d("2025-01-06"), d("2025-01-17"));
        assert!(spans_earnings(day, exp, Some(d("2025-01-06"))));
        assert!(spans_earnings(day, exp, Some(d("2025-01-16"))));
        assert!(!spans_earnings(day, exp, Some(d("2025-01-17"))));
        assert!(!spans_earnings(day, exp, Some(d("2025-01-03"))));
        assert!(!spans_earnings(day, exp, None));
    }
}
