//! The scheduler: when the nightly jobs run (slots from `domain::schedule`), and making
//! sure each run happens once (claims in the run ledger).
//!
//! Design:
//!
//! - **Slots are computed here, in the real zone.** tokio-cron-scheduler's time-zone jobs
//!   keep the UTC offset they were created with and fire an hour off after a daylight
//!   saving change (its issues #87 and #107), so it is used only as a UTC ticker (once a
//!   minute); which runs are due is decided by [`slots_between`], a pure function of the
//!   [`SlotSpec`], the zone and a UTC interval. A wall-clock time that does not exist
//!   (skipped by a spring-forward change) runs as if the clock had not changed — moved
//!   forward by the length of the gap (02:30 → 03:30); one that happens twice (fall back)
//!   runs once, at its first occurrence.
//! - **A slot is named by its local wall-clock time** (`2026-03-09T21:00`), so the
//!   `(job, slot)` key in the run ledger (`job_runs`) is the same in every process.
//!   [`Scheduler::tick`] claims a slot in the ledger before running it (an atomic insert,
//!   or a compare-and-swap update of the row it read); only the process whose claim
//!   succeeded runs it. A `running` claim older than the lease belongs to a process that
//!   died and is taken over. The lease is not renewed while a run works, so it must
//!   exceed the longest run (default 15 minutes; a night's reconciliation takes seconds,
//!   see `docs/PERFORMANCE.md`); should a run outlive it anyway, the second run repeats
//!   idempotent work and the first one's late "done" is refused.
//! - **Missed slots are caught up** at start (and at every tick): a slot at most
//!   `catch_up` late that has no ledger row runs now; an older one is recorded as
//!   `skipped` (looking back a week at most: older ones are not recorded at all). On a
//!   database where a job has never run, its earlier slots are recorded as skipped
//!   "before the first start", quietly: a fresh install missed nothing.
//! - **Failures are retried** with exponential backoff up to `max_attempts`; the last
//!   failure is logged and reported to every account through the outbox, in the same
//!   transaction that records it.
//! - **Time is a parameter**: `tick(now)` does all the work for one instant, so tests
//!   drive it across daylight saving changes and downtimes without sleeping.
//!
//! Slots of one tick run one after another in time order, so a catch-up reconciles a day
//! before tracking its outcomes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};

pub use crate::domain::schedule::{Slot, SlotSpec, SpecError, resolve_local, slots_between};
use crate::domain::{AccountId, MessageKind, Outgoing};
pub use crate::domain::{Clock, SystemClock};
use crate::store::{Claim, NewMessage, RetryPolicy, RunStatus, Store, StoreError};

/// How far back a tick looks for slots: older misses are not even recorded.
const LOOKBACK: Duration = Duration::days(7);

/// The scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Job {
    /// Reconcile the slot's day for every account and post the results.
    Reconcile,
    /// Track outcomes as of the slot's day and post what became final.
    TrackOutcomes,
    /// The weekly learning summary of the slot's ISO week.
    WeeklySummary,
}

impl Job {
    pub const ALL: [Job; 3] = [Job::Reconcile, Job::TrackOutcomes, Job::WeeklySummary];

    /// The name stored in `job_runs.job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Reconcile => "reconcile",
            Job::TrackOutcomes => "track_outcomes",
            Job::WeeklySummary => "weekly_summary",
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which jobs run when, and how runs are caught up and retried.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub tz: Tz,
    pub entries: Vec<(Job, SlotSpec)>,
    /// How late a missed slot may still run; older ones are skipped.
    pub catch_up: Duration,
    pub policy: RetryPolicy,
}

impl Schedule {
    /// The schedule the settings describe.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let s = &settings.schedule;
        Self {
            tz: settings.tz,
            entries: vec![
                (Job::Reconcile, s.reconcile_at.clone()),
                (Job::TrackOutcomes, s.track_at.clone()),
                (Job::WeeklySummary, s.summary_at.clone()),
            ],
            catch_up: s.catch_up,
            policy: s.policy,
        }
    }
}

/// What the scheduler runs: the job bodies, and the notice a trader gets when a job
/// gives up.
pub trait JobBodies: Send + Sync + 'static {
    /// Runs `job` for `slot`. An error is retried (the body must be idempotent).
    fn run(&self, job: Job, slot: Slot) -> BoxFuture<'_, anyhow::Result<()>>;

    /// The message every account gets when `job` failed for good.
    fn failure_notice(&self, job: Job, slot: Slot, error: &str) -> Outgoing;

    /// Which of the store's accounts are told (all, unless the bodies know better).
    fn recipients(&self, accounts: Vec<AccountId>) -> Vec<AccountId> {
        accounts
    }
}

/// What one tick did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// `(job, slot key, attempt)` of each run that succeeded.
    pub done: Vec<(Job, String, i64)>,
    /// `(job, slot key, attempt)` of each run that failed.
    pub failed: Vec<(Job, String, i64)>,
    /// Slots recorded as skipped (too late to catch up).
    pub skipped: Vec<(Job, String)>,
    /// Slots due but claimed by another process.
    pub held_elsewhere: Vec<(Job, String)>,
}

/// Runs the jobs of a [`Schedule`] through the run ledger.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    schedule: Arc<Schedule>,
    bodies: Arc<dyn JobBodies>,
}

impl Scheduler {
    pub fn new(store: Store, schedule: Schedule, bodies: Arc<dyn JobBodies>) -> Self {
        Self {
            store,
            schedule: Arc::new(schedule),
            bodies,
        }
    }

