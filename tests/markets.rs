//! Real-market input through the store (SQLite and Postgres) and the `rlhf-bot` binary:
//! exchange closures inside response windows and under expirations, and the same
//! underlying written under several names (SPEC §4.2).
//!
//! Calendar used (NYSE): Thu 2025-01-09 closed (national day of mourning, an
//! unscheduled closure) · Fri 2025-01-17 · Mon 2025-01-20 closed (Martin Luther King Jr.
//! Day) · Tue 21 · Wed 22 · Thu 2025-04-17 · Fri 2025-04-18 closed (Good Friday).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use common::{TestDb, now, rules, tz};
use rlhf_bot::app;
use rlhf_bot::app::import::{ImportReport, import_reader};
use rlhf_bot::domain::{AccountId, MatchType, OutcomeStatus, Reason, ReasonCode, Side};
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::{MatchFilter, MatchRecord, Scope};
use serde_json::Value;
use sqlx::Row;

const REC_HEADER: &str =
    "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n";
const EXEC_HEADER: &str = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n";
const OCC_EXEC_HEADER: &str = "broker_ref,account,executed_at,action,symbol,contracts,price,fees\n";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Through the store, on both backends

async fn import(db: &TestDb, kind: ImportKind, header: &str, body: &str) -> ImportReport {
    let text = format!("{header}{body}");
    import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        std::io::Cursor::new(text.into_bytes()),
        tz(),
        now(),
    )
    .await
    .expect("import runs")
}

async fn reconcile(db: &TestDb, from: &str, to: &str) {
    let mut day = d(from);
    while day <= d(to) {
        app::reconcile::run_day(&db.store, &rules(), tz(), day, None, now())
            .await
            .expect("reconcile");
        day = day.succ_opt().unwrap();
    }
}

async fn all_matches(db: &TestDb) -> Vec<MatchRecord> {
    db.store
        .matches(&MatchFilter::default())
        .await
        .expect("matches")
}

