//! The scheduler: slots in the real zone across daylight saving changes, the run ledger
//! (once per slot across processes, catch-up, skip, retry, takeover) — with time as a
//! parameter, never a sleep.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use futures_util::future::BoxFuture;
use rlhf_bot::app::scheduler::{
    Job, JobBodies, Schedule, Scheduler, Slot, SlotSpec, slots_between,
};
use rlhf_bot::bot::Outgoing;
use rlhf_bot::store::{Claim, RetryPolicy, RunStatus, Store};

use common::TestDb;

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn la() -> chrono_tz::Tz {
    chrono_tz::America::Los_Angeles
}

fn spec(text: &str) -> SlotSpec {
    SlotSpec::parse(text, &WEEKDAYS).unwrap()
}

fn instants(slots: &[Slot]) -> Vec<String> {
    slots
        .iter()
        .map(|s| format!("{} {}", s.key(), s.at.format("%Y-%m-%dT%H:%MZ")))
        .collect()
}

#[test]
fn weekday_evenings_keep_their_local_time_across_the_spring_change() {
    let slots = slots_between(
        &spec("21:00"),
        la(),
        utc("2026-03-05T00:00:00Z"),
        utc("2026-03-12T00:00:00Z"),
    );
    assert_eq!(
        instants(&slots),
        [
            "2026-03-04T21:00 2026-03-05T05:00Z",
            "2026-03-05T21:00 2026-03-06T05:00Z",
            "2026-03-06T21:00 2026-03-07T05:00Z",
            // Sunday 2026-03-08 the clocks go forward: 21:00 is now UTC-7.
            "2026-03-09T21:00 2026-03-10T04:00Z",
            "2026-03-10T21:00 2026-03-11T04:00Z",
        ]
    );
}

#[test]
fn weekday_evenings_keep_their_local_time_across_the_fall_change() {
    let slots = slots_between(
        &spec("22:00"),
        la(),
        utc("2026-10-29T00:00:00Z"),
        utc("2026-11-04T00:00:00Z"),
    );
    assert_eq!(
        instants(&slots),
        [
            "2026-10-28T22:00 2026-10-29T05:00Z",
            "2026-10-29T22:00 2026-10-30T05:00Z",
            "2026-10-30T22:00 2026-10-31T05:00Z",
            // Sunday 2026-11-01 the clocks go back: 22:00 is now UTC-8.
            "2026-11-02T22:00 2026-11-03T06:00Z",
        ]
    );
}

#[test]
fn the_saturday_summary_stays_at_nine_local_on_both_sides_of_each_change() {
    let sat = spec("Sat 09:00");
    let spring = slots_between(
        &sat,
        la(),
        utc("2026-03-01T00:00:00Z"),
        utc("2026-03-15T00:00:00Z"),
    );
    assert_eq!(
        instants(&spring),
        [
            "2026-03-07T09:00 2026-03-07T17:00Z",
            "2026-03-14T09:00 2026-03-14T16:00Z"
        ]
    );
    let fall = slots_between(
        &sat,
        la(),
        utc("2026-10-25T00:00:00Z"),
        utc("2026-11-08T00:00:00Z"),
    );
    assert_eq!(
        instants(&fall),
        [
            "2026-10-31T09:00 2026-10-31T16:00Z",
            "2026-11-07T09:00 2026-11-07T17:00Z"
        ]
    );
}

#[test]
fn a_slot_in_the_skipped_hour_runs_once_after_it_and_a_repeated_hour_runs_once() {
    let spring = slots_between(
        &spec("Sun 02:30"),
        la(),
        utc("2026-03-07T00:00:00Z"),
        utc("2026-03-09T00:00:00Z"),
    );
    assert_eq!(instants(&spring), ["2026-03-08T02:30 2026-03-08T10:30Z"]);
    let fall = slots_between(
        &spec("Sun 01:30"),
        la(),
        utc("2026-10-31T00:00:00Z"),
        utc("2026-11-02T00:00:00Z"),
    );
    assert_eq!(instants(&fall), ["2026-11-01T01:30 2026-11-01T08:30Z"]);
}

