//! The outbox and its sender, against the fake Bot API on loopback: order per chat,
//! 429 / 5xx / time-outs, a permanent 400, a restart, two senders.

mod common;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use rlhf_bot::bot::sender::{Sender, SenderConfig, ThrottledBot};
use rlhf_bot::bot::{Button, Outgoing};
use rlhf_bot::domain::AccountId;
use rlhf_bot::domain::SystemClock;
use rlhf_bot::store::{NewMessage, Store};
use teloxide::adaptors::Throttle;

use common::TestDb;
use common::telegram::{FakeTelegram, Fault, TOKEN, generous_limits, private_message};
use rlhf_bot::config::Settings;

fn text(html: &str) -> Outgoing {
    Outgoing::Text {
        html: html.to_owned(),
        keyboard: Vec::new(),
    }
}

fn msg(chat: i64, html: &str) -> NewMessage {
    NewMessage {
        account: AccountId(chat),
        dedupe_key: format!("test:{chat}:{html}"),
        kind: rlhf_bot::domain::MessageKind::Reconciliation,
        payload: text(html),
        send_after: Utc::now() - Duration::seconds(1),
    }
}

fn config() -> SenderConfig {
    SenderConfig {
        poll: StdDuration::from_millis(50),
        lease: Duration::seconds(30),
        backoff: Duration::milliseconds(200),
        max_backoff: Duration::seconds(2),
    }
}

fn sender(store: &Store, bot: ThrottledBot, config: SenderConfig) -> Sender {
    Sender::new(store.clone(), bot, config, Arc::new(SystemClock))
}

/// Drains until no message is waiting to be sent (sent or parked), at most 30 s.
async fn drain_all(sender: &Sender, store: &Store) {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        sender.drain().await.unwrap();
        let waiting = store
            .outbox(None)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.sent_at.is_none() && m.parked_at.is_none())
            .count();
        if waiting == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} message(s) still waiting"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// The texts the fake accepted (no fault answered) for `chat`, in arrival order.
fn delivered(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.requests_of("sendMessage")
        .into_iter()
        .filter(|r| r.fault.is_none() && r.str("chat_id") == Some(chat.to_string()))
        .filter_map(|r| r.str("text"))
        .collect()
}

async fn enqueuing_a_dedupe_key_twice_keeps_one_message(db: &TestDb) {
    let now = Utc::now();
    let first = db
        .store
        .enqueue(&[msg(7, "a"), msg(7, "b")], now)
        .await
        .unwrap();
    let again = db
        .store
        .enqueue(&[msg(7, "a"), msg(7, "c")], now)
        .await
        .unwrap();
    assert_eq!((first, again), (2, 1));
    let keys: Vec<String> = db
        .store
        .outbox(None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.dedupe_key)
        .collect();
    assert_eq!(keys, ["test:7:a", "test:7:b", "test:7:c"]);
}
both!(
    enqueuing_a_dedupe_key_twice_keeps_one_message,
    enqueuing_a_dedupe_key_twice_keeps_one_message
);

