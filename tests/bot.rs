//! The bot through the real dispatcher (`rlhf_bot::bot::dispatcher`, the real schema and
//! dependencies) with long polling against a fake Bot API on loopback: updates are
//! queued in the fake, the dispatcher fetches them with `getUpdates`, and every request
//! it makes is recorded and checked.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use common::telegram::*;
use rlhf_bot::app::import::import_reader;
use rlhf_bot::bot::keyboards::{Callback, MAX_CALLBACK_BYTES};
use rlhf_bot::bot::messages::{self, MAX_MESSAGE};
use rlhf_bot::config::Settings;
use rlhf_bot::domain::{AccountId, MatchType, ReasonCode};
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::{MatchFilter, MatchRecord, Scope};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// The trader the tests talk as.
const TRADER: i64 = 100;
/// Another served trader, whose rows TRADER must never reach.
const OTHER: i64 = 200;
/// Someone not in ALLOWED_USER_IDS.
const STRANGER: i64 = 999;
/// The trading day of the fixture.
const DAY: &str = "2025-01-06";

const REC_HEADER: &str = "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium,position\n";
const EXEC_HEADER: &str = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n";

/// A running dispatcher on the fake, with the outbox sender beside it (as `run` has
/// them): replies come from the dispatcher, the cards of `/reconcile` from the sender.
struct App {
    fake: FakeTelegram,
    store: rlhf_bot::store::Store,
    _task: Running,
    _sender: Running,
}

/// The dispatcher's task, stopped when dropped.
struct Running(tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn settings() -> Arc<Settings> {
    let mut s = Settings::from_lookup(|_| None).expect("default settings");
    s.allowed_user_ids = vec![TRADER, OTHER];
    Arc::new(s)
}

impl App {
    async fn start(db: &TestDb) -> Self {
        Self::start_on(FakeTelegram::start().await, db.store.clone()).await
    }

    async fn start_on(fake: FakeTelegram, store: rlhf_bot::store::Store) -> Self {
        let bot = fake.bot();
        Self::start_with_bot(fake, store, bot).await
    }

    /// A dispatcher talking through `bot` (e.g. one whose requests time out sooner).
    async fn start_with_bot(
        fake: FakeTelegram,
        store: rlhf_bot::store::Store,
        bot: teloxide::adaptors::Throttle<teloxide::Bot>,
    ) -> Self {
        let mut dispatcher = rlhf_bot::bot::dispatcher(bot, store.clone(), settings());
        let task = tokio::spawn(async move { dispatcher.dispatch().await });
        let sender = rlhf_bot::bot::sender::Sender::new(
            store.clone(),
            fake.bot(),
            rlhf_bot::bot::sender::SenderConfig {
                poll: Duration::from_millis(20),
                ..Default::default()
            },
            Arc::new(rlhf_bot::domain::SystemClock),
        );
        // The sender stops when its task is aborted; the shutdown channel stays open.
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let sender = tokio::spawn(async move {
            let _stop = _stop;
            sender.run(stopped).await
        });
        Self {
            fake,
            store,
            _task: Running(task),
            _sender: Running(sender),
        }
    }

    /// Stops the dispatcher (as a crash or restart would) and hands back the fake.
    fn stop(self) -> (FakeTelegram, rlhf_bot::store::Store) {
        let Self {
            fake,
            store,
            _task,
            _sender,
        } = self;
        drop((_task, _sender));
        (fake, store)
    }

    /// Sends `text` as `user` in their private chat and returns the replies (the
    /// `sendMessage` requests) that follow, waiting for `n` of them.
    async fn say(&self, user: i64, text: &str, n: usize) -> Vec<Recorded> {
        let before = self.fake.count("sendMessage");
        self.fake.push_update(private_message(user, text));
        let all = self.fake.wait_for("sendMessage", before + n).await;
        all[before..].to_vec()
    }

    /// Taps a button and returns the callback answer that follows.
    async fn tap(&self, user: i64, chat: i64, message: i64, data: &str) -> Recorded {
        let before = self.fake.count("answerCallbackQuery");
        self.fake
            .push_update(callback_query(user, chat, message, data));
        let all = self.fake.wait_for("answerCallbackQuery", before + 1).await;
        all[before].clone()
    }

    /// Every message and keyboard the bot produced fits Telegram's limits.
    fn assert_everything_fits(&self) {
        let mut checked = 0;
        for r in self.fake.requests() {
            for key in ["text", "caption"] {
                if let Some(text) = r.body.get(key).and_then(|v| v.as_str()) {
                    assert!(
                        messages::telegram_len(text) <= MAX_MESSAGE,
                        "{} of {} chars",
                        r.method,
                        messages::telegram_len(text)
                    );
                    checked += 1;
                }
            }
            for data in r.callback_data().iter().flatten() {
                assert!(data.len() <= MAX_CALLBACK_BYTES, "{data}");
                assert!(Callback::decode(data).is_some(), "{data}");
            }
        }
        assert!(checked > 0, "no message was checked");
    }

    async fn matches_of(&self, account: i64) -> Vec<MatchRecord> {
        self.store
            .matches(&MatchFilter {
                account: Some(AccountId(account)),
                ..MatchFilter::default()
            })
            .await
            .expect("matches")
    }
}

fn text(r: &Recorded) -> String {
    r.str("text").unwrap_or_default()
}

/// The texts the fake took (no fault answered) for `chat`, in arrival order.
fn delivered(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.requests_of("sendMessage")
        .into_iter()
        .filter(|r| r.fault.is_none() && r.str("chat_id") == Some(chat.to_string()))
        .map(|r| text(&r))
        .collect()
}

/// Waits (up to `within`) until `chat` was sent `n` messages, and returns them.
async fn wait_delivered(fake: &FakeTelegram, chat: i64, n: usize, within: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let got = delivered(fake, chat);
        if got.len() >= n {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "chat {chat} got {got:?} in {within:?}, expected {n} messages"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn import(db: &TestDb, kind: ImportKind, body: &str) {
    let header = match kind {
        ImportKind::Recommendations => REC_HEADER,
        _ => EXEC_HEADER,
    };
    import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        std::io::Cursor::new(format!("{header}{body}").into_bytes()),
        common::tz(),
        common::now(),
    )
    .await
    .expect("import runs");
}

/// TRADER on DAY: a consent (AAPL), a modify (NVDA, strike moved), an independent trade
/// (TSLA); OTHER: an independent trade (AMD).
async fn fixture(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        "a1,100,2025-01-06T06:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-24,1,1.25,\n\
         n1,100,2025-01-06T06:45:00-08:00,sell_to_open,NVDA,put,115,2025-01-24,2,2.00,\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        "e1,100,2025-01-06T07:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-24,1,1.25,0.65\n\
         e2,100,2025-01-06T07:05:00-08:00,sell_to_open,NVDA,put,120,2025-01-24,2,2.40,1.30\n\
         e3,100,2025-01-06T07:10:00-08:00,sell_to_open,TSLA,call,500,2025-01-24,1,3.00,0.65\n\
         o1,200,2025-01-06T07:10:00-08:00,sell_to_open,AMD,put,110,2025-01-24,1,1.00,0.65\n",
    )
    .await;
}

async fn reconcile_all(db: &TestDb) {
    rlhf_bot::app::reconcile::run_day(
        &db.store,
        &common::rules(),
        common::tz(),
        DAY.parse().unwrap(),
        None,
        common::now(),
    )
    .await
    .expect("reconcile");
}

// ---- the dispatcher and the menu ----

#[tokio::test]
async fn the_real_dispatcher_builds_and_registers_every_command() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    // Building checks that every handler's dependencies are provided.
    let _dispatcher = rlhf_bot::bot::dispatcher(fake.bot(), db.store.clone(), settings());
    rlhf_bot::bot::register_commands(&fake.bot()).await.unwrap();
    let set = fake.wait_for("setMyCommands", 1).await;
    let commands: Vec<String> = set[0].body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "start",
        "help",
        "myid",
        "matches",
        "match",
        "reason",
        "reconcile",
        "track",
        "summaries",
        "summary",
        "generate",
        "review",
        "candidates",
        "decide",
        "divergence",
        "accuracy",
        "modifications",
        "chart",
        "cancel",
    ] {
        assert!(
            commands.contains(&expected.to_owned()),
            "{expected} in {commands:?}"
        );
    }
}

