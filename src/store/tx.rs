//! A transaction a use case opens and passes to the store's writes, so that results and
//! the messages reporting them commit together or not at all.
//!
//! The use case calls [`Store::begin`], hands the [`Tx`] to each write (and to the reads
//! that must see those writes), enqueues the messages with [`Tx::enqueue`] where the
//! reader sees it, and commits. Dropping a `Tx` without [`Tx::commit`] rolls it back.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::brokers::{self, Imported};
use super::outbox::enqueue_in;
use super::{
    Backend, DayData, MatchFilter, MatchRecord, NewMessage, NewSummary, Result, Store, learning,
    ledger, matches, outcomes, reconcile,
};
use crate::domain::outcome::Outcome;
use crate::domain::reconcile::MatchDraft;
use crate::domain::{AccountId, Contract, Execution, ResponseWindow};
use crate::import::brokers::{Correction, StoredLeg};

/// An open transaction of the store.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl Store {
    /// Opens a transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx {
            inner: self.pool.begin().await?,
            backend: self.backend,
        })
    }
}

impl Tx {
    /// Makes every write of the transaction durable.
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    /// Queues `messages` in the outbox (creating missing accounts); returns how many
    /// were new (a dedupe key already queued is ignored).
    pub async fn enqueue(&mut self, messages: &[NewMessage], now: DateTime<Utc>) -> Result<usize> {
        enqueue_in(self.backend, &mut self.inner, messages, now).await
    }

    /// What reconciling `day` needs, as this transaction sees it.
    pub async fn load_day(
        &mut self,
        day: NaiveDate,
        window: &ResponseWindow,
        account: Option<AccountId>,
    ) -> Result<DayData> {
        reconcile::load_day_in(self.backend, &mut self.inner, day, window, account).await
    }

    /// Writes a reconciled day's rows (see `Store::write_day`).
    pub async fn write_day(
        &mut self,
        data: &DayData,
        results: &[(AccountId, Vec<MatchDraft>)],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        reconcile::write_day_in(self.backend, &mut self.inner, data, results, tz, now).await
    }

    /// See `Store::reconciled_days_between`.
    pub async fn reconciled_days_between(
        &mut self,
        after: NaiveDate,
        until: NaiveDate,
        accounts: &[AccountId],
    ) -> Result<BTreeMap<NaiveDate, Vec<AccountId>>> {
        reconcile::reconciled_days_between_in(&mut self.inner, after, until, accounts).await
    }

    /// Matches as this transaction sees them (see `Store::matches`).
    pub async fn matches(&mut self, filter: &MatchFilter) -> Result<Vec<MatchRecord>> {
        matches::matches_in(&mut self.inner, filter).await
    }

    /// Stores outcomes (see `Store::write_outcomes`).
    pub async fn write_outcomes(
        &mut self,
        rows: &[(AccountId, i64, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        outcomes::write_outcomes_in(self.backend, &mut self.inner, rows, now).await
    }

    /// Stores summaries; returns their row ids in order (see `Store::save_summaries`).
    pub async fn save_summaries(
        &mut self,
        summaries: &[NewSummary],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        learning::save_summaries_in(&mut self.inner, summaries, now).await
    }

    /// Stores a broker file's `rows` (each with the fill it is a leg of, when its open or
    /// close was inferred) after the `corrections` of stored fills it makes; see
    /// `brokers::import_in`. The days returned lost a link from a match to a corrected
    /// execution: reconcile them again before committing.
    pub async fn import_executions(
        &mut self,
        rows: &[(&Execution, Option<String>)],
        corrections: &[Correction],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Imported> {
        brokers::import_in(self.backend, &mut self.inner, rows, corrections, tz, now).await
    }

    /// Locks `account` for the rest of the transaction (see `brokers::lock_account_in`):
    /// call it before reading what a write depends on.
    pub async fn lock_account(&mut self, account: AccountId, now: DateTime<Utc>) -> Result<()> {
        brokers::lock_account_in(&mut self.inner, account, now).await
    }

    /// See `Store::net_positions`, as this transaction sees them.
    pub async fn net_positions(
        &mut self,
        account: AccountId,
        before: DateTime<Utc>,
    ) -> Result<BTreeMap<Contract, i64>> {
        brokers::net_positions_in(&mut self.inner, account, before).await
    }

    /// See `Store::executions_from`, as this transaction sees them.
    pub async fn executions_from(
        &mut self,
        account: AccountId,
        from: DateTime<Utc>,
    ) -> Result<Vec<StoredLeg>> {
        brokers::executions_from_in(&mut self.inner, account, from).await
    }

    /// Records the failure of a scheduled run's attempt (see `Store::fail_run`).
    pub async fn fail_run(
        &mut self,
        job: &str,
        slot: &str,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        ledger::fail_run_in(&mut self.inner, job, slot, attempt, error, now).await
    }
}