async fn each_chat_gets_its_messages_once_and_in_order(db: &TestDb) {
    let fake = FakeTelegram::start().await;
    let mut messages: Vec<NewMessage> = Vec::new();
    for i in 0..4 {
        messages.push(msg(1, &format!("one {i}")));
        messages.push(msg(2, &format!("two {i}")));
    }
    let mut keyboard = msg(1, "with buttons");
    keyboard.payload = Outgoing::Text {
        html: "with buttons".to_owned(),
        keyboard: vec![vec![Button {
            text: "Timing".to_owned(),
            data: "r:1:timing".to_owned(),
        }]],
    };
    messages.push(keyboard);
    let mut photo = msg(2, "photo");
    photo.payload = Outgoing::Photo {
        png_base64: "iVBORw0KGgo=".to_owned(),
        caption: "<b>chart</b>".to_owned(),
    };
    messages.push(photo);
    db.store.enqueue(&messages, Utc::now()).await.unwrap();
    let s = sender(&db.store, fake.bot(), config());
    drain_all(&s, &db.store).await;
    assert_eq!(
        delivered(&fake, 1),
        ["one 0", "one 1", "one 2", "one 3", "with buttons"]
    );
    assert_eq!(delivered(&fake, 2), ["two 0", "two 1", "two 2", "two 3"]);
    let with_buttons = fake
        .requests_of("sendMessage")
        .into_iter()
        .find(|r| r.str("text").as_deref() == Some("with buttons"))
        .unwrap();
    assert_eq!(with_buttons.callback_data(), [["r:1:timing"]]);
    assert_eq!(with_buttons.str("parse_mode").as_deref(), Some("HTML"));
    let photos = fake.requests_of("sendPhoto");
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].str("caption").as_deref(), Some("<b>chart</b>"));
    // Sending again sends nothing: every message is marked sent.
    assert_eq!(s.drain().await.unwrap().sent, 0);
    assert_eq!(fake.count("sendMessage"), 9);
}
both!(
    each_chat_gets_its_messages_once_and_in_order,
    each_chat_gets_its_messages_once_and_in_order
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_for_at_least_retry_after_and_order_is_kept() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 });
    db.store
        .enqueue(&[msg(5, "first"), msg(5, "second")], Utc::now())
        .await
        .unwrap();
    let s = sender(&db.store, fake.bot(), config());
    let started = Instant::now();
    drain_all(&s, &db.store).await;
    let waited = started.elapsed();
    println!("retry_after 1 s: both messages sent after {waited:?}");
    assert!(
        waited >= StdDuration::from_secs(1),
        "waited only {waited:?}"
    );
    assert_eq!(delivered(&fake, 5), ["first", "second"]);
    assert_eq!(
        fake.count("sendMessage"),
        3,
        "the refused try, then one each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_retried_and_the_chat_waits_for_it() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", Fault::Status(502));
    db.store
        .enqueue(&[msg(5, "first"), msg(5, "second")], Utc::now())
        .await
        .unwrap();
    let s = sender(&db.store, fake.bot(), config());
    let report = s.drain().await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 1));
    let first = &db.store.outbox(None).await.unwrap()[0];
    assert_eq!(first.attempts, 1);
    assert!(first.sent_at.is_none() && first.parked_at.is_none());
    assert!(first.last_error.is_some());
    assert!(
        delivered(&fake, 5).is_empty(),
        "the second waits for the first"
    );
    drain_all(&s, &db.store).await;
    assert_eq!(delivered(&fake, 5), ["first", "second"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_is_sent_again_before_the_next_message() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", Fault::Delay(StdDuration::from_millis(1500)));
    db.store
        .enqueue(&[msg(5, "first"), msg(5, "second")], Utc::now())
        .await
        .unwrap();
    let bot = Throttle::new_spawn(
        fake.plain_bot_with_timeout(StdDuration::from_millis(300)),
        generous_limits(),
    );
    let s = sender(&db.store, bot, config());
    drain_all(&s, &db.store).await;
    assert_eq!(delivered(&fake, 5), ["first", "second"]);
    // The timed-out request did reach the fake: the at-least-once window of a time-out.
    let firsts = fake
        .requests_of("sendMessage")
        .into_iter()
        .filter(|r| r.str("text").as_deref() == Some("first"))
        .count();
    assert_eq!(firsts, 2);
    assert!(
        db.store.outbox(None).await.unwrap()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| !e.contains("TEST")),
        "the error is stored without the token"
    );
}

