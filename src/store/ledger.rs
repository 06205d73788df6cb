//! The run ledger (`job_runs`): one row per scheduled job and slot, so that each slot
//! runs once however many processes share the database, and missed or failed runs are
//! known.
//!
//! A claim is either the insert of a new `running` row (`ON CONFLICT DO NOTHING`: the
//! database lets exactly one insert win) or, for an existing row, a compare-and-swap
//! update that names the status and attempt count it read: if another process changed
//! the row in between, the update matches nothing and the claim is lost. Both are single
//! statements, atomic on SQLite and on Postgres without explicit locks.
//!
//! Finishing names the attempt too, so a process whose stale claim was taken over cannot
//! overwrite the newer attempt's result.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use sqlx::AnyConnection;

use super::{Result, Store, StoreError, parse_ts, ts};

/// A ledger row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "running" => RunStatus::Running,
            "done" => RunStatus::Done,
            "failed" => RunStatus::Failed,
            "skipped" => RunStatus::Skipped,
            other => return Err(StoreError::Corrupt(format!("job run status `{other}`"))),
        })
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    pub slot: String,
    pub status: RunStatus,
    pub attempts: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// How failed and abandoned runs are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub backoff: Duration,
    /// How long a `running` claim is trusted; an older one is taken over.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Duration::minutes(5),
            lease: Duration::minutes(15),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure: `backoff`, doubled per further attempt.
    pub fn backoff_after(&self, attempt: i64) -> Duration {
        let doublings = attempt.clamp(1, 16) - 1;
        self.backoff * (1 << doublings)
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller runs the slot now; this is attempt number `attempt`.
    Claimed { attempt: i64 },
    /// It already ran (or was skipped).
    Done,
    /// Another process is running it, within its lease.
    Held,
    /// It failed and may be retried from then on.
    RetryAt(DateTime<Utc>),
    /// It failed as often as allowed.
    GaveUp,
}

/// What a claim may do with the row it read.
fn decide(run: &JobRun, now: DateTime<Utc>, policy: &RetryPolicy) -> Claim {
    let attempts_left = run.attempts < i64::from(policy.max_attempts);
    match run.status {
        RunStatus::Done | RunStatus::Skipped => Claim::Done,
        RunStatus::Running => {
            let started = run.started_at.unwrap_or(DateTime::<Utc>::MIN_UTC);
            if started + policy.lease > now {
                Claim::Held
            } else if attempts_left {
                Claim::Claimed {
                    attempt: run.attempts + 1,
                }
            } else {
                Claim::GaveUp
            }
        }
        RunStatus::Failed if !attempts_left => Claim::GaveUp,
        RunStatus::Failed => {
            let at = run.finished_at.unwrap_or(DateTime::<Utc>::MIN_UTC)
                + policy.backoff_after(run.attempts);
            if at > now {
                Claim::RetryAt(at)
            } else {
                Claim::Claimed {
                    attempt: run.attempts + 1,
                }
            }
        }
    }
}

