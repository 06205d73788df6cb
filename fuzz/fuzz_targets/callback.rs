//! Callback data, as a tap on a button brings it back (and as anyone can forge it):
//! `bot::keyboards::Callback::decode`. No data panics; what decodes encodes within
//! Telegram's 64 bytes and decodes back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlhf_bot::bot::keyboards::{Callback, MAX_CALLBACK_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Some(cb) = Callback::decode(s) else {
        return;
    };
    let again = cb.encode();
    assert!(
        again.len() <= MAX_CALLBACK_BYTES,
        "{s:?} → {cb:?} encodes to {} bytes",
        again.len()
    );
    assert_eq!(
        Callback::decode(&again).as_ref(),
        Some(&cb),
        "{s:?} → {cb:?} → {again:?} does not decode back"
    );
});
