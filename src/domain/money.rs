//! Exact money: an integer count of ten-thousandths of a dollar.
//!
//! Option prices are quoted per share with up to four decimals by some brokers, and the
//! OCC symbol carries strikes to a tenth of a cent, so cents alone would round real
//! data. Everything that is money — prices, strikes, premiums, fees, P&L — is a `Money`;
//! no `f64` ever holds one.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use serde::{Serialize, Serializer};

/// Units per dollar.
pub const SCALE: i64 = 10_000;

/// An exact amount of dollars, stored as ten-thousandths of a dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is empty")]
    Empty,
    #[error("`{0}` is not a dollar amount (expected a decimal such as 1.25)")]
    NotANumber(String),
    #[error("`{0}` has more than 4 decimal places")]
    TooPrecise(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// From ten-thousandths of a dollar (the stored representation).
    pub const fn from_units(units: i64) -> Self {
        Self(units)
    }

    /// From whole cents.
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents.saturating_mul(100))
    }

    /// From whole dollars.
    pub const fn from_dollars(dollars: i64) -> Self {
        Self(dollars.saturating_mul(SCALE))
    }

    /// Ten-thousandths of a dollar (the stored representation).
    pub const fn units(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Self {
        Self(self.0.saturating_abs())
    }

    /// Rounds to whole cents, half away from zero.
    pub fn round_to_cents(self) -> Self {
        let q = self.0 / 100;
        let r = self.0 % 100;
        let q = if r >= 50 {
            q + 1
        } else if r <= -50 {
            q - 1
        } else {
            q
        };
        Self(q * 100)
    }

    /// `self × n`, for quantities such as contracts × 100 shares.
    pub fn times(self, n: i64) -> Self {
        self * n
    }

    /// The quantity-weighted mean of `(price, quantity)` pairs, rounded half away from
    /// zero to the unit. `None` when the total quantity is zero.
    pub fn weighted_mean(parts: impl IntoIterator<Item = (Money, i64)>) -> Option<Money> {
        let (mut num, mut den) = (0i128, 0i128);
        for (price, qty) in parts {
            num += i128::from(price.0) * i128::from(qty);
            den += i128::from(qty);
        }
        if den == 0 {
            return None;
        }
        let q = num / den;
        let r = num % den;
        let q = if 2 * r.abs() >= den.abs() {
            q + num.signum() * den.signum()
        } else {
            q
        };
        i64::try_from(q).ok().map(Money)
    }

    /// `self` as a fraction of `base` in basis points (1 % = 100), rounded toward zero.
    pub fn basis_points_of(self, base: Money) -> Option<i64> {
        if base.0 == 0 {
            return None;
        }
        i64::try_from(i128::from(self.0) * 10_000 / i128::from(base.0)).ok()
    }

    /// Parses a dollar amount as brokers write it: `1.25`, `-0.5`, `$1,180.00`, `(3.10)`
    /// for a negative, `+2`. At most four decimal places (trailing zeros beyond are fine).
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(MoneyError::Empty);
        }
        let bad = || MoneyError::NotANumber(raw.to_owned());
        let (mut negative, mut s) = (false, raw);
        if let Some(inner) = s.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            negative = true;
            s = inner.trim();
        }
        if let Some(rest) = s.strip_prefix('-') {
            if negative {
                return Err(bad());
            }
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        s = s.strip_prefix('$').unwrap_or(s);
        if let Some(rest) = s.strip_prefix('-') {
            if negative {
                return Err(bad());
            }
            negative = true;
            s = rest;
        }
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        // Thousands separators: only in groups of three after the first group.
        let int_digits: String = if int_part.contains(',') {
            let groups: Vec<&str> = int_part.split(',').collect();
            let first_ok = !groups[0].is_empty() && groups[0].len() <= 3;
            if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
                return Err(bad());
            }
            groups.concat()
        } else {
            int_part.to_owned()
        };
        if !int_digits.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > 4 {
            return Err(MoneyError::TooPrecise(raw.to_owned()));
        }
        let too_large = || MoneyError::TooLarge(raw.to_owned());
        let whole: i64 = if int_digits.is_empty() {
            0
        } else {
            int_digits.parse().map_err(|_| too_large())?
        };
        let mut frac: i64 = 0;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            frac += i64::from(b - b'0') * 10i64.pow(3 - i as u32);
        }
        let units = whole
            .checked_mul(SCALE)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(too_large)?;
        Ok(Self(if negative { -units } else { units }))
    }

    /// Dollars with thousands separators and two decimals, for messages: `$1,180.00`,
    /// `-$3.10`. Rounds to cents.
    pub fn to_dollars_display(self) -> String {
        let cents = self.round_to_cents().0 / 100;
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        let whole = (cents / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{sign}${grouped}.{:02}", cents % 100)
    }
}