    /// Everything due at `now`: skips slots too late to catch up, runs due and
    /// retryable ones the ledger lets this process claim.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
        let s = &self.schedule;
        let from = now - LOOKBACK.max(s.catch_up);
        let mut due: Vec<(Slot, Job)> = s
            .entries
            .iter()
            .flat_map(|(job, spec)| {
                slots_between(spec, s.tz, from, now)
                    .into_iter()
                    .map(move |slot| (slot, *job))
            })
            .collect();
        due.sort();
        let since = (from.with_timezone(&s.tz).date_naive() - Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let known: HashMap<(String, String), RunStatus> = self
            .store
            .job_runs(&since)
            .await?
            .into_iter()
            .map(|r| ((r.job, r.slot), r.status))
            .collect();
        // A job with no ledger row at all has never run here (a fresh database): its
        // earlier slots are recorded as before the first start, not as missed.
        let mut first_start = std::collections::HashSet::new();
        for (job, _) in &s.entries {
            if !known.keys().any(|(j, _)| j == job.as_str())
                && !self.store.job_has_runs(job.as_str()).await?
            {
                first_start.insert(*job);
            }
        }
        let mut report = TickReport::default();
        for (slot, job) in due {
            let key = slot.key();
            let status = known.get(&(job.as_str().to_owned(), key.clone()));
            match status {
                Some(RunStatus::Done | RunStatus::Skipped) => continue,
                None if slot.at < now - s.catch_up => {
                    let fresh = first_start.contains(&job);
                    let why = if fresh {
                        "before the first start"
                    } else {
                        "missed while the bot was down"
                    };
                    if self.store.skip_run(job.as_str(), &key, why, now).await? {
                        if fresh {
                            tracing::debug!(%job, slot = %key, "before the first start; not run");
                        } else {
                            tracing::warn!(%job, slot = %key, "missed while the bot was down; too late to catch up, skipped");
                        }
                        report.skipped.push((job, key));
                    }
                    continue;
                }
                _ => {}
            }
            match self
                .store
                .claim_run(job.as_str(), &key, now, &s.policy)
                .await?
            {
                Claim::Claimed { attempt } => {
                    self.execute(job, slot, attempt, now, &mut report).await?;
                }
                Claim::Held => report.held_elsewhere.push((job, key)),
                Claim::Done | Claim::RetryAt(_) | Claim::GaveUp => {}
            }
        }
        Ok(report)
    }

    async fn execute(
        &self,
        job: Job,
        slot: Slot,
        attempt: i64,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let key = slot.key();
        let late = now - slot.at;
        tracing::info!(%job, slot = %key, attempt, late_minutes = late.num_minutes(), "job started");
        let started = std::time::Instant::now();
        let result = self.bodies.run(job, slot).await;
        // The ledger is stamped with the tick's `now`: backoffs count from the tick, and
        // a test's injected time stays the only time the ledger sees.
        let finished = now;
        match result {
            Ok(()) => {
                if self
                    .store
                    .finish_run(job.as_str(), &key, attempt, finished)
                    .await?
                {
                    tracing::info!(%job, slot = %key, attempt, took = ?started.elapsed(), "job done");
                } else {
                    tracing::warn!(%job, slot = %key, attempt, "job finished after its lease was taken over");
                }
                report.done.push((job, key, attempt));
            }
            Err(e) => {
                let error = format!("{e:#}");
                let policy = &self.schedule.policy;
                let give_up = attempt >= i64::from(policy.max_attempts);
                let notices = if give_up {
                    let notice = self.bodies.failure_notice(job, slot, &error);
                    self.bodies
                        .recipients(self.store.account_ids().await?)
                        .into_iter()
                        .map(|account| NewMessage {
                            account,
                            dedupe_key: format!("job-failed:{job}:{key}:{}", account.0),
                            kind: MessageKind::JobFailed,
                            payload: notice.clone(),
                            send_after: finished,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                // The failure and the notices that report it commit together.
                let mut tx = self.store.begin().await?;
                if tx
                    .fail_run(job.as_str(), &key, attempt, &error, finished)
                    .await?
                {
                    tx.enqueue(&notices, finished).await?;
                    tx.commit().await?;
                }
                if give_up {
                    tracing::error!(%job, slot = %key, attempt, error = %error, "job failed; giving up, the traders are told");
                } else {
                    tracing::warn!(%job, slot = %key, attempt, error = %error,
                        retry_in_minutes = policy.backoff_after(attempt).num_minutes(), "job failed; will retry");
                }
                report.failed.push((job, key, attempt));
            }
        }
        Ok(())
    }

    /// Ticks at start (the catch-up) and then once a minute on a UTC ticker, until
    /// `shutdown` turns true. A job in progress finishes before this returns.
    pub async fn run(
        self,
        clock: Arc<dyn Clock>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
        let (tx, mut ticks) = mpsc::channel::<()>(1);
        let mut cron = JobScheduler::new().await?;
        cron.add(CronJob::new_async("0 * * * * *", move |_, _| {
            let tx = tx.clone();
            Box::pin(async move {
                // A full channel means a tick is already waiting: nothing is lost.
                let _ = tx.try_send(());
            })
        })?)
        .await?;
        cron.start().await?;
        tracing::info!(
            zone = %self.schedule.tz,
            jobs = %self.schedule.entries.iter().map(|(j, s)| format!("{j} {s}")).collect::<Vec<_>>().join("; "),
            "scheduler started"
        );
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.tick(clock.now()).await {
                tracing::error!(error = %e, "scheduler tick failed; trying again at the next tick");
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = ticks.recv() => {}
            }
        }
        cron.shutdown().await?;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
