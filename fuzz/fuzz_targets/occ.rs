//! OCC option symbols (`Contract::parse_occ`, as the generic `symbol` column, the HTTP
//! API and most broker formats read them): no input panics, and a contract the
//! symbol can carry exactly comes back from its own padded symbol unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlhf_bot::domain::Contract;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = Contract::parse_occ(s) else {
        let _ = rlhf_bot::fuzzing::cells::occ(s);
        return;
    };
    assert!(c.strike.units() > 0, "{s:?}: a strike at or below zero");
    let _ = c.describe();
    let written = c.occ_as_written();
    let padded = c.occ();
    // The padded symbol is the contract's key: reading it back must give the same
    // contract (same underlying, expiration, right and strike).
    let again = Contract::parse_occ(&padded).unwrap_or_else(|e| {
        panic!("{s:?} parsed as {c:?}, but its symbol {padded:?} does not: {e}")
    });
    assert_eq!(again, c, "{s:?} → {padded:?} → a different contract");
    assert_eq!(padded.len(), 21, "{s:?} → {padded:?} is not 21 characters");
    let _ = Contract::parse_occ(&written);
});
