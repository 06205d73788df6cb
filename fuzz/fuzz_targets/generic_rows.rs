//! The generic import format (SPEC §10), CSV with a header row or JSON Lines, read row
//! by row as `import` and the HTTP API read it. The first byte picks the kind of file
//! (recommendations, executions, prices); the rest is the file. No file panics; row
//! errors name a line, and lines never go backwards.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rlhf_bot::import::{ImportFormat, ImportKind, generic, read_rows};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let kind = match selector % 3 {
        0 => ImportKind::Recommendations,
        1 => ImportKind::Executions,
        _ => ImportKind::Prices,
    };
    let rows = if selector & 0x80 == 0 {
        generic::read_rows(kind, Cursor::new(file.to_vec()))
    } else {
        read_rows(kind, ImportFormat::Auto, Cursor::new(file.to_vec()))
    };
    let Ok(rows) = rows else {
        return;
    };
    let mut last = 0;
    for row in rows.take(100_000) {
        assert!(
            row.line >= 1 && row.line >= last,
            "line {} after {last}",
            row.line
        );
        last = row.line;
        if let Err(e) = &row.result {
            assert_eq!(e.line, row.line);
            assert!(!e.reason.is_empty());
            let _ = e.to_string();
        }
    }
});