// ---- every command ----

async fn every_command_answers(db: &TestDb) {
    fixture(db).await;
    let app = App::start(db).await;
    let modify = |ms: &[MatchRecord]| {
        ms.iter()
            .find(|m| m.match_type == MatchType::Modify)
            .cloned()
            .expect("a modify")
    };
    // (command, a piece of the expected reply)
    let before_reconcile = [
        ("/start", "Hello, Trader."),
        ("/help", "/reason"),
        ("/myid", "<code>100</code>"),
        ("/matches", "No matches."),
        ("/track 2025-01-31", "Outcomes as of 2025-01-31"),
    ];
    for (cmd, expected) in before_reconcile {
        let reply = app.say(TRADER, cmd, 1).await;
        assert!(
            text(&reply[0]).contains(expected),
            "{cmd}: {}",
            text(&reply[0])
        );
        assert_eq!(reply[0].str("parse_mode").as_deref(), Some("HTML"), "{cmd}");
        assert_eq!(reply[0].str("chat_id").as_deref(), Some("100"));
    }

    // /reconcile: the result line, the night's summary, one card per divergence.
    let replies = app.say(TRADER, &format!("/reconcile {DAY}"), 4).await;
    assert!(
        text(&replies[0]).starts_with("Reconciled 2025-01-06"),
        "{}",
        text(&replies[0])
    );
    assert!(
        text(&replies[1]).contains("1 consent · 1 modify · 1 independent"),
        "{}",
        text(&replies[1])
    );
    let cards: Vec<&Recorded> = replies[2..].iter().collect();
    for card in &cards {
        assert_eq!(card.callback_data().concat().len(), 9, "{}", text(card));
    }
    let ms = app.matches_of(TRADER).await;
    assert_eq!(ms.len(), 3);
    let m = modify(&ms);

    let replies = app.say(TRADER, "/matches type=modify", 1).await;
    assert!(
        text(&replies[0]).contains(&format!("#{}", m.id)),
        "{}",
        text(&replies[0])
    );
    assert!(text(&replies[0]).contains("NVDA"));
    assert!(!text(&replies[0]).contains("TSLA"));

    let replies = app.say(TRADER, &format!("/match {}", m.id), 1).await;
    assert!(
        text(&replies[0]).contains("Recommendation: n1"),
        "{}",
        text(&replies[0])
    );
    assert!(text(&replies[0]).contains("Executions: e2"));
    assert_eq!(replies[0].callback_data().concat().len(), 9);

    let replies = app
        .say(
            TRADER,
            &format!("/reason {} other <b>CPI</b> & rates", m.id),
            1,
        )
        .await;
    assert!(
        text(&replies[0]).contains("Recorded for match"),
        "{}",
        text(&replies[0])
    );
    assert!(
        text(&replies[0]).contains("&lt;b&gt;CPI&lt;/b&gt; &amp; rates"),
        "{}",
        text(&replies[0])
    );
    let stored = db.store.match_detail(m.id, Scope::All).await.unwrap();
    assert_eq!(stored.reason_code.as_deref(), Some("other"));
    assert_eq!(stored.reason_text.as_deref(), Some("<b>CPI</b> & rates"));

    // Learning commands (their flows are tested below) answer on an empty week.
    for (cmd, expected) in [
        ("/summaries", "No weekly summaries yet"),
        ("/summary 2025 2", "no summary for 2025-W02"),
        ("/candidates", "No candidates yet"),
        ("/decide 1 defer later", "no candidate"),
        ("/divergence 30", "Divergence rate, last 30 days"),
        ("/accuracy", "Algorithm accuracy, last 30 days"),
        ("/modifications 7", "No modifications in the last 7 days"),
        ("/chart pnl", "Nothing to chart in the last 182 days yet."),
    ] {
        let reply = app.say(TRADER, cmd, 1).await;
        assert!(
            text(&reply[0]).contains(expected),
            "{cmd}: {}",
            text(&reply[0])
        );
    }
    // A chart is a photo; P&L has nothing settled yet.
    app.say(TRADER, "/chart divergence 3650", 0).await;
    let photos = app.fake.wait_for("sendPhoto", 1).await;
    assert_eq!(
        photos[0].str("caption").as_deref(),
        Some("Divergence rate by week, last 3650 days")
    );
    assert!(photos[0].str("photo").unwrap().starts_with("<file "));
    let reply = app.say(TRADER, "/chart pnl 3650", 1).await;
    assert_eq!(text(&reply[0]), messages::chart_no_data(3650));
    // A day reconciled again posts no second set of cards.
    let reply = app.say(TRADER, &format!("/reconcile {DAY}"), 1).await;
    assert!(
        text(&reply[0]).contains("posted before"),
        "{}",
        text(&reply[0])
    );
    let reply = app.say(TRADER, "/cancel", 1).await;
    assert_eq!(text(&reply[0]), messages::nothing_to_cancel());
    let reply = app.say(TRADER, "/frobnicate", 1).await;
    assert_eq!(text(&reply[0]), messages::unknown_command());
    let reply = app.say(TRADER, "hello", 1).await;
    assert_eq!(text(&reply[0]), messages::not_understood());
    app.assert_everything_fits();
}
both!(every_command, every_command_answers);

