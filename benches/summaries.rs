//! Weekly summaries for N accounts over an 8-week look-back: the Saturday job
//! (`app::learning::weekly` for every account) on a populated database.
//! Run with `cargo bench --bench summaries`; see docs/PERFORMANCE.md.
//!
//! The database is filled directly (recommendations, matches and both sides' outcomes,
//! 4 recommendations per weekday per account, with a mix of planted behaviours), because
//! the bench measures the summary job, not the night.
//!
//! Settings (environment): BENCH_ACCOUNTS (default 10000), BENCH_WEEKS (default 8),
//! BENCH_RUNS (default 3), BENCH_DATABASE_URL (default: a fresh SQLite file).

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlhf_bot::app;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::Week;
use rlhf_bot::store::Store;
use sqlx::Executor;

const SYMBOLS: [&str; 8] = ["AAPL", "MSFT", "SPY", "TSLA", "NVDA", "AMD", "AMZN", "META"];
const ROWS_PER_INSERT: usize = 400;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("summaries: bench");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(bench());
}

/// Collects rows of one table and flushes them as multi-row inserts.
struct Batch<'a> {
    store: &'a Store,
    head: &'static str,
    rows: Vec<String>,
}

impl<'a> Batch<'a> {
    fn new(store: &'a Store, head: &'static str) -> Self {
        Self {
            store,
            head,
            rows: Vec::with_capacity(ROWS_PER_INSERT),
        }
    }

    async fn push(&mut self, row: String) {
        self.rows.push(row);
    }

    /// Inserts what was collected, in statements of `ROWS_PER_INSERT` rows.
    async fn flush(&mut self) {
        for chunk in self.rows.chunks(ROWS_PER_INSERT) {
            let sql = format!("{} VALUES {}", self.head, chunk.join(","));
            if let Err(e) = self.store.pool().execute(sql.as_str()).await {
                panic!("{}: {e}", &self.head[..40]);
            }
        }
        self.rows.clear();
    }
}

/// How a synthetic account trades.
#[derive(Clone, Copy)]
enum Habit {
    Faithful,
    AddsWeek,
    PremiumFloor,
    AvoidsTsla,
}