/// (day, recommendation or fills, type, underlying) of every match, sorted.
fn summary(ms: &[MatchRecord]) -> Vec<(NaiveDate, String, MatchType, String)> {
    let mut v: Vec<_> = ms
        .iter()
        .map(|m| {
            (
                m.day,
                m.recommendation
                    .clone()
                    .unwrap_or_else(|| m.executions.join("+")),
                m.match_type,
                m.underlying.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn closures_inside_a_window_keep_it_open(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        // Friday before MLK Day; sent on MLK Day; the day before Carter's day of mourning.
        "fri,100,2025-01-17T09:30:00-08:00,sell_to_open,AAPL,put,200,2025-02-21,1,2.00\n\
         hol,100,2025-01-20T09:30:00-08:00,sell_to_open,MSFT,put,400,2025-02-21,1,3.00\n\
         wed,100,2025-01-08T09:30:00-08:00,sell_to_open,AMD,put,110,2025-02-21,1,1.50\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        EXEC_HEADER,
        "b1,100,2025-01-21T07:00:00-08:00,sell_to_open,AAPL,put,200,2025-02-21,1,2.00,0.65\n\
         b2,100,2025-01-10T07:00:00-08:00,sell_to_open,AMD,put,110,2025-02-21,1,1.50,0.65\n",
    )
    .await;
    reconcile(db, "2025-01-08", "2025-01-24").await;
    assert_eq!(
        summary(&all_matches(db).await),
        vec![
            (
                d("2025-01-10"),
                "wed".to_owned(),
                MatchType::Consent,
                "AMD".to_owned()
            ),
            (
                d("2025-01-21"),
                "fri".to_owned(),
                MatchType::Consent,
                "AAPL".to_owned()
            ),
            // Sent on the holiday: its window is Tuesday and Wednesday.
            (
                d("2025-01-22"),
                "hol".to_owned(),
                MatchType::Reject,
                "MSFT".to_owned()
            ),
        ]
    );
}
both!(closures_in_windows, closures_inside_a_window_keep_it_open);

/// The night of MLK Day: the trader is told the Friday recommendation is still open, and
/// until when — in the reconciliation post, through the outbox, on both backends.
async fn a_closed_day_says_what_stays_open(db: &TestDb) {
    use rlhf_bot::bot::posts::BotPosts;
    use rlhf_bot::config::Settings;
    use std::sync::Arc;
    import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        "fri,100,2025-01-17T09:30:00-08:00,sell_to_open,AAPL,put,200,2025-02-21,1,2.00\n",
    )
    .await;
    let settings =
        Settings::from_lookup(|k| (k == "ALLOWED_USER_IDS").then(|| "100".to_owned())).unwrap();
    let app = app::App::new(db.store.clone(), Arc::new(settings), Arc::new(BotPosts));
    app.reconcile_day(Scope::All, d("2025-01-17"), now())
        .await
        .unwrap();
    let done = app
        .reconcile_day(Scope::All, d("2025-01-20"), now())
        .await
        .unwrap();
    assert_eq!(done.queued, 1);
    let outbox = db.store.outbox(Some(AccountId(100))).await.unwrap();
    let last = outbox.last().expect("the holiday's post");
    assert!(
        last.payload
            .contains("Market closed today: 1 recommendation stays open until 2025-01-21."),
        "{}",
        last.payload
    );
    // On the next session the window closes; nothing more is said about closures.
    app.reconcile_day(Scope::All, d("2025-01-21"), now())
        .await
        .unwrap();
    let outbox = db.store.outbox(Some(AccountId(100))).await.unwrap();
    assert_eq!(outbox.len(), 3, "the Tuesday summary and the reject's card");
    assert!(
        !outbox[1].payload.contains("Market closed"),
        "{}",
        outbox[1].payload
    );
}
both!(closed_day_notice, a_closed_day_says_what_stays_open);

async fn every_name_of_an_underlying_is_stored_as_one_and_kept_as_written(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        "brk,100,2025-01-02T09:30:00-08:00,sell_to_open,BRK.B,put,450,2025-01-17,1,4.00\n\
         bf,100,2025-01-02T09:30:00-08:00,sell_to_open,BF/B,put,30,2025-01-17,1,0.40\n\
         spx,100,2025-01-02T09:30:00-08:00,sell_to_open,SPX,put,5800,2025-01-17,1,20.00\n",
    )
    .await;
    let report = import(
        db,
        ImportKind::Executions,
        OCC_EXEC_HEADER,
        "b1,100,2025-01-02T10:00:00-08:00,sell_to_open,BRKB  250117P00450000,1,4.00,0.65\n\
         b3,100,2025-01-02T10:00:00-08:00,sell_to_open,SPXW  250117P05800000,1,20.00,0.65\n",
    )
    .await;
    assert_eq!((report.imported, report.rejected), (2, 0), "{report:?}");
    import(
        db,
        ImportKind::Executions,
        EXEC_HEADER,
        "b2,100,2025-01-02T10:00:00-08:00,sell_to_open,BF-B,put,30,2025-01-17,1,0.40,0.65\n",
    )
    .await;
    reconcile(db, "2025-01-02", "2025-01-03").await;
    assert_eq!(
        summary(&all_matches(db).await),
        vec![
            (
                d("2025-01-02"),
                "bf".to_owned(),
                MatchType::Consent,
                "BF.B".to_owned()
            ),
            (
                d("2025-01-02"),
                "brk".to_owned(),
                MatchType::Consent,
                "BRK.B".to_owned()
            ),
            (
                d("2025-01-02"),
                "spx".to_owned(),
                MatchType::Consent,
                "SPX".to_owned()
            ),
        ]
    );
    // Stored canonical, with the spelling as written beside it.
    let rows = sqlx::query(
        "SELECT broker_ref, underlying, underlying_as_written FROM executions ORDER BY broker_ref",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    let stored: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        stored,
        vec![
            ("b1".into(), "BRK.B".into(), Some("BRKB".into())),
            ("b2".into(), "BF.B".into(), Some("BF-B".into())),
            ("b3".into(), "SPX".into(), Some("SPXW".into())),
        ]
    );
    let rows = sqlx::query(
        "SELECT external_id, underlying, underlying_as_written FROM recommendations \
         ORDER BY external_id",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    let stored: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        stored,
        vec![
            ("bf".into(), "BF.B".into(), Some("BF/B".into())),
            ("brk".into(), "BRK.B".into(), None),
            ("spx".into(), "SPX".into(), None),
        ]
    );
    // Read back, the symbol still tells how it was written.
    let day = db
        .store
        .load_day(d("2025-01-02"), rules().window, Some(AccountId(100)))
        .await
        .unwrap();
    let written: Vec<(&str, &str)> = day.executions[&AccountId(100)]
        .iter()
        .map(|e| {
            (
                e.contract.underlying.as_str(),
                e.contract.underlying.written(),
            )
        })
        .collect();
    assert_eq!(
        written,
        vec![("BRK.B", "BRKB"), ("SPX", "SPXW"), ("BF.B", "BF-B")]
    );
    // Importing the same row again imports nothing twice.
    let again = import(
        db,
        ImportKind::Executions,
        OCC_EXEC_HEADER,
        "b1,100,2025-01-02T10:00:00-08:00,sell_to_open,BRKB  250117P00450000,1,4.00,0.65\n",
    )
    .await;
    assert_eq!((again.imported, again.duplicates), (0, 1));
    // A filter by any spelling finds the canonical underlying.
    let filtered = db
        .store
        .matches(&MatchFilter {
            symbol: Some(rlhf_bot::domain::Symbol::parse("brk/b").unwrap()),
            ..MatchFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
}
both!(
    symbol_identity,
    every_name_of_an_underlying_is_stored_as_one_and_kept_as_written
);

async fn rows_stored_before_canonical_names_keep_their_identity_and_reasons(db: &TestDb) {
    let body =
        "t1,100,2025-01-06T07:00:00-08:00,sell_to_open,BRK/B,put,450,2025-01-24,1,4.00,0.65\n";
    import(db, ImportKind::Executions, EXEC_HEADER, body).await;
    // As the row was stored before this version: the spelling in `underlying`.
    sqlx::query("UPDATE executions SET underlying = 'BRK/B', underlying_as_written = NULL")
        .execute(db.store.pool())
        .await
        .unwrap();
    reconcile(db, "2025-01-06", "2025-01-06").await;
    let key: String = sqlx::query("SELECT match_key FROM recommendation_execution_matches")
        .fetch_one(db.store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, "t:2025-01-06:sell_to_open:BRK/B250124P00450000");
    let ms = all_matches(db).await;
    assert_eq!(ms[0].underlying, "BRK.B");
    db.store
        .set_reason(
            ms[0].id,
            Scope::All,
            &Reason::new(ReasonCode::BetterOpportunity, Some("dipped")).unwrap(),
            now(),
        )
        .await
        .unwrap();
    // The same file again: nothing new, no conflict.
    let again = import(db, ImportKind::Executions, EXEC_HEADER, body).await;
    assert_eq!((again.duplicates, again.rejected), (1, 0), "{again:?}");
    // A recommendation under the canonical name arrives late and takes the trade, with
    // the reason the trader gave it.
    import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        "r1,100,2025-01-06T06:45:00-08:00,sell_to_open,BRK.B,put,450,2025-01-24,1,4.00\n",
    )
    .await;
    reconcile(db, "2025-01-06", "2025-01-06").await;
    let ms = all_matches(db).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].match_type, MatchType::Consent);
    assert_eq!(ms[0].reason_code.as_deref(), Some("better_opportunity"));
}
both!(
    stored_before_canonical_names,
    rows_stored_before_canonical_names_keep_their_identity_and_reasons
);

