//! Learning over a real store: weekly summaries, candidates through their life, the
//! items learning reads — on SQLite and on Postgres.

mod common;

use chrono::{Duration, NaiveDate};
use common::{TestDb, now, rules, tz};
use rlhf_bot::app;
use rlhf_bot::app::import::import_reader;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::Week;
use rlhf_bot::domain::{AccountId, MatchType, Money, Reason, ReasonCode};
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::learning::candidates::{Decision, Evidence, Final, Proposal, State, Step, plan};
use rlhf_bot::learning::ledger;
use rlhf_bot::store::{Scope, StoreError};

const ACCOUNT: AccountId = AccountId(555);

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn settings() -> Settings {
    Settings::from_lookup(|_| None).expect("defaults")
}

async fn import(db: &TestDb, kind: ImportKind, text: &str) {
    let report = import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        std::io::Cursor::new(text.as_bytes().to_vec()),
        tz(),
        now(),
    )
    .await
    .expect("import runs");
    assert_eq!(report.rejected, 0, "{report:?}");
}

/// A week (2025-W02) with one consent, one modify (+7 days), one reject and one
/// independent trade, reconciled and tracked after expiry.
async fn a_reconciled_week(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n\
         r1,555,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1,1.50\n\
         r2,555,2025-01-07T09:35:00-08:00,sell_to_open,MSFT,put,400,2025-01-17,1,2.00\n\
         r3,555,2025-01-08T09:35:00-08:00,sell_to_open,TSLA,call,450,2025-01-17,1,0.20\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n\
         e1,555,2025-01-06T10:00:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1,1.55,0.65\n\
         e2,555,2025-01-07T10:00:00-08:00,sell_to_open,MSFT,put,400,2025-01-24,1,2.60,0.65\n\
         e3,555,2025-01-09T11:00:00-08:00,sell_to_open,AMD,put,110,2025-01-17,1,0.90,0.65\n\
         e4,555,2025-01-17T13:00:00-08:00,expired,AAPL,put,230,2025-01-17,1,0,0\n\
         e5,555,2025-01-17T13:00:00-08:00,expired,AMD,put,110,2025-01-17,1,0,0\n",
    )
    .await;
    import(
        db,
        ImportKind::Prices,
        "symbol,date,close\nAAPL,2025-01-17,240\nMSFT,2025-01-17,420\nTSLA,2025-01-17,400\n\
         AMD,2025-01-17,120\nMSFT,2025-01-24,425\n",
    )
    .await;
    let mut day = d("2025-01-06");
    while day <= d("2025-01-24") {
        app::reconcile::run_day(&db.store, &rules(), tz(), day, None, now())
            .await
            .expect("reconcile");
        day += Duration::days(1);
    }
    app::outcomes::run(&db.store, tz(), d("2025-01-24"), None, now())
        .await
        .expect("track");
}

async fn a_regenerated_week_keeps_its_review(db: &TestDb) {
    a_reconciled_week(db).await;
    let week = Week::new(2025, 2).unwrap();
    let (report, made) = app::learning::weekly(&db.store, &settings(), week, None, now())
        .await
        .expect("weekly");
    assert_eq!(report.accounts, 1);
    assert_eq!(made.len(), 1);
    let s = db.store.summary(ACCOUNT, week).await.expect("stored");
    assert_eq!(
        (
            s.counts.consent,
            s.counts.modify,
            s.counts.reject,
            s.counts.independent
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(s.total, 4);
    assert!(
        s.text
            .starts_with("📊 WEEKLY LEARNING SUMMARY (2025-W02)\n\nRECOMMENDATIONS: 3\n")
    );
    // Issue 10: the three recommendations' shares add up to 100 (the independent trade
    // has its own line).
    assert!(s.text.contains("├─ ✅ Consent: 1 (34%)"), "{}", s.text);
    assert!(s.text.contains("🆕 INDEPENDENT TRADES: 1\n"), "{}", s.text);
    assert_eq!(s.review_status, "pending");

    db.store
        .review_summary(
            ACCOUNT,
            week,
            "reviewed",
            Some("DTE looks deliberate"),
            now(),
        )
        .await
        .expect("review");
    app::learning::weekly(&db.store, &settings(), week, Some(ACCOUNT), now())
        .await
        .expect("regenerate");
    let again = db.store.summary(ACCOUNT, week).await.expect("stored");
    assert_eq!(again.review_status, "reviewed");
    assert_eq!(again.review_notes.as_deref(), Some("DTE looks deliberate"));
    assert_eq!(again.text, s.text);
    let listed = db
        .store
        .summaries(Scope::All, Some(2025), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "regenerating replaces, never adds");

    let other = db.store.summary(AccountId(999), week).await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));
    let bad = db
        .store
        .review_summary(ACCOUNT, week, "approved", None, now())
        .await;
    assert!(bad.is_err(), "unknown statuses are refused");
}
both!(regenerated_week, a_regenerated_week_keeps_its_review);

