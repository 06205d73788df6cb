//! Values that would pass a parser and break later are refused at the edge, the same way
//! on SQLite and on Postgres: a NUL byte in any cell, ids of any length, amounts and
//! quantities that would overflow money arithmetic, an expiration before the trade.

mod common;

use std::io::Cursor;

use common::{TestDb, now, tz};
use rlhf_bot::app::import::{ImportReport, import_reader};
use rlhf_bot::import::{ImportFormat, ImportKind};

const EXEC_HEADER: &str = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n";

async fn import(db: &TestDb, kind: ImportKind, body: String) -> ImportReport {
    import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        Cursor::new(body.into_bytes()),
        tz(),
        now(),
    )
    .await
    .expect("the import runs")
}

fn reasons(r: &ImportReport) -> Vec<(u64, Option<String>, String)> {
    r.errors
        .iter()
        .map(|e| (e.line, e.column.clone(), e.reason.clone()))
        .collect()
}

async fn bad_values_are_refused_by_line_and_column(db: &TestDb) {
    let good = "F1,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65";
    let rows = [
        good.to_owned(),
        // 2: a NUL byte inside a cell (Postgres cannot store it; SQLite could).
        "F2,7,2025-01-06T09:35:00-08:00,sell_to_open,AA\0PL,put,150,2025-01-17,1,1.25,0.65"
            .to_owned(),
        // 3: a broker_ref of a megabyte.
        format!(
            "{},7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65",
            "R".repeat(1 << 20)
        ),
        // 4: more contracts than an order has.
        "F4,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,100001,1.25,0.65"
            .to_owned(),
        // 5: each value within its bound, but the fill worth $99,999,999,900,000 (12 such
        // fills once wrapped a week's P&L around to minus $644 trillion).
        "F5,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,100000,9999999.99,0.65"
            .to_owned(),
        // 6: a trade after its contract expired.
        "F6,7,2025-01-21T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65"
            .to_owned(),
        // 7: an expiry posted after the expiration date is a lifecycle event, and fine.
        "F7,7,2025-01-20T05:00:00-08:00,expired,AAPL,put,150,2025-01-17,1,0,0".to_owned(),
    ];
    let body = format!("{EXEC_HEADER}{}\n", rows.join("\n"));
    let r = import(db, ImportKind::Executions, body).await;
    assert_eq!(r.imported, 2, "{:?}", reasons(&r));
    let got = reasons(&r);
    let lines: Vec<u64> = got.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{got:?}");
    let by_line = |l: u64| got.iter().find(|(line, _, _)| *line == l).unwrap();
    assert_eq!(by_line(3).1.as_deref(), Some("underlying"));
    assert!(by_line(3).2.contains("NUL"), "{:?}", by_line(3));
    assert_eq!(by_line(4).1.as_deref(), Some("broker_ref"));
    assert!(by_line(4).2.len() < 300, "a long value is not echoed whole");
    assert_eq!(by_line(5).1.as_deref(), Some("contracts"));
    assert_eq!(by_line(6).1.as_deref(), Some("price"));
    assert!(
        by_line(6)
            .2
            .contains("more than the $100,000,000.00 one row may carry"),
        "{:?}",
        by_line(6)
    );
    assert_eq!(by_line(7).1.as_deref(), Some("expiration"));
    assert!(
        by_line(7).2.contains("before this sell_to_open"),
        "{:?}",
        by_line(7)
    );
}

async fn a_recommendation_for_an_expired_contract_is_refused(db: &TestDb) {
    let header = "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n";
    let body = format!(
        "{header}r1,7,2025-01-21T09:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25\n\
         r2,7,2025-01-17T09:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25\n"
    );
    let r = import(db, ImportKind::Recommendations, body).await;
    assert_eq!(r.imported, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, 2);
    assert_eq!(r.errors[0].column.as_deref(), Some("expiration"));
}

both!(
    bad_values_are_refused_by_line_and_column,
    bad_values_are_refused_by_line_and_column
);
both!(
    a_recommendation_for_an_expired_contract_is_refused,
    a_recommendation_for_an_expired_contract_is_refused
);