async fn an_adjusted_option_root_is_a_row_error(db: &TestDb) {
    let report = import(
        db,
        ImportKind::Executions,
        OCC_EXEC_HEADER,
        "a1,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL1 250117C00150000,1,1.00,0.65\n\
         a2,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL  250117C00150000,1,1.00,0.65\n",
    )
    .await;
    assert_eq!((report.imported, report.rejected), (1, 1));
    let e = &report.errors[0];
    assert_eq!(e.line, 2);
    assert_eq!(e.column.as_deref(), Some("symbol"));
    assert!(
        e.reason.contains("`AAPL1` is an adjusted option root"),
        "{e:?}"
    );
}
both!(adjusted_roots, an_adjusted_option_root_is_a_row_error);

async fn an_adjusted_root_in_the_underlying_column_is_a_row_error(db: &TestDb) {
    let report = import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL1,call,150,2025-01-17,1,1.00\n",
    )
    .await;
    assert_eq!((report.imported, report.rejected), (0, 1));
    assert_eq!(report.errors[0].column.as_deref(), Some("underlying"));
    assert!(report.errors[0].reason.contains("adjusted option root"));
}
both!(
    adjusted_underlyings,
    an_adjusted_root_in_the_underlying_column_is_a_row_error
);

async fn an_expiration_on_good_friday_settles_on_thursdays_close(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        REC_HEADER,
        "r1,100,2025-04-01T09:30:00-07:00,sell_to_open,AAPL,put,200,2025-04-18,1,2.00\n\
         r2,100,2025-04-01T09:30:00-07:00,sell_to_open,AAPL,put,190,2025-04-18,1,1.00\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        EXEC_HEADER,
        "b1,100,2025-04-01T10:00:00-07:00,sell_to_open,AAPL,put,200,2025-04-18,1,2.00,0.65\n",
    )
    .await;
    import(
        db,
        ImportKind::Prices,
        "symbol,date,close\n",
        "AAPL,2025-04-17,196.00\n",
    )
    .await;
    reconcile(db, "2025-04-01", "2025-04-02").await;
    app::outcomes::run(&db.store, tz(), d("2025-04-17"), None, now())
        .await
        .unwrap();
    let ms = all_matches(db).await;
    let outcome_of = |external_id: &str| {
        let m = ms
            .iter()
            .find(|m| m.recommendation.as_deref() == Some(external_id))
            .unwrap();
        let id = m.id;
        async move {
            db.store
                .match_detail(id, Scope::All)
                .await
                .unwrap()
                .outcomes
                .unwrap()
        }
    };
    let consent = outcome_of("r1").await;
    let actual = consent.iter().find(|o| o.side == Side::Actual).unwrap();
    assert_eq!(actual.status, OutcomeStatus::Assigned);
    assert_eq!(actual.closed_day, Some(d("2025-04-17")));
    // (2.00 − (200 − 196)) × 100 − 0.65
    assert_eq!(actual.realized_pnl.unwrap().to_string(), "-200.65");
    let rejected = outcome_of("r2").await;
    assert_eq!(rejected[0].side, Side::Algorithm);
    assert_eq!(rejected[0].status, OutcomeStatus::Expired);
    assert_eq!(rejected[0].closed_day, Some(d("2025-04-17")));
}
both!(
    expiry_on_a_closure,
    an_expiration_on_good_friday_settles_on_thursdays_close
);

