//! Underlyings, option rights and contracts, and the OCC/OSI option symbol.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use super::money::Money;
use super::symbology;

/// An underlying, by its canonical name (`BRK.B`, `SPX`): upper case, starts with a
/// letter, up to 10 characters of letters, digits, `.`, `/` or `-` as written.
///
/// [`Symbol::parse`] asks [`symbology`](super::symbology) which underlying a spelling
/// or option root names, so `BRK/B`, `BRK-B` and `BRKB` are one `BRK.B`, and `SPXW` is
/// `SPX`. The spelling it was written in rides along for display ([`Symbol::written`])
/// and takes no part in comparing, ordering or hashing: two symbols are equal when
/// they name the same underlying.
#[derive(Clone)]
pub struct Symbol {
    name: String,
    /// How the input spelled it, when that differs from `name` (upper-cased).
    written: Option<Box<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("symbol is empty")]
    EmptySymbol,
    #[error("`{0}` is not a ticker symbol (letters, digits, `.`, `/`, `-`; at most 10)")]
    BadSymbol(String),
    #[error(
        "`{0}` is an adjusted option root: after a corporate action its contracts no longer \
         deliver 100 shares, and adjusted options are not supported"
    )]
    AdjustedRoot(String),
    #[error("`{0}` is not an option right (expected call or put, C or P)")]
    BadRight(String),
    #[error("`{0}` is not an OCC option symbol (expected e.g. `AAPL  250117C00150000`)")]
    BadOcc(String),
    #[error("strike must be positive, got {0}")]
    BadStrike(Money),
}

impl Symbol {
    /// Parses a ticker or an option root as written and names its underlying.
    pub fn parse(input: &str) -> Result<Self, ContractError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ContractError::EmptySymbol);
        }
        let up = s.to_ascii_uppercase();
        let ok = up.len() <= 10
            && up.starts_with(|c: char| c.is_ascii_alphabetic())
            && up
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-'));
        if !ok {
            return Err(ContractError::BadSymbol(s.to_owned()));
        }
        let name = symbology::canonical(&up).into_owned();
        Ok(Self::named(name, Some(&up)))
    }

    /// Parses the underlying of an option as written, in an OCC symbol or an option
    /// row: like [`Symbol::parse`], but an adjusted root (`AAPL1`) is refused, since
    /// its contracts do not deliver 100 shares.
    pub fn parse_root(input: &str) -> Result<Self, ContractError> {
        let symbol = Self::parse(input)?;
        if symbology::is_adjusted_root(symbol.written()) {
            return Err(ContractError::AdjustedRoot(symbol.written().to_owned()));
        }
        Ok(symbol)
    }

    fn named(name: String, written: Option<&str>) -> Self {
        let written = written.filter(|w| *w != name).map(Box::from);
        Self { name, written }
    }

    /// The same underlying, remembering that it was written `written` (as the store
    /// keeps it beside the canonical name); `None` keeps the spelling it was parsed from
    /// (a row stored before canonical names holds its spelling in `underlying`).
    pub fn written_as(self, written: Option<&str>) -> Self {
        match written {
            Some(w) => Self::named(self.name, Some(w)),
            None => self,
        }
    }

    /// The canonical name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The symbol as it was written (upper-cased): `BRKB` for an execution of
    /// `BRKB  250117P00450000`; the canonical name when it was written that way.
    pub fn written(&self) -> &str {
        self.written.as_deref().unwrap_or(&self.name)
    }

    /// The spelling it was written in, only when it differs from the canonical name.
    pub fn written_differently(&self) -> Option<&str> {
        self.written.as_deref()
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Symbol {}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Symbol {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(&other.name)
    }
}

impl std::hash::Hash for Symbol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.written {
            None => write!(f, "Symbol({:?})", self.name),
            Some(w) => write!(f, "Symbol({:?}, written {:?})", self.name, w),
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    Call,
    Put,
}

impl Right {
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Call => "call",
            Right::Put => "put",
        }
    }

    fn letter(self) -> char {
        match self {
            Right::Call => 'C',
            Right::Put => 'P',
        }
    }
}

impl FromStr for Right {
    type Err = ContractError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "call" | "c" | "calls" => Ok(Right::Call),
            "put" | "p" | "puts" => Ok(Right::Put),
            _ => Err(ContractError::BadRight(s.trim().to_owned())),
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An option contract: (underlying, expiration, right, strike).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Contract {
    pub underlying: Symbol,
    pub expiration: NaiveDate,
    pub right: Right,
    pub strike: Money,
}

impl Contract {
    pub fn new(
        underlying: Symbol,
        expiration: NaiveDate,
        right: Right,
        strike: Money,
    ) -> Result<Self, ContractError> {
        if strike.units() <= 0 {
            return Err(ContractError::BadStrike(strike));
        }
        Ok(Self {
            underlying,
            expiration,
            right,
            strike,
        })
    }