async fn populate(store: &Store, accounts: usize, weeks: u32, last: Week) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let first = last.minus(weeks - 1).monday();
    let created = "2025-01-01T00:00:00.000Z";
    let mut acc = Batch::new(
        store,
        "INSERT INTO accounts (id, name, created_at, settings)",
    );
    let mut recs = Batch::new(
        store,
        "INSERT INTO recommendations (id, account_id, external_id, created_at, created_day, action, \
         underlying, option_right, strike, expiration, contracts, premium, underlying_price, delta, iv, \
         iv_rank, earnings_date, fingerprint, imported_at)",
    );
    let mut matches = Batch::new(
        store,
        "INSERT INTO recommendation_execution_matches (id, account_id, match_key, day, match_type, \
         recommendation_id, underlying, strike_diff, dte_diff, contracts_diff, premium_diff, \
         modifications, reconciled_at)",
    );
    let mut outcomes = Batch::new(
        store,
        "INSERT INTO position_outcomes (account_id, match_id, side, basis, status, contracts, \
         opened_day, closed_day, premium, close_cost, fees, realized_pnl, days_held, updated_at)",
    );
    let mut id = 0i64;
    for a in 0..accounts {
        let account = 1_000_000 + a as i64;
        acc.push(format!("({account}, '', '{created}', '{{}}')"))
            .await;
        let habit = match a % 4 {
            0 => Habit::Faithful,
            1 => Habit::AddsWeek,
            2 => Habit::PremiumFloor,
            _ => Habit::AvoidsTsla,
        };
        for day_n in 0..(weeks as i64 * 7) {
            let day = first + Duration::days(day_n);
            if day.format("%u").to_string().parse::<u32>().unwrap() > 5 {
                continue;
            }
            for k in 0..4 {
                id += 1;
                let sym = SYMBOLS[rng.random_range(0..SYMBOLS.len())];
                let put = rng.random_bool(0.6);
                let price = rng.random_range(50.0..500.0_f64);
                let strike = (price * if put { 0.95 } else { 1.05 }).round() as i64;
                let dte = 7 * rng.random_range(1..=3) as i64;
                let expiration = day + Duration::days(dte);
                let premium_cents = rng.random_range(8..300i64);
                let created_at = Utc
                    .from_utc_datetime(&day.and_hms_opt(17, 35 + k * 5, 0).unwrap())
                    .format("%Y-%m-%dT%H:%M:%S.000Z");
                let iv = rng.random_range(0.15..0.9_f64);
                recs.push(format!(
                    "({id}, {account}, 'r{id}', '{created_at}', '{day}', 'sell_to_open', '{sym}', '{}', \
                     {}, '{expiration}', 1, {}, {}, 0.30, {iv:.3}, {:.1}, NULL, 'f', '{created}')",
                    if put { "put" } else { "call" },
                    strike * 10_000,
                    premium_cents * 100,
                    (price * 10_000.0) as i64,
                    rng.random_range(0.0..100.0_f64),
                ))
                .await;
                let random_reject = rng.random_bool(0.05);
                let (kind, dte_diff, mods) = match habit {
                    _ if random_reject => ("reject", "NULL", ""),
                    Habit::AddsWeek if rng.random_bool(0.8) => ("modify", "7", "dte+7"),
                    Habit::PremiumFloor if premium_cents < 30 => ("reject", "NULL", ""),
                    Habit::AvoidsTsla if sym == "TSLA" => ("reject", "NULL", ""),
                    _ => ("consent", "0", ""),
                };
                matches
                    .push(format!(
                        "({id}, {account}, 'r:{id}', '{day}', '{kind}', {id}, '{sym}', {}, {dte_diff}, {}, {}, \
                         '{mods}', '{created}')",
                        if kind == "reject" { "NULL" } else { "0" },
                        if kind == "reject" { "NULL" } else { "0" },
                        if kind == "reject" { "NULL" } else { "0" },
                    ))
                    .await;
                let settled = expiration <= last.sunday();
                let premium = premium_cents * 10_000;
                let algo = if rng.random_bool(0.8) {
                    premium
                } else {
                    premium - rng.random_range(0..4 * premium)
                };
                let (status, closed, pnl) = if settled {
                    ("'expired'", format!("'{expiration}'"), algo.to_string())
                } else {
                    ("'open'", "NULL".to_owned(), "NULL".to_owned())
                };
                let status = status.trim_matches('\'');
                outcomes
                    .push(format!(
                        "({account}, {id}, 'algorithm', 'position', '{status}', 1, '{day}', {closed}, {premium}, \
                         NULL, 0, {pnl}, NULL, '{created}')"
                    ))
                    .await;
                if kind != "reject" {
                    let actual = if settled {
                        (algo + rng.random_range(-premium / 2..=premium / 2)).to_string()
                    } else {
                        "NULL".to_owned()
                    };
                    outcomes
                        .push(format!(
                            "({account}, {id}, 'actual', 'position', '{status}', 1, '{day}', {closed}, {premium}, \
                             NULL, 6500, {actual}, NULL, '{created}')"
                        ))
                        .await;
                }
            }
        }
        // Parents before children (foreign keys), every few accounts.
        if a % 50 == 49 || a + 1 == accounts {
            for b in [&mut acc, &mut recs, &mut matches, &mut outcomes] {
                b.flush().await;
            }
        }
    }
    id as usize
}

fn peak_rss_mb() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

async fn bench() {
    let accounts = env("BENCH_ACCOUNTS", 10_000);
    let weeks = env("BENCH_WEEKS", 8) as u32;
    let runs = env("BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url).await.expect("database");
    let settings = Settings::from_lookup(|_| None).expect("defaults");
    let last = Week::new(2025, 10).unwrap();
    let t = Instant::now();
    let items = populate(&store, accounts, weeks, last).await;
    println!(
        "populated {accounts} accounts × {weeks} weeks = {items} items in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let now = Utc.with_ymd_and_hms(2025, 3, 8, 17, 0, 0).unwrap();
    let mut times = Vec::new();
    let mut line = String::new();
    for run in 1..=runs {
        let t = Instant::now();
        let (report, _) = app::learning::weekly(&store, &settings, last, None, now)
            .await
            .expect("weekly");
        let took = t.elapsed().as_secs_f64();
        println!(
            "  run {run}: {took:.2} s — {} summaries, {} patterns, {} proposed, {} updated",
            report.accounts, report.patterns, report.proposed, report.updated
        );
        line.clear();
        let _ = write!(
            line,
            "{} summaries, {} patterns",
            report.accounts, report.patterns
        );
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "weekly summaries, {accounts} accounts, {weeks}-week look-back ({line}): median {:.2} s, \
         peak RSS {:.0} MB",
        times[times.len() / 2],
        peak_rss_mb()
    );
    store.close().await;
}