#[test]
fn slot_intervals_are_half_open_so_consecutive_windows_never_repeat_a_slot() {
    let s = spec("21:00");
    let a = slots_between(
        &s,
        la(),
        utc("2026-03-09T00:00:00Z"),
        utc("2026-03-10T04:00:00Z"),
    );
    let b = slots_between(
        &s,
        la(),
        utc("2026-03-10T04:00:00Z"),
        utc("2026-03-11T00:00:00Z"),
    );
    assert_eq!(instants(&a), ["2026-03-09T21:00 2026-03-10T04:00Z"]);
    assert!(b.is_empty());
}

/// Job bodies that record what ran, failing the first `fail_first` calls.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(Job, String)>>,
    fail_first: AtomicUsize,
    delay_ms: u64,
}

impl JobBodies for Recorder {
    fn run(&self, job: Job, slot: Slot) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            if self.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(self.delay_ms)).await;
            }
            self.calls.lock().unwrap().push((job, slot.key()));
            let left = self.fail_first.load(Ordering::SeqCst);
            if left > 0 {
                self.fail_first.store(left - 1, Ordering::SeqCst);
                anyhow::bail!("the database went away");
            }
            Ok(())
        })
    }

    fn failure_notice(&self, job: Job, slot: Slot, _error: &str) -> Outgoing {
        Outgoing::Text {
            html: format!("{job} {} failed", slot.key()),
            keyboard: Vec::new(),
        }
    }
}

fn schedule(catch_up_hours: i64, policy: RetryPolicy) -> Schedule {
    Schedule {
        tz: la(),
        entries: vec![
            (Job::Reconcile, spec("21:00")),
            (Job::TrackOutcomes, spec("22:00")),
            (Job::WeeklySummary, spec("Sat 09:00")),
        ],
        catch_up: Duration::hours(catch_up_hours),
        policy,
    }
}

/// Ticks every 15 minutes over `(from, to]`; returns each run as
/// `job slot-key ran-at`.
async fn tick_through(sched: &Scheduler, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut ran = Vec::new();
    let mut now = from;
    let (started, mut ticks) = (std::time::Instant::now(), 0);
    while now < to {
        now += Duration::minutes(15);
        ticks += 1;
        let r = sched.tick(now).await.unwrap();
        for (job, key, _) in r.done {
            ran.push(format!("{job} {key} {}", now.format("%m-%dT%H:%MZ")));
        }
    }
    println!("{ticks} ticks in {:?}", started.elapsed());
    ran
}

async fn every_slot_runs_once_on_time_across_the_spring_change(db: &TestDb) {
    let bodies = Arc::new(Recorder::default());
    let sched = Scheduler::new(
        db.store.clone(),
        schedule(12, RetryPolicy::default()),
        bodies.clone(),
    );
    // Start after the week-long look-back would find anything before the window.
    let from = utc("2026-03-06T04:00:00Z");
    let _ = sched.tick(from).await.unwrap();
    bodies.calls.lock().unwrap().clear();
    let ran = tick_through(&sched, from, utc("2026-03-11T06:00:00Z")).await;
    assert_eq!(
        ran,
        [
            "reconcile 2026-03-05T21:00 03-06T05:00Z",
            "track_outcomes 2026-03-05T22:00 03-06T06:00Z",
            "reconcile 2026-03-06T21:00 03-07T05:00Z",
            "track_outcomes 2026-03-06T22:00 03-07T06:00Z",
            "weekly_summary 2026-03-07T09:00 03-07T17:00Z",
            "reconcile 2026-03-09T21:00 03-10T04:00Z",
            "track_outcomes 2026-03-09T22:00 03-10T05:00Z",
            "reconcile 2026-03-10T21:00 03-11T04:00Z",
            "track_outcomes 2026-03-10T22:00 03-11T05:00Z",
        ]
    );
}
both!(
    every_slot_runs_once_on_time_across_the_spring_change,
    every_slot_runs_once_on_time_across_the_spring_change
);

