//! A broker export sent to the bot as a document, through the real dispatcher against
//! the fake Bot API: the bot fetches it (`getFile`, then the file), imports it into the
//! sender's chat with the same use case as the command line, answers with the format
//! and counts and a "Reconcile now" button whose tap reconciles the file's days; a file
//! over 20 MB is refused before any download; a file that is no export, and one whose
//! broker account is linked to another chat, get one sentence and store nothing; an
//! earlier Webull range sent after a later one says which stored executions it corrected.

mod common;

use std::io::Cursor;
use std::sync::Arc;

use chrono::Utc;
use common::TestDb;
use common::telegram::*;
use rlhf_bot::app::import::import_reader;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::AccountId;
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::MatchFilter;

const TRADER: i64 = 100;
const OTHER: i64 = 200;
const FIDELITY: &str = "fidelity_History_for_Account_X12345678-3.csv";

/// The dispatcher's task, stopped when dropped.
struct Running(tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Bot {
    fake: FakeTelegram,
    _task: Running,
}

impl Bot {
    async fn start(db: &TestDb) -> Self {
        let fake = FakeTelegram::start().await;
        let mut s = Settings::from_lookup(|_| None).expect("default settings");
        s.allowed_user_ids = vec![TRADER, OTHER];
        let mut dispatcher = rlhf_bot::bot::dispatcher(fake.bot(), db.store.clone(), Arc::new(s));
        let task = tokio::spawn(async move { dispatcher.dispatch().await });
        Self {
            fake,
            _task: Running(task),
        }
    }

    /// Sends the file as a document from `user` and returns the bot's reply.
    async fn send_file(&self, user: i64, id: &str, name: &str, bytes: &[u8]) -> Recorded {
        self.fake.add_file(id, bytes);
        self.send_document(user, id, name, bytes.len() as u64).await
    }

    /// Announces a document of `size` bytes (its bytes stored or not) and returns the reply.
    async fn send_document(&self, user: i64, id: &str, name: &str, size: u64) -> Recorded {
        let before = self.fake.count("sendMessage");
        self.fake
            .push_update(private_document(user, id, name, size));
        self.fake.wait_for("sendMessage", before + 1).await[before].clone()
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/brokers")
            .join(name),
    )
    .expect("a fixture")
}

async fn recommend(db: &TestDb) {
    let recs = "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n\
                r-aapl,100,2025-01-06T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.15\n\
                r-msft,100,2025-01-06T10:05:00-05:00,sell_to_open,MSFT,call,440,2025-01-24,1,3.40\n";
    let r = import_reader(
        &db.store,
        ImportKind::Recommendations,
        ImportFormat::Generic,
        Cursor::new(recs.as_bytes().to_vec()),
        chrono_tz::America::Los_Angeles,
        Utc::now(),
    )
    .await
    .expect("recommendations");
    assert_eq!(r.imported, 2, "{:?}", r.errors);
}

async fn matches_of(db: &TestDb, account: i64) -> usize {
    db.store
        .matches(&MatchFilter {
            account: Some(AccountId(account)),
            ..MatchFilter::default()
        })
        .await
        .expect("matches")
        .len()
}

async fn an_export_sent_to_the_bot_is_imported_and_reconciled(db: &TestDb) {
    recommend(db).await;
    let bot = Bot::start(db).await;
    let file = fixture(FIDELITY);
    let reply = bot.send_file(TRADER, "f1", FIDELITY, &file).await;
    let text = reply.str("text").unwrap();
    assert!(
        text.contains("Read a <b>fidelity</b> export: imported 7, duplicates 0, rejected 0."),
        "{text}"
    );
    assert!(text.contains("Ignored: "), "{text}");
    assert_eq!(bot.fake.count("getFile"), 1);
    assert_eq!(bot.fake.count("downloadFile"), 1);
    let data = reply.callback_data();
    assert_eq!(data.len(), 1, "{data:?}");
    let button = data[0][0].clone();
    assert!(button.starts_with("rd:2025010"), "{button}");
    assert!(button.len() <= 64);

    // The tap reconciles the file's days in this chat and edits the card.
    assert_eq!(matches_of(db, TRADER).await, 0);
    let before = bot.fake.count("answerCallbackQuery");
    bot.fake
        .push_update(callback_query(TRADER, TRADER, 1000, &button));
    let answers = bot.fake.wait_for("answerCallbackQuery", before + 1).await;
    assert_eq!(
        answers[before].str("text").as_deref(),
        Some("Reconciled"),
        "{:?}",
        answers[before]
    );
    let edits = bot.fake.wait_for("editMessageText", 1).await;
    let edited = edits[0].str("text").unwrap();
    assert!(edited.starts_with("✅ Reconciled 2025-01-"), "{edited}");
    assert!(matches_of(db, TRADER).await >= 2);

    // The same download again: all duplicates.
    let reply = bot.send_file(TRADER, "f2", FIDELITY, &file).await;
    let text = reply.str("text").unwrap();
    assert!(
        text.contains("imported 0, duplicates 7, rejected 0"),
        "{text}"
    );
}
both!(
    an_export_sent_to_the_bot,
    an_export_sent_to_the_bot_is_imported_and_reconciled
);

/// The Webull fixture cut by the orders' placed day: (before 01/10, from 01/10 on).
fn webull_halves() -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8(fixture("webull_options_orders.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut earlier, mut later) = (format!("{header}\n"), format!("{header}\n"));
    for line in lines {
        let half = if line.split(',').nth(9).unwrap() < "01/10/2025" {
            &mut earlier
        } else {
            &mut later
        };
        half.push_str(line);
        half.push('\n');
    }
    (earlier.into_bytes(), later.into_bytes())
}

async fn an_earlier_webull_range_sent_after_a_later_one_says_what_it_corrected(db: &TestDb) {
    let bot = Bot::start(db).await;
    let (earlier, later) = webull_halves();
    const NAME: &str = "Webull_Orders_Records_Options.csv";
    let reply = bot.send_file(TRADER, "w1", NAME, &later).await;
    let text = reply.str("text").unwrap();
    assert!(!text.contains("corrected"), "{text}");
    let reply = bot.send_file(TRADER, "w2", NAME, &earlier).await;
    let text = reply.str("text").unwrap();
    assert!(
        text.contains("imported 3, duplicates 0, rejected 0."),
        "{text}"
    );
    assert!(
        text.contains(
            "\ncorrected 2 stored executions whose open or close this file's earlier trades decide:\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(": buy_to_open 2 → buy_to_close 2\n"),
        "{text}"
    );
}
both!(
    an_earlier_webull_range_sent_to_the_bot,
    an_earlier_webull_range_sent_after_a_later_one_says_what_it_corrected
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_20_mb_is_refused_before_downloading() {
    let db = TestDb::sqlite().await;
    let bot = Bot::start(&db).await;
    let reply = bot
        .send_document(TRADER, "big", "huge.csv", 21 * 1024 * 1024)
        .await;
    let text = reply.str("text").unwrap();
    assert!(text.contains("at most 20 MB"), "{text}");
    assert_eq!(bot.fake.count("getFile"), 0);
    assert_eq!(bot.fake.count("downloadFile"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_no_export_gets_one_sentence() {
    let db = TestDb::sqlite().await;
    let bot = Bot::start(&db).await;
    let reply = bot
        .send_file(TRADER, "n1", "notes.txt", b"shopping list\neggs\nmilk\n")
        .await;
    let text = reply.str("text").unwrap();
    assert!(text.starts_with("⚠️ I could not read that file as a broker export: the file is not an export rlhf-bot knows"), "{text}");
    assert!(reply.callback_data().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_linked_to_another_chat_lands_nowhere() {
    let db = TestDb::sqlite().await;
    db.store
        .link_broker_account("fidelity", "X12345678", AccountId(OTHER), Utc::now())
        .await
        .unwrap();
    let bot = Bot::start(&db).await;
    let reply = bot
        .send_file(TRADER, "f1", FIDELITY, &fixture(FIDELITY))
        .await;
    let text = reply.str("text").unwrap();
    assert!(
        text.contains("linked to chat 200, not to chat 100"),
        "{text}"
    );
    let stored = db
        .store
        .net_positions(AccountId(TRADER), "2025-02-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}