async fn the_items_carry_context_reasons_and_both_sides(db: &TestDb) {
    a_reconciled_week(db).await;
    let m = db
        .store
        .matches(&rlhf_bot::store::MatchFilter::default())
        .await
        .unwrap();
    let reject = m
        .iter()
        .find(|m| m.match_type == MatchType::Reject)
        .unwrap();
    db.store
        .set_reason(
            reject.id,
            Scope::All,
            &Reason::new(ReasonCode::PremiumLow, None).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let items = db
        .store
        .learning_items(d("2025-01-06"), d("2025-01-12"), None, tz())
        .await
        .unwrap();
    let items = &items[&ACCOUNT];
    assert_eq!(items.len(), 4);
    let modify = items
        .iter()
        .find(|i| i.match_type == MatchType::Modify)
        .unwrap();
    assert_eq!(modify.dte_diff, Some(7));
    let rec = modify.rec.as_ref().unwrap();
    assert_eq!(rec.dte, 10);
    assert_eq!(rec.premium, Money::from_cents(200));
    assert_eq!(rec.created_local.to_string(), "2025-01-07 09:35:00");
    let rejected = items
        .iter()
        .find(|i| i.match_type == MatchType::Reject)
        .unwrap();
    assert_eq!(rejected.reason, Some(ReasonCode::PremiumLow));
    assert_eq!(
        ledger::trader_pnl(rejected),
        Some(Money::ZERO),
        "a rejection earns nothing"
    );
    assert_eq!(
        rejected.algorithm.unwrap().pnl,
        Some(Money::from_cents(20 * 100))
    );
    let consent = items
        .iter()
        .find(|i| i.match_type == MatchType::Consent)
        .unwrap();
    assert_eq!(
        consent.actual.unwrap().pnl,
        Some(Money::from_cents(155 * 100 - 65))
    );
    let independent = items
        .iter()
        .find(|i| i.match_type == MatchType::Independent)
        .unwrap();
    assert!(independent.rec.is_none());
}
both!(items, the_items_carry_context_reasons_and_both_sides);

fn evidence(n: usize, effect: f64) -> Evidence {
    Evidence {
        n,
        effect,
        q_value: 0.01,
        description: format!("User adds {effect:.0} days on average to DTE"),
        detail: serde_json::Value::Null,
    }
}

fn proposal(n: usize, effect: f64) -> Proposal {
    Proposal {
        pattern_key: "dte_shift".to_owned(),
        subject: String::new(),
        title: format!("Increase default DTE by {effect:.0} days"),
        change: serde_json::json!({"kind": "dte_shift", "days": effect}),
        evidence: evidence(n, effect),
    }
}

async fn a_candidate_lives_through_every_state_with_an_audit_row_each(db: &TestDb) {
    a_reconciled_week(db).await;
    let store = &db.store;
    let t0 = now();
    store
        .apply_candidate_steps(ACCOUNT, &plan(&[], vec![proposal(12, 7.0)]), t0)
        .await
        .unwrap();
    let c = store.candidates(Scope::Account(ACCOUNT)).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].state, State::Proposed);
    let id = c[0].id;

    // The same pattern next week updates it instead of adding a second one.
    let steps = plan(&c, vec![proposal(15, 7.0)]);
    assert!(matches!(steps.as_slice(), [Step::Update { .. }]));
    store
        .apply_candidate_steps(ACCOUNT, &steps, t0)
        .await
        .unwrap();
    assert_eq!(store.candidates(Scope::All).await.unwrap().len(), 1);
    assert_eq!(
        store.candidate(id, Scope::All).await.unwrap().evidence.n,
        15
    );

    // Another account cannot see or decide it.
    let stranger = Scope::Account(AccountId(999));
    assert!(store.candidate(id, stranger).await.is_err());
    let forged = app::learning::decide(store, stranger, id, Decision::Implement, "", "x", t0).await;
    assert!(matches!(forged, Err(StoreError::NotFound(_))));

    // Rejecting needs a reason; finalizing needs validation first.
    let no_reason =
        app::learning::decide(store, Scope::All, id, Decision::Reject, " ", "t", t0).await;
    assert!(matches!(no_reason, Err(StoreError::Lifecycle(_))));
    let early = app::learning::finalize(store, Scope::All, id, Final::Keep, "", "t", t0).await;
    assert!(matches!(early, Err(StoreError::Lifecycle(_))));

    let c = app::learning::decide(
        store,
        Scope::All,
        id,
        Decision::Implement,
        "makes sense",
        "trader",
        t0,
    )
    .await
    .unwrap();
    assert_eq!(c.state, State::Implemented);
    // Deciding twice is refused: the first decision stands.
    let twice = app::learning::decide(store, Scope::All, id, Decision::Reject, "no", "t", t0).await;
    assert!(twice.is_err());

    // The next weekly run starts validation; four weeks later its report is written.
    let s = settings();
    let week = Week::new(2025, 2).unwrap();
    let (r, _) = app::learning::weekly(store, &s, week, Some(ACCOUNT), t0)
        .await
        .unwrap();
    assert_eq!(r.validations_started, 1);
    let c = store.candidate(id, Scope::All).await.unwrap();
    assert_eq!(c.state, State::Validating);
    let from = c.validation_from.unwrap();
    assert_eq!(from.format("%a").to_string(), "Mon");
    let still = app::learning::finalize(store, Scope::All, id, Final::Keep, "", "t", t0).await;
    assert!(matches!(still, Err(StoreError::Lifecycle(_))), "{still:?}");

    let later = t0 + Duration::weeks(6);
    let (r, _) = app::learning::weekly(store, &s, week, Some(ACCOUNT), later)
        .await
        .unwrap();
    assert_eq!(r.validation_reports, 1);
    let c = store.candidate(id, Scope::All).await.unwrap();
    let report = c.report.as_ref().expect("a validation report");
    assert_eq!(report.after.from, from);
    assert_eq!(report.before.to, from - Duration::days(1));

    let rollback_without_reason =
        app::learning::finalize(store, Scope::All, id, Final::Rollback, "", "t", later).await;
    assert!(rollback_without_reason.is_err());
    let c = app::learning::finalize(store, Scope::All, id, Final::Keep, "", "trader", later)
        .await
        .unwrap();
    assert_eq!(c.state, State::Kept);

    let history = store.candidate_history(id).await.unwrap();
    let states: Vec<&str> = history.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(
        states,
        [
            "proposed",
            "proposed",
            "implemented",
            "validating",
            "validating",
            "kept"
        ]
    );
    assert_eq!(history[2].actor, "trader");
    assert_eq!(history[2].reason.as_deref(), Some("makes sense"));
    assert_eq!(history[0].evidence["n"], 12);
}
both!(
    lifecycle,
    a_candidate_lives_through_every_state_with_an_audit_row_each
);