    /// Parses an OCC/OSI symbol: the padded form `AAPL  250117C00150000` and the common
    /// unpadded variants `AAPL250117C00150000`, `.AAPL250117C150`, `AAPL 250117P152.5`.
    pub fn parse_occ(input: &str) -> Result<Self, ContractError> {
        let bad = || ContractError::BadOcc(input.trim().to_owned());
        let compact: String = input
            .trim()
            .trim_start_matches('.')
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        // Every part of an OCC symbol is ASCII; anything else would also make the byte
        // offsets below fall inside a character.
        if !compact.is_ascii() {
            return Err(bad());
        }
        // From the end: strike digits (maybe with a '.'), then C/P, then YYMMDD, then root.
        let right_pos = compact
            .char_indices()
            .rev()
            .find(|&(_, c)| c == 'C' || c == 'P')
            .map(|(i, _)| i)
            .ok_or_else(bad)?;
        let strike_s = &compact[right_pos + 1..];
        if right_pos < 7 || strike_s.is_empty() {
            return Err(bad());
        }
        let date_s = &compact[right_pos - 6..right_pos];
        let root = &compact[..right_pos - 6];
        if !date_s.bytes().all(|b| b.is_ascii_digit()) || root.is_empty() || root.len() > 6 {
            return Err(bad());
        }
        let underlying = Symbol::parse_root(root).map_err(|e| match e {
            ContractError::AdjustedRoot(_) => e,
            _ => bad(),
        })?;
        let expiration =
            NaiveDate::parse_from_str(&format!("20{date_s}"), "%Y%m%d").map_err(|_| bad())?;
        let right: Right = compact[right_pos..right_pos + 1].parse()?;
        let digits = strike_s.bytes().all(|b| b.is_ascii_digit());
        let strike = if strike_s.len() == 8 && digits {
            // Strike × 1000, eight digits.
            let thousandths: i64 = strike_s.parse().map_err(|_| bad())?;
            Money::from_units(thousandths * 10)
        } else if (digits && strike_s.starts_with('0'))
            || !strike_s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            // Leading zeros are the padded form with digits missing (`C0450000` is not
            // $450,000); and a strike is digits, with a point in the short form.
            return Err(bad());
        } else {
            Money::parse(strike_s).map_err(|_| bad())?
        };
        // The symbol carries strike × 1000 in eight digits: a strike it cannot write
        // (from $100,000, or finer than a tenth of a cent) is no OCC strike, and would
        // come back from `occ()` as another contract.
        if strike.units() % 10 != 0 || strike.units() / 10 > 99_999_999 {
            return Err(bad());
        }
        Contract::new(underlying, expiration, right, strike).map_err(|_| bad())
    }

    /// The padded OCC symbol: root padded to 6, YYMMDD, C/P, strike × 1000 in 8 digits.
    /// Strikes finer than a tenth of a cent cannot be written and are truncated.
    pub fn occ(&self) -> String {
        self.occ_with_root(self.underlying.as_str())
    }

    /// The padded OCC symbol with the underlying as it was written (`BRKB  250117P…` for
    /// a `BRK.B` put written `BRKB`): what the import saw, for fingerprints that must not
    /// change when the canonical name of an underlying does.
    pub fn occ_as_written(&self) -> String {
        self.occ_with_root(self.underlying.written())
    }

    fn occ_with_root(&self, root: &str) -> String {
        format!(
            "{:<6}{}{}{:08}",
            root,
            self.expiration.format("%y%m%d"),
            self.right.letter(),
            self.strike.units() / 10
        )
    }

    /// Days from `day` to expiration, in calendar days.
    pub fn dte(&self, day: NaiveDate) -> i64 {
        (self.expiration - day).num_days()
    }

    /// What the option is worth at expiry with the underlying at `close`, per share.
    pub fn intrinsic(&self, close: Money) -> Money {
        let v = match self.right {
            Right::Call => close - self.strike,
            Right::Put => self.strike - close,
        };
        v.max(Money::ZERO)
    }

