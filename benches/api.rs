//! The HTTP API under load, on loopback: `rlhf-bot serve` (in this process, on a real
//! listener) and Rust clients (hyper's HTTP/1.1 client for the reads, one keep-alive
//! connection each; reqwest for the pushes). Run with `cargo bench --bench api`.
//!
//! 1. `GET …/matches` by BENCH_CLIENTS (default 50) concurrent clients, each sending its
//!    next request as soon as the last is answered, over BENCH_MATCHES (default 100000)
//!    stored matches, with a mix of filters and cursors; BENCH_REQUESTS (default 20000)
//!    requests in all. Twice: the matches spread over 100 accounts (1,000 each, every
//!    client with its own account's token), and all of them in one account (the worst
//!    case: 100,000 rows behind every `total`, summed from the kept monthly counts, and
//!    cursors deep in one long list); BENCH_ACCOUNTS=100,1 says which. Target: p99 <
//!    20 ms.
//! 2. Recommendations pushed in batches of 500 (`POST …/recommendations`), BENCH_BATCHES
//!    (default 40) batches of new items, one client at a time. Target: ≥ 5,000 items/s.
//!
//! SQLite by default; BENCH_DATABASE_URL=postgres://… runs the same on Postgres (the
//! database must be empty: a fresh schema). Numbers in docs/PERFORMANCE.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rlhf_bot::app::App;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::AccountId;
use rlhf_bot::store::Store;

const ACCOUNT: i64 = 1000;
const API: &str = "/api/v1/strategies/learning";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("api: bench");
        return;
    }
    let clients: usize = env("BENCH_CLIENTS", 50);
    let matches: usize = env("BENCH_MATCHES", 100_000);
    let requests: usize = env("BENCH_REQUESTS", 20_000);
    let batches: usize = env("BENCH_BATCHES", 40);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sets: Vec<usize> = std::env::var("BENCH_ACCOUNTS")
            .unwrap_or_else(|_| "100,1".to_owned())
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        for accounts in sets {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
            let settings = settings(&url);
            let store = Store::open(&url).await.expect("open");
            seed_matches(&store, matches, accounts).await;
            let app = App::quiet(store.clone(), Arc::new(settings.clone()));
            let mut tokens = Vec::new();
            for a in 0..accounts {
                let (_, token) = app
                    .create_token(
                        Some(AccountId(ACCOUNT + a as i64)),
                        "bench",
                        false,
                        chrono::Utc::now(),
                    )
                    .await
                    .expect("token");
                tokens.push(token);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("listen");
            let base = format!("http://{}", listener.local_addr().expect("address"));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(rlhf_bot::startup::serve_on(settings, listener, async {
                let _ = stopped.await;
            }));
            let client = reqwest::Client::new();
            let backend = if url.starts_with("postgres") {
                "Postgres"
            } else {
                "SQLite"
            };

            // Warm-up, then the measured run.
            let _ = matches_load(&base, &tokens, clients, 500).await;
            let (latencies, elapsed) = matches_load(&base, &tokens, clients, requests).await;
            println!(
                "GET /matches ({backend}, {matches} matches in {accounts} account(s), \
                 {clients} clients): {} requests in {:.1} s = {:.0}/s; p50 {:.2} ms, \
                 p99 {:.2} ms, max {:.2} ms (target p99 < 20 ms)",
                latencies.len(),
                elapsed.as_secs_f64(),
                latencies.len() as f64 / elapsed.as_secs_f64(),
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                percentile(&latencies, 1.0),
            );

            if accounts > 1 {
                let (items, elapsed, worst) = ingest(&client, &base, &tokens[0], batches).await;
                println!(
                    "POST /recommendations ({backend}, batches of 500, one client): {items} \
                     items in {:.2} s = {:.0} items/s; slowest batch {:.1} ms \
                     (target ≥ 5,000 items/s)",
                    elapsed.as_secs_f64(),
                    items as f64 / elapsed.as_secs_f64(),
                    worst * 1000.0
                );
            }
            let _ = stop.send(());
            server.await.expect("server task").expect("server");
            store.close().await;
            if url.starts_with("postgres") {
                // One run on a given Postgres database: its tables are not emptied.
                break;
            }
        }
    });
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings(url: &str) -> Settings {
    let vars = [
        ("DATABASE_URL", url.to_owned()),
        ("API_RATE_PER_SECOND", "1000000".to_owned()),
        ("API_RATE_BURST", "1000000".to_owned()),
    ];
    Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("settings")
}

