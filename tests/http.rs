//! The HTTP API (SPEC §8, issue 12) on SQLite and Postgres: every endpoint's success and
//! failure, answers in the command line's JSON names, idempotent ingestion, the
//! authorization matrix (no token, a bad one, a revoked one, a read-only one writing,
//! another account's ids in paths, bodies and filters) with nothing of the other account
//! in any answer, the limits, the service routes and the OpenAPI document. Most tests
//! drive the router with `oneshot`; the serving tests use real listeners on loopback.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use common::TestDb;
use rlhf_bot::app::App;
use rlhf_bot::bot::posts::BotPosts;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::{AccountId, Clock};
use rlhf_bot::store::{MatchFilter, Scope};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The sample trader (`samples/demo/`), served by the bot.
const A: i64 = 123_456_789;
/// Another account, whose rows no token of A may see.
const B: i64 = 222_222;
const API: &str = "/api/v1/strategies/learning";

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn settings(db: &TestDb, extra: &[(&str, &str)]) -> Settings {
    let mut env: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", db.url.as_str()),
        ("ALLOWED_USER_IDS", "123456789"),
        ("API_RATE_PER_SECOND", "100000"),
        ("API_RATE_BURST", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::from_lookup(|k| env.get(k).cloned()).unwrap()
}

/// The API on a test database, with the bot's wording (posts are queued), a fixed
/// clock, and tokens: A's, A's read-only, B's, and one of every account.
struct Api {
    router: Router,
    app: App,
    a: String,
    a_read: String,
    b: String,
    all: String,
}

async fn api(db: &TestDb) -> Api {
    api_with(db, &[]).await
}

async fn api_with(db: &TestDb, extra: &[(&str, &str)]) -> Api {
    let app = App::new(
        db.store.clone(),
        Arc::new(settings(db, extra)),
        Arc::new(BotPosts),
    );
    let router =
        rlhf_bot::http::router_with_clock(app.clone(), Arc::new(FixedClock(common::now())));
    let now = common::now();
    let token = |account: Option<i64>, read_only: bool| {
        let app = app.clone();
        async move {
            app.create_token(account.map(AccountId), "test", read_only, now)
                .await
                .unwrap()
                .1
        }
    };
    Api {
        a: token(Some(A), false).await,
        a_read: token(Some(A), true).await,
        b: token(Some(B), false).await,
        all: token(None, false).await,
        router,
        app,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// A problem body (RFC 9457) with this status.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        for leak in ["panicked", "SQL", "sqlx", "SELECT", "stack backtrace"] {
            assert!(!self.text.contains(leak), "{leak} in {}", self.text);
        }
        p
    }

    fn ok(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json()
    }
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some((content_type, bytes)) => req
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", &format!("{API}{path}"), Some(token), None)
            .await
    }

    async fn send(&self, method: &str, path: &str, token: &str) -> Answer {
        self.call(method, &format!("{API}{path}"), Some(token), None)
            .await
    }

    async fn push(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(
            "POST",
            &format!("{API}{path}"),
            Some(token),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    async fn upload(&self, query: &str, token: &str, file: &[u8]) -> Answer {
        let boundary = "XyZzYboundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.call(
            "POST",
            &format!("{API}/imports{query}"),
            Some(token),
            Some((&format!("multipart/form-data; boundary={boundary}"), body)),
        )
        .await
    }
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/samples/demo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The January 2025 sample imported through `POST /imports`, every weekday reconciled
/// through `POST /reconcile`, and the outcomes tracked.
async fn the_sample_through_the_api(api: &Api) {
    for kind in ["recommendations", "executions", "prices"] {
        let r = api
            .upload(
                &format!("?kind={kind}"),
                &api.a,
                &sample(&format!("{kind}.csv")),
            )
            .await
            .ok();
        assert!(r["imported"].as_u64().unwrap() > 0, "{kind}: {r}");
        assert_eq!(r["rejected"], 0);
    }
    for day in 2..=31 {
        let r = api
            .send(
                "POST",
                &format!("/reconcile?target_date=2025-01-{day:02}"),
                &api.a,
            )
            .await
            .ok();
        assert_eq!(r["day"], format!("2025-01-{day:02}"));
    }
    let t = api
        .send("POST", "/track-outcomes?as_of_date=2025-01-31", &api.a)
        .await
        .ok();
    assert!(t["matches"].as_u64().unwrap() > 0, "{t}");
}

/// B's own data: one recommendation and a trade that modifies it, reconciled.
async fn b_has_a_match(api: &Api) -> (i64, Value) {
    let rec = json!({
        "external_id": "b-secret-rec", "created_at": "2025-01-06T09:35:00-08:00",
        "action": "sell_to_open", "underlying": "TSLA", "right": "put", "strike": 300,
        "expiration": "2025-01-17", "contracts": 1, "premium": 5.5
    });
    api.push("/recommendations", &api.b, rec.clone()).await.ok();
    let exec = json!({
        "broker_ref": "b-secret-fill", "executed_at": "2025-01-06T09:40:00-08:00",
        "action": "sell_to_open", "underlying": "TSLA", "right": "put", "strike": 290,
        "expiration": "2025-01-24", "contracts": 1, "price": 5.1
    });
    api.push("/executions", &api.b, exec).await.ok();
    api.send("POST", "/reconcile?target_date=2025-01-06", &api.b)
        .await
        .ok();
    let page = api.get("/matches", &api.b).await.ok();
    let m = page["items"][0].clone();
    assert_eq!(m["account"], B);
    (m["id"].as_i64().unwrap(), m)
}

// ---------------------------------------------------------------------------------------
// The seed's endpoints

both!(
    the_seed_endpoints_answer_in_the_command_lines_names,
    seed_endpoints
);

async fn seed_endpoints(db: &TestDb) {
    let api = api(db).await;
    the_sample_through_the_api(&api).await;
    let app = &api.app;

    // Matches: the same JSON as `matches --json`, every one of them over the pages.
    let all = app
        .matches(&MatchFilter {
            account: Some(AccountId(A)),
            ..MatchFilter::default()
        })
        .await
        .unwrap();
    assert!(all.len() > 5);
    let cli: Vec<Value> = all
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = api
            .get(&format!("/matches?limit=3{cursor}"), &api.a)
            .await
            .ok();
        assert_eq!(page["total"], all.len());
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, cli, "pages of the API = `matches --json`");

    // Filters.
    let modify = api.get("/matches?match_type=modify", &api.a).await.ok();
    let want = all
        .iter()
        .filter(|m| m.match_type.as_str() == "modify")
        .count();
    assert!(want > 0);
    assert_eq!(modify["total"], want);
    assert!(
        modify["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["match_type"] == "modify")
    );
    let aapl = api
        .get(
            "/matches?symbol=AAPL&start_date=2025-01-06&end_date=2025-01-10",
            &api.a,
        )
        .await
        .ok();
    for m in aapl["items"].as_array().unwrap() {
        assert_eq!(m["underlying"], "AAPL");
        let day = m["day"].as_str().unwrap();
        assert!(("2025-01-06"..="2025-01-10").contains(&day), "{day}");
    }
    for (query, field) in [
        ("start_date=2025-13-01", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("start_date=2025-01-10&end_date=2025-01-01", "end_date"),
        ("match_type=agree", "match_type"),
        ("match_type=Consent", "match_type"),
        ("symbol=%24%24", "symbol"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let p = api
            .get(&format!("/matches?{query}"), &api.a)
            .await
            .problem(422);
        assert_eq!(p["field"], field, "{query}: {p}");
    }

    // One match with its outcomes, as `match ID --json`.
    let divergence = all.iter().find(|m| m.match_type.is_divergence()).unwrap();
    let detail = api
        .get(&format!("/matches/{}", divergence.id), &api.a)
        .await
        .ok();
    let want = app.match_detail(divergence.id, Scope::All).await.unwrap();
    assert_eq!(detail, serde_json::to_value(&want).unwrap());
    assert!(detail["outcomes"].is_array());
    api.get("/matches/999999", &api.a).await.problem(404);
    api.get("/matches/abc", &api.a).await.problem(404);

    // A reason.
    let r = api
        .send(
            "PATCH",
            &format!(
                "/matches/{}/reason?reason_code=other&reason_text=waiting%20for%20CPI",
                divergence.id
            ),
            &api.a,
        )
        .await
        .ok();
    assert_eq!(r["reason_code"], "other");
    assert_eq!(r["reason_text"], "waiting for CPI");
    for (query, field) in [
        ("?reason_code=other", "reason_text"),
        ("?reason_code=bored", "reason_code"),
        ("", "reason_code"),
    ] {
        let p = api
            .send(
                "PATCH",
                &format!("/matches/{}/reason{query}", divergence.id),
                &api.a,
            )
            .await
            .problem(422);
        assert_eq!(p["field"], field, "{query}: {p}");
    }
    if let Some(consent) = all.iter().find(|m| m.match_type.as_str() == "consent") {
        api.send(
            "PATCH",
            &format!("/matches/{}/reason?reason_code=timing", consent.id),
            &api.a,
        )
        .await
        .problem(409);
    }

    // The day's posts were queued for the served account, as `/reconcile` does.
    let queued = db.store.outbox(Some(AccountId(A))).await.unwrap();
    assert!(
        queued.iter().any(|m| m.dedupe_key.contains("2025-01-06")),
        "reconcile queued the day's posts: {:?}",
        queued.iter().map(|m| &m.dedupe_key).collect::<Vec<_>>()
    );

    // Summaries: generate (with its posts), show, list, review; as `summary show --json`.
    let before = db.store.outbox(Some(AccountId(A))).await.unwrap().len();
    let generated = api
        .send(
            "POST",
            "/weekly-summaries/generate?year=2025&week=2",
            &api.a,
        )
        .await
        .ok();
    let stored = app
        .summary(AccountId(A), rlhf_bot::domain::Week::new(2025, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(generated, rlhf_bot::cli::summary_json(&stored));
    assert!(generated["text"].as_str().unwrap().contains("2025-W02"));
    let after = db.store.outbox(Some(AccountId(A))).await.unwrap();
    assert!(after.len() > before, "the summary's posts are queued");
    assert!(
        after
            .iter()
            .any(|m| m.kind == rlhf_bot::domain::MessageKind::WeeklySummary)
    );
    api.send(
        "POST",
        "/weekly-summaries/generate?year=2025&week=3",
        &api.a,
    )
    .await
    .ok();
    let shown = api.get("/weekly-summaries/2025/2", &api.a).await.ok();
    assert_eq!(shown, generated);
    api.get("/weekly-summaries/2025/9", &api.a)
        .await
        .problem(404);
    api.get("/weekly-summaries/2025/60", &api.a)
        .await
        .problem(404);
    let list = api
        .get("/weekly-summaries?year=2025&limit=1", &api.a)
        .await
        .ok();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["week"], 3, "newest first");
    let next = list["next_cursor"].as_str().unwrap();
    let rest = api
        .get(
            &format!("/weekly-summaries?year=2025&limit=1&cursor={next}"),
            &api.a,
        )
        .await
        .ok();
    assert_eq!(rest["items"][0]["week"], 2);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        api.get("/weekly-summaries?year=2024", &api.a).await.ok()["total"],
        0
    );
    let reviewed = api
        .send(
            "PATCH",
            "/weekly-summaries/2025/2/review?review_status=reviewed&review_notes=looks%20right",
            &api.a,
        )
        .await
        .ok();
    assert_eq!(reviewed["review_status"], "reviewed");
    assert_eq!(reviewed["review_notes"], "looks right");
    let p = api
        .send(
            "PATCH",
            "/weekly-summaries/2025/2/review?review_status=done",
            &api.a,
        )
        .await
        .problem(422);
    assert_eq!(p["field"], "review_status");
    for (query, field) in [
        ("year=2025", "week"),
        ("week=2", "year"),
        ("year=2025&week=54", "week"),
        ("year=2025&week=53", "week"),
        ("year=0&week=1", "year"),
    ] {
        let p = api
            .send(
                "POST",
                &format!("/weekly-summaries/generate?{query}"),
                &api.a,
            )
            .await
            .problem(422);
        assert_eq!(p["field"], field, "{query}");
    }

    // Candidates: a proposed one, listed and decided; the audit trail names the token.
    let proposal = rlhf_bot::learning::candidates::Proposal {
        pattern_key: "dte_shift".to_owned(),
        subject: String::new(),
        title: "Increase default DTE by 7 days".to_owned(),
        change: json!({"kind": "dte_shift", "days": 7}),
        evidence: rlhf_bot::learning::candidates::Evidence {
            n: 12,
            effect: 7.0,
            q_value: 0.01,
            description: "User adds 7 days on average to DTE".to_owned(),
            detail: Value::Null,
        },
    };
    db.store
        .apply_candidate_steps(
            AccountId(A),
            &rlhf_bot::learning::candidates::plan(&[], vec![proposal]),
            common::now(),
        )
        .await
        .unwrap();
    let list = api.get("/v4-candidates", &api.a).await.ok();
    assert_eq!(list["total"], 1);
    let cli =
        serde_json::to_value(app.candidates(Scope::Account(AccountId(A))).await.unwrap()).unwrap();
    assert_eq!(list["items"], cli, "as `candidates list --json`");
    let id = list["items"][0]["id"].as_i64().unwrap();
    let p = api
        .send(
            "POST",
            &format!("/v4-candidates/{id}/decide?decision=reject"),
            &api.a,
        )
        .await
        .problem(422);
    assert_eq!(p["field"], "reason");
    let p = api
        .send(
            "POST",
            &format!("/v4-candidates/{id}/decide?decision=maybe"),
            &api.a,
        )
        .await
        .problem(422);
    assert_eq!(p["field"], "decision");
    let decided = api
        .send(
            "POST",
            &format!("/v4-candidates/{id}/decide?decision=defer&reason=later"),
            &api.a,
        )
        .await
        .ok();
    assert_eq!(decided["state"], "deferred");
    api.send(
        "POST",
        &format!("/v4-candidates/{id}/decide?decision=defer"),
        &api.a,
    )
    .await
    .problem(409);
    let (_, history) = app.candidate_with_history(id, Scope::All).await.unwrap();
    assert!(history.iter().any(|h| h.actor == "api:test"), "{history:?}");
    api.send(
        "POST",
        "/v4-candidates/424242/decide?decision=defer",
        &api.a,
    )
    .await
    .problem(404);

    // Analytics: what `analytics … --json` prints on the same items.
    let today = rlhf_bot::domain::day_of(common::now(), chrono_tz::America::Los_Angeles);
    for (path, days) in [
        ("divergence-rate", 30),
        ("algorithm-accuracy", 90),
        ("top-modifications", 90),
    ] {
        let scope = Scope::Account(AccountId(A));
        let period = rlhf_bot::learning::DayRange::last_days(days, today);
        let want = match path {
            "divergence-rate" => {
                serde_json::to_value(app.divergence_rate(scope, period).await.unwrap())
            }
            "algorithm-accuracy" => {
                serde_json::to_value(app.algorithm_accuracy(scope, period).await.unwrap())
            }
            _ => serde_json::to_value(app.top_modifications(scope, period).await.unwrap()),
        }
        .unwrap();
        let got = api.get(&format!("/analytics/{path}"), &api.a).await.ok();
        assert_eq!(got, want, "{path}");
        let p = api
            .get(&format!("/analytics/{path}?days=0"), &api.a)
            .await
            .problem(422);
        assert_eq!(p["field"], "days");
    }
    let wide = api
        .get("/analytics/divergence-rate?days=3650", &api.a)
        .await
        .ok();
    assert!(wide["decisions"].as_u64().unwrap() > 0, "{wide}");

    // Reconcile and track refuse bad days.
    let p = api
        .send("POST", "/reconcile?target_date=2025-02-30", &api.a)
        .await
        .problem(422);
    assert_eq!(p["field"], "target_date");
    let p = api
        .send("POST", "/track-outcomes?as_of_date=soon", &api.a)
        .await
        .problem(422);
    assert_eq!(p["field"], "as_of_date");
}

// ---------------------------------------------------------------------------------------
// Ingestion

both!(ingestion_is_idempotent_and_answers_item_by_item, ingestion);

fn rec(id: &str, strike: f64) -> Value {
    json!({
        "external_id": id, "created_at": "2025-01-02T09:35:00-08:00",
        "action": "sell_to_open", "underlying": "AAPL", "right": "put", "strike": strike,
        "expiration": "2025-01-17", "contracts": 1, "premium": "1.25"
    })
}

async fn ingestion(db: &TestDb) {
    let api = api(db).await;

    // One object: imported, then a duplicate, then a conflict naming the key.
    let r = api
        .push("/recommendations", &api.a, rec("r-1", 150.0))
        .await
        .ok();
    assert_eq!(r["imported"], 1);
    assert_eq!(r["items"][0]["status"], "imported");
    assert_eq!(r["items"][0]["account"], A, "the token's account");
    assert_eq!(r["items"][0]["key"], "r-1");
    let again = api
        .push("/recommendations", &api.a, rec("r-1", 150.0))
        .await
        .ok();
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["items"][0]["status"], "duplicate");
    let p = api
        .push("/recommendations", &api.a, rec("r-1", 155.0))
        .await
        .problem(409);
    assert!(p["detail"].as_str().unwrap().contains("`r-1`"), "{p}");
    assert_eq!(p["items"][0]["status"], "conflict");

    // An array: each item answered; the good ones are kept.
    let mut bad = rec("r-3", 150.0);
    bad["strike"] = json!("abc");
    let p = api
        .push(
            "/recommendations",
            &api.a,
            json!([rec("r-2", 150.0), bad, 5, rec("r-1", 150.0)]),
        )
        .await
        .problem(422);
    assert_eq!(p["field"], "strike");
    assert_eq!(p["pointer"], "/1/strike");
    let statuses: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["imported", "rejected", "rejected", "duplicate"]);
    assert_eq!(
        (
            p["imported"].clone(),
            p["duplicates"].clone(),
            p["rejected"].clone()
        ),
        (json!(1), json!(1), json!(2))
    );
    let stored = db.store.pool().clone();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recommendations")
        .fetch_one(&stored)
        .await
        .unwrap();
    assert_eq!(n, 2, "r-1 and r-2");

    // Executions (an OCC symbol instead of the four columns) and closes.
    let fill = json!({
        "broker_ref": "f-1", "executed_at": "2025-01-02T09:40:00-08:00",
        "action": "sell_to_open", "symbol": "AAPL  250117P00150000", "contracts": 1,
        "price": 1.3, "fees": 0.65, "broker": "schwab"
    });
    let r = api.push("/executions", &api.a, fill.clone()).await.ok();
    assert_eq!(r["items"][0]["key"], "f-1");
    assert_eq!(
        api.push("/executions", &api.a, fill).await.ok()["duplicates"],
        1
    );
    let close = json!([{"symbol": "AAPL", "date": "2025-01-17", "close": 151.2}]);
    let r = api.push("/prices", &api.a, close.clone()).await.ok();
    assert_eq!(
        r["items"][0]["account"],
        Value::Null,
        "closes belong to no account"
    );
    assert_eq!(
        api.push("/prices", &api.a, close).await.ok()["duplicates"],
        1
    );
    let p = api
        .push(
            "/prices",
            &api.a,
            json!({"symbol": "AAPL", "date": "2025-01-17", "close": 99}),
        )
        .await
        .problem(409);
    assert!(p["detail"].as_str().unwrap().contains("AAPL"), "{p}");
    let empty = api.push("/prices", &api.a, json!([])).await.ok();
    assert_eq!(empty["items"], json!([]));

    // Bodies that cannot be read.
    let a = api
        .call(
            "POST",
            &format!("{API}/recommendations"),
            Some(&api.a),
            Some(("text/plain", b"external_id=r-9".to_vec())),
        )
        .await;
    a.problem(415);
    let a = api
        .call(
            "POST",
            &format!("{API}/recommendations"),
            Some(&api.a),
            Some(("application/json", b"{\"external_id\": ".to_vec())),
        )
        .await;
    a.problem(400);

    // A file through the command line's importer: good rows kept, bad ones by line.
    let csv = format!(
        "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n\
         f-r-1,{A},2025-01-03T09:35:00-08:00,sell_to_open,MSFT,put,400,2025-01-17,1,2.00\n\
         f-r-2,{A},2025-01-03T09:35:00-08:00,sell_to_open,MSFT,put,-5,2025-01-17,1,2.00\n"
    );
    let p = api
        .upload("?kind=recommendations", &api.a, csv.as_bytes())
        .await
        .problem(422);
    assert_eq!(p["imported"], 1);
    assert_eq!(p["errors"][0]["line"], 3);
    assert_eq!(p["field"], "strike");
    let r = api
        .upload(
            "?kind=recommendations&format=generic",
            &api.a,
            csv.lines()
                .take(2)
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        )
        .await
        .ok();
    assert_eq!(r["duplicates"], 1);
    let p = api
        .upload("?kind=trades", &api.a, csv.as_bytes())
        .await
        .problem(422);
    assert_eq!(p["field"], "kind");
    let p = api.upload("", &api.a, csv.as_bytes()).await.problem(422);
    assert_eq!(p["field"], "kind");
    let p = api
        .upload("?kind=recommendations&format=excel", &api.a, csv.as_bytes())
        .await
        .problem(422);
    assert_eq!(p["field"], "format");
    // A broker's export is for the bot and the command line; the message says so.
    let webull = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n\
                  SPY 250117 Put 580.00,SPY250117P00580000,Sell,Filled,1,1,@2.00,2.00,DAY,01/07/2025 10:01:00 EST,01/07/2025 10:01:01 EST\n";
    let p = api
        .upload("?kind=executions&format=webull", &api.a, webull.as_bytes())
        .await
        .problem(422);
    assert_eq!(p["field"], "format");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("does not read") && detail.contains("--format webull"),
        "{p}"
    );
    assert!(!detail.contains("executions only"), "{p}");
    let p = api
        .upload("?kind=recommendations", &api.a, b"external_id,account\n")
        .await
        .problem(422);
    assert_eq!(p["field"], "file");
    api.call(
        "POST",
        &format!("{API}/imports?kind=prices"),
        Some(&api.a),
        Some(("application/json", b"{}".to_vec())),
    )
    .await
    .problem(415);
}