async fn a_refused_message_is_parked_and_the_chat_goes_on(db: &TestDb) {
    let fake = FakeTelegram::start().await;
    fake.fail_next(
        "sendMessage",
        Fault::BadRequest("can't parse entities: unclosed tag".to_owned()),
    );
    db.store
        .enqueue(&[msg(5, "<b>broken"), msg(5, "fine")], Utc::now())
        .await
        .unwrap();
    let s = sender(&db.store, fake.bot(), config());
    let report = s.drain().await.unwrap();
    assert_eq!((report.sent, report.parked), (1, 1));
    let rows = db.store.outbox(None).await.unwrap();
    assert!(rows[0].parked_at.is_some() && rows[0].sent_at.is_none());
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("can't parse entities")
    );
    assert!(rows[1].sent_at.is_some());
    assert_eq!(delivered(&fake, 5), ["fine"]);
    // A parked message is never tried again.
    s.drain().await.unwrap();
    assert_eq!(fake.count("sendMessage"), 2);
}
both!(
    a_refused_message_is_parked_and_the_chat_goes_on,
    a_refused_message_is_parked_and_the_chat_goes_on
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_stored_picture_is_parked_without_a_request() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let mut photo = msg(5, "photo");
    photo.payload = Outgoing::Photo {
        png_base64: "not base64!".to_owned(),
        caption: "chart".to_owned(),
    };
    db.store
        .enqueue(&[photo, msg(5, "after")], Utc::now())
        .await
        .unwrap();
    let s = sender(&db.store, fake.bot(), config());
    let report = s.drain().await.unwrap();
    assert_eq!((report.sent, report.parked), (1, 1));
    let parked = &db.store.outbox(None).await.unwrap()[0];
    assert!(parked.last_error.as_deref().unwrap().contains("not base64"));
    assert_eq!(fake.count("sendPhoto"), 0);
    assert_eq!(delivered(&fake, 5), ["after"]);
}

async fn a_restarted_sender_sends_what_was_pending_and_nothing_twice(db: &TestDb) {
    let fake = FakeTelegram::start().await;
    db.store.enqueue(&[msg(9, "m0")], Utc::now()).await.unwrap();
    {
        let before = sender(&db.store, fake.bot(), config());
        drain_all(&before, &db.store).await;
    }
    db.store
        .enqueue(&[msg(9, "m1"), msg(9, "m2"), msg(9, "m3")], Utc::now())
        .await
        .unwrap();
    // The process dies right after claiming m1, before it reached Telegram.
    let m1 = db.store.outbox_head(AccountId(9)).await.unwrap().unwrap();
    let now = Utc::now();
    assert!(
        db.store
            .claim_message(m1.id, now, now + Duration::seconds(1))
            .await
            .unwrap()
    );
    // A new process: its own connection, its own sender.
    let store = Store::open(&db.url).await.unwrap();
    let after = sender(&store, fake.bot(), config());
    assert_eq!(after.drain().await.unwrap().sent, 0, "m1 is still claimed");
    drain_all(&after, &store).await;
    assert_eq!(delivered(&fake, 9), ["m0", "m1", "m2", "m3"]);
    assert_eq!(fake.count("sendMessage"), 4);
    store.close().await;
}
both!(
    a_restarted_sender_sends_what_was_pending_and_nothing_twice,
    a_restarted_sender_sends_what_was_pending_and_nothing_twice
);

async fn two_senders_on_one_outbox_send_each_message_once(db: &TestDb) {
    let fake = FakeTelegram::start().await;
    let mut messages = Vec::new();
    for i in 0..10 {
        for chat in [1, 2, 3] {
            messages.push(msg(chat, &format!("{chat}-{i}")));
        }
    }
    db.store.enqueue(&messages, Utc::now()).await.unwrap();
    let other = Store::open(&db.url).await.unwrap();
    let a = sender(&db.store, fake.bot(), config());
    let b = sender(&other, fake.bot(), config());
    let started = Instant::now();
    tokio::join!(drain_all(&a, &db.store), drain_all(&b, &other));
    println!(
        "30 messages in 3 chats by two senders: {:?}",
        started.elapsed()
    );
    for chat in [1, 2, 3] {
        let expected: Vec<String> = (0..10).map(|i| format!("{chat}-{i}")).collect();
        assert_eq!(delivered(&fake, chat), expected);
    }
    assert_eq!(fake.count("sendMessage"), 30);
    other.close().await;
}
both!(
    two_senders_on_one_outbox_send_each_message_once,
    two_senders_on_one_outbox_send_each_message_once
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sender_delivers_new_messages_and_stops_on_shutdown() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let s = sender(&db.store, fake.bot(), config());
    let task = tokio::spawn(s.run(shutdown));
    db.store
        .enqueue(&[msg(4, "hello")], Utc::now())
        .await
        .unwrap();
    fake.wait_for("sendMessage", 1).await;
    stop.send(true).unwrap();
    tokio::time::timeout(StdDuration::from_secs(5), task)
        .await
        .expect("the sender stops")
        .unwrap();
    assert_eq!(delivered(&fake, 4), ["hello"]);
}