#[tokio::test]
async fn a_wrong_argument_gets_one_line_with_an_example() {
    let db = TestDb::sqlite().await;
    let app = App::start(&db).await;
    for (cmd, expected) in [
        ("/match abc", "`abc` is not a match id"),
        ("/match", "give the match id"),
        ("/reason 5 bored", "`bored` is not a reason code"),
        ("/reason 5 other", "needs a text"),
        ("/matches from=2025-02-30", "`2025-02-30` is not a date"),
        ("/reconcile tomorrow", "`tomorrow` is not a date"),
        ("/track", "give the day"),
        ("/summary 2025 60", "is not a week of 2025"),
        ("/divergence 0", "number of days"),
        ("/chart pie", "`pie` is not a chart"),
        ("/divergence 2999-01-01", "2999-01-01 is after today"),
        (
            "/chart pnl 0001-01-01",
            "a period may span at most 3650 days",
        ),
        ("/reason 999999 timing", "there is no match 999999"),
    ] {
        let reply = app.say(TRADER, cmd, 1).await;
        let t = text(&reply[0]);
        assert!(t.contains(&messages::esc(expected)), "{cmd}: {t}");
        assert!(!t.contains('\n'), "{cmd}: one line, got {t}");
        if !expected.starts_with("there is no") && !expected.contains("needs a text") {
            assert!(t.contains("Example: <code>/"), "{cmd}: {t}");
        }
    }
    app.assert_everything_fits();
}

// ---- keyboards ----

async fn a_reason_tap_records_once_and_edits_the_card(db: &TestDb) {
    fixture(db).await;
    let app = App::start(db).await;
    let replies = app.say(TRADER, &format!("/reconcile {DAY}"), 4).await;
    let card = &replies[2];
    let data = &card.callback_data()[0][0];
    let Some(Callback::Reason { match_id, code }) = Callback::decode(data) else {
        panic!("{data}")
    };
    assert_eq!(code, ReasonCode::Timing);
    let answer = app.tap(TRADER, TRADER, 1000, data).await;
    assert_eq!(answer.str("text").as_deref(), Some("Recorded: Timing"));
    let edits = app.fake.wait_for("editMessageText", 1).await;
    assert!(
        text(&edits[0]).contains("✅ Reason: timing"),
        "{}",
        text(&edits[0])
    );
    assert!(
        edits[0].callback_data().is_empty(),
        "the buttons are removed"
    );
    let first = db.store.match_detail(match_id, Scope::All).await.unwrap();
    assert_eq!(first.reason_code.as_deref(), Some("timing"));

    // The same tap again (a double tap, or Telegram repeating the update): answered,
    // nothing recorded again, and "not modified" from Telegram is no error.
    app.fake.fail_next("editMessageText", Fault::NotModified);
    let answer = app.tap(TRADER, TRADER, 1000, data).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::ALREADY_RECORDED)
    );
    app.fake.wait_for("editMessageText", 2).await;
    let second = db.store.match_detail(match_id, Scope::All).await.unwrap();
    assert_eq!(second.reason_at, first.reason_at, "recorded once");
    // Give a failing handler the time to answer a second time, then check it did not.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.fake.count("answerCallbackQuery"), 2);

    // Another code replaces the reason.
    let other_code = Callback::Reason {
        match_id,
        code: ReasonCode::IvLow,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &other_code).await;
    assert_eq!(answer.str("text").as_deref(), Some("Recorded: Low IV"));
    let third = db.store.match_detail(match_id, Scope::All).await.unwrap();
    assert_eq!(third.reason_code.as_deref(), Some("iv_low"));
    app.assert_everything_fits();
}
both!(reason_tap, a_reason_tap_records_once_and_edits_the_card);

async fn other_asks_for_text_and_the_question_survives_a_restart(db: &TestDb) {
    fixture(db).await;
    reconcile_all(db).await;
    let app = App::start(db).await;
    let m = app
        .matches_of(TRADER)
        .await
        .into_iter()
        .find(|m| m.match_type == MatchType::Independent)
        .unwrap();
    let other = Callback::Reason {
        match_id: m.id,
        code: ReasonCode::Other,
    }
    .encode();
    let before = app.fake.count("sendMessage");
    let answer = app.tap(TRADER, TRADER, 1000, &other).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::ASK_TEXT_TOAST)
    );
    let asked = app.fake.wait_for("sendMessage", before + 1).await;
    assert!(
        text(&asked[before]).contains("/cancel"),
        "{}",
        text(&asked[before])
    );

    // The bot restarts: a new dispatcher on the same database and the same fake.
    let (fake, store) = app.stop();
    let app = App::start_on(fake, store).await;
    let reply = app.say(TRADER, "  sold into strength before CPI ", 1).await;
    assert!(
        text(&reply[0]).contains("Recorded for match"),
        "{}",
        text(&reply[0])
    );
    let stored = db.store.match_detail(m.id, Scope::All).await.unwrap();
    assert_eq!(stored.reason_code.as_deref(), Some("other"));
    assert_eq!(
        stored.reason_text.as_deref(),
        Some("sold into strength before CPI")
    );
    // The dialogue is over: plain text is no longer taken as a reason.
    let reply = app.say(TRADER, "more text", 1).await;
    assert_eq!(text(&reply[0]), messages::not_understood());

    // /cancel ends a pending question and records nothing.
    let before = app.fake.count("sendMessage");
    app.tap(TRADER, TRADER, 1000, &other).await;
    app.fake.wait_for("sendMessage", before + 1).await;
    let reply = app.say(TRADER, "/cancel", 1).await;
    assert_eq!(text(&reply[0]), messages::cancelled());
    let reply = app.say(TRADER, "not a reason", 1).await;
    assert_eq!(text(&reply[0]), messages::not_understood());
    let stored = db.store.match_detail(m.id, Scope::All).await.unwrap();
    assert_eq!(
        stored.reason_text.as_deref(),
        Some("sold into strength before CPI")
    );
    app.assert_everything_fits();
}
both!(
    other_dialogue,
    other_asks_for_text_and_the_question_survives_a_restart
);