// ---------------------------------------------------------------------------------------
// Who may do what

both!(the_authorization_matrix_leaks_nothing, authorization);

/// Every operation of the API: method, path (with `{id}` for A's match), writes.
fn operations(match_id: i64, candidate_id: i64) -> Vec<(&'static str, String)> {
    vec![
        ("POST", "/reconcile?target_date=2025-01-06".to_owned()),
        ("POST", "/track-outcomes?as_of_date=2025-01-31".to_owned()),
        ("GET", "/matches".to_owned()),
        ("GET", format!("/matches/{match_id}")),
        (
            "PATCH",
            format!("/matches/{match_id}/reason?reason_code=timing"),
        ),
        ("GET", "/weekly-summaries".to_owned()),
        ("GET", "/weekly-summaries/2025/2".to_owned()),
        (
            "POST",
            "/weekly-summaries/generate?year=2025&week=2".to_owned(),
        ),
        (
            "PATCH",
            "/weekly-summaries/2025/2/review?review_status=reviewed".to_owned(),
        ),
        ("GET", "/v4-candidates".to_owned()),
        (
            "POST",
            format!("/v4-candidates/{candidate_id}/decide?decision=defer"),
        ),
        ("GET", "/analytics/divergence-rate".to_owned()),
        ("GET", "/analytics/algorithm-accuracy".to_owned()),
        ("GET", "/analytics/top-modifications".to_owned()),
        ("POST", "/recommendations".to_owned()),
        ("POST", "/executions".to_owned()),
        ("POST", "/prices".to_owned()),
        ("POST", "/imports?kind=prices".to_owned()),
    ]
}

