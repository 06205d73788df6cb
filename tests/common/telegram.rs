//! A fake Telegram Bot API on loopback, for tests and benchmarks that drive the real
//! dispatcher (or the sender) through real HTTP.
//!
//! It serves `POST /bot<TOKEN>/<method>` on `127.0.0.1:<random port>` with plausible
//! `{"ok":true,"result":...}` answers, records every request (method and body as JSON;
//! multipart bodies become an object of their text fields, files as `"<file N bytes>"`),
//! serves updates queued by the test through `getUpdates` (long poll capped at
//! [`LONG_POLL_CAP`], `offset` honoured), serves files the test stored
//! ([`FakeTelegram::add_file`]) through `getFile` and `GET /file/bot<TOKEN>/<path>`
//! (recorded as the method `downloadFile`), and answers scripted faults per method.
//!
//! ```ignore
//! let fake = FakeTelegram::start().await;
//! let bot = fake.bot(); // Throttle<Bot> pointed at the fake, limits out of the way
//! fake.push_update(private_message(42, "/start"));
//! let sent = fake.wait_for("sendMessage", 1).await;
//! fake.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 });
//! ```
//!
//! Note for fault tests: teloxide's client sleeps 10 s after any 5xx before it returns
//! the error, so a `Fault::Status(500)` costs a test ten seconds. A fake can be started
//! on a chosen port ([`FakeTelegram::start_on`]) after the bot began knocking on it, to
//! test a Bot API that refuses connections for the first seconds.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use teloxide::Bot;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use tokio::sync::Notify;

/// The token every test bot uses.
pub const TOKEN: &str = "123:TEST";
/// The bot's own user id (the part of [`TOKEN`] before the colon).
pub const BOT_ID: i64 = 123;
/// The longest a `getUpdates` call waits for an update, whatever `timeout` it asked for,
/// so a dispatcher shuts down quickly at the end of a test.
pub const LONG_POLL_CAP: Duration = Duration::from_millis(300);
/// The `date` of every message and update the fake makes (2025-02-03T15:00:00Z).
pub const DATE: i64 = 1_738_594_800;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The Bot API method, e.g. `sendMessage`.
    pub method: String,
    /// The parameters: the JSON body, or the text fields of a multipart body.
    pub body: Value,
    /// The fault answered instead of a normal result, if one was scripted.
    pub fault: Option<Fault>,
}