// ---------------------------------------------------------------------------------------
// Through the binary

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

/// A working directory with its own SQLite database, and no settings from the shell.
struct Sandbox {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars() {
            let ours = name.starts_with("RESPONSE_WINDOW")
                || name.starts_with("MATCH_")
                || name.starts_with("RUST_")
                || name.starts_with("TELOXIDE")
                || ["DATABASE_URL", "SCHEDULE_TZ", "ALLOWED_USER_IDS"].contains(&name.as_str());
            if ours {
                command.env_remove(name);
            }
        }
        let db = format!("sqlite://{}", self.dir.path().join("t.db").display());
        command
            .env("DATABASE_URL", db)
            .env("SCHEDULE_TZ", "America/Los_Angeles");
        for (name, value) in env {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run_with(args, &[]);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run
    }

    fn import(&self, kind: &str, file: &Path) -> Run {
        self.run_with(&["import", kind, file.to_str().unwrap()], &[])
    }

    fn matches(&self) -> Vec<Value> {
        let run = self.ok(&["matches", "--json"]);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

/// (recommendation or fills, match type) of every match, sorted.
fn json_summary(ms: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ms
        .iter()
        .map(|m| {
            let who = match &m["recommendation"] {
                Value::String(s) => s.clone(),
                _ => m["executions"].to_string(),
            };
            (who, m["match_type"].as_str().unwrap().to_owned())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_cli_pairs_across_a_holiday_and_across_every_name_of_an_underlying() {
    let sandbox = Sandbox::new();
    let recs = sandbox.write(
        "recs.csv",
        &format!(
            "{REC_HEADER}\
             mlk,100,2025-01-17T09:30:00-08:00,sell_to_open,AAPL,put,200,2025-02-21,1,2.00\n\
             brk,100,2025-01-17T09:30:00-08:00,sell_to_open,BRK/B,put,450,2025-02-21,1,4.00\n\
             spx,100,2025-01-17T09:30:00-08:00,sell_to_open,SPX,put,5800,2025-02-21,1,20.00\n"
        ),
    );
    let execs = sandbox.write(
        "execs.csv",
        &format!(
            "{OCC_EXEC_HEADER}\
             b1,100,2025-01-21T07:00:00-08:00,sell_to_open,AAPL  250221P00200000,1,2.00,0.65\n\
             b2,100,2025-01-21T07:00:00-08:00,sell_to_open,BRKB  250221P00450000,1,4.00,0.65\n\
             b3,100,2025-01-21T07:00:00-08:00,sell_to_open,SPXW  250221P05800000,1,20.00,0.65\n"
        ),
    );
    assert_eq!(sandbox.import("recommendations", &recs).code, 0);
    assert_eq!(sandbox.import("executions", &execs).code, 0);
    sandbox.ok(&["reconcile", "--from", "2025-01-17", "--to", "2025-01-24"]);
    assert_eq!(
        json_summary(&sandbox.matches()),
        vec![
            ("brk".to_owned(), "consent".to_owned()),
            ("mlk".to_owned(), "consent".to_owned()),
            ("spx".to_owned(), "consent".to_owned()),
        ]
    );
    let by_symbol = sandbox.ok(&["matches", "--json", "--symbol", "BRK-B"]);
    let by_symbol: Vec<Value> = serde_json::from_str(&by_symbol.stdout).unwrap();
    assert_eq!(
        json_summary(&by_symbol),
        vec![("brk".into(), "consent".into())]
    );
}

#[test]
fn the_cli_waits_for_the_next_session_after_a_holiday_and_settles_good_friday_on_thursday() {
    let sandbox = Sandbox::new();
    let recs = sandbox.write(
        "recs.csv",
        &format!(
            "{REC_HEADER}\
             hol,100,2025-01-20T09:30:00-08:00,sell_to_open,MSFT,put,400,2025-04-18,1,3.00\n"
        ),
    );
    let prices = sandbox.write("prices.csv", "symbol,date,close\nMSFT,2025-04-17,410.00\n");
    assert_eq!(sandbox.import("recommendations", &recs).code, 0);
    assert_eq!(sandbox.import("prices", &prices).code, 0);
    sandbox.ok(&["reconcile", "--from", "2025-01-20", "--to", "2025-01-21"]);
    assert!(
        sandbox.matches().is_empty(),
        "sent on MLK Day, still open on Tuesday"
    );
    sandbox.ok(&["reconcile", "--date", "2025-01-22"]);
    let ms = sandbox.matches();
    assert_eq!(json_summary(&ms), vec![("hol".into(), "reject".into())]);
    assert_eq!(ms[0]["day"], "2025-01-22");
    sandbox.ok(&["track-outcomes", "--as-of", "2025-04-17"]);
    let id = ms[0]["id"].to_string();
    let detail = sandbox.ok(&["match", &id, "--json"]);
    let detail: Value = serde_json::from_str(&detail.stdout).unwrap();
    let algo = &detail["outcomes"][0];
    assert_eq!(algo["side"], "algorithm");
    assert_eq!(algo["status"], "expired", "{detail:#}");
    assert_eq!(algo["closed_day"], "2025-04-17");
}

#[test]
fn the_cli_reports_an_adjusted_root_by_line_and_exits_3() {
    let sandbox = Sandbox::new();
    let execs = sandbox.write(
        "execs.csv",
        &format!(
            "{OCC_EXEC_HEADER}\
             a1,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL1 250117C00150000,1,1.00,0.65\n"
        ),
    );
    let run = sandbox.import("executions", &execs);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("line 2"), "{text}");
    assert!(
        text.contains("`AAPL1` is an adjusted option root"),
        "{text}"
    );
}

#[test]
fn the_old_window_setting_still_works_with_a_deprecation_line() {
    let sandbox = Sandbox::new();
    let old = sandbox.run_with(&["matches", "--json"], &[("RESPONSE_WINDOW_WEEKDAYS", "2")]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(
        old.stderr
            .contains("RESPONSE_WINDOW_WEEKDAYS is deprecated"),
        "{}",
        old.stderr
    );
    assert!(old.stderr.contains("RESPONSE_WINDOW_SESSIONS"));
    let new = sandbox.run_with(&["matches", "--json"], &[("RESPONSE_WINDOW_SESSIONS", "2")]);
    assert_eq!(new.code, 0, "{}", new.stderr);
    assert!(!new.stderr.contains("deprecated"), "{}", new.stderr);
    let bad = sandbox.run_with(&["matches"], &[("RESPONSE_WINDOW_SESSIONS", "many")]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("RESPONSE_WINDOW_SESSIONS"),
        "{}",
        bad.stderr
    );
}
