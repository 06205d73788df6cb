//! One night, end to end: N accounts × 5 recommendations and about 5 executions each,
//! imported from CSV files and reconciled, against the floor of a bare bulk insert of
//! the same rows. Run with `cargo bench --bench night`; see docs/PERFORMANCE.md.
//!
//! Settings (environment): BENCH_ACCOUNTS (default 10000), BENCH_DATABASE_URL (default:
//! a fresh SQLite file; give a postgres:// URL to run on Postgres — its tables are
//! dropped and recreated in a schema `bench_night`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use rlhf_bot::app;
use rlhf_bot::app::import::import_file;
use rlhf_bot::domain::reconcile::MatchRules;
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::Store;

const SYMBOLS: [&str; 8] = ["AAPL", "MSFT", "SPY", "TSLA", "NVDA", "AMD", "AMZN", "META"];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("night: bench");
        return;
    }
    let accounts: usize = std::env::var("BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .init();
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(bench(accounts));
}

/// One run's timings.
struct Run {
    floor: Duration,
    /// The same bulk insert with each statement's rows bound as one JSON text (the way
    /// the store writes); reported for comparison, not the floor.
    floor_json: Duration,
    import: Duration,
    reconcile: Duration,
}

async fn bench(accounts: usize) {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let pg = std::env::var("BENCH_DATABASE_URL").ok();
    let backend = if pg.is_some() { "postgres" } else { "sqlite" };
    let mut results = Vec::new();
    let mut counts = String::new();
    let (mut n_recs, mut n_execs) = (0, 0);
    for i in 0..runs {
        let (run, c, nr, ne) = one_run(accounts, pg.as_deref()).await;
        println!(
            "  run {}: floor {} (as JSON {})  import {}  reconcile {}  total {} = {:.2}× the floor",
            i + 1,
            secs(run.floor),
            secs(run.floor_json),
            secs(run.import),
            secs(run.reconcile),
            secs(run.import + run.reconcile),
            (run.import + run.reconcile).as_secs_f64() / run.floor.as_secs_f64()
        );
        results.push(run);
        (counts, n_recs, n_execs) = (c, nr, ne);
    }
    let median = |f: &dyn Fn(&Run) -> Duration| {
        let mut v: Vec<Duration> = results.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    let floor = median(&|r| r.floor);
    let floor_json = median(&|r| r.floor_json);
    let import = median(&|r| r.import);
    let reconcile = median(&|r| r.reconcile);
    let total = median(&|r| r.import + r.reconcile);
    let mut ratios: Vec<f64> = results
        .iter()
        .map(|r| (r.import + r.reconcile).as_secs_f64() / r.floor.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "night benchmark ({backend}): {accounts} accounts, {n_recs} recommendations, {n_execs} executions; median of {runs} run(s)"
    );
    println!("  floor (bare bulk insert):  {}", secs(floor));
    println!(
        "  floor written as JSON:     {}  (for comparison: {:.2}× against it)",
        secs(floor_json),
        total.as_secs_f64() / floor_json.as_secs_f64()
    );
    println!("  import:                    {}", secs(import));
    println!(
        "  reconcile:                 {}  ({counts})",
        secs(reconcile)
    );
    println!(
        "  import + reconcile:        {}  = {:.2}× the floor (median ratio)",
        secs(total),
        ratios[ratios.len() / 2]
    );
    println!("  peak memory (max RSS):     {:.1} MB", max_rss_mb());
}

/// Generates the night's files, measures the floor and the pipeline on fresh databases.
async fn one_run(accounts: usize, pg: Option<&str>) -> (Run, String, usize, usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    // BENCH_KEEP=1 leaves the files and databases behind for inspection.
    let dir = if std::env::var_os("BENCH_KEEP").is_some() {
        tmp.keep()
    } else {
        tmp.path().to_owned()
    };
    let dir = dir.as_path();
    let recs = dir.join("recommendations.csv");
    let execs = dir.join("executions.csv");
    let (n_recs, n_execs) = generate(accounts, &recs, &execs);
    let tz = chrono_tz::America::Los_Angeles;
    let now = Utc::now();
    let (url, floor_url, json_url) = match pg {
        Some(u) => (
            pg_schema(u, "bench_night").await,
            pg_schema(u, "bench_floor").await,
            pg_schema(u, "bench_floor_json").await,
        ),
        None => (
            format!("sqlite://{}", dir.join("night.db").display()),
            format!("sqlite://{}", dir.join("floor.db").display()),
            format!("sqlite://{}", dir.join("floor_json.db").display()),
        ),
    };

    // The floor: the same rows, bulk-inserted as they are, nothing else.
    let floor = Store::open(&floor_url).await.expect("floor db");
    let t = Instant::now();
    bare_insert(&floor, &recs, &execs, pg.is_none()).await;
    let floor_time = t.elapsed();
    floor.close().await;

    let floor_json = Store::open(&json_url).await.expect("floor db");
    let t = Instant::now();
    bare_insert_json(&floor_json, &recs, &execs, pg.is_none()).await;
    let floor_json_time = t.elapsed();
    floor_json.close().await;

    let store = Store::open(&url).await.expect("open db");
    let t = Instant::now();
    let r = import_file(
        &store,
        ImportKind::Recommendations,
        ImportFormat::Generic,
        &recs,
        tz,
        now,
        false,
    )
    .await
    .expect("import recommendations");
    assert_eq!(r.imported, n_recs, "{}", r.summary());
    let e = import_file(
        &store,
        ImportKind::Executions,
        ImportFormat::Generic,
        &execs,
        tz,
        now,
        false,
    )
    .await
    .expect("import executions");
    assert_eq!(e.imported, n_execs, "{}", e.summary());
    let import_time = t.elapsed();
    let t = Instant::now();
    let day: NaiveDate = "2025-03-03".parse().unwrap();
    let report = app::reconcile::run_day(&store, &MatchRules::default(), tz, day, None, now)
        .await
        .expect("reconcile");
    let reconcile_time = t.elapsed();
    store.close().await;
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    (
        Run {
            floor: floor_time,
            floor_json: floor_json_time,
            import: import_time,
            reconcile: reconcile_time,
        },
        counts.join(", "),
        n_recs,
        n_execs,
    )
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn max_rss_mb() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// Writes the night's files; returns the row counts. Recommendations were sent on
/// Friday; the trades are Monday's, the last day of their window: per account three
/// consents, a modification, a rejection and an independent trade (one in partial fills).
fn generate(accounts: usize, recs: &Path, execs: &Path) -> (usize, usize) {
    let mut r = std::io::BufWriter::new(std::fs::File::create(recs).unwrap());
    let mut e = std::io::BufWriter::new(std::fs::File::create(execs).unwrap());
    writeln!(
        r,
        "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium"
    )
    .unwrap();
    writeln!(e, "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees").unwrap();
    let (mut nr, mut ne) = (0, 0);
    let mut line = String::new();
    for a in 0..accounts {
        let acct = 1_000_000 + a as i64;
        for k in 0..5 {
            let sym = SYMBOLS[(a + k) % SYMBOLS.len()];
            let strike = 100 + 5 * ((a * 7 + k * 3) % 40);
            line.clear();
            writeln!(line, "a{acct}-{k},{acct},2025-02-28T09:{:02}:00-08:00,sell_to_open,{sym},put,{strike},2025-03-21,2,1.{:02}", 30 + k, 10 + k).unwrap();
            r.write_all(line.as_bytes()).unwrap();
            nr += 1;
            let (exp, qty) = match k {
                0..=2 => ("2025-03-21", 2),
                3 => ("2025-03-28", 1),
                _ => continue,
            };
            line.clear();
            writeln!(line, "b{acct}-{k},{acct},2025-03-03T07:{:02}:00-08:00,sell_to_open,{sym},put,{strike},{exp},{qty},1.{:02},1.30", 10 + k, 5 + k).unwrap();
            e.write_all(line.as_bytes()).unwrap();
            ne += 1;
        }
        // An independent trade in two partial fills.
        for f in 0..2 {
            line.clear();
            writeln!(line, "c{acct}-{f},{acct},2025-03-03T08:0{f}:00-08:00,sell_to_open,QQQ,put,480,2025-03-14,1,2.5{f},0.65").unwrap();
            e.write_all(line.as_bytes()).unwrap();
            ne += 1;
        }
    }
    r.flush().unwrap();
    e.flush().unwrap();
    (nr, ne)
}

/// The floor: every CSV row inserted as raw text into a plain table, in one transaction,
/// 500 rows per statement.
async fn bare_insert(store: &Store, recs: &Path, execs: &Path, sqlite: bool) {
    let pool = store.pool();
    sqlx::query("DROP TABLE IF EXISTS floor_rows")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE floor_rows (a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT, h TEXT, i TEXT, j TEXT, k TEXT)",
    )
    .execute(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for path in [recs, execs] {
        let text = std::fs::read_to_string(path).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        for chunk in rows.chunks(500) {
            let mut sql = String::from("INSERT INTO floor_rows VALUES ");
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..11 {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    if sqlite {
                        // Positional: SQLite binds numbered parameters in quadratic time.
                        sql.push('?');
                    } else {
                        write!(sql, "${n}").unwrap();
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for c in 0..11 {
                    q = q.bind(row.get(c).map(|s| s.to_string()));
                }
            }
            q.execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

/// The floor's rows written the way the store writes its bulk rows: the same table,
/// transaction and 500 rows per statement, but each statement's rows bound as one JSON
/// text that the engine unpacks (`json_each` / `jsonb_array_elements`).
async fn bare_insert_json(store: &Store, recs: &Path, execs: &Path, sqlite: bool) {
    let pool = store.pool();
    sqlx::query("DROP TABLE IF EXISTS floor_rows")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE floor_rows (a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT, h TEXT, i TEXT, j TEXT, k TEXT)",
    )
    .execute(pool)
    .await
    .unwrap();
    let cols: Vec<String> = (0..11).map(|c| format!("j.value ->> {c}")).collect();
    let from = if sqlite {
        "json_each($1) j"
    } else {
        "jsonb_array_elements($1::jsonb) j(value)"
    };
    let sql = format!(
        "INSERT INTO floor_rows SELECT {} FROM {from}",
        cols.join(", ")
    );
    let mut tx = pool.begin().await.unwrap();
    for path in [recs, execs] {
        let text = std::fs::read_to_string(path).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        for chunk in rows.chunks(500) {
            let mut json = String::from("[");
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                json.push('[');
                for c in 0..11 {
                    if c > 0 {
                        json.push(',');
                    }
                    match row.get(c) {
                        Some(v) => json.push_str(&serde_json::to_string(v).unwrap()),
                        None => json.push_str("null"),
                    }
                }
                json.push(']');
            }
            json.push(']');
            sqlx::query(&sql)
                .bind(json)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

/// A fresh schema on the Postgres at `base`, returned as a URL that uses it.
async fn pg_schema(base: &str, schema: &str) -> String {
    let admin = Store::connect(base).await.expect("postgres");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(admin.pool())
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(admin.pool())
        .await
        .unwrap();
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
