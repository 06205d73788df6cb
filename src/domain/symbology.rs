//! Which underlying a symbol names (SPEC §4): the one place that decides it.
//!
//! An underlying has one canonical name. Brokers and the algorithm write the same
//! underlying several ways, and an option's OCC root is not always its ticker:
//!
//! - **Class shares** are written `BRK.B`, `BRK/B`, `BRK-B`, and as an OCC root without
//!   a separator (`BRKB`). The canonical form uses a dot. A separator is always a
//!   spelling; a root without one is only recognised where it is known ([`ROOTS`]),
//!   since `BRKB` cannot be told from a four-letter ticker by its letters.
//! - **Index options** trade under more than one root: the monthly, AM-settled series
//!   under the index's own symbol and the weekly, PM-settled series under another
//!   (`SPXW` for `SPX`). For a trader's purposes they are the same underlying.
//!   Mini indexes (`XSP` is a tenth of `SPX`, `DJX` a hundredth of the Dow, `NQX` a
//!   fifth of `NDX`, `MRUT` a tenth of `RUT`) are their own underlyings: their strikes
//!   are on another scale, so they are never folded into the full-size index.
//! - **Adjusted roots**: after a corporate action (a split, merger or special dividend)
//!   the OCC gives the old series a new root with a digit (`AAPL1`), and one contract no
//!   longer delivers 100 shares. Such a root is refused with its own error rather than
//!   read as the plain underlying, whose P&L arithmetic would be wrong for it. Only
//!   option roots are judged so (`Symbol::parse_root`); a ticker may hold a digit.
//!
//! Source of [`ROOTS`]: the listing exchanges' product specifications (Cboe: SPX, SPXW,
//! SPXPM, XSP, RUT, RUTW, MRUT, VIX, VIXW, OEX, XEO, DJX; Nasdaq: NDX, NDXP, NQX) and the
//! OCC symbology for class shares (Berkshire Hathaway `BRKA`/`BRKB`, Brown-Forman
//! `BFA`/`BFB`). Adding an alias is one row here.

use std::borrow::Cow;

/// Roots and spellings that name another underlying: (as written, canonical, what).
pub const ROOTS: &[(&str, &str, &str)] = &[
    ("BRKA", "BRK.A", "Berkshire Hathaway class A, OCC root"),
    ("BRKB", "BRK.B", "Berkshire Hathaway class B, OCC root"),
    ("BFA", "BF.A", "Brown-Forman class A, OCC root"),
    ("BFB", "BF.B", "Brown-Forman class B, OCC root"),
    ("SPXW", "SPX", "S&P 500 weeklies, PM-settled"),
    ("SPXPM", "SPX", "S&P 500 PM-settled (series before 2017)"),
    ("NDXP", "NDX", "Nasdaq-100 weeklies, PM-settled"),
    ("RUTW", "RUT", "Russell 2000 weeklies, PM-settled"),
    ("VIXW", "VIX", "Cboe Volatility Index weeklies"),
    ("XEO", "OEX", "S&P 100, European-style exercise"),
];

/// The canonical name of the underlying that `written` names. `written` is upper case,
/// starts with a letter and holds only letters, digits, `.`, `/` and `-`.
pub fn canonical(written: &str) -> Cow<'_, str> {
    if let Some((_, name, _)) = ROOTS.iter().find(|(root, _, _)| *root == written) {
        return Cow::Borrowed(name);
    }
    if written.contains(['/', '-']) {
        return Cow::Owned(written.replace(['/', '-'], "."));
    }
    Cow::Borrowed(written)
}

/// Whether an option's root, as written, is an adjusted root (`AAPL1`): one with a
/// digit, which the OCC gives a series whose deliverable a corporate action changed.
/// Only option roots are judged so; a ticker may hold a digit.
pub fn is_adjusted_root(written: &str) -> bool {
    written.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_class_share_is_one_name() {
        for written in ["BRK.B", "BRK/B", "BRK-B", "BRKB"] {
            assert_eq!(canonical(written), "BRK.B", "{written}");
        }
        assert_eq!(canonical("BF/A"), "BF.A");
        assert_eq!(canonical("BFB"), "BF.B");
        // A separator is a spelling even for a class this table does not list.
        assert_eq!(canonical("MOG-A"), "MOG.A");
    }

    #[test]
    fn index_roots_name_their_index_and_minis_stay_apart() {
        for (root, index) in [
            ("SPXW", "SPX"),
            ("SPXPM", "SPX"),
            ("NDXP", "NDX"),
            ("RUTW", "RUT"),
            ("VIXW", "VIX"),
            ("XEO", "OEX"),
        ] {
            assert_eq!(canonical(root), index, "{root}");
        }
        for own in [
            "SPX", "NDX", "RUT", "VIX", "XSP", "DJX", "NQX", "MRUT", "OEX",
        ] {
            assert_eq!(canonical(own), own, "{own}");
        }
    }

    #[test]
    fn adjusted_roots_are_recognised() {
        for root in ["AAPL1", "BRKB1", "T2"] {
            assert!(is_adjusted_root(root), "{root}");
        }
        assert!(!is_adjusted_root("AAPL"));
        assert!(!is_adjusted_root("BRK.B"));
    }

    #[test]
    fn the_table_is_consistent() {
        for (root, name, _) in ROOTS {
            assert_ne!(root, name);
            // A canonical name is canonical: it maps to itself.
            assert_eq!(canonical(name), *name, "{name}");
            assert_eq!(ROOTS.iter().filter(|(r, _, _)| r == root).count(), 1);
        }
    }
}
