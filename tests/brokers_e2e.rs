//! Every broker fixture through the whole loop on SQLite and Postgres: imported with
//! `App::import_executions` into a chat (its event count, actions and contracts as the
//! fixture's expected JSON says), imported again (all duplicates, nothing added),
//! reconciled against a recommendations file of the fixtures' story (matches made),
//! and its outcomes tracked. Also: the chat comes from a stored link, a file linked to
//! another chat is refused whole, a dry run writes nothing, Webull's open/close reads
//! the stored position (and an earlier Webull range imported after a later one corrects
//! the later one's stored fills and reconciles their days again), and the edge bounds
//! reject a broker row by its line.

mod common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use common::{TestDb, now};
use rlhf_bot::app::App;
use rlhf_bot::app::brokers::{AccountChoice, BrokerImportError};
use rlhf_bot::config::Settings;
use rlhf_bot::domain::AccountId;
use rlhf_bot::import::brokers::FormatName;
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::{MatchFilter, Scope};
use serde_json::Value;

const CHAT: AccountId = AccountId(42);

/// The fixtures' story as the algorithm would have recommended it (README of the
/// fixtures: AAPL and MSFT sold on the 6th, two SPY puts on the 7th, closed on the 13th).
const RECOMMENDATIONS: &str = "\
external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium
r-aapl,42,2025-01-06T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.15
r-msft,42,2025-01-06T10:05:00-05:00,sell_to_open,MSFT,call,440,2025-01-24,1,3.40
r-spy,42,2025-01-07T09:40:00-05:00,sell_to_open,SPY,put,580,2025-01-17,2,2.55
";

fn expected(csv: &Path) -> Vec<Value> {
    let path = csv.with_extension("expected.json");
    let text = std::fs::read_to_string(&path).expect("the expected events");
    match serde_json::from_str(&text).expect("expected JSON") {
        Value::Array(v) => v,
        other => panic!("{} is not an array: {other}", path.display()),
    }
}

async fn app(db: &TestDb) -> App {
    let settings = Settings::from_lookup(|_| None).expect("default settings");
    db.store.bind_zone(settings.tz).await.expect("zone");
    App::quiet(db.store.clone(), Arc::new(settings))
}

/// (action, underlying) counted, order-insensitive.
/// The test's recommendations, made `chat`'s (their ids prefixed with it), imported.
async fn recommendations_for(app: &App, chat: AccountId) {
    let recs = RECOMMENDATIONS
        .replace(",42,", &format!(",{},", chat.0))
        .replace("r-", &format!("{}-", chat.0));
    app.import(
        ImportKind::Recommendations,
        ImportFormat::Generic,
        Cursor::new(recs.into_bytes()),
        now(),
    )
    .await
    .expect("recommendations import");
}

/// `bytes` imported as the file `name` into `chat`, its format detected, and stored.
async fn stored(
    app: &App,
    bytes: Vec<u8>,
    name: &str,
    chat: AccountId,
) -> rlhf_bot::app::brokers::ImportOutcome {
    app.import_executions(
        bytes,
        Some(name),
        ImportFormat::Auto,
        AccountChoice::Chat(chat),
        false,
        now(),
    )
    .await
    .unwrap()
}

fn tally<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<(String, String), u32> {
    let mut t = BTreeMap::new();
    for (a, u) in items {
        *t.entry((a.to_owned(), u.to_owned())).or_default() += 1;
    }
    t
}