async fn every_slot_runs_once_on_time_across_the_fall_change(db: &TestDb) {
    let bodies = Arc::new(Recorder::default());
    let sched = Scheduler::new(
        db.store.clone(),
        schedule(12, RetryPolicy::default()),
        bodies.clone(),
    );
    let from = utc("2026-10-30T06:00:00Z");
    let _ = sched.tick(from).await.unwrap();
    let ran = tick_through(&sched, from, utc("2026-11-04T07:00:00Z")).await;
    assert_eq!(
        ran,
        [
            "reconcile 2026-10-30T21:00 10-31T04:00Z",
            "track_outcomes 2026-10-30T22:00 10-31T05:00Z",
            "weekly_summary 2026-10-31T09:00 10-31T16:00Z",
            "reconcile 2026-11-02T21:00 11-03T05:00Z",
            "track_outcomes 2026-11-02T22:00 11-03T06:00Z",
            "reconcile 2026-11-03T21:00 11-04T05:00Z",
            "track_outcomes 2026-11-03T22:00 11-04T06:00Z",
        ]
    );
}
both!(
    every_slot_runs_once_on_time_across_the_fall_change,
    every_slot_runs_once_on_time_across_the_fall_change
);

async fn a_restart_catches_up_recent_slots_and_skips_older_ones(db: &TestDb) {
    let bodies = Arc::new(Recorder::default());
    let sched = Scheduler::new(
        db.store.clone(),
        schedule(6, RetryPolicy::default()),
        bodies.clone(),
    );
    // Monday evening runs normally.
    let before = tick_through(
        &sched,
        utc("2026-03-10T03:00:00Z"),
        utc("2026-03-10T05:00:00Z"),
    )
    .await;
    assert_eq!(before.len(), 2, "{before:?}");
    // Down from Tuesday 20:00 PDT to Thursday 23:30 PDT (06:30Z Friday), 6 h catch-up.
    let report = sched.tick(utc("2026-03-13T06:30:00Z")).await.unwrap();
    let done: Vec<String> = report
        .done
        .iter()
        .map(|(j, k, _)| format!("{j} {k}"))
        .collect();
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|(j, k)| format!("{j} {k}"))
        .collect();
    assert_eq!(
        done,
        [
            "reconcile 2026-03-12T21:00",
            "track_outcomes 2026-03-12T22:00"
        ],
        "the same evening runs late, reconciliation first"
    );
    assert_eq!(
        skipped,
        [
            "reconcile 2026-03-10T21:00",
            "track_outcomes 2026-03-10T22:00",
            "reconcile 2026-03-11T21:00",
            "track_outcomes 2026-03-11T22:00",
        ]
    );
    let run = db
        .store
        .job_run("reconcile", "2026-03-11T21:00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Skipped);
    assert_eq!(run.error.as_deref(), Some("missed while the bot was down"));
    // Slots before the very first start are not "missed".
    let before_install = db
        .store
        .job_run("reconcile", "2026-03-06T21:00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (before_install.status, before_install.error.as_deref()),
        (RunStatus::Skipped, Some("before the first start"))
    );
    // The next tick finds nothing more to do.
    let again = sched.tick(utc("2026-03-13T06:31:00Z")).await.unwrap();
    assert!(
        again.done.is_empty() && again.skipped.is_empty(),
        "{again:?}"
    );
}
both!(
    a_restart_catches_up_recent_slots_and_skips_older_ones,
    a_restart_catches_up_recent_slots_and_skips_older_ones
);

async fn a_failed_run_is_retried_after_its_backoff_then_succeeds(db: &TestDb) {
    let bodies = Arc::new(Recorder {
        fail_first: AtomicUsize::new(1),
        ..Recorder::default()
    });
    let policy = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::minutes(5),
        lease: Duration::minutes(15),
    };
    let sched = Scheduler::new(db.store.clone(), schedule(12, policy), bodies.clone());
    let slot = utc("2026-03-10T04:00:00Z");
    let r = sched.tick(slot).await.unwrap();
    assert_eq!(r.failed.len(), 1);
    let r = sched.tick(slot + Duration::minutes(4)).await.unwrap();
    assert!(
        r.done.is_empty() && r.failed.is_empty(),
        "still backing off: {r:?}"
    );
    let r = sched.tick(slot + Duration::minutes(5)).await.unwrap();
    assert_eq!(r.done, [(Job::Reconcile, "2026-03-09T21:00".to_owned(), 2)]);
    let run = db
        .store
        .job_run("reconcile", "2026-03-09T21:00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.attempts, run.error),
        (RunStatus::Done, 2, None)
    );
    assert!(
        db.store.outbox(None).await.unwrap().is_empty(),
        "a recovered run reports nothing"
    );
}
both!(
    a_failed_run_is_retried_after_its_backoff_then_succeeds,
    a_failed_run_is_retried_after_its_backoff_then_succeeds
);