impl Store {
    /// Tries to take `(job, slot)` for this process at `now`.
    pub async fn claim_run(
        &self,
        job: &str,
        slot: &str,
        now: DateTime<Utc>,
        policy: &RetryPolicy,
    ) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO job_runs (job, slot, status, attempts, started_at) \
             VALUES ($1, $2, 'running', 1, $3) ON CONFLICT (job, slot) DO NOTHING",
        )
        .bind(job)
        .bind(slot)
        .bind(ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Claimed { attempt: 1 });
        }
        let Some(run) = self.job_run(job, slot).await? else {
            return Err(StoreError::Corrupt(format!(
                "job run {job} {slot} vanished while being claimed"
            )));
        };
        let decision = decide(&run, now, policy);
        match decision {
            Claim::Claimed { attempt } => {
                let swapped = sqlx::query(
                    "UPDATE job_runs SET status = 'running', attempts = $1, started_at = $2, \
                     finished_at = NULL WHERE job = $3 AND slot = $4 AND status = $5 AND attempts = $6",
                )
                .bind(attempt)
                .bind(ts(now))
                .bind(job)
                .bind(slot)
                .bind(run.status.as_str())
                .bind(run.attempts)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(if swapped == 1 { decision } else { Claim::Held })
            }
            Claim::GaveUp if run.status == RunStatus::Running => {
                // A claim that outlived its lease on the last attempt: the process died.
                sqlx::query(
                    "UPDATE job_runs SET status = 'failed', finished_at = $1, \
                     error = 'the run did not finish within its lease' \
                     WHERE job = $2 AND slot = $3 AND status = 'running' AND attempts = $4",
                )
                .bind(ts(now))
                .bind(job)
                .bind(slot)
                .bind(run.attempts)
                .execute(&self.pool)
                .await?;
                Ok(Claim::GaveUp)
            }
            other => Ok(other),
        }
    }

    /// Records the success of `attempt`. False when that attempt no longer holds the
    /// claim (it was taken over after its lease).
    pub async fn finish_run(
        &self,
        job: &str,
        slot: &str,
        attempt: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE job_runs SET status = 'done', finished_at = $1, error = NULL \
             WHERE job = $2 AND slot = $3 AND status = 'running' AND attempts = $4",
        )
        .bind(ts(now))
        .bind(job)
        .bind(slot)
        .bind(attempt)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Records the failure of `attempt`. False when that attempt no longer holds the
    /// claim. Inside a transaction ([`super::Tx::fail_run`]) the notices of a job that
    /// gave up are enqueued with it.
    pub async fn fail_run(
        &self,
        job: &str,
        slot: &str,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        fail_run_in(
            &mut *self.pool.acquire().await?,
            job,
            slot,
            attempt,
            error,
            now,
        )
        .await
    }

    /// Records a slot that will not run, and why. False when the slot already has a row.
    pub async fn skip_run(
        &self,
        job: &str,
        slot: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO job_runs (job, slot, status, attempts, finished_at, error) \
             VALUES ($1, $2, 'skipped', 0, $3, $4) ON CONFLICT (job, slot) DO NOTHING",
        )
        .bind(job)
        .bind(slot)
        .bind(ts(now))
        .bind(why)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Whether `job` has any ledger row (it has been scheduled here before).
    pub async fn job_has_runs(&self, job: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM job_runs WHERE job = $1 LIMIT 1")
            .bind(job)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// One ledger row.
    pub async fn job_run(&self, job: &str, slot: &str) -> Result<Option<JobRun>> {
        let row = sqlx::query(
            "SELECT job, slot, status, attempts, started_at, finished_at, error \
             FROM job_runs WHERE job = $1 AND slot = $2",
        )
        .bind(job)
        .bind(slot)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The ledger rows of slots from `since` on (a slot key prefix such as a date),
    /// by job and slot.
    pub async fn job_runs(&self, since: &str) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT job, slot, status, attempts, started_at, finished_at, error \
             FROM job_runs WHERE slot >= $1 ORDER BY job, slot",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }
}

fn run_from_row(row: &sqlx::any::AnyRow) -> Result<JobRun> {
    let time = |name: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<String>, _>(name)?
            .as_deref()
            .map(parse_ts)
            .transpose()
    };
    Ok(JobRun {
        job: row.try_get("job")?,
        slot: row.try_get("slot")?,
        status: RunStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        started_at: time("started_at")?,
        finished_at: time("finished_at")?,
        error: row.try_get("error")?,
    })
}

/// [`Store::fail_run`] on a connection.
pub(crate) async fn fail_run_in(
    conn: &mut AnyConnection,
    job: &str,
    slot: &str,
    attempt: i64,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let failed = sqlx::query(
        "UPDATE job_runs SET status = 'failed', finished_at = $1, error = $2 \
         WHERE job = $3 AND slot = $4 AND status = 'running' AND attempts = $5",
    )
    .bind(ts(now))
    .bind(error)
    .bind(job)
    .bind(slot)
    .bind(attempt)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(failed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: RunStatus, attempts: i64, started: &str, finished: Option<&str>) -> JobRun {
        JobRun {
            job: "reconcile".into(),
            slot: "2026-03-09T21:00".into(),
            status,
            attempts,
            started_at: Some(started.parse().unwrap()),
            finished_at: finished.map(|f| f.parse().unwrap()),
            error: None,
        }
    }

    #[test]
    fn a_fresh_running_claim_is_held_and_a_stale_one_is_taken_over() {
        let p = RetryPolicy::default();
        let r = run(RunStatus::Running, 1, "2026-03-10T05:00:00Z", None);
        let now: DateTime<Utc> = "2026-03-10T05:14:00Z".parse().unwrap();
        assert_eq!(decide(&r, now, &p), Claim::Held);
        assert_eq!(
            decide(&r, now + Duration::minutes(1), &p),
            Claim::Claimed { attempt: 2 }
        );
        let last = run(RunStatus::Running, 3, "2026-03-10T05:00:00Z", None);
        assert_eq!(decide(&last, now + Duration::hours(1), &p), Claim::GaveUp);
    }

    #[test]
    fn failures_wait_a_doubling_backoff_until_attempts_run_out() {
        let p = RetryPolicy::default();
        let f = "2026-03-10T05:01:00Z";
        let at: DateTime<Utc> = f.parse().unwrap();
        let r1 = run(RunStatus::Failed, 1, "2026-03-10T05:00:00Z", Some(f));
        assert_eq!(
            decide(&r1, at, &p),
            Claim::RetryAt(at + Duration::minutes(5))
        );
        assert_eq!(
            decide(&r1, at + Duration::minutes(5), &p),
            Claim::Claimed { attempt: 2 }
        );
        let r2 = run(RunStatus::Failed, 2, "2026-03-10T05:00:00Z", Some(f));
        assert_eq!(
            decide(&r2, at, &p),
            Claim::RetryAt(at + Duration::minutes(10))
        );
        let r3 = run(RunStatus::Failed, 3, "2026-03-10T05:00:00Z", Some(f));
        assert_eq!(decide(&r3, at + Duration::days(1), &p), Claim::GaveUp);
    }
}
