//! Re-importing is safe at the store: any export, cut into a prefix and a suffix that
//! overlap or not (the way traders download date ranges), imported as the two files in
//! either order, leaves the store exactly as importing the whole export once does — on
//! SQLite and on Postgres. The later range first is the hard case for exports that say
//! only buy or sell (Webull): the earlier file decides what the stored later rows were. The cut keeps every line that is not an event (preambles, headers, section
//! marks, totals, footers) in both halves, as the broker writes them in every download.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use common::{TestDb, now};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rlhf_bot::app::App;
use rlhf_bot::app::brokers::{AccountChoice, ImportOutcome};
use rlhf_bot::config::Settings;
use rlhf_bot::domain::AccountId;
use rlhf_bot::import::ImportFormat;
use sqlx::Row;

/// The file's CSV records as byte ranges of the file (a quoted field may span lines),
/// each with the date it is filed under, if it has one: its first field that begins with
/// a date, as brokers filter a download by it (a leg under its order is filed with it).
fn records(bytes: &[u8]) -> Vec<(std::ops::Range<usize>, Option<NaiveDate>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let start = usize::try_from(reader.position().byte()).unwrap();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => panic!("a fixture that is not CSV: {e}"),
        }
        let end = usize::try_from(reader.position().byte()).unwrap();
        // A row with no date right under a dated one (no blank line between) is a leg
        // of the order above it: filed with it.
        let under = !matches!(bytes[start], b'\n' | b'\r');
        let above = out.last().and_then(|(_, d): &(_, Option<NaiveDate>)| *d);
        let date = record
            .iter()
            .find_map(leading_date)
            .or(above.filter(|_| under));
        out.push((start..end, date));
    }
    if let Some(last) = out.last_mut() {
        last.0.end = bytes.len();
    }
    out
}

/// The date a field begins with, in the ways exports write one.
fn leading_date(field: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(field)
        .ok()?
        .trim()
        .trim_start_matches('\u{feff}');
    let head: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '/' | '-'))
        .collect();
    ["%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&head, f).ok())
}

