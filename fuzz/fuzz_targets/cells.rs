//! The cell parsers every import format shares (`import::values`): timestamps, the
//! dates and clock times brokers write, quantities, ids. No cell panics; what parses
//! keeps its promise (a quantity within bounds, a date that prints back to itself).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rlhf_bot::fuzzing::cells;

#[derive(Debug, Arbitrary)]
enum Cell<'a> {
    Timestamp(&'a str),
    Date(&'a str),
    UsDate(&'a str),
    DayMonthYear(&'a str),
    MonthDayYear(&'a str),
    CompactDate(&'a str),
    Clock(&'a str),
    Contracts(&'a str),
    Quantity(&'a str),
    SignedContracts(&'a str),
    Key(&'a str),
}

fuzz_target!(|cell: Cell<'_>| {
    match cell {
        Cell::Timestamp(s) => {
            if let Ok(t) = cells::timestamp(s) {
                // Every execution's timestamp is placed on an exchange day.
                let _ = cells::exchange_day(t);
                let back = cells::timestamp(&t.to_rfc3339());
                assert_eq!(back, Ok(t), "{s:?} → {t:?} does not read back");
            }
        }
        Cell::Date(s) => {
            if let Ok(d) = cells::date(s) {
                let again = cells::date(&d.format("%Y-%m-%d").to_string());
                assert_eq!(again, Ok(d), "{s:?} → {d} does not read back");
            }
        }
        Cell::UsDate(s) => {
            if let Ok(d) = cells::us_date(s) {
                let again = cells::us_date(&d.format("%m/%d/%Y").to_string());
                assert_eq!(again, Ok(d), "{s:?} → {d} does not read back");
            }
        }
        Cell::DayMonthYear(s) => {
            let _ = cells::day_month_year(s);
        }
        Cell::MonthDayYear(s) => {
            let _ = cells::month_day_year(s);
        }
        Cell::CompactDate(s) => {
            if let Ok(d) = cells::compact_date(s) {
                let again = cells::compact_date(&d.format("%Y%m%d").to_string());
                assert_eq!(again, Ok(d), "{s:?} → {d} does not read back");
            }
        }
        Cell::Clock(s) => {
            let _ = cells::clock(s);
        }
        Cell::Contracts(s) => {
            if let Ok(n) = cells::contracts(s) {
                assert!((1..=cells::MAX_CONTRACTS).contains(&n), "{s:?} → {n}");
            }
        }
        Cell::Quantity(s) => {
            if let Ok(n) = cells::quantity(s) {
                assert!(n.abs() <= cells::MAX_CONTRACTS * 100, "{s:?} → {n}");
            }
        }
        Cell::SignedContracts(s) => {
            if let Ok(n) = cells::signed_contracts(s) {
                assert!((1..=cells::MAX_CONTRACTS).contains(&n.abs()), "{s:?} → {n}");
            }
        }
        Cell::Key(s) => {
            if let Ok(k) = cells::key(s) {
                assert!(k.chars().count() <= 128 && !k.chars().any(char::is_control));
            }
        }
    }
});