async fn authorization(db: &TestDb) {
    let api = api(db).await;
    let (b_match, b_json) = b_has_a_match(&api).await;
    let b_secret = ["b-secret-rec", "b-secret-fill", "TSLA"];
    let leaks = |text: &str| b_secret.iter().any(|s| text.contains(s));

    // No token, a malformed one, an unknown one, a wrong secret, a revoked one: 401, and
    // the handler never runs.
    let (revoked, revoked_token) = api
        .app
        .create_token(Some(AccountId(A)), "old", false, common::now())
        .await
        .unwrap();
    api.app
        .revoke_token(revoked.id, common::now())
        .await
        .unwrap();
    let wrong_secret = {
        let (id, _) = api.a.trim_start_matches("rlhf_").split_once('_').unwrap();
        format!("rlhf_{id}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    };
    for (method, path) in operations(b_match, 1) {
        let uri = format!("{API}{path}");
        let a = api.call(method, &uri, None, None).await;
        a.problem(401);
        assert_eq!(
            a.headers[header::WWW_AUTHENTICATE],
            "Bearer",
            "{method} {path}"
        );
        for bad in [
            "garbage",
            "rlhf_x_y",
            "rlhf_99999_abc",
            wrong_secret.as_str(),
            revoked_token.as_str(),
        ] {
            let a = api.call(method, &uri, Some(bad), None).await;
            a.problem(401);
            assert!(
                a.headers[header::WWW_AUTHENTICATE]
                    .to_str()
                    .unwrap()
                    .contains("invalid_token")
            );
            assert!(!leaks(&a.text));
        }
        // A read-only token reads, and is refused every change.
        let a = api.call(method, &uri, Some(&api.a_read), None).await;
        if method == "GET" {
            assert_ne!(
                a.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                a.text
            );
        } else {
            a.problem(403);
        }
        assert!(!leaks(&a.text), "{method} {path}: {}", a.text);
    }
    // Basic and other schemes are not bearer tokens.
    let a = api.call("GET", &format!("{API}/matches"), None, None).await;
    a.problem(401);

    // B's match through A's token: 404 in paths, as a match that does not exist.
    let missing = api.get("/matches/987654321", &api.a).await.problem(404);
    let theirs = api
        .get(&format!("/matches/{b_match}"), &api.a)
        .await
        .problem(404);
    assert_eq!(
        theirs["detail"]
            .as_str()
            .unwrap()
            .replace(&b_match.to_string(), "N"),
        missing["detail"]
            .as_str()
            .unwrap()
            .replace("987654321", "N"),
        "another account's id answers exactly as a missing one"
    );
    api.send(
        "PATCH",
        &format!("/matches/{b_match}/reason?reason_code=timing"),
        &api.a,
    )
    .await
    .problem(404);
    let still = api.app.match_detail(b_match, Scope::All).await.unwrap();
    assert_eq!(still.reason_code, None, "B's match is untouched");

    // B's candidate: 404 to A.
    let proposal = rlhf_bot::learning::candidates::Proposal {
        pattern_key: "strike_shift".to_owned(),
        subject: String::new(),
        title: "secret TSLA change".to_owned(),
        change: json!({}),
        evidence: rlhf_bot::learning::candidates::Evidence {
            n: 9,
            effect: 1.0,
            q_value: 0.01,
            description: "TSLA".to_owned(),
            detail: Value::Null,
        },
    };
    db.store
        .apply_candidate_steps(
            AccountId(B),
            &rlhf_bot::learning::candidates::plan(&[], vec![proposal]),
            common::now(),
        )
        .await
        .unwrap();
    let b_candidate = api
        .app
        .candidates(Scope::Account(AccountId(B)))
        .await
        .unwrap()[0]
        .id;
    let a = api
        .send(
            "POST",
            &format!("/v4-candidates/{b_candidate}/decide?decision=implement"),
            &api.a,
        )
        .await;
    a.problem(404);
    assert!(!leaks(&a.text));
    assert_eq!(
        api.app
            .candidate(b_candidate, Scope::All)
            .await
            .unwrap()
            .state
            .as_str(),
        "proposed"
    );

    // A's lists never show B's rows; naming B in a filter is 404 too.
    for path in [
        "/matches",
        "/v4-candidates",
        "/weekly-summaries",
        "/analytics/top-modifications",
    ] {
        let a = api.get(path, &api.a).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(!leaks(&a.text), "{path}: {}", a.text);
        let a = api.get(&format!("{path}?account={B}"), &api.a).await;
        a.problem(404);
        assert!(!leaks(&a.text));
        let mine = api.get(&format!("{path}?account={A}"), &api.a).await;
        assert_eq!(mine.status, StatusCode::OK);
    }
    api.send(
        "POST",
        &format!("/reconcile?target_date=2025-01-06&account={B}"),
        &api.a,
    )
    .await
    .problem(404);
    api.send(
        "POST",
        &format!("/weekly-summaries/generate?year=2025&week=2&account={B}"),
        &api.a,
    )
    .await
    .problem(404);

    // A body naming B through A's token: the item is refused and nothing of B changes.
    let mut theirs = rec("b-secret-rec", 999.0);
    theirs["account"] = json!(B);
    let p = api
        .push("/recommendations", &api.a, theirs)
        .await
        .problem(422);
    assert_eq!(p["field"], "account");
    assert!(!p.to_string().contains("999"), "{p}");
    let csv = format!(
        "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n\
         x-1,{B},2025-01-03T09:35:00-08:00,sell_to_open,MSFT,put,400,2025-01-17,1,2.00\n"
    );
    let p = api
        .upload("?kind=recommendations", &api.a, csv.as_bytes())
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["column"], "account");
    let bs = api
        .app
        .matches(&MatchFilter {
            account: Some(AccountId(B)),
            ..MatchFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(&bs[0]).unwrap(), b_json);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recommendations WHERE account_id = $1")
        .bind(B)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "only B's own recommendation");

    // A token of every account: items name their account; answers name it per item.
    let p = api
        .push("/recommendations", &api.all, rec("all-1", 150.0))
        .await
        .problem(422);
    assert_eq!(p["field"], "account");
    let mut named = rec("all-1", 150.0);
    named["account"] = json!(A);
    let mut named_b = rec("all-2", 150.0);
    named_b["account"] = json!(B);
    let r = api
        .push("/recommendations", &api.all, json!([named, named_b]))
        .await
        .ok();
    assert_eq!(r["items"][0]["account"], A);
    assert_eq!(r["items"][1]["account"], B);
    let both = api.get("/matches", &api.all).await.ok();
    assert!(
        both["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["account"] == B)
    );
    let only_b = api
        .get(&format!("/matches?account={B}"), &api.all)
        .await
        .ok();
    assert!(
        only_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["account"] == B)
    );
    let p = api
        .get("/weekly-summaries/2025/2", &api.all)
        .await
        .problem(422);
    assert_eq!(p["field"], "account");
    api.get(&format!("/matches/{b_match}"), &api.all).await.ok();
}

// ---------------------------------------------------------------------------------------
// Limits, errors, service routes, the document

both!(limits_answer_with_problems, limits);

async fn limits(db: &TestDb) {
    let api = api_with(
        db,
        &[
            ("API_BODY_LIMIT_KB", "1"),
            ("API_RATE_PER_SECOND", "1"),
            ("API_RATE_BURST", "3"),
        ],
    )
    .await;
    // Too large.
    let big = Value::Array(vec![rec("x", 1.0); 40]);
    let p = api.push("/recommendations", &api.b, big).await.problem(413);
    assert!(p["detail"].as_str().unwrap().contains("1 KiB"), "{p}");
    // The rate: A's burst of 3 is spent, B's is not.
    for _ in 0..3 {
        api.get("/matches", &api.a).await.ok();
    }
    let a = api.get("/matches", &api.a).await;
    a.problem(429);
    let wait: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    api.get("/matches", &api.b).await.ok();
    // Routes and methods that do not exist.
    let a = api.call("GET", "/api/v1/nothing", None, None).await;
    a.problem(404);
    let a = api
        .call("DELETE", &format!("{API}/matches"), Some(&api.b), None)
        .await;
    a.problem(405);
    assert!(a.headers.contains_key(header::ALLOW));
}

both!(the_service_routes_and_the_document, service);

async fn service(db: &TestDb) {
    let api = api(db).await;
    let a = api.call("GET", "/health", None, None).await;
    assert_eq!(a.ok()["status"], "ok");
    let a = api.call("GET", "/ready", None, None).await;
    assert_eq!(a.ok()["status"], "ready");
    api.get("/matches", &api.a).await.ok();
    api.get("/matches/1", &api.a).await.problem(404);
    db.store
        .enqueue(
            &[rlhf_bot::store::NewMessage {
                account: AccountId(A),
                dedupe_key: "k1".to_owned(),
                kind: rlhf_bot::domain::MessageKind::Reconciliation,
                payload: rlhf_bot::domain::Outgoing::Text {
                    html: "hi".to_owned(),
                    keyboard: Vec::new(),
                },
                send_after: common::now(),
            }],
            common::now(),
        )
        .await
        .unwrap();
    let m = api.call("GET", "/metrics", None, None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.content_type().starts_with("text/plain"));
    for line in [
        "rlhf_http_requests_total{method=\"GET\",route=\"/api/v1/strategies/learning/matches\",status=\"200\"} 1",
        "rlhf_http_requests_total{method=\"GET\",route=\"/api/v1/strategies/learning/matches/{id}\",status=\"404\"} 1",
        "rlhf_outbox_messages{state=\"pending\"} 1",
        "rlhf_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/strategies/learning/matches\",le=\"0.02\"}",
    ] {
        assert!(m.text.contains(line), "{line} not in\n{}", m.text);
    }

    // The document: OpenAPI 3.1, every seed path under the prefix, every reference
    // resolved, every operation's errors listed as problems.
    let doc = api
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .ok();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    for (method, path) in [
        ("post", "/reconcile"),
        ("post", "/track-outcomes"),
        ("get", "/matches"),
        ("get", "/matches/{id}"),
        ("patch", "/matches/{id}/reason"),
        ("get", "/weekly-summaries"),
        ("get", "/weekly-summaries/{year}/{week}"),
        ("post", "/weekly-summaries/generate"),
        ("patch", "/weekly-summaries/{year}/{week}/review"),
        ("get", "/v4-candidates"),
        ("post", "/v4-candidates/{id}/decide"),
        ("get", "/analytics/divergence-rate"),
        ("get", "/analytics/algorithm-accuracy"),
        ("get", "/analytics/top-modifications"),
        ("post", "/recommendations"),
        ("post", "/executions"),
        ("post", "/prices"),
        ("post", "/imports"),
    ] {
        let full = format!("{API}{path}");
        assert!(paths.contains(&full), "{full}");
        let op = &doc["paths"][&full][method];
        assert!(op.is_object(), "{method} {full}");
        assert_eq!(op["security"][0]["bearer"], json!([]), "{method} {full}");
        for status in ["401", "404", "422", "429"] {
            assert!(
                op["responses"][status]["content"]["application/problem+json"].is_object(),
                "{method} {full} {status}"
            );
        }
    }
    let seed_params = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][format!("{API}{path}")][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (path, method, names) in [
        ("/reconcile", "post", &["target_date"][..]),
        ("/track-outcomes", "post", &["as_of_date"]),
        (
            "/matches",
            "get",
            &["start_date", "end_date", "match_type", "symbol"],
        ),
        (
            "/matches/{id}/reason",
            "patch",
            &["reason_code", "reason_text"],
        ),
        ("/weekly-summaries", "get", &["year", "limit"]),
        ("/weekly-summaries/generate", "post", &["year", "week"]),
        (
            "/weekly-summaries/{year}/{week}/review",
            "patch",
            &["review_notes", "review_status"],
        ),
        (
            "/v4-candidates/{id}/decide",
            "post",
            &["decision", "reason"],
        ),
        ("/analytics/divergence-rate", "get", &["days"]),
    ] {
        let have = seed_params(path, method);
        for n in names {
            assert!(have.contains(*n), "{path} lacks the seed's {n}");
        }
    }
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part.chars().take_while(|c| *c != '"').collect();
        assert!(schemas.contains_key(&name), "dangling $ref {name}");
    }

    // The page works offline: nothing it loads comes from another host.
    let page = api.call("GET", "/api/v1/docs/", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("swagger-ui"));
    let init = api
        .call("GET", "/api/v1/docs/swagger-initializer.js", None, None)
        .await;
    assert_eq!(init.status, StatusCode::OK);
    for a in [&page, &init] {
        assert!(
            !a.text.contains("http://") && !a.text.contains("https://"),
            "{}",
            a.text
        );
    }
    assert!(init.text.contains("/api/v1/openapi.json"));
    assert_eq!(
        serde_json::to_value(rlhf_bot::http::openapi()).unwrap(),
        doc,
        "the document served is the one generated from the code"
    );
}