async fn a_run_that_keeps_failing_gives_up_and_tells_every_trader(db: &TestDb) {
    for id in [111_i64, 222] {
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, '2026-01-01T00:00:00.000Z')",
        )
        .bind(id)
        .execute(db.store.pool())
        .await
        .unwrap();
    }
    let bodies = Arc::new(Recorder {
        fail_first: AtomicUsize::new(100),
        ..Recorder::default()
    });
    let policy = RetryPolicy {
        max_attempts: 2,
        backoff: Duration::minutes(5),
        lease: Duration::minutes(15),
    };
    let sched = Scheduler::new(db.store.clone(), schedule(12, policy), bodies.clone());
    let slot = utc("2026-03-10T04:00:00Z");
    for minutes in [0, 5, 10, 30, 50] {
        sched.tick(slot + Duration::minutes(minutes)).await.unwrap();
    }
    assert_eq!(bodies.calls.lock().unwrap().len(), 2, "two attempts in all");
    let run = db
        .store
        .job_run("reconcile", "2026-03-09T21:00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("the database went away"));
    let notices = db.store.outbox(None).await.unwrap();
    let to: Vec<i64> = notices.iter().map(|m| m.account.0).collect();
    assert_eq!(to, [111, 222]);
    assert!(
        notices[0]
            .payload
            .contains("reconcile 2026-03-09T21:00 failed")
    );
}
both!(
    a_run_that_keeps_failing_gives_up_and_tells_every_trader,
    a_run_that_keeps_failing_gives_up_and_tells_every_trader
);

async fn two_processes_claiming_one_slot_run_it_once(db: &TestDb) {
    let other = Store::open(&db.url).await.unwrap();
    let now = utc("2026-03-10T04:00:00Z");
    let policy = RetryPolicy::default();
    // The bare claim, raced many times over fresh slots.
    for i in 0..20 {
        let slot = format!("2026-03-09T21:{i:02}");
        let (a, b) = tokio::join!(
            db.store.claim_run("race", &slot, now, &policy),
            other.claim_run("race", &slot, now, &policy)
        );
        let claimed = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|c| matches!(c, Claim::Claimed { .. }))
            .count();
        assert_eq!(claimed, 1, "slot {slot}");
    }
    // Two schedulers ticking at the same instant over the same evening.
    let bodies_a = Arc::new(Recorder {
        delay_ms: 50,
        ..Recorder::default()
    });
    let bodies_b = Arc::new(Recorder {
        delay_ms: 50,
        ..Recorder::default()
    });
    let a = Scheduler::new(db.store.clone(), schedule(12, policy), bodies_a.clone());
    let b = Scheduler::new(other.clone(), schedule(12, policy), bodies_b.clone());
    let at = utc("2026-03-10T05:00:00Z");
    let (ra, rb) = tokio::join!(a.tick(at), b.tick(at));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for (job, key) in bodies_a
        .calls
        .lock()
        .unwrap()
        .iter()
        .chain(bodies_b.calls.lock().unwrap().iter())
    {
        *runs.entry(format!("{job} {key}")).or_default() += 1;
    }
    assert_eq!(
        runs.into_iter().collect::<Vec<_>>(),
        [
            ("reconcile 2026-03-09T21:00".to_owned(), 1),
            ("track_outcomes 2026-03-09T22:00".to_owned(), 1),
        ]
    );
    assert_eq!(ra.done.len() + rb.done.len(), 2);
    other.close().await;
}
both!(
    two_processes_claiming_one_slot_run_it_once,
    two_processes_claiming_one_slot_run_it_once
);