/// `n` matches spread over `accounts` accounts, over the days from 2024-01-01.
async fn seed_matches(store: &Store, n: usize, accounts: usize) {
    for a in 0..accounts {
        store
            .ensure_account(AccountId(ACCOUNT + a as i64), "bench", chrono::Utc::now())
            .await
            .expect("account");
    }
    let per_account = n.div_ceil(accounts);
    let types = ["consent", "modify", "reject", "independent", "no_action"];
    let symbols = ["AAPL", "MSFT", "SPY", "TSLA", "NVDA", "AMD", "AMZN", "META"];
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("a day");
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
            let account = ACCOUNT + (*i / per_account) as i64;
            let nth = i % per_account;
            // A year of days however many matches an account has.
            let day = start + chrono::Duration::days((nth * 365 / per_account) as i64);
            sql.push_str(&format!(
                "({account}, 'k{i}', '{day}', '{}', '{}', 'dte+7', '2025-01-01T00:00:00.000Z')",
                types[i % types.len()],
                symbols[(i / 5) % symbols.len()]
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    if store.pool().connect_options().database_url.scheme() == "postgres" {
        // A Postgres server vacuums and analyzes a table soon after a bulk change
        // (autovacuum, on by default); the one this bench runs against may have it off,
        // and without statistics the planner takes 100,000 matches for a few dozen and
        // sorts every page (p50 200 ms). So the bench does what autovacuum would.
        sqlx::query("VACUUM ANALYZE")
            .execute(store.pool())
            .await
            .expect("vacuum");
    }
}

/// What the clients ask for: the first page, filters, and later pages by cursor.
const QUERIES: &[&str] = &[
    "",
    "?match_type=modify",
    "?symbol=NVDA",
    "?start_date=2024-06-01",
    "?start_date=2024-03-01&end_date=2024-03-31&match_type=reject",
    "?symbol=SPY&match_type=independent&limit=20",
    "?start_date=2024-12-01&symbol=AAPL",
    "?symbol=ZZZZ",
];

/// The `next_cursor` of a page, read from the end of its JSON (the page's last key; a
/// string inside an item cannot hold an unescaped `"`), without parsing the items.
fn next_cursor(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"next_cursor\":";
    let at = body.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let rest = body[at..].strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// One client: its own keep-alive connection (HTTP/1.1, hyper's client directly).
async fn connect(
    base: &str,
) -> hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>> {
    let address = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// Milliseconds per request of `total` requests from `clients` concurrent clients,
/// and the wall time. Every fourth request follows the cursor of the page before.
///
/// The client shares the two cores with the server, so it does no more than a client
/// must: each of its connections sends a request, checks the status, reads the whole
/// body and finds the cursor in it (the items are not parsed).
async fn matches_load(
    base: &str,
    tokens: &[String],
    clients: usize,
    total: usize,
) -> (Vec<f64>, Duration) {
    let mut senders = Vec::with_capacity(clients);
    for _ in 0..clients {
        senders.push(connect(base).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut sender) in senders.into_iter().enumerate() {
        let authorization = format!("Bearer {}", tokens[c % tokens.len()]);
        let share = total / clients + usize::from(c < total % clients);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(share);
            let mut cursor: Option<String> = None;
            for i in 0..share {
                let query = QUERIES[(c + i) % QUERIES.len()];
                let uri = match (&cursor, i % 4) {
                    (Some(next), 3) => format!("{API}/matches?cursor={next}"),
                    _ => format!("{API}/matches{query}"),
                };
                let request = hyper::Request::get(&uri)
                    .header(hyper::header::HOST, "bench")
                    .header(hyper::header::AUTHORIZATION, &authorization)
                    .body(http_body_util::Empty::new())
                    .expect("request");
                let t = Instant::now();
                sender.ready().await.expect("connection");
                let response = sender.send_request(request).await.expect("response");
                assert_eq!(response.status(), 200, "{uri}");
                let body = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .expect("body")
                    .to_bytes();
                out.push(t.elapsed().as_secs_f64() * 1000.0);
                cursor = next_cursor(&body);
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    (all, started.elapsed())
}

/// Pushes `batches` batches of 500 new recommendations; items stored, wall time, and
/// the slowest batch in seconds.
async fn ingest(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    batches: usize,
) -> (usize, Duration, f64) {
    let symbols = ["AAPL", "MSFT", "SPY", "TSLA", "NVDA", "AMD", "AMZN", "META"];
    let bodies: Vec<String> = (0..batches)
        .map(|b| {
            let items: Vec<serde_json::Value> = (0..500)
                .map(|i| {
                    let n = b * 500 + i;
                    serde_json::json!({
                        "external_id": format!("bench-{n}"),
                        "created_at": format!("2025-03-{:02}T09:{:02}:00-08:00", 3 + n % 20, n % 60),
                        "action": "sell_to_open",
                        "underlying": symbols[n % symbols.len()],
                        "right": if n % 2 == 0 { "put" } else { "call" },
                        "strike": 100 + (n % 50) * 5,
                        "expiration": "2025-04-17",
                        "contracts": 1 + n % 3,
                        "premium": format!("{}.{:02}", 1 + n % 4, n % 100),
                        "delta": -0.3,
                        "iv": 0.25,
                        "algorithm_version": "v3.2",
                    })
                })
                .collect();
            serde_json::to_string(&items).expect("JSON")
        })
        .collect();
    let mut worst: f64 = 0.0;
    let mut stored = 0;
    let started = Instant::now();
    for body in bodies {
        let t = Instant::now();
        let response = client
            .post(format!("{base}{API}/recommendations"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let report: serde_json::Value = response.json().await.expect("JSON");
        stored += report["imported"].as_u64().unwrap_or(0) as usize;
        worst = worst.max(t.elapsed().as_secs_f64());
    }
    (stored, started.elapsed(), worst)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}