// ---------------------------------------------------------------------------------------
// Totals: kept per month by the database, equal to the rows of the list

both!(
    the_totals_equal_the_lists_after_days_are_reconciled_again,
    totals
);

/// The kept counts (`match_counts`) are the matches grouped by account, month, type and
/// underlying, and the `total` of each filter is the length of the list it selects.
async fn totals_agree(api: &Api, db: &TestDb, when: &str) {
    let counts = |sql: &'static str| async move {
        let rows = sqlx::query(sql).fetch_all(db.store.pool()).await.unwrap();
        rows.iter()
            .map(|r| {
                use sqlx::Row;
                (
                    r.try_get::<i64, _>(0).unwrap(),
                    r.try_get::<String, _>(1).unwrap(),
                    r.try_get::<String, _>(2).unwrap(),
                    r.try_get::<String, _>(3).unwrap(),
                    r.try_get::<i64, _>(4).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let kept = counts(
        "SELECT account_id, month, match_type, underlying, n FROM match_counts \
         ORDER BY account_id, month, match_type, underlying",
    )
    .await;
    let grouped = counts(
        "SELECT account_id, substr(day, 1, 7), match_type, underlying, COUNT(*) \
         FROM recommendation_execution_matches \
         GROUP BY account_id, substr(day, 1, 7), match_type, underlying \
         ORDER BY account_id, substr(day, 1, 7), match_type, underlying",
    )
    .await;
    assert_eq!(kept, grouped, "{when}: the kept counts are the rows'");
    assert!(!kept.is_empty());
    for query in [
        "",
        "match_type=modify",
        "match_type=reject",
        "symbol=AAPL",
        "symbol=ZM",
        "start_date=2025-01-06",
        "end_date=2025-01-31",
        "start_date=2025-01-01&end_date=2025-01-31",
        "start_date=2025-01-07&end_date=2025-01-20&match_type=consent",
        "start_date=2024-12-15&end_date=2025-02-10",
        "start_date=2025-02-01",
        "start_date=2025-01-31&symbol=ZM",
    ] {
        // `limit=1` makes every page count (a first page holding it all is its count).
        let page = api
            .get(&format!("/matches?limit=1&{query}"), &api.all)
            .await
            .ok();
        let mut listed = 0;
        let mut cursor = String::new();
        loop {
            let p = api
                .get(&format!("/matches?limit=500&{query}{cursor}"), &api.all)
                .await
                .ok();
            listed += p["items"].as_array().unwrap().len();
            match p["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(page["total"], listed, "{when}: total of ?{query}");
        let mine = api
            .get(&format!("/matches?limit=1&{query}"), &api.a)
            .await
            .ok();
        let a_only = api
            .get(&format!("/matches?limit=500&account={A}&{query}"), &api.all)
            .await
            .ok();
        assert_eq!(mine["total"], a_only["total"], "{when}: ?{query} of A");
    }
}

async fn totals(db: &TestDb) {
    let api = api(db).await;
    the_sample_through_the_api(&api).await;
    b_has_a_match(&api).await;
    totals_agree(&api, db, "after the sample").await;

    // A recommendation on Friday 2025-01-31 that no trade answers is rejected when its
    // window closes on Monday 2025-02-03 (a row in February) ...
    let zm = json!({
        "external_id": "late-zm", "created_at": "2025-01-31T07:00:00-08:00",
        "action": "sell_to_open", "underlying": "ZM", "right": "put", "strike": 70,
        "expiration": "2025-02-21", "contracts": 2, "premium": 1.1
    });
    api.push("/recommendations", &api.a, zm).await.ok();
    for day in ["2025-01-31", "2025-02-03"] {
        api.send("POST", &format!("/reconcile?target_date={day}"), &api.a)
            .await
            .ok();
    }
    let rejected = api
        .get("/matches?symbol=ZM&match_type=reject", &api.a)
        .await
        .ok();
    assert_eq!(rejected["total"], 1, "{rejected}");
    assert_eq!(rejected["items"][0]["day"], "2025-02-03", "{rejected}");
    totals_agree(&api, db, "after the rejection").await;

    // ... then a late import shows the trader took it on Friday with fewer contracts,
    // and another trade of the day: re-running Friday moves the row back to January as
    // a modification, and adds an independent trade.
    for (r, strike, contracts) in [("late-zm-fill", 70, 1), ("late-zm-other", 60, 1)] {
        let exec = json!({
            "broker_ref": r, "executed_at": "2025-01-31T08:00:00-08:00",
            "action": "sell_to_open", "underlying": "ZM", "right": "put", "strike": strike,
            "expiration": "2025-02-21", "contracts": contracts, "price": 1.0
        });
        api.push("/executions", &api.a, exec).await.ok();
    }
    api.send("POST", "/reconcile?target_date=2025-01-31", &api.a)
        .await
        .ok();
    api.send("POST", "/reconcile?target_date=2025-02-03", &api.a)
        .await
        .ok();
    let zm = api.get("/matches?symbol=ZM", &api.a).await.ok();
    let types: BTreeSet<&str> = zm["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["match_type"].as_str().unwrap())
        .collect();
    assert!(!types.contains("reject"), "{zm}");
    assert!(
        zm["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["day"] == "2025-01-31"),
        "{zm}"
    );
    assert_eq!(zm["total"], 2, "{zm}");
    totals_agree(&api, db, "after re-running the days").await;

    // Re-running the whole month changes nothing.
    for day in 2..=31 {
        api.send(
            "POST",
            &format!("/reconcile?target_date=2025-01-{day:02}"),
            &api.a,
        )
        .await
        .ok();
    }
    totals_agree(&api, db, "after re-running January").await;
}

// ---------------------------------------------------------------------------------------
// Serving: `serve` on a real listener, `run` beside the bot

/// The status of the first answer from `url`, trying for five seconds while the
/// server starts.
async fn once_listening(client: &reqwest::Client, url: &str) -> Option<reqwest::StatusCode> {
    for _ in 0..100 {
        if let Ok(r) = client.get(url).send().await {
            return Some(r.status());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

/// Waits for a server task to end well after its stop signal.
async fn stops_within_15s<T, E: std::fmt::Debug>(
    task: tokio::task::JoinHandle<Result<T, E>>,
    what: &str,
) {
    tokio::time::timeout(std::time::Duration::from_secs(15), task)
        .await
        .unwrap_or_else(|_| panic!("{what} stops after the signal"))
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finishes_requests_in_flight_then_stops() {
    let db = TestDb::sqlite().await;
    let s = settings(&db, &[]);
    let app = App::quiet(db.store.clone(), Arc::new(s.clone()));
    let (_, token) = app
        .create_token(Some(AccountId(A)), "t", false, common::now())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(rlhf_bot::startup::serve_on(s, listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A large push, in flight when the signal comes, is still answered in full.
    let items: Vec<Value> = (0..3000).map(|i| rec(&format!("big-{i}"), 150.0)).collect();
    let push = client
        .post(format!("{base}{API}/recommendations"))
        .bearer_auth(&token)
        .json(&items)
        .send();
    let pushing = tokio::spawn(push);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    stop.send(()).unwrap();
    let answer = pushing.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["imported"], 3000);
    stops_within_15s(serving, "serve").await;
    assert!(
        client.get(format!("{base}/health")).send().await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_the_api_on_the_webhooks_listener() {
    let db = TestDb::sqlite().await;
    let fake = common::telegram::FakeTelegram::start().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://{listen}/hook");
    let s = settings(
        &db,
        &[
            ("TELOXIDE_TOKEN", "123:TEST"),
            ("TELOXIDE_API_URL", &fake.url()),
            ("WEBHOOK_URL", &url),
            ("WEBHOOK_LISTEN", &listen),
            ("WEBHOOK_SECRET", "sesame_42"),
            ("API_LISTEN", &listen),
        ],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(rlhf_bot::startup::run_until(s, async {
        let _ = stopped.await;
    }));
    fake.wait_for("setWebhook", 1).await;
    let client = reqwest::Client::new();
    assert_eq!(
        once_listening(&client, &format!("http://{listen}/health")).await,
        Some(reqwest::StatusCode::OK)
    );
    let refused = client
        .get(format!("http://{listen}{API}/matches"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // The webhook still takes updates with its secret on the same port.
    let mut update = common::telegram::private_message(123_456_789, "/help");
    update["update_id"] = json!(1);
    let hook = client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "sesame_42")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 200);
    fake.wait_for("sendMessage", 1).await;
    stop.send(()).unwrap();
    stops_within_15s(running, "run").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_the_api_on_api_listen_beside_long_polling() {
    let db = TestDb::sqlite().await;
    let fake = common::telegram::FakeTelegram::start().await;
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let s = settings(
        &db,
        &[
            ("TELOXIDE_TOKEN", "123:TEST"),
            ("TELOXIDE_API_URL", &fake.url()),
            ("API_LISTEN", &listen),
        ],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(rlhf_bot::startup::run_until(s, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    assert_eq!(
        once_listening(&client, &format!("http://{listen}/ready")).await,
        Some(reqwest::StatusCode::OK)
    );
    let refused = client
        .get(format!("http://{listen}{API}/v4-candidates"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    stop.send(()).unwrap();
    stops_within_15s(running, "run").await;
    assert!(
        client
            .get(format!("http://{listen}/health"))
            .send()
            .await
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------
// Tokens from the command line

#[test]
fn tokens_are_printed_once_stored_as_hashes_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf-bot"))
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, err) = run(&["tokens", "create", "--account", "42", "--name", "algo"]);
    assert_eq!(code, Some(0), "{err}");
    let token = out.lines().last().unwrap().to_owned();
    assert!(token.starts_with("rlhf_1_") && token.len() > 40, "{out}");
    assert!(err.contains("only this once"), "{err}");
    let (_, list, _) = run(&["tokens", "list"]);
    assert!(
        list.contains("account 42") && list.contains("algo"),
        "{list}"
    );
    assert!(!list.contains(&token[7..]), "the secret is never listed");
    let (_, json, _) = run(&["tokens", "list", "--json"]);
    assert!(!json.contains(&token[7..]));
    let db = std::fs::read(dir.path().join("t.db")).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the database holds no secret"
    );
    let (code, _, err) = run(&["tokens", "create"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, _) = run(&["tokens", "create", "--all-accounts", "--read-only"]);
    assert_eq!(code, Some(0));
    let (code, out, _) = run(&["tokens", "revoke", "1"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("revoked"), "{out}");
    let (code, _, err) = run(&["tokens", "revoke", "99"]);
    assert_eq!(code, Some(1));
    assert_eq!(err.trim(), "error: there is no API token 99");
}

#[tokio::test]
async fn a_revoked_or_wrong_token_does_not_authenticate() {
    let db = TestDb::sqlite().await;
    let app = App::quiet(db.store.clone(), Arc::new(settings(&db, &[])));
    let (t, bearer) = app
        .create_token(Some(AccountId(A)), "x", true, common::now())
        .await
        .unwrap();
    let caller = app.authenticate(&bearer).await.unwrap().unwrap();
    assert_eq!(caller.account, Some(AccountId(A)));
    assert!(caller.read_only);
    let mut wrong = bearer.clone();
    wrong.pop();
    wrong.push(if bearer.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(app.authenticate(&wrong).await.unwrap(), None);
    assert_eq!(app.authenticate("").await.unwrap(), None);
    app.revoke_token(t.id, common::now()).await.unwrap();
    assert_eq!(app.authenticate(&bearer).await.unwrap(), None);
}