impl Recorded {
    /// A string parameter (`text`, `chat_id` as text, `callback_query_id`, ...).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.body.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The `reply_markup.inline_keyboard` callback data of every button, row by row.
    pub fn callback_data(&self) -> Vec<Vec<String>> {
        let markup = match self.body.get("reply_markup") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        markup["inline_keyboard"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .map(|b| {
                                b.iter()
                                    .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A scripted answer that replaces the next normal answer of one method.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// HTTP 429 with `parameters.retry_after`.
    TooManyRequests { retry_after: u32 },
    /// An HTTP error status (500, 502, ...) with an error body.
    Status(u16),
    /// Wait this long, then answer normally (longer than the client timeout: a time-out).
    Delay(Duration),
    /// HTTP 400 `Bad Request: message is not modified: ...`.
    NotModified,
    /// HTTP 400 with this description (after `Bad Request: `).
    BadRequest(String),
    /// HTTP 403 `Forbidden: bot was blocked by the user`.
    Blocked,
    /// The connection breaks in the middle of the answer (as a reset connection does);
    /// the request is not carried out.
    Reset,
}

struct Inner {
    requests: Mutex<Vec<Recorded>>,
    /// Requests per method, so waiting for a count does not copy the log.
    counts: Mutex<HashMap<String, usize>>,
    requested: Notify,
    updates: Mutex<VecDeque<Value>>,
    updated: Notify,
    next_update_id: AtomicI64,
    next_message_id: AtomicI64,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    /// Files by `file_id`, for `getFile` and the download route.
    files: Mutex<HashMap<String, Vec<u8>>>,
}

/// The fake server. Dropping it stops it.
pub struct FakeTelegram {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    /// Starts a server on `127.0.0.1:0`.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A port on loopback nothing listens on (yet): requests to it are refused until
    /// [`Self::start_on`] starts a fake there.
    pub fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        l.local_addr().expect("local addr").port()
    }

    /// The URL of a fake that would listen on `port`.
    pub fn url_on(port: u16) -> String {
        format!("http://127.0.0.1:{port}/")
    }

    /// Starts a server on `127.0.0.1:port` (`0`: any free port).
    pub async fn start_on(port: u16) -> Self {
        Self::start_failing_on(port, &[]).await
    }

    /// Starts a server on `127.0.0.1:port` whose first answers are the faults given
    /// (queued before the first request can arrive, as [`Self::fail_next`] would).
    pub async fn start_failing_on(port: u16, faults: &[(&str, Fault)]) -> Self {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            counts: Mutex::new(HashMap::new()),
            requested: Notify::new(),
            updates: Mutex::new(VecDeque::new()),
            updated: Notify::new(),
            next_update_id: AtomicI64::new(1),
            next_message_id: AtomicI64::new(1000),
            faults: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
        });
        for (method, fault) in faults {
            inner
                .faults
                .lock()
                .unwrap()
                .entry((*method).to_owned())
                .or_default()
                .push_back(fault.clone());
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the fake Bot API");
        let addr = listener.local_addr().expect("local addr");
        let state = inner.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { handle(state, uri, headers, body).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner, task }
    }

    /// The base URL to give teloxide (`http://127.0.0.1:PORT/`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// A plain `Bot` with [`TOKEN`] pointed at the fake.
    pub fn plain_bot(&self) -> Bot {
        let url = serde_json::from_value(json!(self.url())).expect("a valid URL");
        Bot::new(TOKEN).set_api_url(url)
    }

    /// A plain `Bot` pointed at the fake whose HTTP client gives up after `timeout`.
    pub fn plain_bot_with_timeout(&self, timeout: Duration) -> Bot {
        let client = teloxide::net::default_reqwest_settings()
            .timeout(timeout)
            .build()
            .expect("an HTTP client");
        let url = serde_json::from_value(json!(self.url())).expect("a valid URL");
        Bot::with_client(TOKEN, client).set_api_url(url)
    }

    /// The bot as the program uses it (`Throttle<Bot>`), with limits high enough that
    /// throttling never slows a test.
    pub fn bot(&self) -> Throttle<Bot> {
        Throttle::new_spawn(self.plain_bot(), generous_limits())
    }

    /// Queues an update (from the builders below) for `getUpdates`; its `update_id` is set
    /// here.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = self.inner.next_update_id.fetch_add(1, Ordering::SeqCst);
        update["update_id"] = json!(id);
        self.inner.updates.lock().unwrap().push_back(update);
        self.inner.updated.notify_waiters();
        id
    }

    /// How many updates are queued and not yet confirmed by an `offset`.
    pub fn pending_updates(&self) -> usize {
        self.inner.updates.lock().unwrap().len()
    }

    /// Answers the next call of `method` with `fault` instead of a normal result (faults
    /// of one method are used in the order given).
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.inner
            .faults
            .lock()
            .unwrap()
            .entry(method.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// Stores a file the bot may fetch: `getFile` with `file_id` answers its path
    /// (`documents/<file_id>`) and size, and the download route serves `bytes`.
    pub fn add_file(&self, file_id: &str, bytes: &[u8]) {
        self.inner
            .files
            .lock()
            .unwrap()
            .insert(file_id.to_owned(), bytes.to_vec());
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// The requests of one method so far.
    pub fn requests_of(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    /// How many requests of `method` arrived so far.
    pub fn count(&self, method: &str) -> usize {
        self.inner
            .counts
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Waits (up to 10 s) until at least `n` requests of `method` have arrived, and
    /// returns all of them; panics with the methods seen when they do not come.
    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<Recorded> {
        self.wait_for_within(method, n, Duration::from_secs(10))
            .await
    }

    /// [`Self::wait_for`] with a chosen timeout.
    pub async fn wait_for_within(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.requested.notified();
            let seen = self.count(method);
            if seen >= n {
                return self.requests_of(method);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let methods: Vec<String> = self.requests().into_iter().map(|r| r.method).collect();
                panic!(
                    "waited {timeout:?} for {n} `{method}` requests, got {seen}; all requests: {methods:?}"
                );
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Waits until every queued update has been fetched and confirmed (the dispatcher
    /// asked for a later `offset`), so its handling has at least started.
    pub async fn wait_updates_taken(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.pending_updates() > 0 {
            assert!(
                Instant::now() < deadline,
                "updates were not taken by getUpdates within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Throttle limits no test reaches.
pub fn generous_limits() -> Limits {
    Limits {
        messages_per_sec_chat: 10_000,
        messages_per_min_chat: 1_000_000,
        messages_per_min_channel_or_supergroup: 1_000_000,
        messages_per_sec_overall: 10_000,
    }
}

/// A text message from user `user_id` in their private chat with the bot.
pub fn private_message(user_id: i64, text: &str) -> Value {
    json!({
        "message": {
            "message_id": 1,
            "date": DATE,
            "chat": { "id": user_id, "type": "private", "first_name": "Trader" },
            "from": user(user_id),
            "text": text,
            "entities": command_entities(text),
        }
    })
}

/// A photo (no text) from user `user_id` in their private chat with the bot.
pub fn private_photo(user_id: i64) -> Value {
    json!({
        "message": {
            "message_id": 1,
            "date": DATE,
            "chat": { "id": user_id, "type": "private", "first_name": "Trader" },
            "from": user(user_id),
            "photo": [{
                "file_id": "p1", "file_unique_id": "up1", "width": 10, "height": 10
            }],
        }
    })
}

/// A document from user `user_id` in their private chat with the bot, as Telegram
/// announces it (the bytes come later through `getFile` and the download route).
pub fn private_document(user_id: i64, file_id: &str, file_name: &str, size: u64) -> Value {
    json!({
        "message": {
            "message_id": 1,
            "date": DATE,
            "chat": { "id": user_id, "type": "private", "first_name": "Trader" },
            "from": user(user_id),
            "document": {
                "file_id": file_id,
                "file_unique_id": format!("u{file_id}"),
                "file_name": file_name,
                "mime_type": "text/csv",
                "file_size": size,
            },
        }
    })
}

/// A text message from user `user_id` in the group `chat_id` (negative).
pub fn group_message(chat_id: i64, user_id: i64, text: &str) -> Value {
    json!({
        "message": {
            "message_id": 1,
            "date": DATE,
            "chat": { "id": chat_id, "type": "group", "title": "A group" },
            "from": user(user_id),
            "text": text,
            "entities": command_entities(text),
        }
    })
}

/// A tap by `user_id` on a button with `data` under the bot's message `message_id` in
/// chat `chat_id` (the user's id for a private chat).
pub fn callback_query(user_id: i64, chat_id: i64, message_id: i64, data: &str) -> Value {
    let chat = if chat_id > 0 {
        json!({ "id": chat_id, "type": "private", "first_name": "Trader" })
    } else {
        json!({ "id": chat_id, "type": "group", "title": "A group" })
    };
    json!({
        "callback_query": {
            "id": format!("cb{}", rand_id()),
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": DATE,
                "chat": chat,
                "from": bot_user(),
                "text": "a card",
            }
        }
    })
}

fn rand_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn user(id: i64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": "Trader", "username": format!("u{id}") })
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Test", "username": "test_bot" })
}

/// A `bot_command` entity when the text starts with `/`, as Telegram sends it.
fn command_entities(text: &str) -> Value {
    if !text.starts_with('/') {
        return json!([]);
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let utf16 = text[..end].encode_utf16().count();
    json!([{ "type": "bot_command", "offset": 0, "length": utf16 }])
}

async fn handle(state: Arc<Inner>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("file/") {
        return download(&state, rest);
    }
    let Some((token, method)) = path.split_once('/') else {
        return (StatusCode::NOT_FOUND, "not a Bot API path").into_response();
    };
    if token != format!("bot{TOKEN}") {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // teloxide names methods in UpperCamelCase (`SendMessage`); Telegram ignores case.
    let mut chars = method.chars();
    let method: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let params = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, &body)
    } else if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({ "_raw": String::from_utf8_lossy(&body) }))
    };
    let fault = state
        .faults
        .lock()
        .unwrap()
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    // getUpdates is recorded too, but it would flood the log of requests: only those
    // that carried updates are kept.
    let record = |state: &Inner, fault: Option<Fault>| {
        *state
            .counts
            .lock()
            .unwrap()
            .entry(method.clone())
            .or_default() += 1;
        state.requests.lock().unwrap().push(Recorded {
            method: method.clone(),
            body: params.clone(),
            fault,
        });
        state.requested.notify_waiters();
    };
    match fault {
        Some(Fault::Delay(d)) => {
            record(&state, Some(Fault::Delay(d)));
            tokio::time::sleep(d).await;
        }
        Some(f) => {
            record(&state, Some(f.clone()));
            return fault_response(&f);
        }
        None => {
            if method != "getUpdates" {
                record(&state, None);
            }
        }
    }
    let result = match method.as_str() {
        "getMe" => {
            let mut me = bot_user();
            me["can_join_groups"] = json!(false);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            me
        }
        "getUpdates" => {
            let updates = get_updates(&state, &params).await;
            if !updates.is_empty() {
                record(&state, None);
            }
            Value::Array(updates)
        }
        "sendMessage" => {
            let mut m = message(&state, &params);
            m["text"] = params.get("text").cloned().unwrap_or(json!(""));
            m
        }
        "sendPhoto" => {
            let mut m = message(&state, &params);
            m["photo"] = json!([{
                "file_id": "photo1", "file_unique_id": "u1",
                "width": 800, "height": 500, "file_size": 1000
            }]);
            if let Some(c) = params.get("caption") {
                m["caption"] = c.clone();
            }
            m
        }
        "editMessageText" | "editMessageReplyMarkup" | "editMessageCaption" => {
            if params.get("inline_message_id").is_some() {
                json!(true)
            } else {
                let mut m = message(&state, &params);
                m["message_id"] = params.get("message_id").cloned().unwrap_or(json!(1));
                m["text"] = params.get("text").cloned().unwrap_or(json!("edited"));
                m["edit_date"] = json!(DATE);
                m
            }
        }
        "getFile" => {
            let id = params.get("file_id").and_then(Value::as_str).unwrap_or("");
            let size = state.files.lock().unwrap().get(id).map(Vec::len);
            match size {
                Some(size) => json!({
                    "file_id": id,
                    "file_unique_id": format!("u{id}"),
                    "file_size": size,
                    "file_path": format!("documents/{id}"),
                }),
                None => return error(StatusCode::BAD_REQUEST, "Bad Request: invalid file_id"),
            }
        }
        "getWebhookInfo" => {
            json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })
        }
        _ => json!(true),
    };
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

/// `GET /file/bot<TOKEN>/documents/<file_id>` (teloxide escapes the path's `/`).
fn download(state: &Inner, rest: &str) -> Response {
    let Some((token, file_path)) = rest.split_once('/') else {
        return (StatusCode::NOT_FOUND, "no file path").into_response();
    };
    if token != format!("bot{TOKEN}") {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let file_path = file_path.replace("%2F", "/").replace("%2f", "/");
    let id = file_path
        .strip_prefix("documents/")
        .unwrap_or(&file_path)
        .to_owned();
    *state
        .counts
        .lock()
        .unwrap()
        .entry("downloadFile".to_owned())
        .or_default() += 1;
    state.requests.lock().unwrap().push(Recorded {
        method: "downloadFile".to_owned(),
        body: json!({ "file_path": file_path }),
        fault: None,
    });
    state.requested.notify_waiters();
    match state.files.lock().unwrap().get(&id) {
        Some(bytes) => bytes.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

async fn get_updates(state: &Inner, params: &Value) -> Vec<Value> {
    let offset = params.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let wait = params
        .get("timeout")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(Duration::ZERO)
        .min(LONG_POLL_CAP);
    let limit = params
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let deadline = Instant::now() + wait;
    loop {
        let notified = state.updated.notified();
        {
            let mut queue = state.updates.lock().unwrap();
            // An offset confirms every update before it, as on Telegram.
            while queue
                .front()
                .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset)
            {
                queue.pop_front();
            }
            if !queue.is_empty() {
                return queue.iter().take(limit).cloned().collect();
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Vec::new();
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
}

fn message(state: &Inner, params: &Value) -> Value {
    let chat_id = params
        .get("chat_id")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let chat = if chat_id > 0 {
        json!({ "id": chat_id, "type": "private", "first_name": "Trader" })
    } else {
        json!({ "id": chat_id, "type": "group", "title": "A group" })
    };
    let mut m = json!({
        "message_id": state.next_message_id.fetch_add(1, Ordering::SeqCst),
        "date": DATE,
        "chat": chat,
        "from": bot_user(),
    });
    if let Some(markup) = params.get("reply_markup") {
        let markup = match markup {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            v => v.clone(),
        };
        if markup.get("inline_keyboard").is_some() {
            m["reply_markup"] = markup;
        }
    }
    m
}

fn error(status: StatusCode, description: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "ok": false,
            "error_code": status.as_u16(),
            "description": description,
        })),
    )
        .into_response()
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after}"),
                "parameters": { "retry_after": retry_after },
            })),
        )
            .into_response(),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error(status, status.canonical_reason().unwrap_or("Server Error"))
        }
        Fault::NotModified => error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ),
        Fault::BadRequest(d) => error(StatusCode::BAD_REQUEST, &format!("Bad Request: {d}")),
        Fault::Blocked => error(
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
        ),
        Fault::Reset => {
            // Headers, half a body, then the connection breaks.
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"ok\":tr")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by the fake",
                )),
            ];
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(futures_util::stream::iter(
                    chunks,
                )))
                .expect("a response")
        }
        Fault::Delay(_) => unreachable!("a delay answers normally"),
    }
}