async fn a_claim_abandoned_past_its_lease_is_taken_over_and_the_late_finisher_changes_nothing(
    db: &TestDb,
) {
    let other = Store::open(&db.url).await.unwrap();
    let policy = RetryPolicy::default();
    let t0 = utc("2026-03-10T04:00:00Z");
    let slot = "2026-03-09T21:00";
    assert_eq!(
        db.store
            .claim_run("reconcile", slot, t0, &policy)
            .await
            .unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    assert_eq!(
        other
            .claim_run("reconcile", slot, t0 + Duration::minutes(10), &policy)
            .await
            .unwrap(),
        Claim::Held
    );
    let later = t0 + policy.lease + Duration::minutes(1);
    assert_eq!(
        other
            .claim_run("reconcile", slot, later, &policy)
            .await
            .unwrap(),
        Claim::Claimed { attempt: 2 }
    );
    assert!(
        !db.store
            .finish_run("reconcile", slot, 1, later)
            .await
            .unwrap()
    );
    assert!(other.finish_run("reconcile", slot, 2, later).await.unwrap());
    assert_eq!(
        db.store
            .claim_run("reconcile", slot, later, &policy)
            .await
            .unwrap(),
        Claim::Done
    );
    other.close().await;
}
both!(
    a_claim_abandoned_past_its_lease_is_taken_over_and_the_late_finisher_changes_nothing,
    a_claim_abandoned_past_its_lease_is_taken_over_and_the_late_finisher_changes_nothing
);

/// A clock stopped at one instant.
struct Stopped(DateTime<Utc>);

impl rlhf_bot::domain::Clock for Stopped {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

async fn import_demo(store: &Store) {
    use rlhf_bot::app::import::import_file;
    use rlhf_bot::import::{ImportFormat, ImportKind};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/demo");
    for (kind, file) in [
        (ImportKind::Recommendations, "recommendations.csv"),
        (ImportKind::Executions, "executions.csv"),
        (ImportKind::Prices, "prices.csv"),
    ] {
        let r = import_file(
            store,
            kind,
            ImportFormat::Generic,
            &dir.join(file),
            la(),
            utc("2025-01-02T00:00:00Z"),
            false,
        )
        .await
        .unwrap();
        assert_eq!(r.rejected, 0);
    }
}

async fn the_nightly_jobs_store_their_results_and_enqueue_each_post_once(db: &TestDb) {
    use rlhf_bot::app::App;
    use rlhf_bot::app::nightly::Nightly;
    use rlhf_bot::bot::posts::BotPosts;
    use rlhf_bot::config::Settings;
    use rlhf_bot::store::Scope;
    import_demo(&db.store).await;
    let settings = Arc::new(
        Settings::from_lookup(|k| (k == "ALLOWED_USER_IDS").then(|| "123456789".to_owned()))
            .unwrap(),
    );
    // Monday 2025-01-06 21:00 PST, through the scheduler with the real job bodies.
    let at = utc("2025-01-07T05:00:00Z");
    let app = |s: &Settings| App::new(db.store.clone(), Arc::new(s.clone()), Arc::new(BotPosts));
    let nightly = Arc::new(Nightly {
        app: app(&settings),
        clock: Arc::new(Stopped(at)),
    });
    let sched = Scheduler::new(
        db.store.clone(),
        Schedule::from_settings(&settings),
        nightly.clone(),
    );
    let r = sched.tick(at).await.unwrap();
    assert_eq!(r.done, [(Job::Reconcile, "2025-01-06T21:00".to_owned(), 1)]);
    let posts = db.store.outbox(None).await.unwrap();
    assert!(
        posts
            .iter()
            .all(|m| m.kind == "reconciliation" && m.account.0 == 123456789)
    );
    let cards = posts
        .iter()
        .filter(|m| m.payload.contains("keyboard"))
        .count();
    assert!(
        posts.len() >= 2 && cards >= 1,
        "a summary and a reason card: {posts:?}"
    );
    // A re-run (as after a crash before the ledger said done) enqueues nothing new.
    let again = app(&settings)
        .reconcile_day(Scope::All, NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(), at)
        .await
        .unwrap()
        .queued;
    assert_eq!(again, 0);
    // A chat the bot does not serve gets no posts (its data is reconciled all the same).
    let unserved = Settings::from_lookup(|_| None).unwrap();
    let none = app(&unserved)
        .reconcile_day(Scope::All, NaiveDate::from_ymd_opt(2025, 1, 7).unwrap(), at)
        .await
        .unwrap()
        .queued;
    assert_eq!(none, 0);
    // The rest of the month, then outcomes as of the 31st: what became final is posted
    // in the transaction that stores it, and only once.
    let last = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    for d in NaiveDate::from_ymd_opt(2025, 1, 7)
        .unwrap()
        .iter_days()
        .take_while(|d| *d <= last)
    {
        app(&settings)
            .reconcile_day(Scope::All, d, at)
            .await
            .unwrap();
    }
    let count = |kind: &'static str| async move {
        db.store
            .outbox(None)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.kind == kind)
            .count()
    };
    app(&settings)
        .track_outcomes(Scope::All, last, at)
        .await
        .unwrap();
    let outcome_posts = count("outcomes").await;
    assert!(outcome_posts >= 1);
    assert!(
        db.store
            .outbox(None)
            .await
            .unwrap()
            .iter()
            .any(|m| m.dedupe_key == "outcomes:123456789:2025-01-31:0"),
        "the bot's own dedupe keys are used as they are"
    );
    app(&settings)
        .track_outcomes(Scope::All, last, at)
        .await
        .unwrap();
    assert_eq!(
        count("outcomes").await,
        outcome_posts,
        "nothing newly final, nothing posted"
    );
    // Saturday 2025-01-11 09:00: the summary of 2025-W02, stored and posted once with its
    // "mark reviewed" button.
    let saturday = slots_between(
        &spec("Sat 09:00"),
        la(),
        utc("2025-01-10T00:00:00Z"),
        utc("2025-01-12T00:00:00Z"),
    );
    nightly.run(Job::WeeklySummary, saturday[0]).await.unwrap();
    let summaries: Vec<_> = db
        .store
        .outbox(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "weekly_summary")
        .collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0].dedupe_key, "summary:123456789:2025-W02");
    assert!(
        summaries[0]
            .payload
            .contains("WEEKLY LEARNING SUMMARY (2025-W02)")
    );
    assert!(summaries[0].payload.contains("keyboard"));
    nightly.run(Job::WeeklySummary, saturday[0]).await.unwrap();
    assert_eq!(
        count("weekly_summary").await,
        1,
        "a re-run posts nothing new"
    );
}
both!(
    the_nightly_jobs_store_their_results_and_enqueue_each_post_once,
    the_nightly_jobs_store_their_results_and_enqueue_each_post_once
);

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ZONES: [chrono_tz::Tz; 4] = [
        chrono_tz::America::Los_Angeles,
        chrono_tz::Europe::London,
        chrono_tz::Australia::Sydney,
        chrono_tz::Asia::Kolkata,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any interval split anywhere gives the same slots as the whole, in order, each
        /// once, each at its wall-clock time (or just after a gap), each on a chosen day.
        #[test]
        fn slots_of_split_intervals_add_up_and_keep_their_wall_clock_time(
            zone in 0..ZONES.len(),
            start in 0_i64..365 * 24 * 60,
            len in 1_i64..30 * 24 * 60,
            cut in 0.0_f64..1.0,
            hour in 0_u32..24,
            minute in 0_u32..60,
            days in proptest::sample::subsequence(vec![0_u8, 1, 2, 3, 4, 5, 6], 1..=7),
        ) {
            let tz = ZONES[zone];
            let spec = SlotSpec {
                days: days.iter().map(|d| Weekday::try_from(*d).unwrap()).collect(),
                time: chrono::NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
            };
            let from = utc("2026-01-01T00:00:00Z") + Duration::minutes(start);
            let to = from + Duration::minutes(len);
            let mid = from + Duration::minutes((len as f64 * cut) as i64);
            let whole = slots_between(&spec, tz, from, to);
            let mut parts = slots_between(&spec, tz, from, mid);
            parts.extend(slots_between(&spec, tz, mid, to));
            prop_assert_eq!(&whole, &parts);
            for pair in whole.windows(2) {
                prop_assert!(pair[0].at < pair[1].at);
                prop_assert!(pair[0].key() != pair[1].key());
            }
            for s in &whole {
                prop_assert!(s.at > from && s.at <= to);
                prop_assert!(spec.days.contains(&chrono::Datelike::weekday(&s.local.date())));
                let shown = s.at.with_timezone(&tz).naive_local();
                // Equal, or later by the length of a spring-forward gap (at most 2 h).
                let shift = shown - s.local;
                prop_assert!(shift >= Duration::zero() && shift <= Duration::hours(2), "{} shown as {}", s.local, shown);
                if shift > Duration::zero() {
                    prop_assert!(tz.from_local_datetime(&s.local).single().is_none());
                }
            }
        }
    }
}