#[tokio::test]
async fn match_lists_page_with_buttons_that_edit_the_message() {
    let db = TestDb::sqlite().await;
    let rows: String = (0..23)
        .map(|i| {
            format!(
                "p{i},100,2025-01-06T07:{i:02}:00-08:00,sell_to_open,SPY,put,{},2025-01-24,1,1.00,0.65\n",
                400 + i
            )
        })
        .collect();
    import(&db, ImportKind::Executions, &rows).await;
    reconcile_all(&db).await;
    let app = App::start(&db).await;
    let reply = app.say(TRADER, "/matches symbol=SPY", 1).await;
    assert_eq!(text(&reply[0]).matches("<code>#").count(), 10);
    let buttons = reply[0].callback_data();
    assert_eq!(
        buttons,
        vec![vec![buttons[0][0].clone()]],
        "only Next on page 1"
    );
    app.tap(TRADER, TRADER, 1000, &buttons[0][0]).await;
    let edits = app.fake.wait_for("editMessageText", 1).await;
    assert!(text(&edits[0]).contains("page 2"), "{}", text(&edits[0]));
    let page2 = edits[0].callback_data();
    assert_eq!(page2[0].len(), 2, "Previous and Next on page 2");
    app.tap(TRADER, TRADER, 1000, &page2[0][1]).await;
    let edits = app.fake.wait_for("editMessageText", 2).await;
    assert_eq!(text(&edits[1]).matches("<code>#").count(), 3);
    assert_eq!(
        edits[1].callback_data()[0].len(),
        1,
        "only Previous on the last page"
    );
    app.assert_everything_fits();
}

// ---- authorization ----

async fn strangers_groups_and_forged_buttons_are_refused(db: &TestDb) {
    fixture(db).await;
    reconcile_all(db).await;
    let app = App::start(db).await;
    let others_match = app.matches_of(OTHER).await[0].clone();

    // A stranger in a private chat: one polite refusal with their id, then silence.
    let reply = app.say(STRANGER, "/start", 1).await;
    assert_eq!(text(&reply[0]), messages::refusal(STRANGER));
    assert_eq!(reply[0].str("chat_id").as_deref(), Some("999"));
    app.fake.push_update(private_message(STRANGER, "/matches"));
    app.fake.wait_updates_taken().await;

    // A served trader writing in a group: refused there, once.
    app.fake.push_update(group_message(-42, TRADER, "/matches"));
    let replies = app.fake.wait_for("sendMessage", 2).await;
    assert_eq!(text(&replies[1]), messages::group_refusal());
    assert_eq!(replies[1].str("chat_id").as_deref(), Some("-42"));

    // A served trader's own command still works afterwards and sees only their rows.
    let reply = app.say(TRADER, "/matches", 1).await;
    assert!(!text(&reply[0]).contains("AMD"), "{}", text(&reply[0]));
    assert_eq!(
        app.fake.count("sendMessage"),
        3,
        "the stranger got one refusal only"
    );

    // Reading or changing another account's match, by argument or by forged data.
    let reply = app
        .say(TRADER, &format!("/match {}", others_match.id), 1)
        .await;
    assert!(
        text(&reply[0]).contains("there is no match"),
        "{}",
        text(&reply[0])
    );
    let reply = app
        .say(TRADER, &format!("/reason {} timing", others_match.id), 1)
        .await;
    assert!(
        text(&reply[0]).contains("there is no match"),
        "{}",
        text(&reply[0])
    );
    let forged = Callback::Reason {
        match_id: others_match.id,
        code: ReasonCode::Timing,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &forged).await;
    assert!(answer.str("text").unwrap().contains("there is no match"));
    let forged_other = Callback::Reason {
        match_id: others_match.id,
        code: ReasonCode::Other,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &forged_other).await;
    assert!(answer.str("text").unwrap().contains("there is no match"));
    let answer = app.tap(TRADER, TRADER, 1000, "r:1:launch_missiles").await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::CALLBACK_STALE)
    );
    // A tap by a stranger, and a served trader's tap under a group message.
    let answer = app.tap(STRANGER, STRANGER, 1000, &forged).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::CALLBACK_REFUSED)
    );
    let answer = app.tap(TRADER, -42, 1000, &forged).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::CALLBACK_REFUSED)
    );

    let untouched = db
        .store
        .match_detail(others_match.id, Scope::All)
        .await
        .unwrap();
    assert_eq!(untouched.reason_code, None);
    assert_eq!(app.fake.count("editMessageText"), 0);
    app.assert_everything_fits();
}
both!(
    authorization,
    strangers_groups_and_forged_buttons_are_refused
);

#[tokio::test]
async fn nobody_is_served_when_the_allowed_list_is_empty() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let mut s = Settings::from_lookup(|_| None).unwrap();
    s.allowed_user_ids.clear();
    let mut dispatcher = rlhf_bot::bot::dispatcher(fake.bot(), db.store.clone(), Arc::new(s));
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    fake.push_update(private_message(TRADER, "/start"));
    let replies = fake.wait_for("sendMessage", 1).await;
    assert_eq!(text(&replies[0]), messages::refusal(TRADER));
    task.abort();
}

// ---- delivery faults seen by replies ----

#[tokio::test]
async fn a_reply_refused_with_429_is_sent_again_after_retry_after() {
    let db = TestDb::sqlite().await;
    let app = App::start(&db).await;
    app.fake
        .fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 });
    let replies = app.say(TRADER, "/myid", 2).await;
    assert_eq!(
        replies[0].fault,
        Some(Fault::TooManyRequests { retry_after: 1 })
    );
    assert_eq!(replies[1].fault, None);
    assert_eq!(text(&replies[1]), messages::your_id(TRADER));
}

// ---- the fake itself ----

#[tokio::test]
async fn the_fake_answers_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = fake.bot();
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username(), "test_bot");
    let m = bot
        .send_message(ChatId(42), "<b>hi</b>")
        .reply_markup(InlineKeyboardMarkup::new([[
            InlineKeyboardButton::callback("a", "x:1"),
        ]]))
        .await
        .unwrap();
    assert_eq!(m.chat.id, ChatId(42));
    let sent = fake.wait_for("sendMessage", 1).await;
    assert_eq!(sent[0].str("text").unwrap(), "<b>hi</b>");
    assert_eq!(sent[0].callback_data(), vec![vec!["x:1".to_owned()]]);
    bot.edit_message_text(ChatId(42), m.id, "edited")
        .await
        .unwrap();
    fake.fail_next("editMessageText", Fault::NotModified);
    let e = bot
        .edit_message_text(ChatId(42), m.id, "edited")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)
        ),
        "{e:?}"
    );
    fake.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 3 });
    let e = fake
        .plain_bot()
        .send_message(ChatId(42), "x")
        .await
        .unwrap_err();
    assert!(matches!(e, teloxide::RequestError::RetryAfter(_)), "{e:?}");
    fake.fail_next("sendMessage", Fault::Delay(Duration::from_millis(800)));
    let e = fake
        .plain_bot_with_timeout(Duration::from_millis(200))
        .send_message(ChatId(42), "x")
        .await
        .unwrap_err();
    assert!(matches!(e, teloxide::RequestError::Network(_)), "{e:?}");
    let png = vec![0u8; 100];
    let p = bot
        .send_photo(
            ChatId(42),
            teloxide::types::InputFile::memory(png).file_name("c.png"),
        )
        .caption("cap")
        .await
        .unwrap();
    assert!(p.photo().is_some());
    let photos = fake.wait_for("sendPhoto", 1).await;
    assert_eq!(photos[0].str("caption").unwrap(), "cap");
    assert_eq!(photos[0].str("chat_id").unwrap(), "42");
    assert_eq!(photos[0].str("photo").unwrap(), "<file 100 bytes>");
}