// ---------------------------------------------------------------------------------------
// The size of a record and of a header (issue 13, item 9), and files laid out otherwise
// than the generic columns expect (item 11): with the real binary.

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` on a database of its own there.
fn rlhf(dir: &std::path::Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("bounds.db").display()),
        )
        .env_remove("RUST_LOG")
        .env_remove("SCHEDULE_TZ")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `head`, then `fill` repeated up to `size` bytes, in chunks (the test holds
/// a MiB at a time, not the file), then `tail`.
fn generated(path: &std::path::Path, head: &[u8], fill: u8, size: usize, tail: &[u8]) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(head).unwrap();
    let chunk = vec![fill; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    f.write_all(tail).unwrap();
    f.flush().unwrap();
}

fn one_error(r: &Run) -> String {
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence: {}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0].to_owned()
}

#[test]
fn a_file_without_line_breaks_is_refused_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zeros.csv");
    // 200 MB of zero bytes: once read whole into memory (1 GB reached 4.2 GB RSS).
    generated(&file, b"", 0, 200 << 20, b"");
    let path = file.to_str().unwrap();
    for args in [
        &["import", "recommendations", path][..],
        &["import", "prices", path],
        &["import", "executions", "--format", "generic", path],
    ] {
        let r = rlhf(dir.path(), args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let line = one_error(&r);
        assert!(
            line.contains("the header row (line 1) is longer than 64 KiB"),
            "{args:?}: {line}"
        );
    }
    // Detected from its first MiB: no format's header there.
    let r = rlhf(dir.path(), &["import", "executions", path]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        one_error(&r).contains("nothing in it looks like any of them"),
        "{}",
        r.stderr
    );
    // A broker's export is read whole, so its size is bounded first.
    let r = rlhf(
        dir.path(),
        &["import", "executions", "--format", "schwab", path],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        one_error(&r)
            .contains("the file is 200 MiB, and an export read whole may be at most 64 MiB"),
        "{}",
        r.stderr
    );
    // Under that size, its longest line is bounded.
    let small = dir.path().join("export.csv");
    generated(&small, b"Date,Action,Symbol\n", b'x', 3 << 20, b"\n");
    let r = rlhf(
        dir.path(),
        &[
            "import",
            "executions",
            "--format",
            "schwab",
            small.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        one_error(&r).contains("line 2 is longer than 2 MiB"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_row_longer_than_the_bound_is_rejected_on_its_line_and_the_others_imported() {
    let dir = tempfile::tempdir().unwrap();
    let good = |id: &str| {
        format!(
            "{id},7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65\n"
        )
    };
    // CSV: a row of 3 MiB on line 3; a quoted value over three lines of 1 MiB from
    // line 5 (skipped to the end of the line where it passed the bound, its third); a
    // bad row after them keeps its own line number.
    let csv = dir.path().join("long.csv");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&csv).unwrap();
        write!(f, "{}{}", EXEC_HEADER, good("F1")).unwrap();
        writeln!(f, "F2,{}", "x".repeat(3 << 20)).unwrap();
        write!(f, "{}", good("F3")).unwrap();
        let mib = "y".repeat(1 << 20);
        write!(f, "F4,\"{mib}\n{mib}\n{mib}\"\n").unwrap();
        write!(f, "{}", good("F5")).unwrap();
        writeln!(
            f,
            "F6,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,x,1.25,0.65"
        )
        .unwrap();
    }
    let r = rlhf(dir.path(), &["import", "executions", csv.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert!(
        errors.contains(
            &"line 3: the row is longer than 2 MiB, more than any row holds, and was skipped"
        ),
        "{errors:?}"
    );
    assert!(
        errors.contains(
            &"line 5: the row is longer than 2 MiB, more than any row holds, and was skipped"
        ),
        "{errors:?}"
    );
    let lines_of_f6 = 9;
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("line {lines_of_f6}, column contracts"))),
        "{errors:?}"
    );
    assert!(r.stdout.contains("imported 3,"), "{}", r.stdout);
    // JSON Lines: the same bound, line by line.
    let jsonl = dir.path().join("long.jsonl");
    std::fs::write(
        &jsonl,
        format!(
            "{{\"symbol\":\"AAPL\",\"date\":\"2025-01-06\",\"close\":\"150\"}}\n{{\"symbol\":\"{}\"}}\n{{\"symbol\":\"MSFT\",\"date\":\"2025-01-06\",\"close\":\"400\"}}\n",
            "z".repeat(3 << 20)
        ),
    )
    .unwrap();
    let r = rlhf(dir.path(), &["import", "prices", jsonl.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "line 2: the row is longer than 2 MiB, more than any row holds, and was skipped"
    );
    assert!(r.stdout.contains("imported 2,"), "{}", r.stdout);
}

#[test]
fn a_file_separated_otherwise_than_by_commas_says_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let header = EXEC_HEADER.trim_end();
    for (sep, name) in [
        (";", "semicolons"),
        ("\t", "tabs"),
        ("|", "vertical bars (|)"),
    ] {
        let file = dir.path().join("sep.csv");
        std::fs::write(
            &file,
            format!(
                "{}\nF1{sep}7{sep}2025-01-06T09:35:00-08:00{sep}sell_to_open{sep}AAPL{sep}put{sep}150{sep}2025-01-17{sep}1{sep}1,25{sep}0,65\n",
                header.replace(',', sep)
            ),
        )
        .unwrap();
        let path = file.to_str().unwrap();
        for args in [
            &["import", "executions", path][..],
            &["import", "executions", "--format", "generic", path],
        ] {
            let r = rlhf(dir.path(), args);
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            let line = one_error(&r);
            assert!(
                line.contains(&format!("separated by {name}, not commas"))
                    && line.contains("save the file as comma-separated CSV"),
                "{args:?}: {line}"
            );
            assert!(!line.contains("broker_ref"), "{line}");
        }
    }
    let recs = dir.path().join("recs.csv");
    std::fs::write(
        &recs,
        "external_id;account;created_at;action;underlying;right;strike;expiration;contracts;premium\n",
    )
    .unwrap();
    let r = rlhf(
        dir.path(),
        &["import", "recommendations", recs.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert!(
        one_error(&r).contains("separated by semicolons"),
        "{}",
        r.stderr
    );
}

async fn a_json_array_is_read_object_by_object(db: &TestDb) {
    // Pretty-printed, as tools write arrays: objects over several lines, a `,` `]` `[`
    // inside a string, a trailing comma.
    let body = r#"
[
  {"broker_ref": "F1", "account": 7, "executed_at": "2025-01-06T09:35:00-08:00",
   "action": "sell_to_open", "underlying": "AAPL", "right": "put", "strike": 150,
   "expiration": "2025-01-17", "contracts": 1, "price": "1.25", "fees": "0.65"},
  {"broker_ref": "F2 [a, b] \"}\"", "account": 7, "executed_at": "2025-01-06T09:36:00-08:00",
   "action": "sell_to_open", "underlying": "AAPL", "right": "put", "strike": 150,
   "expiration": "2025-01-17", "contracts": 1, "price": "1.25", "fees": "0.65"},
  {"broker_ref": "F3", "account": 7, "executed_at": "later",
   "action": "sell_to_open", "underlying": "AAPL", "right": "put", "strike": 150,
   "expiration": "2025-01-17", "contracts": 1, "price": "1.25", "fees": "0.65"},
  [1, 2],
]
"#;
    let r = import(db, ImportKind::Executions, body.to_owned()).await;
    assert_eq!(r.imported, 2, "{:?}", reasons(&r));
    let got = reasons(&r);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].0, got[0].1.as_deref()), (9, Some("executed_at")));
    assert_eq!(got[1].0, 12);
    assert!(got[1].2.contains("is not a JSON object"), "{got:?}");
    // Cut short: the objects read, then one sentence for the missing `]`.
    let cut = "[{\"symbol\": \"AAPL\", \"date\": \"2025-01-06\", \"close\": 150},\n {\"symbol\": \"MSFT\"";
    let r = import(db, ImportKind::Prices, cut.to_owned()).await;
    assert_eq!(r.imported, 1, "{:?}", reasons(&r));
    let got = reasons(&r);
    assert!(
        got.iter()
            .any(|(l, _, e)| *l == 2 && e.contains("ends without its closing `]`")),
        "{got:?}"
    );
}

both!(
    a_json_array_is_read_object_by_object,
    a_json_array_is_read_object_by_object
);

#[test]
fn a_quoted_value_of_many_short_lines_past_the_bound_is_one_rejected_row() {
    // A quoted cell of 3 million line breaks (2.9 MiB) on line 2: the row is skipped to
    // the line end that closes it — not the first line end inside the quotes, where the
    // reader would restart inside the value and read the rest of the file as garbage.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("quoted.csv");
    let breaks = 3_000_000;
    let mut text = String::from("symbol,date,close\nAAPL,2025-01-06,\"");
    text.push_str(&"\n".repeat(breaks));
    text.push_str("150\"\n");
    for (i, s) in ["AAPL", "MSFT", "SPY", "QQQ"].iter().enumerate() {
        text.push_str(&format!("{s},2025-01-0{},10{i}\n", 7 + i % 2));
    }
    text.push_str("KO,2025-01-06,x\n");
    std::fs::write(&csv, text).unwrap();
    let r = rlhf(dir.path(), &["import", "prices", csv.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "line 2: the row is longer than 2 MiB, more than any row holds, and was skipped"
    );
    // The bad row after them keeps its own line: 1 header + the row's 3M + 1 lines + 4.
    let ko = 2 + breaks + 4 + 1;
    assert!(
        errors[1].starts_with(&format!("line {ko}, column close")),
        "{errors:?}"
    );
    assert!(r.stdout.contains("imported 4,"), "{}", r.stdout);
}

#[test]
fn utf16_and_empty_files_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = "symbol,date,close\nAAPL,2025-01-06,150\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let with_bom: Vec<u8> = [0xFF, 0xFE].into_iter().chain(le.iter().copied()).collect();
    for (name, bytes, kind) in [
        ("le.csv", le.clone(), "prices"),
        ("bom.csv", with_bom.clone(), "prices"),
        ("le_exec.csv", le, "executions"),
        ("bom_exec.csv", with_bom, "executions"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let r = rlhf(dir.path(), &["import", kind, path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim(),
            "error: the file is UTF-16 text; save it as UTF-8 (in a spreadsheet, \"CSV UTF-8\") and import it again",
            "{name}"
        );
    }
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "\u{feff}\n").unwrap();
    let r = rlhf(
        dir.path(),
        &[
            "import",
            "executions",
            empty.to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("the file is empty"), "{}", r.stderr);
}