    /// A short, readable form for messages: `AAPL 2025-01-17 150.00 put`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} {}",
            self.underlying, self.expiration, self.strike, self.right
        )
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.occ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aapl_150c() -> Contract {
        Contract::new(
            Symbol::parse("AAPL").unwrap(),
            NaiveDate::from_ymd_opt(2025, 1, 17).unwrap(),
            Right::Call,
            Money::from_dollars(150),
        )
        .unwrap()
    }

    #[test]
    fn occ_variants_parse_to_the_same_contract() {
        for s in [
            "AAPL  250117C00150000",
            "AAPL250117C00150000",
            ".AAPL250117C150",
            "aapl 250117c150.00",
            " AAPL  250117C00150000 ",
        ] {
            assert_eq!(Contract::parse_occ(s), Ok(aapl_150c()), "{s}");
        }
    }

    #[test]
    fn occ_round_trips_with_fractional_strikes() {
        let c = Contract::parse_occ("SPY   250321P00452500").unwrap();
        assert_eq!(c.strike, Money::parse("452.5").unwrap());
        assert_eq!(c.right, Right::Put);
        assert_eq!(c.occ(), "SPY   250321P00452500");
        assert_eq!(Contract::parse_occ(".SPY250321P452.5"), Ok(c));
        assert_eq!(aapl_150c().occ(), "AAPL  250117C00150000");
    }

    #[test]
    fn bad_occ_symbols_are_refused() {
        for s in [
            "",
            "AAPL",
            "AAPL250117X00150000",
            "AAPL251317C00150000",
            "250117C00150000",
            "TOOLONGX250117C00150000",
            "AAPL250117C",
            "AAPL250117C00000000",
            // Non-ASCII before the right letter once split a character in two (a panic).
            "AAPL\u{e9}250117C00150000",
            "AAPL25011\u{e9}C00150000",
            "\u{c0}\u{c0}\u{c0}\u{c0}\u{c0}\u{c0}\u{c0}\u{c0}C1",
            "C\u{1F600}\u{1F600}\u{1F600}P1",
        ] {
            assert!(Contract::parse_occ(s).is_err(), "{s} should fail");
        }
    }

    /// Found by fuzzing (`fuzz/fuzz_targets/occ.rs`): a padded symbol with a digit
    /// missing was read as a strike of $450,000, whose own symbol `occ()` cannot write
    /// (it came back as $450,000,000); a strike finer than a tenth of a cent likewise.
    #[test]
    fn occ_refuses_strikes_its_symbol_cannot_carry() {
        for s in [
            "BRKB  250117P0450000",
            "AAPL250117C100000",
            "AAPL250117C1000000.5",
            "AAPL250117C1.2345",
            "AAPL250117C$150",
            "AAPL250117C+150",
            "AAPL250117C1,500",
            "AAPL250117C0150",
        ] {
            assert!(Contract::parse_occ(s).is_err(), "{s} should fail");
        }
        for (s, strike) in [
            ("AAPL250117C99999.999", "99999.999"),
            ("AAPL250117C150.125", "150.125"),
            ("AAPL250117C0.5", "0.5"),
            ("AAPL  250117C99999999", "99999.999"),
        ] {
            let c = Contract::parse_occ(s).unwrap();
            assert_eq!(c.strike, Money::parse(strike).unwrap(), "{s}");
            assert_eq!(Contract::parse_occ(&c.occ()), Ok(c), "{s}");
        }
    }

    #[test]
    fn occ_parses_what_it_writes() {
        for s in [
            "AAPL  250117C00150000",
            "SPY   250321P00452500",
            "BRKB  250117P00450000",
        ] {
            let c = Contract::parse_occ(s).unwrap();
            assert_eq!(Contract::parse_occ(&c.occ()), Ok(c), "{s}");
        }
    }

    #[test]
    fn intrinsic_value_by_right() {
        let call = aapl_150c();
        assert_eq!(
            call.intrinsic(Money::from_dollars(155)),
            Money::from_dollars(5)
        );
        assert_eq!(call.intrinsic(Money::from_dollars(140)), Money::ZERO);
        let put = Contract {
            right: Right::Put,
            ..call
        };
        assert_eq!(
            put.intrinsic(Money::from_dollars(140)),
            Money::from_dollars(10)
        );
        assert_eq!(put.intrinsic(Money::from_dollars(155)), Money::ZERO);
    }

    #[test]
    fn symbols_are_normalised_and_checked() {
        assert_eq!(Symbol::parse(" brk.b ").unwrap().as_str(), "BRK.B");
        assert!(Symbol::parse("1ABC").is_err());
        assert!(Symbol::parse("AB CD").is_err());
        assert!(Symbol::parse("").is_err());
    }
}