#[tokio::test]
async fn the_fake_serves_queued_updates_once() {
    let fake = FakeTelegram::start().await;
    let bot = fake.plain_bot();
    fake.push_update(private_message(42, "/start"));
    fake.push_update(group_message(-5, 42, "hello"));
    fake.push_update(callback_query(42, 42, 7, "r:1:timing"));
    let got = bot.get_updates().timeout(1).await.unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    let again = bot
        .get_updates()
        .offset(got[2].id.0 as i32 + 1)
        .timeout(1)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(fake.pending_updates(), 0);
}

// ---- the dialogue storage on both backends ----

async fn dialogue_states_are_stored_replaced_and_removed(db: &TestDb) {
    use rlhf_bot::bot::dialogue::{DbStorage, State};
    use teloxide::dispatching::dialogue::Storage;
    let storage = DbStorage::new(db.store.clone());
    let chat = ChatId(TRADER);
    let none: Option<State> = storage.clone().get_dialogue(chat).await.unwrap();
    assert_eq!(none, None);
    let waiting = State::AwaitingReasonText { match_id: 7 };
    storage
        .clone()
        .update_dialogue(chat, waiting.clone())
        .await
        .unwrap();
    storage
        .clone()
        .update_dialogue(ChatId(OTHER), State::Idle)
        .await
        .unwrap();
    let got: Option<State> = storage.clone().get_dialogue(chat).await.unwrap();
    assert_eq!(got, Some(waiting));
    storage
        .clone()
        .update_dialogue(chat, State::AwaitingReasonText { match_id: 8 })
        .await
        .unwrap();
    let got: Option<State> = storage.clone().get_dialogue(chat).await.unwrap();
    assert_eq!(got, Some(State::AwaitingReasonText { match_id: 8 }));
    Storage::<State>::remove_dialogue(storage.clone(), chat)
        .await
        .unwrap();
    // Removing twice is not an error.
    Storage::<State>::remove_dialogue(storage.clone(), chat)
        .await
        .unwrap();
    let gone: Option<State> = storage.clone().get_dialogue(chat).await.unwrap();
    assert_eq!(gone, None);
    let other: Option<State> = storage.clone().get_dialogue(ChatId(OTHER)).await.unwrap();
    assert_eq!(other, Some(State::Idle));
    // A state this version cannot read is an error, not a silent reset.
    db.store
        .save_dialogue(TRADER, "{\"state\":\"dancing\"}", common::now())
        .await
        .unwrap();
    let bad: Result<Option<State>, _> = storage.clone().get_dialogue(chat).await;
    assert!(bad.is_err());
}
both!(
    dialogue_storage,
    dialogue_states_are_stored_replaced_and_removed
);

// ---- learning: summaries, candidates, analytics ----

fn proposal(key: &str, title: &str) -> rlhf_bot::learning::candidates::Proposal {
    use rlhf_bot::learning::candidates::{Evidence, Proposal};
    Proposal {
        pattern_key: key.to_owned(),
        subject: String::new(),
        title: title.to_owned(),
        change: serde_json::json!({ "kind": key }),
        evidence: Evidence {
            n: 12,
            effect: 7.0,
            q_value: 0.01,
            description: "User adds 7 days on average to DTE <sic>".to_owned(),
            detail: serde_json::Value::Null,
        },
    }
}

fn period(from: &str, to: &str) -> rlhf_bot::learning::candidates::Period {
    rlhf_bot::learning::candidates::Period {
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        decisions: 10,
        divergent: 4,
        divergence_rate: 0.4,
        trades: 8,
        pnl: rlhf_bot::domain::Money::from_units(1_000_000),
        pnl_per_trade: None,
        pattern_effect: None,
    }
}

async fn candidates_of(
    db: &TestDb,
    account: i64,
) -> Vec<rlhf_bot::learning::candidates::Candidate> {
    db.store
        .candidates(Scope::Account(AccountId(account)))
        .await
        .unwrap()
}