// ---------------------------------------------------------------------------------------
// `rlhf-bot run`: the bot, the scheduler and the sender in one process.

fn run_settings(db: &TestDb, fake: &FakeTelegram, extra: &[(&str, String)]) -> Settings {
    let mut env: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", db.url.clone()),
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", fake.url()),
        ("ALLOWED_USER_IDS", "42".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), v.clone());
    }
    Settings::from_lookup(|k| env.get(k).cloned()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_chats_sends_the_outbox_and_stops_on_the_signal() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    // Left over from before a restart.
    db.store
        .enqueue(&[msg(42, "waiting since yesterday")], Utc::now())
        .await
        .unwrap();
    let settings = run_settings(&db, &fake, &[]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(rlhf_bot::startup::run_until(settings, async {
        let _ = stopped.await;
    }));
    fake.wait_for("sendMessage", 1).await;
    assert_eq!(delivered(&fake, 42), ["waiting since yesterday"]);
    // The sender starts at once; the menu is registered once Telegram answered getMe,
    // which may come a moment after the first delivery.
    fake.wait_for("setMyCommands", 1).await;
    assert_eq!(fake.count("setMyCommands"), 1, "the menu is registered");
    fake.push_update(private_message(42, "/help"));
    fake.wait_for("sendMessage", 2).await;
    stop.send(()).unwrap();
    let started = Instant::now();
    tokio::time::timeout(StdDuration::from_secs(15), running)
        .await
        .expect("run stops after the signal")
        .unwrap()
        .unwrap();
    println!("run stopped {:?} after the signal", started.elapsed());
    let sent = db.store.outbox(None).await.unwrap();
    assert!(sent[0].sent_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_takes_updates_only_with_the_secret_header() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let settings = run_settings(
        &db,
        &fake,
        &[
            ("WEBHOOK_URL", format!("http://127.0.0.1:{port}/hook")),
            ("WEBHOOK_LISTEN", format!("127.0.0.1:{port}")),
            ("WEBHOOK_SECRET", "sesame_42".to_owned()),
        ],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(rlhf_bot::startup::run_until(settings, async {
        let _ = stopped.await;
    }));
    let set = fake.wait_for("setWebhook", 1).await;
    assert_eq!(set[0].str("secret_token").as_deref(), Some("sesame_42"));
    let mut update = private_message(42, "/help");
    update["update_id"] = serde_json::json!(1);
    let body = update.to_string();
    let refused = post(port, "/hook", &body, None).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let wrong = post(port, "/hook", &body, Some("guess")).await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let taken = post(port, "/hook", &body, Some("sesame_42")).await;
    assert!(taken.starts_with("HTTP/1.1 200"), "{taken}");
    fake.wait_for("sendMessage", 1).await;
    stop.send(()).unwrap();
    tokio::time::timeout(StdDuration::from_secs(15), running)
        .await
        .expect("run stops after the signal")
        .unwrap()
        .unwrap();
}

/// A raw HTTP/1.1 POST (the tests have no HTTP client of their own); returns the answer.
async fn post(port: u16, path: &str, body: &str, secret: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The webhook's server binds its port in a task of its own, just after setWebhook.
    let mut tries = 0;
    let mut stream = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => break s,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            Err(e) => panic!("the webhook does not listen: {e}"),
        }
    };
    let secret = secret
        .map(|s| format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{secret}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[test]
fn run_without_a_token_says_so_in_one_sentence_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf-bot"))
        .arg("run")
        .current_dir(dir.path())
        .env_remove("TELOXIDE_TOKEN")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("t.db").display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "error: TELOXIDE_TOKEN is not set; `rlhf-bot run` needs the bot token from @BotFather (in the environment or in .env)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_cleanly_on_sigterm_and_never_logs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    // A Bot API error that quotes a URL with the token, as a proxy or gateway might.
    fake.fail_next(
        "setMyCommands",
        Fault::BadRequest(format!(
            "no such bot at {}bot{TOKEN}/setMyCommands",
            fake.url()
        )),
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf-bot"))
        .arg("run")
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("t.db").display()),
        )
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", fake.url())
        .env("ALLOWED_USER_IDS", "42")
        .env("RUST_LOG", "trace")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.push_update(private_message(42, "/help"));
    fake.wait_for("sendMessage", 1).await;
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: signalling our own child process by its id.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let started = Instant::now();
    let out = tokio::time::timeout(
        StdDuration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the bot exits after SIGTERM")
    .unwrap()
    .unwrap();
    println!("exited {:?} after SIGTERM", started.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        stderr.contains("bot<token>/setMyCommands"),
        "the error is logged, redacted: {stderr}"
    );
    assert!(!stderr.contains("TEST"), "the token leaked into the log");
}

// ---------------------------------------------------------------------------------------
// Faults (issue 13): a crash mid-send, a slow chat, Telegram away or refusing at start.

/// A clock the test moves by hand.
struct ManualClock(std::sync::Mutex<chrono::DateTime<Utc>>);

impl rlhf_bot::domain::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn set(&self, t: chrono::DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

async fn a_chat_held_by_a_dead_sender_resumes_after_about_the_send_timeout(db: &TestDb) {
    let fake = FakeTelegram::start().await;
    let send_timeout = StdDuration::from_secs(30);
    let config = SenderConfig::for_timeout(send_timeout);
    let lease = config.lease.to_std().unwrap();
    assert!(
        lease > send_timeout && lease <= send_timeout + StdDuration::from_secs(30),
        "a claim lasts about the send time-out, not minutes: {lease:?}"
    );
    let t0 = Utc::now();
    db.store
        .enqueue(&[msg(9, "m1"), msg(9, "m2")], t0)
        .await
        .unwrap();
    // A process claims m1 with the production lease, then dies (kill -9) mid-send.
    let m1 = db.store.outbox_head(AccountId(9)).await.unwrap().unwrap();
    assert!(
        db.store
            .claim_message(m1.id, t0, t0 + config.lease)
            .await
            .unwrap()
    );
    // The restarted process: its own connection, its own sender, a clock we move.
    let store = Store::open(&db.url).await.unwrap();
    let clock = Arc::new(ManualClock(std::sync::Mutex::new(t0)));
    let after = Sender::new(store.clone(), fake.bot(), config, clock.clone());
    // While a live sender could still be waiting for Telegram, the claim holds.
    clock.set(t0 + Duration::from_std(send_timeout).unwrap());
    assert_eq!(after.drain().await.unwrap().sent, 0, "m1 is still claimed");
    assert!(delivered(&fake, 9).is_empty(), "m2 waits for m1");
    // Just past the lease — the send time-out and a margin — the chat goes on, in order.
    clock.set(t0 + config.lease + Duration::seconds(1));
    assert_eq!(after.drain().await.unwrap().sent, 2);
    assert_eq!(delivered(&fake, 9), ["m1", "m2"]);
    store.close().await;
}
both!(
    a_chat_held_by_a_dead_sender_resumes_after_about_the_send_timeout,
    a_chat_held_by_a_dead_sender_resumes_after_about_the_send_timeout
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_waiting_out_a_server_error_does_not_hold_the_other_chats() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", Fault::Status(502));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sender(&db.store, fake.bot(), config()).run(shutdown));
    db.store
        .enqueue(&[msg(1, "slow 1"), msg(1, "slow 2")], Utc::now())
        .await
        .unwrap();
    fake.wait_for("sendMessage", 1).await;
    // Chat 1 is now inside teloxide's 10 s pause after the 502.
    let started = Instant::now();
    db.store
        .enqueue(&[msg(2, "quick")], Utc::now())
        .await
        .unwrap();
    while delivered(&fake, 2).is_empty() {
        assert!(
            started.elapsed() < StdDuration::from_secs(5),
            "chat 2 waited for chat 1"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    println!(
        "chat 2 delivered {:?} into chat 1's pause",
        started.elapsed()
    );
    assert!(delivered(&fake, 1).is_empty(), "chat 1 is still paused");
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while delivered(&fake, 1).len() < 2 {
        assert!(Instant::now() < deadline, "chat 1 never resumed");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(delivered(&fake, 1), ["slow 1", "slow 2"]);
    stop.send(true).unwrap();
    tokio::time::timeout(StdDuration::from_secs(5), task)
        .await
        .expect("the sender stops")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_waits_for_telegram_at_start_then_serves() {
    let db = TestDb::sqlite().await;
    // Nothing listens there yet: connections are refused.
    let port = FakeTelegram::free_port();
    let mut settings = run_settings_at(&db, &FakeTelegram::url_on(port), TOKEN);
    settings.send_timeout = StdDuration::from_secs(1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn(rlhf_bot::startup::run_until(settings, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert!(
        !running.is_finished(),
        "refused connections do not end the start"
    );
    // Telegram comes up, but answers its first getMe with a 502, then too slowly.
    let fake = FakeTelegram::start_failing_on(
        port,
        &[
            ("getMe", Fault::Status(502)),
            ("getMe", Fault::Delay(StdDuration::from_secs(2))),
        ],
    )
    .await;
    let asked = fake
        .wait_for_within("getMe", 3, StdDuration::from_secs(60))
        .await;
    assert_eq!(asked[0].fault, Some(Fault::Status(502)));
    assert!(matches!(asked[1].fault, Some(Fault::Delay(_))));
    assert_eq!(asked[2].fault, None);
    fake.push_update(private_message(42, "/help"));
    fake.wait_for_within("sendMessage", 1, StdDuration::from_secs(30))
        .await;
    println!("served {:?} after the start", started.elapsed());
    assert_eq!(fake.count("setMyCommands"), 1, "the menu is registered");
    stop.send(()).unwrap();
    tokio::time::timeout(StdDuration::from_secs(15), running)
        .await
        .expect("run stops after the signal")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_ends_at_once_when_telegram_refuses_the_token() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let settings = run_settings_at(&db, &fake.url(), "999:WRONG");
    let error = tokio::time::timeout(
        StdDuration::from_secs(10),
        rlhf_bot::startup::run_until(settings, std::future::pending()),
    )
    .await
    .expect("a refused token ends the start")
    .unwrap_err();
    assert!(
        matches!(
            error.downcast_ref::<rlhf_bot::startup::StartupError>(),
            Some(rlhf_bot::startup::StartupError::BadToken)
        ),
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_says_a_refused_token_in_one_sentence_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rlhf-bot"));
    command
        .arg("run")
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("t.db").display()),
        )
        .env("TELOXIDE_TOKEN", "999:WRONG")
        .env("TELOXIDE_API_URL", fake.url())
        .env("ALLOWED_USER_IDS", "42")
        .env("RUST_LOG", "trace");
    let out = tokio::time::timeout(
        StdDuration::from_secs(20),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the bot exits")
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim().lines().last(),
        Some(
            "error: Telegram refused the bot token in TELOXIDE_TOKEN (401 Unauthorized); copy it again from @BotFather"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WRONG") && !stderr.contains("999:"),
        "the token leaked: {stderr}"
    );
}

fn run_settings_at(db: &TestDb, api_url: &str, token: &str) -> Settings {
    let env: std::collections::HashMap<&str, String> = [
        ("DATABASE_URL", db.url.clone()),
        ("TELOXIDE_TOKEN", token.to_owned()),
        ("TELOXIDE_API_URL", api_url.to_owned()),
        ("ALLOWED_USER_IDS", "42".to_owned()),
    ]
    .into_iter()
    .collect();
    Settings::from_lookup(|k| env.get(k).cloned()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_ends_when_the_token_is_revoked_while_running() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let running = tokio::spawn(rlhf_bot::startup::run_until(
        run_settings(&db, &fake, &[]),
        std::future::pending(),
    ));
    fake.push_update(private_message(42, "/help"));
    fake.wait_for("sendMessage", 1).await;
    fake.fail_next("getUpdates", Fault::Status(401));
    let error = tokio::time::timeout(StdDuration::from_secs(15), running)
        .await
        .expect("a revoked token ends the run")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            error.downcast_ref::<rlhf_bot::startup::StartupError>(),
            Some(rlhf_bot::startup::StartupError::BadToken)
        ),
        "{error:#}"
    );
}