async fn every_fixture_runs_the_loop(db: &TestDb) {
    for (i, csv) in common::broker_fixtures().into_iter().enumerate() {
        // A fresh chat per fixture: the same story must not meet itself.
        let name = csv.file_name().and_then(|n| n.to_str()).unwrap().to_owned();
        let chat = AccountId(1000 + i64::try_from(i).unwrap());
        let app = app(db).await;
        let recs = RECOMMENDATIONS
            .replace(",42,", &format!(",{},", chat.0))
            .replace("r-", &format!("{}-", chat.0));
        let r = app
            .import(
                ImportKind::Recommendations,
                ImportFormat::Generic,
                Cursor::new(recs.into_bytes()),
                now(),
            )
            .await
            .expect("recommendations import");
        assert_eq!(r.imported, 3, "{name}: {:?}", r.errors);

        let bytes = std::fs::read(&csv).unwrap();
        let want = expected(&csv);
        let out = app
            .import_executions(
                bytes.clone(),
                Some(&name),
                ImportFormat::Auto,
                AccountChoice::Chat(chat),
                false,
                now(),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_ne!(out.format, FormatName::Generic, "{name}");
        assert_eq!(out.report.rejected, 0, "{name}: {:?}", out.report.errors);
        assert_eq!(out.report.imported, want.len(), "{name}");
        assert_eq!(
            out.accounts.iter().copied().collect::<Vec<_>>(),
            [chat],
            "{name}"
        );
        assert_eq!(
            tally(
                out.file
                    .executions
                    .iter()
                    .map(|e| (e.action.as_str(), e.contract.underlying.as_str()))
            ),
            tally(want.iter().map(|v| (
                v["action"].as_str().unwrap(),
                v["underlying"].as_str().unwrap()
            ))),
            "{name}"
        );

        // The same download again, and a dry run: nothing added.
        let again = stored(&app, bytes.clone(), &name, chat).await;
        assert_eq!(
            (again.report.imported, again.report.duplicates),
            (0, want.len()),
            "{name}"
        );
        let dry = app
            .import_executions(
                bytes,
                Some(&name),
                ImportFormat::Auto,
                AccountChoice::Chat(chat),
                true,
                now(),
            )
            .await
            .unwrap();
        assert_eq!(
            (dry.report.imported, dry.report.duplicates),
            (0, 0),
            "{name}"
        );
        assert_eq!(dry.file.executions.len(), want.len(), "{name}");

        // Reconcile the days the file touched, then track outcomes.
        assert!(!out.days.is_empty(), "{name}");
        for day in &out.days {
            app.reconcile_day(Scope::Account(chat), *day, now())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let matches = app
            .matches(&MatchFilter {
                account: Some(chat),
                ..MatchFilter::default()
            })
            .await
            .unwrap();
        assert!(!matches.is_empty(), "{name}: no matches");
        let with_execs = matches.iter().filter(|m| !m.executions.is_empty()).count();
        assert!(
            with_execs >= 2,
            "{name}: {with_execs} match(es) with executions"
        );
        let day = out.days.last().copied().unwrap();
        app.track_outcomes(Scope::Account(chat), day, now())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
both!(
    every_fixture_imports_reconciles_and_tracks,
    every_fixture_runs_the_loop
);

async fn links_decide_the_chat_and_nothing_lands_elsewhere(db: &TestDb) {
    let app = app(db).await;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brokers");
    let name = "fidelity_History_for_Account_X12345678-3.csv";
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let import = |choice, dry| {
        app.import_executions(
            bytes.clone(),
            Some(name),
            ImportFormat::Auto,
            choice,
            dry,
            now(),
        )
    };

    // No link, no --account: refused whole, naming the link to make.
    match import(AccountChoice::FromFile, false).await {
        Err(BrokerImportError::Account(s)) => assert!(
            s.contains(
                "accounts link --broker fidelity --broker-account X12345678 --account CHAT_ID"
            ),
            "{s}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A dry run reads on and says why.
    let dry = import(AccountChoice::FromFile, true).await.unwrap();
    assert!(dry.account_problem.is_some());
    assert!(dry.file.executions.iter().all(|e| e.account.is_none()));

    app.link_broker_account(FormatName::Fidelity, "X12345678", CHAT, now())
        .await
        .unwrap();
    let out = import(AccountChoice::FromFile, false).await.unwrap();
    assert_eq!(out.report.imported, 7);
    assert_eq!(out.accounts.iter().copied().collect::<Vec<_>>(), [CHAT]);

    // Linked to 42, asked for 43: refused, nothing stored in 43.
    match import(AccountChoice::Chat(AccountId(43)), false).await {
        Err(BrokerImportError::Account(s)) => assert!(s.contains("linked to chat 42"), "{s}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let in_43 = app
        .matches(&MatchFilter {
            account: Some(AccountId(43)),
            ..MatchFilter::default()
        })
        .await
        .unwrap();
    assert!(in_43.is_empty());
    assert_eq!(
        app.unlink_broker_account(FormatName::Fidelity, "X12345678")
            .await
            .unwrap(),
        Some(CHAT)
    );
    assert!(app.broker_links().await.unwrap().is_empty());
}
both!(
    links_decide_the_chat,
    links_decide_the_chat_and_nothing_lands_elsewhere
);

async fn webull_reads_the_stored_position(db: &TestDb) {
    let app = app(db).await;
    // A short AAPL put already stored; a Webull buy of it then closes it.
    let generic = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n\
                   G-1,42,2025-01-02T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.00,0.65\n";
    let r = app
        .import_executions(
            generic.as_bytes().to_vec(),
            Some("g.csv"),
            ImportFormat::Auto,
            AccountChoice::FromFile,
            false,
            now(),
        )
        .await
        .unwrap();
    assert_eq!((r.format, r.report.imported), (FormatName::Generic, 1));
    let webull = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n\
                  AAPL 250117 Put 230.00,AAPL250117P00230000,Buy,Filled,1,1,@1.00,1.00,DAY,01/06/2025 10:00:00 EST,01/06/2025 10:00:01 EST\n";
    let out = app
        .import_executions(
            webull.as_bytes().to_vec(),
            Some("Webull_Orders_Records.csv"),
            ImportFormat::Auto,
            AccountChoice::Chat(CHAT),
            true,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(out.format, FormatName::Webull);
    let actions: Vec<&str> = out
        .file
        .executions
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["buy_to_close"]);
}
both!(
    webull_open_close_from_the_store,
    webull_reads_the_stored_position
);

/// The Webull fixture's lines (after its header) whose orders were placed in `range`.
fn webull_placed(range: std::ops::RangeInclusive<&str>) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/brokers/webull_options_orders.csv");
    let text = std::fs::read_to_string(path).expect("the Webull fixture");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        // `MM/DD/YYYY` of `Placed Time`, as `YYYY-MM-DD`.
        let placed = line.split(',').nth(9).unwrap_or_default();
        let day = format!("{}-{}-{}", &placed[6..10], &placed[0..2], &placed[3..5]);
        if range.contains(&day.as_str()) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// A chat's matches of `days` as stored: each one's day, key (which names the trade's
/// action), type, and the ref and action of each execution it links, sorted.
async fn stored_matches(db: &TestDb, chat: AccountId, days: &[chrono::NaiveDate]) -> Vec<String> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT m.day, m.match_key, m.match_type, e.broker_ref, e.action \
         FROM recommendation_execution_matches m \
         LEFT JOIN match_executions x ON x.match_id = m.id \
         LEFT JOIN executions e ON e.id = x.execution_id WHERE m.account_id = $1",
    )
    .bind(chat.0)
    .fetch_all(db.store.pool())
    .await
    .expect("read the matches");
    let mut out: Vec<String> = rows
        .iter()
        .filter(|r| {
            let day: String = r.get(0);
            days.iter().any(|d| d.to_string() == day)
        })
        .map(|r| {
            let text = |i: usize| {
                r.try_get::<Option<String>, _>(i)
                    .unwrap()
                    .unwrap_or_default()
            };
            (0..5).map(text).collect::<Vec<_>>().join(" ")
        })
        .collect();
    out.sort();
    out
}

async fn webull_later_range_first_is_corrected(db: &TestDb) {
    let app = app(db).await;
    let (whole_chat, split_chat) = (AccountId(61), AccountId(62));
    for chat in [whole_chat, split_chat] {
        recommendations_for(&app, chat).await;
    }
    let import = |bytes: Vec<u8>, chat: AccountId| {
        let app = app.clone();
        async move {
            let out = stored(&app, bytes, "Webull_Orders_Records_Options.csv", chat).await;
            assert_eq!(out.report.rejected, 0, "{:?}", out.report.errors);
            out
        }
    };
    let later = webull_placed("2025-01-10"..="2025-01-31");
    let earlier = webull_placed("2025-01-01"..="2025-01-09");

    // The whole history in one chat, its later days reconciled.
    let whole = import(webull_placed("2025-01-01"..="2025-01-31"), whole_chat).await;
    let later_days = import(later.clone(), split_chat).await.days;
    assert_eq!(later_days.len(), 2, "{later_days:?}");
    for day in &later_days {
        for chat in [whole_chat, split_chat] {
            app.reconcile_day(Scope::Account(chat), *day, now())
                .await
                .unwrap();
        }
    }
    // The later range alone took its buys for opens, and its matches say so.
    let stale = stored_matches(db, split_chat, &later_days).await;
    let want = stored_matches(db, whole_chat, &later_days).await;
    assert_ne!(stale, want);
    assert_eq!(whole.corrected.len(), 0);

    // The earlier range: the SPY and MSFT buys close what it opened.
    let out = import(earlier.clone(), split_chat).await;
    let fixed: Vec<(String, Vec<String>, Vec<String>)> = out
        .corrected
        .iter()
        .map(|c| (c.contract.clone(), c.was.clone(), c.now.clone()))
        .collect();
    let leg = |s: &str| vec![s.to_owned()];
    assert_eq!(
        fixed,
        [
            (
                "SPY   250117P00580000".to_owned(),
                leg("buy_to_open 2"),
                leg("buy_to_close 2")
            ),
            (
                "MSFT  250124C00440000".to_owned(),
                leg("buy_to_open 1"),
                leg("buy_to_close 1")
            ),
        ]
    );
    assert_eq!(out.reconciled_again, later_days);
    let report = out.corrections_report(usize::MAX).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        "corrected 2 stored executions whose open or close this file's earlier trades decide:"
    );
    assert!(
        lines[1].starts_with("  2025-01-13 19:30:00Z SPY   250117P00580000 (webull placed ")
            && lines[1].ends_with(": buy_to_open 2 → buy_to_close 2"),
        "{report}"
    );
    assert_eq!(
        lines[3],
        format!(
            "reconciled again (their matches held a corrected execution): {}, {}",
            later_days[0], later_days[1]
        )
    );
    let shown = out.corrections_report(1).unwrap();
    assert!(shown.contains("\n  … and 1 more\n"), "{shown}");
    // The matches of the later days are now those of the whole history.
    assert_eq!(stored_matches(db, split_chat, &later_days).await, want);

    // Both ranges again, in either order: nothing left to correct, all duplicates.
    for bytes in [earlier, later] {
        let again = import(bytes, split_chat).await;
        assert_eq!(again.corrected.len(), 0);
        assert_eq!(again.report.imported, 0);
        assert!(again.corrections_report(3).is_none());
    }
}
both!(
    webull_later_range_first,
    webull_later_range_first_is_corrected
);

/// A chat's executions as stored, in time order: what either import order must leave.
async fn stored_executions(db: &TestDb, chat: AccountId) -> Vec<String> {
    use sqlx::Row;
    sqlx::query(
        "SELECT broker, broker_ref, executed_at, action, underlying, contracts, \
         COALESCE(inferred_fill, '-') FROM executions WHERE account_id = $1 \
         ORDER BY executed_at, broker_ref",
    )
    .bind(chat.0)
    .fetch_all(db.store.pool())
    .await
    .expect("read the executions")
    .iter()
    .map(|r| {
        (0..7)
            .map(|i| match r.try_get::<String, _>(i) {
                Ok(s) => s,
                Err(_) => r.get::<i64, _>(i).to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
    .collect()
}

/// A generic file (every row says its action) holding the short that a stored later
/// Webull buy closes, imported after it: the buy, inferred as an open without the
/// short, is inferred again through it, whether the file's rows name their chat
/// (streamed) or it is imported into a chat; the executions and the matches of the
/// reconciled days are then those of the other order, and the day is reconciled again.
async fn generic_earlier_file_corrects_stored_webull(db: &TestDb) {
    let app = app(db).await;
    let (first_chat, from_file_chat, into_chat) = (AccountId(71), AccountId(72), AccountId(73));
    let generic = |chat: AccountId| {
        format!(
            "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n\
             G-SPY,{},2025-01-07T10:00:00-05:00,sell_to_open,SPY,put,580,2025-01-17,2,2.55,1.30\n",
            chat.0
        )
        .into_bytes()
    };
    let later = webull_placed("2025-01-10"..="2025-01-31");
    for chat in [first_chat, from_file_chat, into_chat] {
        recommendations_for(&app, chat).await;
    }
    let generic_import = |chat: AccountId, choice: AccountChoice| {
        let app = app.clone();
        let bytes = generic(chat);
        async move {
            let out = app
                .import_executions(
                    bytes,
                    Some("g.csv"),
                    ImportFormat::Auto,
                    choice,
                    false,
                    now(),
                )
                .await
                .unwrap();
            assert_eq!(
                (out.format, out.report.imported, out.report.rejected),
                (FormatName::Generic, 1, 0),
                "{:?}",
                out.report.errors
            );
            out
        }
    };

    // The generic short first, then the later Webull range: its SPY buy closes it.
    generic_import(first_chat, AccountChoice::FromFile).await;
    let days = stored(
        &app,
        later.clone(),
        "Webull_Orders_Records_Options.csv",
        first_chat,
    )
    .await
    .days;
    assert_eq!(days.len(), 2, "{days:?}");
    let want = stored_executions(db, first_chat).await;
    assert!(
        want.iter().any(|e| e.contains(" buy_to_close SPY 2 ")),
        "{want:?}"
    );

    // The later Webull range first, reconciled; then the generic short, both ways.
    for (chat, choice) in [
        (from_file_chat, AccountChoice::FromFile),
        (into_chat, AccountChoice::Chat(into_chat)),
    ] {
        stored(
            &app,
            later.clone(),
            "Webull_Orders_Records_Options.csv",
            chat,
        )
        .await;
        for day in &days {
            for c in [first_chat, chat] {
                app.reconcile_day(Scope::Account(c), *day, now())
                    .await
                    .unwrap();
            }
        }
        assert_ne!(stored_executions(db, chat).await, want, "{choice:?}");
        let out = generic_import(chat, choice).await;
        let fixed: Vec<(String, Vec<String>, Vec<String>)> = out
            .corrected
            .iter()
            .map(|c| (c.contract.clone(), c.was.clone(), c.now.clone()))
            .collect();
        assert_eq!(
            fixed,
            [(
                "SPY   250117P00580000".to_owned(),
                vec!["buy_to_open 2".to_owned()],
                vec!["buy_to_close 2".to_owned()]
            )],
            "{choice:?}"
        );
        assert_eq!(out.reconciled_again.len(), 1, "{choice:?}");
        assert!(days.contains(&out.reconciled_again[0]), "{choice:?}");
        let report = out.corrections_report(3).expect("the corrections said");
        assert!(
            report.starts_with("corrected 1 stored execution whose open or close"),
            "{report}"
        );
        assert_eq!(stored_executions(db, chat).await, want, "{choice:?}");
        assert_eq!(
            stored_matches(db, chat, &days).await,
            stored_matches(db, first_chat, &days).await,
            "{choice:?}"
        );
        // Again: all duplicates, nothing left to correct.
        let again = app
            .import_executions(
                generic(chat),
                Some("g.csv"),
                ImportFormat::Auto,
                choice,
                false,
                now(),
            )
            .await
            .unwrap();
        assert_eq!((again.report.duplicates, again.corrected.len()), (1, 0));
    }

    // Through the API's import (the rows name their chat): the same.
    let api_chat = AccountId(74);
    stored(
        &app,
        later.clone(),
        "Webull_Orders_Records_Options.csv",
        api_chat,
    )
    .await;
    let r = app
        .import_for(
            Scope::All,
            ImportKind::Executions,
            ImportFormat::Generic,
            Cursor::new(generic(api_chat)),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, 1, "{:?}", r.errors);
    assert_eq!(stored_executions(db, api_chat).await, want);
    // And through `App::import` (the generic importer of every kind).
    let plain_chat = AccountId(75);
    stored(&app, later, "Webull_Orders_Records_Options.csv", plain_chat).await;
    let r = app
        .import(
            ImportKind::Executions,
            ImportFormat::Generic,
            Cursor::new(generic(plain_chat)),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, 1, "{:?}", r.errors);
    assert_eq!(stored_executions(db, plain_chat).await, want);
}
both!(
    generic_earlier_file_after_webull,
    generic_earlier_file_corrects_stored_webull
);

/// The trader's reason for a trade whose fill an earlier range corrects: the SPY buy of
/// the later range, taken for an open, is the `independent` trade the trader explains;
/// the earlier range makes it a close, and the match that holds it afterwards keeps the
/// reason (it was recorded under the trade's key, which names the action it had).
async fn a_reason_follows_a_corrected_trade(db: &TestDb) {
    use rlhf_bot::domain::{Reason, ReasonCode};
    let app = app(db).await;
    let chat = AccountId(63);
    let import = |bytes: Vec<u8>| {
        let app = app.clone();
        async move { stored(&app, bytes, "Webull_Orders_Records_Options.csv", chat).await }
    };
    let days = import(webull_placed("2025-01-10"..="2025-01-31"))
        .await
        .days;
    for day in &days {
        app.reconcile_day(Scope::Account(chat), *day, now())
            .await
            .unwrap();
    }
    let spy = |matches: Vec<rlhf_bot::store::MatchRecord>| {
        matches
            .into_iter()
            .find(|m| m.underlying == "SPY" && !m.executions.is_empty())
            .expect("the SPY buy's match")
    };
    let filter = MatchFilter {
        account: Some(chat),
        ..MatchFilter::default()
    };
    let before = spy(app.matches(&filter).await.unwrap());
    let reason = Reason {
        code: ReasonCode::Timing,
        text: None,
    };
    app.record_reason(before.id, Scope::Account(chat), &reason, now())
        .await
        .unwrap();

    let out = import(webull_placed("2025-01-01"..="2025-01-09")).await;
    assert_eq!(out.corrected.len(), 2, "{:?}", out.corrected);
    let after = spy(app.matches(&filter).await.unwrap());
    assert_eq!(after.executions, before.executions);
    assert_eq!(
        (after.reason_code.as_deref(), after.reason_at.is_some()),
        (Some("timing"), true),
        "{after:?}"
    );
}
both!(
    webull_corrected_trade_keeps_its_reason,
    a_reason_follows_a_corrected_trade
);

/// A Webull export of filled orders: (filled time `MM/DD/YYYY HH:MM:SS`, OCC, side, contracts).
fn webull_rows(rows: &[(String, &str, &str, u32)]) -> Vec<u8> {
    let mut text = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,\
                    Placed Time,Filled Time\n"
        .to_owned();
    for (at, occ, side, n) in rows {
        text.push_str(&format!(
            "{occ},{occ},{side},Filled,{n},{n},@1.00,1.00,DAY,{at} EST,{at} EST\n"
        ));
    }
    text.into_bytes()
}

/// Two ranges imported into one chat at the same time: the earliest (a short) and the
/// latest (the buy that closes it), around a stored middle range of many fills. Each
/// import read the chat's stored executions before it wrote: the earlier one, not
/// seeing the later buy, did not correct it, and the later one, not seeing the short,
/// stored its buy as an open — both reported success. Now the chat's stored executions
/// are read in the transaction that writes, after the chat is locked.
async fn concurrent_ranges_infer_through_each_other(db: &TestDb) {
    let app = app(db).await;
    let spy = "SPY250620P00580000";
    let qqq = ["QQQ250620P00400000", "QQQ250620P00410000"];
    let middle: Vec<(String, &str, &str, u32)> = (0..1500u32)
        .map(|i| {
            let (day, minute) = (3 + i / 300, i % 300);
            (
                format!(
                    "02/{day:02}/2025 {:02}:{:02}:00",
                    10 + minute / 60,
                    minute % 60
                ),
                qqq[(i % 2) as usize],
                if i % 3 == 0 { "Sell" } else { "Buy" },
                1,
            )
        })
        .collect();
    let earlier = webull_rows(&[("01/06/2025 10:00:00".to_owned(), spy, "Sell", 5)]);
    let later = webull_rows(&[("03/05/2025 10:00:00".to_owned(), spy, "Buy", 2)]);
    let middle = webull_rows(&middle);
    for trial in 0..6 {
        let chat = AccountId(700 + trial);
        let import = |bytes: Vec<u8>| {
            let app = app.clone();
            async move {
                app.import_executions(
                    bytes,
                    None,
                    ImportFormat::Webull,
                    AccountChoice::Chat(chat),
                    false,
                    now(),
                )
                .await
            }
        };
        import(middle.clone()).await.unwrap();
        let (a, b) = tokio::join!(
            tokio::spawn(import(earlier.clone())),
            tokio::spawn(import(later.clone()))
        );
        a.unwrap().unwrap();
        b.unwrap().unwrap();
        use sqlx::Row;
        let actions: Vec<String> = sqlx::query(
            "SELECT action FROM executions WHERE account_id = $1 AND underlying = 'SPY' \
             ORDER BY executed_at",
        )
        .bind(chat.0)
        .fetch_all(db.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
        assert_eq!(actions, ["sell_to_open", "buy_to_close"], "trial {trial}");
    }
}
both!(
    webull_ranges_imported_at_once,
    concurrent_ranges_infer_through_each_other
);

/// Rows stored before `executions.inferred_fill` existed get it from their refs, as the
/// migration that adds it fills it: each inferred leg names its fill (a split one
/// without its `/close` or `/open`), a row whose export gave the action stays NULL.
async fn rows_stored_before_inferred_fill_get_it_from_their_refs(db: &TestDb) {
    use sqlx::Row;
    let app = app(db).await;
    let chat = AccountId(71);
    // A short of 1, then a buy of 3 that closes it and opens 2; and an E*TRADE short.
    let webull = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n\
                  SPY250117P00580000,SPY250117P00580000,Sell,Filled,1,1,@2.00,2.00,DAY,01/07/2025 09:45:05 EST,01/07/2025 09:45:12 EST\n\
                  SPY250117P00580000,SPY250117P00580000,Buy,Filled,3,3,@1.00,1.00,DAY,01/08/2025 09:45:05 EST,01/08/2025 09:45:12 EST\n";
    let etrade = "TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,Price,Commission,Description\n\
                  01/06/25,Sold Short,OPTN,AAPL Jan 17 '25 $230 Put,-1,214.35,2.15,0.65,AAPL Jan 17 '25 $230 Put\n";
    for (bytes, name) in [
        (webull, "Webull_Orders_Records_Options.csv"),
        (etrade, "DownloadTxnHistory.csv"),
    ] {
        let out = stored(&app, bytes.as_bytes().to_vec(), name, chat).await;
        assert_eq!(out.report.rejected, 0, "{:?}", out.report.errors);
    }
    let read = || async {
        let rows = sqlx::query(
            "SELECT broker_ref, COALESCE(inferred_fill, '-') FROM executions \
             WHERE account_id = $1 ORDER BY broker_ref",
        )
        .bind(chat.0)
        .fetch_all(db.store.pool())
        .await
        .unwrap();
        rows.iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect::<Vec<_>>()
    };
    let imported = read().await;
    assert_eq!(imported.len(), 4, "{imported:?}");
    let fills: Vec<&str> = imported.iter().map(|(_, f)| f.as_str()).collect();
    assert_eq!(
        fills.iter().filter(|f| **f == "-").count(),
        1,
        "{imported:?}"
    );
    assert!(
        imported
            .iter()
            .any(|(r, f)| r.ends_with("/close") && r == &format!("{f}/close"))
    );
    assert!(
        imported
            .iter()
            .any(|(r, f)| r.ends_with("/open") && r == &format!("{f}/open"))
    );

    // As stored before the column: NULL everywhere; then the migration's fill.
    sqlx::query("UPDATE executions SET inferred_fill = NULL")
        .execute(db.store.pool())
        .await
        .unwrap();
    let backend = if db.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let migration = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend)
            .join("20261124000011_inferred_fill.sql"),
    )
    .unwrap();
    let fill = &migration[migration.find("UPDATE executions").expect("the fill")..];
    sqlx::query(fill).execute(db.store.pool()).await.unwrap();
    assert_eq!(read().await, imported);
}
both!(
    inferred_fill_of_rows_stored_before,
    rows_stored_before_inferred_fill_get_it_from_their_refs
);

async fn broker_rows_meet_the_edge_bounds(db: &TestDb) {
    let app = app(db).await;
    // A Robinhood trade after its contract expired.
    let file = "\"Activity Date\",\"Process Date\",\"Settle Date\",\"Instrument\",\"Description\",\"Trans Code\",\"Quantity\",\"Price\",\"Amount\"\n\
        \"1/6/2025\",\"1/6/2025\",\"1/7/2025\",\"AAPL\",\"AAPL 1/17/2025 Put $230.00\",\"STO\",\"1\",\"$2.15\",\"$214.96\"\n\
        \"1/21/2025\",\"1/21/2025\",\"1/22/2025\",\"AAPL\",\"AAPL 1/17/2025 Put $230.00\",\"BTC\",\"1\",\"$0.10\",\"($10.04)\"\n";
    let out = stored(&app, file.as_bytes().to_vec(), "rh.csv", CHAT).await;
    assert_eq!(out.format, FormatName::Robinhood);
    assert_eq!(out.report.imported, 1, "{:?}", out.report.errors);
    assert_eq!(out.report.errors.len(), 1, "{:?}", out.report.errors);
    assert_eq!(out.report.errors[0].line, 3);
    assert!(
        out.report.errors[0]
            .reason
            .contains("cannot come after its expiration"),
        "{:?}",
        out.report.errors
    );

    // A Webull fill worth more than one row may carry ($20,000 a share × 100 × 100,000).
    let webull = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n\
                  SPY 250117 Put 580.00,SPY250117P00580000,Sell,Filled,100000,100000,@20000.00,20000.00,DAY,01/07/2025 10:00:00 EST,01/07/2025 10:00:01 EST\n\
                  SPY 250117 Put 580.00,SPY250117P00580000,Sell,Filled,1,1,@2.00,2.00,DAY,01/07/2025 10:01:00 EST,01/07/2025 10:01:01 EST\n";
    let out = app
        .import_executions(
            webull.as_bytes().to_vec(),
            Some("w.csv"),
            ImportFormat::Webull,
            AccountChoice::Chat(CHAT),
            false,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(out.report.imported, 1, "{:?}", out.report.errors);
    assert_eq!(out.report.errors.len(), 1, "{:?}", out.report.errors);
    assert_eq!(out.report.errors[0].line, 2);
    assert!(
        out.report.errors[0].reason.contains("more than the"),
        "{:?}",
        out.report.errors
    );
}
both!(
    edge_bounds_apply_to_broker_rows,
    broker_rows_meet_the_edge_bounds
);