async fn a_rejected_candidate_returns_only_when_its_evidence_grows(db: &TestDb) {
    a_reconciled_week(db).await;
    let store = &db.store;
    store
        .apply_candidate_steps(ACCOUNT, &plan(&[], vec![proposal(12, 7.0)]), now())
        .await
        .unwrap();
    let id = store.candidates(Scope::All).await.unwrap()[0].id;
    app::learning::decide(
        store,
        Scope::All,
        id,
        Decision::Reject,
        "I like short DTE",
        "t",
        now(),
    )
    .await
    .unwrap();
    let c = store.candidates(Scope::All).await.unwrap();
    assert!(
        plan(&c, vec![proposal(14, 7.0)]).is_empty(),
        "two more items are not material"
    );
    let steps = plan(&c, vec![proposal(20, 7.0)]);
    assert!(matches!(steps.as_slice(), [Step::Repropose { .. }]));
    store
        .apply_candidate_steps(ACCOUNT, &steps, now())
        .await
        .unwrap();
    let c = store.candidate(id, Scope::All).await.unwrap();
    assert_eq!(c.state, State::Proposed);
    assert_eq!(c.evidence_at_close.as_ref().map(|e| e.n), Some(12));
}
both!(
    rejected_returns,
    a_rejected_candidate_returns_only_when_its_evidence_grows
);

