//! Dollar amounts (`Money::parse` and the bounded cell parsers on it): no input panics;
//! a parsed amount prints (`Display`) to a string that parses back to it; the bounded
//! parsers hold their bounds; the arithmetic a row's amounts meet cannot overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlhf_bot::domain::Money;
use rlhf_bot::fuzzing::cells;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Money::parse(s) {
        let shown = m.to_string();
        assert_eq!(
            Money::parse(&shown),
            Ok(m),
            "{s:?} → {m:?} → {shown:?} does not parse back"
        );
        let _ = m.to_dollars_display();
        let _ = m.round_to_cents();
        let _ = (m + m, m - m, -m, m.times(100), m.abs());
    }
    let limit = Money::from_dollars(cells::MAX_DOLLARS);
    for parsed in [cells::money(s), cells::broker_money(s), cells::strike(s)] {
        if let Ok(m) = parsed {
            // broker_money may round the fourth decimal up by one unit.
            assert!(
                m.abs() <= limit + Money::from_units(1),
                "{s:?} → {m:?} is past the bound"
            );
            for n in [1, 100, cells::MAX_CONTRACTS, -cells::MAX_CONTRACTS] {
                let _ = cells::row_value(m, n);
                let _ = m.times(n).times(100);
            }
        }
    }
    if let Ok(m) = cells::strike(s) {
        assert!(m > Money::ZERO, "{s:?}: a strike at or below zero");
    }
});