/// The days the events' rows (at `event_lines`) are filed under, in order; records dated
/// outside them (a statement's period, when it was made) are the file's, kept in both
/// halves of a cut.
fn event_days(
    bytes: &[u8],
    all: &[(std::ops::Range<usize>, Option<NaiveDate>)],
    event_lines: &BTreeSet<u64>,
) -> Vec<NaiveDate> {
    all.iter()
        .filter(|(range, _)| event_lines.iter().any(|l| line_in(bytes, range, *l)))
        .filter_map(|(_, d)| *d)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Whether the 1-based line `line` is one of the lines of the record at `range`.
fn line_in(bytes: &[u8], range: &std::ops::Range<usize>, line: u64) -> bool {
    let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count() as u64;
    let first = newlines(&bytes[..range.start]) + 1;
    let body = &bytes[range.clone()];
    let inner = newlines(body.strip_suffix(b"\n").unwrap_or(body));
    (first..=first + inner).contains(&line)
}

/// Every execution stored in `chat`, as the store holds it (all but its row id and the
/// time of the import), sorted.
async fn stored(db: &TestDb, chat: AccountId) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT broker, broker_ref, executed_at, exec_day, action, underlying, option_right, \
         CAST(strike AS TEXT), expiration, CAST(contracts AS TEXT), CAST(price AS TEXT), \
         CAST(fees AS TEXT), fingerprint, COALESCE(underlying_as_written, ''), \
         COALESCE(inferred_fill, '') FROM executions WHERE account_id = $1",
    )
    .bind(chat.0)
    .fetch_all(db.store.pool())
    .await
    .expect("read the executions");
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            (0..15)
                .map(|i| r.try_get::<String, _>(i).expect("a text column"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

/// A Webull export whose fills cross zero, so that a cut changes how they split: from
/// the 7th on alone, SPY's buy on the 8th crosses zero, which in the whole history it does
/// not; from the 8th on alone, SPY's sell on the 9th does not, which it does.
const WEBULL_CROSSING: &str = "\
Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time
SPY250117P00580000,SPY250117P00580000,Buy,Filled,1,1,@1.00,1.00,DAY,01/06/2025 10:00:00 EST,01/06/2025 10:00:05 EST
QQQ250117C00500000,QQQ250117C00500000,Sell,Filled,1,1,@3.00,3.00,DAY,01/06/2025 10:30:00 EST,01/06/2025 10:30:05 EST
SPY250117P00580000,SPY250117P00580000,Sell,Filled,1,1,@1.20,1.20,DAY,01/07/2025 10:00:00 EST,01/07/2025 10:00:05 EST
QQQ250117C00500000,QQQ250117C00500000,Buy,Filled,3,3,@2.50,2.50,DAY,01/07/2025 10:30:00 EST,01/07/2025 10:30:05 EST
SPY250117P00580000,SPY250117P00580000,Buy,Filled,3,3,@0.90,0.90,DAY,01/08/2025 10:00:00 EST,01/08/2025 10:00:05 EST
SPY250117P00580000,SPY250117P00580000,Sell,Filled,5,5,@1.10,1.10,DAY,01/09/2025 10:00:00 EST,01/09/2025 10:00:05 EST
QQQ250117C00500000,QQQ250117C00500000,Sell,Filled,2,2,@2.70,2.70,DAY,01/09/2025 10:30:00 EST,01/09/2025 10:30:05 EST
SPY250117P00580000,SPY250117P00580000,Buy,Filled,2,2,@0.80,0.80,DAY,01/10/2025 10:00:00 EST,01/10/2025 10:00:05 EST
QQQ250117C00500000,QQQ250117C00500000,Sell,Filled,1,1,@2.60,2.60,DAY,01/10/2025 10:30:00 EST,01/10/2025 10:30:05 EST
QQQ250117C00500000,QQQ250117C00500000,Buy,Filled,2,2,@2.40,2.40,DAY,01/13/2025 10:30:00 EST,01/13/2025 10:30:05 EST
";

/// Imports an export into `chat` (or only reads it, with `dry_run`): no row refused.
async fn import(
    app: &App,
    bytes: Vec<u8>,
    name: &str,
    chat: AccountId,
    dry_run: bool,
) -> ImportOutcome {
    let out = app
        .import_executions(
            bytes,
            Some(name),
            ImportFormat::Auto,
            AccountChoice::Chat(chat),
            dry_run,
            now(),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.report.rejected, 0, "{name}: {:?}", out.report.errors);
    out
}

/// Which half of a cut file is imported first.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// The earlier range, then the later one.
    InDateOrder,
    /// The later range, then the earlier one.
    LaterFirst,
}

async fn any_split_gives_the_same_store(db: &TestDb) {
    split_gives_the_same_store(db, Order::InDateOrder).await;
}

async fn any_split_later_first_gives_the_same_store(db: &TestDb) {
    split_gives_the_same_store(db, Order::LaterFirst).await;
}

async fn split_gives_the_same_store(db: &TestDb, order: Order) {
    let settings = Settings::from_lookup(|_| None).expect("default settings");
    db.store.bind_zone(settings.tz).await.expect("zone");
    let app = App::quiet(db.store.clone(), Arc::new(settings));

    // Each fixture (and a Webull history whose fills cross zero) imported whole once, in
    // a chat of its own: the store to compare with.
    let mut wholes = Vec::new();
    let files = common::broker_fixtures().into_iter().map(|path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        (name, std::fs::read(&path).unwrap())
    });
    let files = files.chain([(
        "Webull_Orders_Records_Options.csv".to_owned(),
        WEBULL_CROSSING.as_bytes().to_vec(),
    )]);
    for (i, (name, bytes)) in files.enumerate() {
        let chat = AccountId(5000 + i64::try_from(i).unwrap());
        // The lines that hold an event: the rest is kept in both halves.
        let dry = import(&app, bytes.clone(), &name, chat, true).await;
        let event_lines: BTreeSet<u64> = dry.file.executions.iter().map(|e| e.line).collect();
        let imported = import(&app, bytes.clone(), &name, chat, false)
            .await
            .report
            .imported;
        assert!(imported > 0, "{name}");
        let want = stored(db, chat).await;
        assert_eq!(want.len(), imported, "{name}");
        wholes.push((name, bytes, event_lines, want));
    }

    let next_chat = std::sync::atomic::AtomicI64::new(9000);
    // Imports the rows filed up to `to` and those filed from `from` of fixture `which`
    // into a fresh chat in `order`; what the chat then holds, and what it should hold.
    let split = |which: usize, pick: &dyn Fn(&[NaiveDate]) -> (NaiveDate, NaiveDate)| {
        let (name, bytes, event_lines, want) = &wholes[which];
        let all = records(bytes);
        let days = event_days(bytes, &all, event_lines);
        let (first, last) = (days[0], days[days.len() - 1]);
        let (from, to) = pick(&days);
        let keep = |within: &dyn Fn(NaiveDate) -> bool| -> Vec<u8> {
            all.iter()
                .filter(|(_, d)| match d {
                    Some(d) if (first..=last).contains(d) => within(*d),
                    _ => true,
                })
                .flat_map(|(range, _)| bytes[range.clone()].iter().copied())
                .collect()
        };
        let (prefix, suffix) = (keep(&|d| d <= to), keep(&|d| d >= from));
        let chat = AccountId(next_chat.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let got = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let (first, second) = match order {
                    Order::InDateOrder => (prefix, suffix),
                    Order::LaterFirst => (suffix, prefix),
                };
                import(&app, first, name, chat, false).await;
                import(&app, second, name, chat, false).await;
                stored(db, chat).await
            })
        });
        let what = format!("{name}: rows filed up to {to} and from {from}, imported {order:?}");
        (got, want.clone(), what)
    };

    // Every fixture cut at each of its days, the halves overlapping on that day and
    // meeting after it: every position a cut can end.
    for (which, (_, bytes, event_lines, _)) in wholes.iter().enumerate() {
        let n = event_days(bytes, &records(bytes), event_lines).len();
        for apart in [false, true] {
            for i in 0..n {
                let (got, want, what) = split(which, &|days| {
                    let to = days[i];
                    let from = if apart { to.succ_opt().unwrap() } else { to };
                    (from, to)
                });
                assert_eq!(got, want, "{what}");
            }
        }
    }

    let mut runner = TestRunner::new(Config {
        // PROPTEST_CASES=N runs more.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(24),
        failure_persistence: None,
        ..Config::default()
    });
    // Any two cut points, and whether the later range starts the day after the earlier
    // one ends (no overlap) rather than at the first of them.
    let strategy = (
        0..wholes.len(),
        0.0f64..=1.0,
        0.0f64..=1.0,
        proptest::bool::ANY,
    );
    let result = runner.run(&strategy, |(which, a, b, apart)| {
        let (got, want, what) = split(which, &|days| {
            let pick = |x: f64| days[((x * days.len() as f64) as usize).min(days.len() - 1)];
            let to = pick(a.max(b));
            let from = if apart {
                to.succ_opt().unwrap()
            } else {
                pick(a.min(b))
            };
            (from, to)
        });
        prop_assert_eq!(got, want, "{}", what);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
both!(prefix_and_suffix_reimported, any_split_gives_the_same_store);
both!(
    suffix_then_prefix_reimported,
    any_split_later_first_gives_the_same_store
);