async fn summaries_candidates_and_analytics_work_from_the_chat(db: &TestDb) {
    use rlhf_bot::domain::Week;
    use rlhf_bot::learning::candidates::{State, Step, ValidationReport};
    fixture(db).await;
    reconcile_all(db).await;
    let app = App::start(db).await;

    // Weekly summaries: generate, mark reviewed by button (twice), list, show.
    let reply = app.say(TRADER, "/generate 2025 2", 1).await;
    assert!(
        text(&reply[0]).contains("WEEKLY LEARNING SUMMARY"),
        "{}",
        text(&reply[0])
    );
    let week = Week::new(2025, 2).unwrap();
    let stored = db.store.summary(AccountId(TRADER), week).await.unwrap();
    let data = Callback::Reviewed { summary: stored.id }.encode();
    assert_eq!(reply[0].callback_data(), vec![vec![data.clone()]]);
    let answer = app.tap(TRADER, TRADER, 1000, &data).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some("2025-W02 marked reviewed.")
    );
    let answer = app.tap(TRADER, TRADER, 1000, &data).await;
    assert_eq!(
        answer.str("text").as_deref(),
        Some(messages::ALREADY_RECORDED)
    );
    let reply = app.say(TRADER, "/summaries", 1).await;
    assert!(text(&reply[0]).contains("2025-W02"), "{}", text(&reply[0]));
    assert!(text(&reply[0]).contains("reviewed"));
    let reply = app.say(TRADER, "/summary 2025 2", 1).await;
    assert!(
        text(&reply[0]).contains("✅ Reviewed"),
        "{}",
        text(&reply[0])
    );
    assert!(reply[0].callback_data().is_empty());
    let reply = app.say(TRADER, "/review 2025 3", 1).await;
    assert!(
        text(&reply[0]).contains("no summary for 2025-W03"),
        "{}",
        text(&reply[0])
    );
    // OTHER has no summary of that week: TRADER's is not theirs to see.
    let reply = app.say(OTHER, "/summary 2025 2", 1).await;
    assert!(
        text(&reply[0]).contains("no summary"),
        "{}",
        text(&reply[0])
    );

    // Candidates: a list, then a card with implement / defer / reject per open one.
    let now = common::now();
    for (account, key) in [
        (TRADER, "dte_shift"),
        (TRADER, "strike_shift"),
        (OTHER, "dte_shift"),
    ] {
        db.store
            .apply_candidate_steps(
                AccountId(account),
                &[Step::Propose(proposal(key, &format!("Change {key}")))],
                now,
            )
            .await
            .unwrap();
    }
    let mine = candidates_of(db, TRADER).await;
    let theirs = candidates_of(db, OTHER).await;
    let replies = app.say(TRADER, "/candidates", 3).await;
    assert!(
        text(&replies[0]).contains("Change dte_shift"),
        "{}",
        text(&replies[0])
    );
    assert!(
        text(&replies[1]).contains("&lt;sic&gt;"),
        "escaped: {}",
        text(&replies[1])
    );
    assert_eq!(replies[1].callback_data()[0].len(), 3);

    // Implement asks for confirmation; confirming twice implements once.
    let implement = &replies[1].callback_data()[0][0];
    let edited = app.fake.count("editMessageText");
    app.tap(TRADER, TRADER, 1000, implement).await;
    let edits = app.fake.wait_for("editMessageText", edited + 1).await;
    let asking = &edits[edited];
    assert!(
        text(asking).contains("Implement this change?"),
        "{}",
        text(asking)
    );
    let confirm = &asking.callback_data()[0][0];
    let answer = app.tap(TRADER, TRADER, 1000, confirm).await;
    assert!(answer.str("text").unwrap().contains("is now implemented"));
    let answer = app.tap(TRADER, TRADER, 1000, confirm).await;
    assert!(answer.str("text").unwrap().contains("is now implemented"));
    let history = db.store.candidate_history(mine[0].id).await.unwrap();
    assert_eq!(
        history.iter().filter(|h| h.state == "implemented").count(),
        1,
        "{history:?}"
    );

    // Reject asks for the reason in words.
    let reject = Callback::Decide {
        candidate: mine[1].id,
        decision: rlhf_bot::learning::candidates::Decision::Reject,
    }
    .encode();
    let before = app.fake.count("sendMessage");
    app.tap(TRADER, TRADER, 1000, &reject).await;
    let asked = app.fake.wait_for("sendMessage", before + 1).await;
    assert!(
        text(&asked[before]).contains("Why are you rejecting"),
        "{}",
        text(&asked[before])
    );
    let reply = app.say(TRADER, "strikes are fine as they are", 1).await;
    assert!(
        text(&reply[0]).contains("Now rejected"),
        "{}",
        text(&reply[0])
    );

    // Another account's candidate: refused by button and by command.
    let forged = Callback::Decide {
        candidate: theirs[0].id,
        decision: rlhf_bot::learning::candidates::Decision::Defer,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &forged).await;
    assert!(
        answer.str("text").unwrap().contains("no candidate"),
        "{answer:?}"
    );
    let reply = app
        .say(TRADER, &format!("/decide {} defer", theirs[0].id), 1)
        .await;
    assert!(
        text(&reply[0]).contains("no candidate"),
        "{}",
        text(&reply[0])
    );
    assert_eq!(candidates_of(db, OTHER).await[0].state, State::Proposed);

    // A validation report comes with keep / roll back / modify.
    let c = db.store.candidate(mine[0].id, Scope::All).await.unwrap();
    let c = db
        .store
        .transition_candidate(
            &c,
            rlhf_bot::store::Transition {
                state: State::Validating,
                actor: "system",
                reason: None,
                validation_from: Some("2025-01-13".parse().unwrap()),
                report: None,
            },
            now,
        )
        .await
        .unwrap();
    let report = ValidationReport {
        before: period("2024-12-16", "2025-01-12"),
        after: period("2025-01-13", "2025-02-09"),
        outcome: rlhf_bot::learning::candidates::Outcome::Improved,
        divergence_p: Some(0.03),
        pnl_p: None,
        sentence: "Divergence fell from 40% to 10%".to_owned(),
    };
    db.store
        .transition_candidate(
            &c,
            rlhf_bot::store::Transition {
                state: State::Validating,
                actor: "system",
                reason: Some(&report.sentence),
                validation_from: None,
                report: Some(&report),
            },
            now,
        )
        .await
        .unwrap();
    let replies = app.say(TRADER, "/candidates", 2).await;
    assert!(
        text(&replies[1]).contains("Divergence fell"),
        "{}",
        text(&replies[1])
    );
    let keep = &replies[1].callback_data()[0][0];
    let answer = app.tap(TRADER, TRADER, 1000, keep).await;
    assert!(
        answer.str("text").unwrap().contains("is now kept"),
        "{answer:?}"
    );

    // Analytics.
    for (cmd, expected) in [
        ("/divergence 3650", "Divergence rate, last 3650 days"),
        ("/accuracy 3650", "Algorithm accuracy"),
        ("/modifications 3650", "Top modifications"),
    ] {
        let reply = app.say(TRADER, cmd, 1).await;
        assert!(
            text(&reply[0]).contains(expected),
            "{cmd}: {}",
            text(&reply[0])
        );
    }
    app.assert_everything_fits();
}
both!(
    learning,
    summaries_candidates_and_analytics_work_from_the_chat
);

#[tokio::test]
async fn the_candidates_list_pages_with_buttons() {
    use rlhf_bot::learning::candidates::Step;
    let db = TestDb::sqlite().await;
    fixture(&db).await;
    let steps: Vec<Step> = (0..12)
        .map(|i| Step::Propose(proposal(&format!("key{i:02}"), &format!("Change {i:02}"))))
        .collect();
    db.store
        .apply_candidate_steps(AccountId(TRADER), &steps, common::now())
        .await
        .unwrap();
    let app = App::start(&db).await;
    // The list, then one card per open candidate.
    let replies = app.say(TRADER, "/candidates", 13).await;
    assert_eq!(text(&replies[0]).matches("<code>#").count(), 10);
    let next = replies[0].callback_data();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].len(), 1, "only Next on page 1");
    assert_eq!(
        Callback::decode(&next[0][0]),
        Some(Callback::Candidates { page: 1 })
    );
    app.tap(TRADER, TRADER, 1000, &next[0][0]).await;
    let edits = app.fake.wait_for("editMessageText", 1).await;
    assert_eq!(text(&edits[0]).matches("<code>#").count(), 2);
    assert!(text(&edits[0]).contains("Change 11"));
    assert_eq!(
        Callback::decode(&edits[0].callback_data()[0][0]),
        Some(Callback::Candidates { page: 0 })
    );
    app.assert_everything_fits();
}