/// A simulated trader who adds a week to DTE, imported and reconciled day by day.
async fn a_simulated_trader(db: &TestDb, persona: &str, weeks: u32) -> rlhf_bot::sim::SimOutput {
    let cfg = rlhf_bot::sim::SimConfig {
        seed: 4,
        weeks,
        persona: persona.parse().unwrap(),
        tz: tz(),
        ..rlhf_bot::sim::SimConfig::default()
    };
    let sim = rlhf_bot::sim::simulate(&cfg);
    db.store
        .insert_recommendations(&sim.recommendations, tz(), now())
        .await
        .unwrap();
    db.store
        .insert_executions(&sim.executions, tz(), now())
        .await
        .unwrap();
    db.store.insert_prices(&sim.prices, now()).await.unwrap();
    let mut day = sim.start;
    while day <= sim.last_day().unwrap() {
        app::reconcile::run_day(&db.store, &rules(), tz(), day, None, now())
            .await
            .unwrap();
        day += Duration::days(1);
    }
    app::outcomes::run(&db.store, tz(), sim.last_day().unwrap(), None, now())
        .await
        .unwrap();
    sim
}

fn keyboard_of(payload: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
    v["keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| b["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn the_saturday_posts_carry_the_summary_new_candidates_and_validation_reports(db: &TestDb) {
    let sim = a_simulated_trader(db, "adds-week", 6).await;
    let account = AccountId(123_456_789);
    let mut s = settings();
    s.allowed_user_ids = vec![account.0];
    let week = Week::of(sim.start + Duration::weeks(5));
    let posted = saturday(&db.store, &s, week, now()).await.unwrap();
    let outbox = db.store.outbox(Some(account)).await.unwrap();
    assert_eq!(posted, outbox.len());
    let keys: Vec<&str> = outbox.iter().map(|m| m.dedupe_key.as_str()).collect();
    assert!(
        keys[0].starts_with(&format!("summary:{}:{}", account.0, week.label())),
        "{keys:?}"
    );
    let candidate = outbox
        .iter()
        .find(|m| m.dedupe_key.starts_with("candidate:"))
        .expect("the new candidate is posted with its buttons");
    assert!(
        candidate.payload.contains("Increase default DTE by 7 days"),
        "{}",
        candidate.payload
    );
    assert_eq!(
        keyboard_of(&candidate.payload).len(),
        3,
        "implement / defer / reject"
    );
    assert!(
        keyboard_of(&outbox[0].payload)
            .iter()
            .any(|b| b.contains("reviewed"))
    );

    // Re-running the Saturday posts nothing new.
    assert_eq!(saturday(&db.store, &s, week, now()).await.unwrap(), 0);

    // Implemented, validated for four weeks: the report arrives with keep / roll back / modify.
    let id = db.store.candidates(Scope::Account(account)).await.unwrap()[0].id;
    app::learning::decide(
        &db.store,
        Scope::All,
        id,
        Decision::Implement,
        "",
        "t",
        now(),
    )
    .await
    .unwrap();
    saturday(&db.store, &s, week, now()).await.unwrap();
    let later = now() + Duration::weeks(6);
    saturday(&db.store, &s, week, later).await.unwrap();
    let outbox = db.store.outbox(Some(account)).await.unwrap();
    let report = outbox
        .iter()
        .find(|m| m.dedupe_key == format!("validation:{}:{id}", account.0))
        .expect("the validation report is posted");
    assert!(
        report.payload.contains("Validation report"),
        "{}",
        report.payload
    );
    assert_eq!(
        keyboard_of(&report.payload).len(),
        3,
        "keep / roll back / modify"
    );
    let strangers = db.store.outbox(None).await.unwrap();
    assert!(
        strangers.iter().all(|m| m.account == account),
        "only served chats get posts"
    );
}
both!(
    saturday_posts,
    the_saturday_posts_carry_the_summary_new_candidates_and_validation_reports
);

async fn candidate_ids_follow_each_other_whatever_their_audit_rows(db: &TestDb) {
    a_reconciled_week(db).await;
    let store = &db.store;
    let t0 = now();
    store
        .apply_candidate_steps(ACCOUNT, &plan(&[], vec![proposal(12, 7.0)]), t0)
        .await
        .unwrap();
    let first = store.candidates(Scope::Account(ACCOUNT)).await.unwrap()[0].id;
    // Audit rows of the first candidate: its proposal and a deferral.
    app::learning::decide(store, Scope::All, first, Decision::Defer, "", "t", t0)
        .await
        .unwrap();
    let mut second = proposal(20, 3.0);
    second.pattern_key = "strike_shift".to_owned();
    store
        .apply_candidate_steps(ACCOUNT, &[Step::Propose(second)], t0)
        .await
        .unwrap();
    let ids: Vec<i64> = store
        .candidates(Scope::Account(ACCOUNT))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    // Issue 10: ids jumped (#1, #3) because audit rows took ids from the same sequence.
    assert_eq!(ids, [first, first + 1]);
    assert!(store.candidate(first + 1, Scope::All).await.is_ok());
    let history = store.candidate_history(first).await.unwrap();
    let states: Vec<&str> = history.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(states, ["proposed", "deferred"]);
}
both!(
    candidate_ids,
    candidate_ids_follow_each_other_whatever_their_audit_rows
);

/// 2025-W03 of [`a_reconciled_week`]: nothing was decided that week, but positions of
/// the week before closed in it (AAPL and the AMD trade of the trader's own expired on
/// 2025-01-17; so did the algorithm's MSFT and TSLA; the trader's MSFT, one week later,
/// closes in W04).
async fn the_week_positions_close_in_reports_their_money_everywhere(db: &TestDb) {
    a_reconciled_week(db).await;
    let store = &db.store;
    let week = Week::new(2025, 3).unwrap();
    let (report, _) = app::learning::weekly(store, &settings(), week, Some(ACCOUNT), now())
        .await
        .unwrap();
    assert_eq!(report.accounts, 1);
    let s = store.summary(ACCOUNT, week).await.unwrap();
    // The trader: AAPL $155.00 − $0.65 and AMD $90.00 − $0.65 (the independent trade).
    assert_eq!(s.pnl, Money::from_cents(15_435 + 8_935));
    assert!(s.text.contains("RECOMMENDATIONS: 0\n"), "{}", s.text);
    // The algorithm: AAPL as the trader (consent), MSFT $200.00 and TSLA $20.00 held to
    // expiry, each paying the trader's $0.65 per contract.
    assert!(
        s.text.contains(
            "P&L: $243.70\n├─ 1 position on recommendations: $154.35 \
             (the algorithm's 3: $373.05)\n└─ 1 independent trade: $89.35\n"
        ),
        "{}",
        s.text
    );

    // The same period's figures in the ledger, the analytics and the chart.
    let period = rlhf_bot::learning::DayRange::new(week.monday(), week.sunday());
    let items = store
        .learning_items(period.from, period.to, Some(ACCOUNT), tz())
        .await
        .unwrap()
        .remove(&ACCOUNT)
        .unwrap();
    let l = ledger::Ledger::of(&items, period);
    assert_eq!(l.trader_realized(), s.pnl);
    let chart = ledger::cumulative(&items, period);
    assert_eq!(
        chart.last().map(|p| (p.1, p.2)),
        Some((l.trader.pnl, l.algorithm.pnl))
    );
    let accuracy = rlhf_bot::learning::analytics::algorithm_accuracy(&items, period);
    assert_eq!(accuracy.followed.total_pnl, l.trader.pnl);
    assert_eq!(accuracy.independent.total_pnl, l.independent.pnl);
    // The rejected TSLA: the algorithm's $19.35 against the trader's nothing.
    assert_eq!(
        accuracy.diverged_algorithm.total_pnl,
        Money::from_cents(1_935)
    );
    assert_eq!(accuracy.diverged_trader.total_pnl, Money::ZERO);
}
both!(
    week_money,
    the_week_positions_close_in_reports_their_money_everywhere
);

/// The Saturday run with the bot's wording; how many posts were new.
async fn saturday(
    store: &rlhf_bot::store::Store,
    s: &Settings,
    week: Week,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, rlhf_bot::store::StoreError> {
    let app = rlhf_bot::app::App::new(
        store.clone(),
        std::sync::Arc::new(s.clone()),
        std::sync::Arc::new(rlhf_bot::bot::posts::BotPosts),
    );
    Ok(app.weekly_summary(week, now).await?.posted)
}