/// The text fields of a multipart body; file parts become `"<file N bytes>"`.
fn parse_multipart(content_type: &str, body: &[u8]) -> Value {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        return json!({});
    };
    let boundary = format!("--{}", boundary.trim_matches('"'));
    let mut fields = serde_json::Map::new();
    for part in split_bytes(body, boundary.as_bytes()) {
        let Some(head_end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        let mut content = &part[head_end + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let Some(name) = attribute(&head, "name") else {
            continue;
        };
        let value = if attribute(&head, "filename").is_some() {
            json!(format!("<file {} bytes>", content.len()))
        } else {
            let text = String::from_utf8_lossy(content).into_owned();
            // teloxide sends numbers and objects JSON-encoded inside text parts.
            serde_json::from_str::<Value>(&text)
                .ok()
                .filter(|v| !v.is_string())
                .unwrap_or(Value::String(text))
        };
        fields.insert(name, value);
    }
    // teloxide sends files as `"photo": "attach://<part>"` plus a part of that name.
    let attached: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.strip_prefix("attach://")?.to_owned())))
        .collect();
    for (field, part) in attached {
        if let Some(file) = fields.remove(&part) {
            fields.insert(field, file);
        }
    }
    Value::Object(fields)
}

fn attribute(head: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = head
        .find(&format!(" {key}"))
        .or_else(|| head.find(&format!(";{key}")))?
        + 1
        + key.len();
    let end = head[start..].find('"')?;
    Some(head[start..start + end].to_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(i) = find(rest, boundary) {
        parts.push(&rest[..i]);
        rest = &rest[i + boundary.len()..];
    }
    parts.into_iter().skip(1).collect()
}