// ---- faults: replies, taps and questions (issue 13) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_meets_a_server_error_is_delivered_once_and_other_chats_do_not_wait() {
    let db = TestDb::sqlite().await;
    let app = App::start(&db).await;
    app.fake.fail_next("sendMessage", Fault::Status(502));
    app.fake.push_update(private_message(TRADER, "/myid"));
    let failed = app.fake.wait_for("sendMessage", 1).await;
    assert_eq!(failed[0].fault, Some(Fault::Status(502)));
    // TRADER's reply now waits out teloxide's 10 s pause; OTHER is answered meanwhile.
    let started = std::time::Instant::now();
    let reply = app.say(OTHER, "/myid", 1).await;
    let waited = started.elapsed();
    println!("another chat answered {waited:?} into the pause");
    assert_eq!(text(&reply[0]), messages::your_id(OTHER));
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    let got = wait_delivered(&app.fake, TRADER, 1, Duration::from_secs(40)).await;
    assert_eq!(got, [messages::your_id(TRADER)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(delivered(&app.fake, TRADER).len(), 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_cut_by_a_reset_connection_or_a_time_out_is_sent_again() {
    let db = TestDb::sqlite().await;
    let fake = FakeTelegram::start().await;
    let bot = teloxide::adaptors::Throttle::new_spawn(
        fake.plain_bot_with_timeout(Duration::from_secs(1)),
        generous_limits(),
    );
    let app = App::start_with_bot(fake, db.store.clone(), bot).await;

    // The connection breaks in the middle of Telegram's answer.
    app.fake.fail_next("sendMessage", Fault::Reset);
    let replies = app.say(TRADER, "/myid", 2).await;
    assert_eq!(replies[0].fault, Some(Fault::Reset));
    assert_eq!(replies[1].fault, None);
    assert_eq!(text(&replies[1]), messages::your_id(TRADER));

    // Telegram answers after the client gave up: sent again. (The fake took the slow
    // one too: a time-out cannot tell, the at-least-once window of transport::send.)
    app.fake
        .fail_next("sendMessage", Fault::Delay(Duration::from_secs(2)));
    let replies = app.say(TRADER, "/help", 2).await;
    assert!(matches!(replies[0].fault, Some(Fault::Delay(_))));
    assert_eq!(replies[1].fault, None);
    assert!(
        text(&replies[1]).contains("/reason"),
        "{}",
        text(&replies[1])
    );
    assert_eq!(
        delivered(&app.fake, TRADER).len(),
        2,
        "one /myid, one /help"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taps_answer_and_edit_that_fail_on_the_way_are_sent_again() {
    let db = TestDb::sqlite().await;
    fixture(&db).await;
    reconcile_all(&db).await;
    let app = App::start(&db).await;
    let m = app
        .matches_of(TRADER)
        .await
        .into_iter()
        .find(|m| m.match_type == MatchType::Modify)
        .unwrap();
    let data = Callback::Reason {
        match_id: m.id,
        code: ReasonCode::Timing,
    }
    .encode();
    app.fake.fail_next("editMessageText", Fault::Reset);
    app.fake
        .fail_next("answerCallbackQuery", Fault::Status(502));
    app.fake
        .push_update(callback_query(TRADER, TRADER, 1000, &data));
    let edits = app.fake.wait_for("editMessageText", 2).await;
    assert_eq!(edits[0].fault, Some(Fault::Reset));
    assert_eq!(edits[1].fault, None);
    assert!(
        text(&edits[1]).contains("✅ Reason: timing"),
        "{}",
        text(&edits[1])
    );
    let answers = app
        .fake
        .wait_for_within("answerCallbackQuery", 2, Duration::from_secs(40))
        .await;
    assert_eq!(answers[0].fault, Some(Fault::Status(502)));
    assert_eq!(answers[1].fault, None);
    assert_eq!(answers[1].str("text").as_deref(), Some("Recorded: Timing"));
    let stored = db.store.match_detail(m.id, Scope::All).await.unwrap();
    assert_eq!(stored.reason_code.as_deref(), Some("timing"));
}

async fn a_late_tap_is_recorded_shown_and_answered_once(db: &TestDb) {
    fixture(db).await;
    reconcile_all(db).await;
    let app = App::start(db).await;
    let m = app
        .matches_of(TRADER)
        .await
        .into_iter()
        .find(|m| m.match_type == MatchType::Modify)
        .unwrap();
    let too_old = || {
        Fault::BadRequest(
            "query is too old and response timeout expired or query ID is invalid".to_owned(),
        )
    };
    // A tap answered after Telegram's deadline.
    app.fake.fail_next("answerCallbackQuery", too_old());
    let data = Callback::Reason {
        match_id: m.id,
        code: ReasonCode::Timing,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &data).await;
    assert_eq!(answer.fault, Some(too_old()));
    let stored = db.store.match_detail(m.id, Scope::All).await.unwrap();
    assert_eq!(stored.reason_code.as_deref(), Some("timing"), "recorded");
    let edits = app.fake.wait_for("editMessageText", 1).await;
    assert!(
        text(&edits[0]).contains("✅ Reason: timing"),
        "the card shows it: {}",
        text(&edits[0])
    );
    // The work came first, the answer last.
    let methods: Vec<String> = app.fake.requests().into_iter().map(|r| r.method).collect();
    let edited = methods.iter().position(|m| m == "editMessageText").unwrap();
    let answered = methods
        .iter()
        .position(|m| m == "answerCallbackQuery")
        .unwrap();
    assert!(edited < answered, "{methods:?}");

    // A late tap that fails (another account's match) is answered once too.
    app.fake.fail_next("answerCallbackQuery", too_old());
    let others = app.matches_of(OTHER).await[0].id;
    let forged = Callback::Reason {
        match_id: others,
        code: ReasonCode::Timing,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &forged).await;
    assert!(answer.str("text").unwrap().contains("there is no match"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.fake.count("answerCallbackQuery"),
        2,
        "each expired query was answered once"
    );
}
both!(late_tap, a_late_tap_is_recorded_shown_and_answered_once);

/// Puts candidate `id` in validation with a report, so it waits for a verdict.
async fn validating(db: &TestDb, id: i64) {
    use rlhf_bot::learning::candidates::{State, ValidationReport};
    let now = common::now();
    let c = db.store.candidate(id, Scope::All).await.unwrap();
    let c = db
        .store
        .transition_candidate(
            &c,
            rlhf_bot::store::Transition {
                state: State::Validating,
                actor: "system",
                reason: None,
                validation_from: Some("2025-01-13".parse().unwrap()),
                report: None,
            },
            now,
        )
        .await
        .unwrap();
    let report = ValidationReport {
        before: period("2024-12-16", "2025-01-12"),
        after: period("2025-01-13", "2025-02-09"),
        outcome: rlhf_bot::learning::candidates::Outcome::Improved,
        divergence_p: Some(0.03),
        pnl_p: None,
        sentence: "Divergence fell from 40% to 10%".to_owned(),
    };
    db.store
        .transition_candidate(
            &c,
            rlhf_bot::store::Transition {
                state: State::Validating,
                actor: "system",
                reason: Some(&report.sentence),
                validation_from: None,
                report: Some(&report),
            },
            now,
        )
        .await
        .unwrap();
}

async fn every_waiting_state_is_cancelled_by_cancel(db: &TestDb) {
    use rlhf_bot::learning::candidates::{Decision, Final, State, Step};
    fixture(db).await;
    reconcile_all(db).await;
    db.store
        .apply_candidate_steps(
            AccountId(TRADER),
            &[
                Step::Propose(proposal("dte_shift", "Change dte")),
                Step::Propose(proposal("strike_shift", "Change strike")),
            ],
            common::now(),
        )
        .await
        .unwrap();
    let mine = candidates_of(db, TRADER).await;
    let (proposed, tested) = (mine[0].id, mine[1].id);
    validating(db, tested).await;
    let independent = app_match(db, MatchType::Independent).await;
    let app = App::start(db).await;
    let taps = [
        Callback::Reason {
            match_id: independent,
            code: ReasonCode::Other,
        },
        Callback::Decide {
            candidate: proposed,
            decision: Decision::Reject,
        },
        Callback::Verdict {
            candidate: tested,
            verdict: Final::Rollback,
        },
        Callback::Verdict {
            candidate: tested,
            verdict: Final::Modify,
        },
    ];
    for tap in taps {
        let before = app.fake.count("sendMessage");
        let answer = app.tap(TRADER, TRADER, 1000, &tap.encode()).await;
        assert_eq!(
            answer.str("text").as_deref(),
            Some(messages::ASK_TEXT_TOAST),
            "{tap:?}"
        );
        let asked = app.fake.wait_for("sendMessage", before + 1).await;
        assert!(text(&asked[before]).contains("/cancel"), "{tap:?}");
        let reply = app.say(TRADER, "/cancel", 1).await;
        assert_eq!(text(&reply[0]), messages::cancelled(), "{tap:?}");
        let reply = app.say(TRADER, "this is not an answer", 1).await;
        assert_eq!(text(&reply[0]), messages::not_understood(), "{tap:?}");
    }
    let after = candidates_of(db, TRADER).await;
    assert_eq!(after[0].state, State::Proposed);
    assert_eq!(after[1].state, State::Validating);
    let m = db
        .store
        .match_detail(independent, Scope::All)
        .await
        .unwrap();
    assert_eq!(m.reason_code, None);
}
both!(
    cancel_every_state,
    every_waiting_state_is_cancelled_by_cancel
);

/// The id of TRADER's match of type `t` on DAY.
async fn app_match(db: &TestDb, t: MatchType) -> i64 {
    db.store
        .matches(&MatchFilter {
            account: Some(AccountId(TRADER)),
            ..MatchFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.match_type == t)
        .unwrap()
        .id
}

async fn a_question_takes_only_the_answer_it_asked_for(db: &TestDb) {
    use rlhf_bot::bot::dialogue::{CandidateStep, State as Asked};
    use rlhf_bot::learning::candidates::{Decision, State, Step};
    fixture(db).await;
    reconcile_all(db).await;
    db.store
        .apply_candidate_steps(
            AccountId(TRADER),
            &[Step::Propose(proposal("dte_shift", "Change dte"))],
            common::now(),
        )
        .await
        .unwrap();
    let candidate = candidates_of(db, TRADER).await[0].id;
    let independent = app_match(db, MatchType::Independent).await;
    let app = App::start(db).await;
    let reject = Callback::Decide {
        candidate,
        decision: Decision::Reject,
    }
    .encode();
    let ask = async |app: &App| {
        let before = app.fake.count("sendMessage");
        app.tap(TRADER, TRADER, 1000, &reject).await;
        app.fake.wait_for("sendMessage", before + 1).await;
    };

    // A photo is not the reason: the question stays.
    ask(&app).await;
    let before = app.fake.count("sendMessage");
    app.fake.push_update(private_photo(TRADER));
    let reply = app.fake.wait_for("sendMessage", before + 1).await;
    assert_eq!(text(&reply[before]), messages::text_expected());

    // A command ends the question, says so, and runs.
    let replies = app.say(TRADER, "/myid", 2).await;
    let asked = Asked::AwaitingCandidateReason {
        candidate,
        step: CandidateStep::Reject,
    };
    assert_eq!(Some(text(&replies[0])), messages::question_dropped(&asked));
    assert_eq!(text(&replies[1]), messages::your_id(TRADER));
    let reply = app.say(TRADER, "strikes are fine", 1).await;
    assert_eq!(text(&reply[0]), messages::not_understood());
    assert_eq!(candidates_of(db, TRADER).await[0].state, State::Proposed);

    // A tap that decides otherwise ends the question: Defer after Reject defers, and the
    // next words do not reject.
    ask(&app).await;
    let defer = Callback::Decide {
        candidate,
        decision: Decision::Defer,
    }
    .encode();
    let answer = app.tap(TRADER, TRADER, 1000, &defer).await;
    assert!(
        answer.str("text").unwrap().contains("deferred"),
        "{answer:?}"
    );
    let reply = app.say(TRADER, "changed my mind", 1).await;
    assert_eq!(text(&reply[0]), messages::not_understood());
    assert_eq!(candidates_of(db, TRADER).await[0].state, State::Deferred);

    // A tap on another card that asks its own question replaces the first: the words go
    // to the card tapped last.
    ask(&app).await;
    let other = Callback::Reason {
        match_id: independent,
        code: ReasonCode::Other,
    }
    .encode();
    let before = app.fake.count("sendMessage");
    app.tap(TRADER, TRADER, 1000, &other).await;
    app.fake.wait_for("sendMessage", before + 1).await;
    let reply = app.say(TRADER, "hedging the NVDA move", 1).await;
    assert!(
        text(&reply[0]).contains("Recorded for match"),
        "{}",
        text(&reply[0])
    );
    let m = db
        .store
        .match_detail(independent, Scope::All)
        .await
        .unwrap();
    assert_eq!(m.reason_text.as_deref(), Some("hedging the NVDA move"));
    assert_eq!(candidates_of(db, TRADER).await[0].state, State::Deferred);

    // Paging a list does not end a question.
    ask(&app).await;
    let page = Callback::Candidates { page: 0 }.encode();
    app.tap(TRADER, TRADER, 1000, &page).await;
    let reply = app.say(TRADER, "too far out of the money", 1).await;
    assert!(
        text(&reply[0]).contains("Now rejected"),
        "{}",
        text(&reply[0])
    );
    assert_eq!(candidates_of(db, TRADER).await[0].state, State::Rejected);
}
both!(
    question_answers,
    a_question_takes_only_the_answer_it_asked_for
);

#[tokio::test]
async fn an_unreadable_question_is_dropped_and_the_trader_still_served() {
    let db = TestDb::sqlite().await;
    db.store
        .save_dialogue(
            TRADER,
            "{\"state\":\"from_a_newer_version\"}",
            common::now(),
        )
        .await
        .unwrap();
    let app = App::start(&db).await;
    let reply = app.say(TRADER, "/myid", 1).await;
    assert_eq!(text(&reply[0]), messages::your_id(TRADER));
    assert_eq!(db.store.dialogue(TRADER).await.unwrap(), None);
}