/// Plain decimal with at least two decimals and at most four: `1.25`, `-3.10`, `1.2345`.
/// This is the form used in JSON and CSV output.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let frac = abs % SCALE as u64;
        let mut frac_s = format!("{frac:04}");
        while frac_s.len() > 2 && frac_s.ends_with('0') {
            frac_s.pop();
        }
        write!(f, "{sign}{whole}.{frac_s}")
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads the decimal string `Serialize` writes (stored JSON is read back with it).
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

// The arithmetic saturates instead of wrapping (release) or panicking (debug). The
// importers bound every amount and quantity (`import::values`) so that a trader's sums
// stay many orders of magnitude inside the range; saturation is the last guard, so that
// no input can turn a loss into a profit by wrapping around.

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

impl Mul<i64> for Money {
    type Output = Money;
    fn mul(self, rhs: i64) -> Money {
        Money(self.0.saturating_mul(rhs))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let big = Money::from_units(i64::MAX - 1);
        assert_eq!(big + Money::from_units(10), Money::from_units(i64::MAX));
        assert_eq!(-big - Money::from_units(10), Money::from_units(i64::MIN));
        assert_eq!(big.times(3), Money::from_units(i64::MAX));
        assert_eq!(
            Money::from_units(i64::MIN).abs(),
            Money::from_units(i64::MAX)
        );
        let total: Money = [big, big, -big].into_iter().sum();
        assert!(total > Money::ZERO, "a sum never wraps to the other sign");
    }

    #[test]
    fn parses_what_brokers_write() {
        let cases = [
            ("1.25", 12_500),
            ("0.5", 5_000),
            (".05", 500),
            ("$1,180.00", 11_800_000),
            ("-3.10", -31_000),
            ("($3.10)", -31_000),
            ("-$0.65", -6_500),
            ("+2", 20_000),
            ("1.2345", 12_345),
            ("1.234500", 12_345),
            (" 7 ", 70_000),
        ];
        for (input, units) in cases {
            assert_eq!(Money::parse(input), Ok(Money::from_units(units)), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_money() {
        for input in [
            "", "abc", "1.2.3", "1,00", "--1", "1.23456", "1e5", "$", "12,34.5",
        ] {
            assert!(Money::parse(input).is_err(), "{input} should fail");
        }
    }

    #[test]
    fn displays_plainly_and_for_people() {
        assert_eq!(Money::from_units(12_500).to_string(), "1.25");
        assert_eq!(Money::from_units(-31_000).to_string(), "-3.10");
        assert_eq!(Money::from_units(12_345).to_string(), "1.2345");
        assert_eq!(Money::from_dollars(1180).to_dollars_display(), "$1,180.00");
        assert_eq!(
            Money::from_dollars(-1234567).to_dollars_display(),
            "-$1,234,567.00"
        );
        assert_eq!(Money::from_units(5).to_dollars_display(), "$0.00");
    }

    #[test]
    fn weighted_mean_is_exact_then_rounded() {
        let m = Money::weighted_mean([(Money::from_cents(125), 1), (Money::from_cents(130), 2)]);
        // (1.25 + 2.60) / 3 = 1.28333…
        assert_eq!(m, Some(Money::from_units(12_833)));
        assert_eq!(Money::weighted_mean([]), None);
    }

    #[test]
    fn round_trips_through_display() {
        for units in [-123_456_789, -1, 0, 1, 99, 12_500, 9_999_999] {
            let m = Money::from_units(units);
            assert_eq!(Money::parse(&m.to_string()), Ok(m));
        }
    }
}
