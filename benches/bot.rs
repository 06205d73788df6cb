//! The bot's speed, through the real dispatcher against the fake Bot API on loopback
//! (`tests/common/telegram.rs`). Run with `cargo bench --bench bot`.
//!
//! 1. Throughput: BENCH_UPDATES (default 3000) `/myid` commands from 100 served
//!    traders, queued before the dispatcher starts; updates handled per second until
//!    every reply reached the fake, against a bare echo bot (one endpoint that sends the
//!    text back) on the same fake. Target: the bot ≥ 50 % of the echo bot.
//! 2. `/matches` latency over BENCH_MATCHES (default 100000) stored matches of one
//!    account (SQLite): from queuing the update to the reply reaching the fake, for
//!    200 requests with different filters and pages. Target: p99 < 50 ms.

#[path = "../tests/common/telegram.rs"]
mod telegram;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rlhf_bot::config::Settings;
use rlhf_bot::store::Store;
use telegram::{FakeTelegram, private_message};
use teloxide::dispatching::{Dispatcher, UpdateFilterExt};
use teloxide::prelude::*;

const TRADERS: i64 = 100;
const FIRST_TRADER: i64 = 1000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("bot: bench");
        return;
    }
    let updates: usize = env("BENCH_UPDATES", 3000);
    let matches: usize = env("BENCH_MATCHES", 100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.expect("open");

        // Warm-up of both paths, then the measured runs.
        let _ = echo_rate(200).await;
        let _ = bot_rate(&store, 200).await;
        let echo = echo_rate(updates).await;
        let bot = bot_rate(&store, updates).await;
        println!(
            "throughput: bot {bot:.0} updates/s, echo {echo:.0} updates/s, ratio {:.0} % (target ≥ 50 %)",
            bot / echo * 100.0
        );

        seed_matches(&store, matches).await;
        let latencies = matches_latency(&store, 200).await;
        println!(
            "/matches over {matches} matches: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 50 ms)",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
        );
    });
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Arc<Settings> {
    let mut s = Settings::from_lookup(|_| None).expect("settings");
    s.allowed_user_ids = (FIRST_TRADER..FIRST_TRADER + TRADERS).collect();
    Arc::new(s)
}

fn queue(fake: &FakeTelegram, n: usize, text: &str) {
    for i in 0..n {
        let user = FIRST_TRADER + (i as i64 % TRADERS);
        fake.push_update(private_message(user, text));
    }
}

/// Updates per second through the real dispatcher.
async fn bot_rate(store: &Store, n: usize) -> f64 {
    let fake = FakeTelegram::start().await;
    queue(&fake, n, "/myid");
    let mut dispatcher = rlhf_bot::bot::dispatcher(fake.bot(), store.clone(), settings());
    let started = Instant::now();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    fake.wait_for_within("sendMessage", n, Duration::from_secs(600))
        .await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    task.abort();
    rate
}

/// Updates per second of a bare echo bot on the same kind of fake.
async fn echo_rate(n: usize) -> f64 {
    let fake = FakeTelegram::start().await;
    queue(&fake, n, "/myid");
    let handler =
        Update::filter_message().endpoint(|bot: rlhf_bot::bot::TgBot, msg: Message| async move {
            bot.send_message(msg.chat.id, msg.text().unwrap_or_default().to_owned())
                .await?;
            Ok::<(), teloxide::RequestError>(())
        });
    let mut dispatcher = Dispatcher::builder(fake.bot(), handler).build();
    let started = Instant::now();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    fake.wait_for_within("sendMessage", n, Duration::from_secs(600))
        .await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    task.abort();
    rate
}

/// `n` matches of one account over about a year, in bulk.
async fn seed_matches(store: &Store, n: usize) {
    let account = FIRST_TRADER;
    store
        .ensure_account(
            rlhf_bot::domain::AccountId(account),
            "bench",
            chrono::Utc::now(),
        )
        .await
        .expect("account");
    let types = ["consent", "modify", "reject", "independent", "no_action"];
    let symbols = ["AAPL", "MSFT", "SPY", "TSLA", "NVDA", "AMD", "AMZN", "META"];
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut tx = store.pool().begin().await.expect("tx");
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO recommendation_execution_matches (account_id, match_key, day, match_type, \
             underlying, modifications, reconciled_at) VALUES ",
        );
        for (j, i) in chunk.iter().enumerate() {
            if j > 0 {
                sql.push_str(", ");
            }
            let day = start + chrono::Duration::days((*i / 300) as i64);
            sql.push_str(&format!(
                "({account}, 'k{i}', '{day}', '{}', '{}', 'dte+7', '2025-01-01T00:00:00.000Z')",
                types[i % types.len()],
                symbols[(i / 5) % symbols.len()]
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

/// Milliseconds from queuing `/matches ...` to its reply, one request at a time.
async fn matches_latency(store: &Store, n: usize) -> Vec<f64> {
    let fake = FakeTelegram::start().await;
    let mut dispatcher = rlhf_bot::bot::dispatcher(fake.bot(), store.clone(), settings());
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    let queries = [
        "/matches",
        "/matches type=modify",
        "/matches symbol=NVDA",
        "/matches from=2024-06-01",
        "/matches from=2024-03-01 to=2024-03-31 type=reject",
        "/matches symbol=SPY type=independent",
        "/matches from=2024-12-01 symbol=AAPL",
        "/matches symbol=ZZZZ",
    ];
    // The first request pays for the dispatcher's start (getMe, deleteWebhook).
    fake.push_update(private_message(FIRST_TRADER, "/myid"));
    fake.wait_for("sendMessage", 1).await;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let before = fake.count("sendMessage");
        let started = Instant::now();
        fake.push_update(private_message(FIRST_TRADER, queries[i % queries.len()]));
        fake.wait_for("sendMessage", before + 1).await;
        out.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    task.abort();
    out
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}
