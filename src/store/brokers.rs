//! What broker imports need from the store: the links from a broker's account to a
//! Telegram chat (`broker_accounts`), an account's net open contracts before an instant
//! (from which formats without an open/close flag infer which trades close), its
//! executions from an instant on (which an earlier file may change), and the write of
//! a file with the corrections it makes, in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::imports::{exec_canonical, insert_executions_in};
use super::reconcile::{EXEC_COLUMNS, exec_from_row};
use super::{
    Backend, Result, RowOutcome, Store, StoreError, contract_from, fetch_by_ids, fingerprint,
    parse_day, parse_named, parse_ts, ts,
};
use crate::domain::reconcile::trade_key;
use crate::domain::{AccountId, Contract, ExecAction, Execution, day_of};
use crate::import::brokers::{Correction, StoredLeg};

/// One stored link: executions of `broker_account` at `broker` belong to `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerLink {
    pub broker: String,
    pub broker_account: String,
    pub account: AccountId,
    pub linked_at: String,
}

/// What `link_broker_account` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The link is new.
    Created,
    /// The same link was already stored.
    Unchanged,
}

impl Store {
    /// Every link, by broker then broker account.
    pub async fn broker_links(&self) -> Result<Vec<BrokerLink>> {
        let rows = sqlx::query(
            "SELECT broker, broker_account, account_id, linked_at FROM broker_accounts \
             ORDER BY broker, broker_account",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BrokerLink {
                    broker: r.try_get(0)?,
                    broker_account: r.try_get(1)?,
                    account: AccountId(r.try_get(2)?),
                    linked_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The chat `broker_account` at `broker` is linked to, if any.
    pub async fn broker_link(
        &self,
        broker: &str,
        broker_account: &str,
    ) -> Result<Option<AccountId>> {
        let row = sqlx::query(
            "SELECT account_id FROM broker_accounts WHERE broker = $1 AND broker_account = $2",
        )
        .bind(broker.to_owned())
        .bind(broker_account.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get(0).map(AccountId))
            .transpose()
            .map_err(Into::into)
    }

    /// Links `broker_account` at `broker` to `account`. A broker account linked to
    /// another chat is refused (unlink it first): a silent move would send its later
    /// imports somewhere its earlier ones are not.
    pub async fn link_broker_account(
        &self,
        broker: &str,
        broker_account: &str,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Linked> {
        let inserted = sqlx::query(
            "INSERT INTO broker_accounts (broker, broker_account, account_id, linked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (broker, broker_account) DO NOTHING",
        )
        .bind(broker.to_owned())
        .bind(broker_account.to_owned())
        .bind(account.0)
        .bind(ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Linked::Created);
        }
        match self.broker_link(broker, broker_account).await? {
            Some(a) if a == account => Ok(Linked::Unchanged),
            Some(other) => Err(StoreError::Busy(format!(
                "{broker} account {broker_account} is already linked to chat {other}; unlink it first \
                 (rlhf-bot accounts unlink --broker {broker} --broker-account {broker_account})"
            ))),
            // Unlinked between the two statements: try once more.
            None => Box::pin(self.link_broker_account(broker, broker_account, account, now)).await,
        }
    }

    /// Removes the link of `broker_account` at `broker`; the chat it pointed to, if
    /// there was one.
    pub async fn unlink_broker_account(
        &self,
        broker: &str,
        broker_account: &str,
    ) -> Result<Option<AccountId>> {
        let row = sqlx::query(
            "DELETE FROM broker_accounts WHERE broker = $1 AND broker_account = $2 \
             RETURNING account_id",
        )
        .bind(broker.to_owned())
        .bind(broker_account.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get(0).map(AccountId))
            .transpose()
            .map_err(Into::into)
    }

    /// The net open contracts of `account` per contract from every execution stored
    /// before `before` (positive long, negative short; flat contracts left out). Only
    /// contracts that had not expired by `before`'s day in New York are read: an
    /// expired contract holds no position a later trade could close.
    pub async fn net_positions(
        &self,
        account: AccountId,
        before: DateTime<Utc>,
    ) -> Result<BTreeMap<Contract, i64>> {
        let mut conn = self.pool.acquire().await?;
        net_positions_in(&mut conn, account, before).await
    }
}

/// [`Store::net_positions`] on `conn` (inside a transaction: as it sees them).
pub(crate) async fn net_positions_in(
    conn: &mut AnyConnection,
    account: AccountId,
    before: DateTime<Utc>,
) -> Result<BTreeMap<Contract, i64>> {
    let day = day_of(before, chrono_tz::America::New_York);
    let rows = sqlx::query(
        "SELECT action, contracts, underlying, option_right, strike, expiration, \
         underlying_as_written FROM executions \
         WHERE account_id = $1 AND executed_at < $2 AND expiration >= $3 \
         ORDER BY executed_at, id",
    )
    .bind(account.0)
    .bind(ts(before))
    .bind(day.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut positions: BTreeMap<Contract, i64> = BTreeMap::new();
    for row in &rows {
        let action: ExecAction = parse_named(&row.try_get::<String, _>(0)?, "action")?;
        let n: i64 = row.try_get(1)?;
        let position = positions.entry(contract_from(row)?).or_default();
        *position = match action {
            ExecAction::BuyToOpen | ExecAction::BuyToClose => position.saturating_add(n),
            ExecAction::SellToOpen | ExecAction::SellToClose => position.saturating_sub(n),
            // A position's life ends toward zero, never past it.
            ExecAction::Expired | ExecAction::Assigned | ExecAction::Exercised => {
                if *position > 0 {
                    (*position - n).max(0)
                } else {
                    (*position + n).min(0)
                }
            }
        };
    }
    positions.retain(|_, n| *n != 0);
    Ok(positions)
}

impl Store {
    /// Every execution of `account` at or after `from`, in time order (then by row id),
    /// with the fill each inferred one is a leg of: what an import of an earlier date
    /// range infers again (see [`crate::import::brokers::parse_over`]).
    pub async fn executions_from(
        &self,
        account: AccountId,
        from: DateTime<Utc>,
    ) -> Result<Vec<StoredLeg>> {
        let mut conn = self.pool.acquire().await?;
        executions_from_in(&mut conn, account, from).await
    }
}

impl Store {
    /// The chats among `from`'s that hold an execution whose open or close was inferred
    /// (Webull, E*TRADE) at or after the instant given for each: the ones a file of
    /// stated actions landing there may change. One query per few hundred chats, served
    /// by the partial index of inferred executions.
    pub async fn chats_with_inferred(
        &self,
        from: &BTreeMap<AccountId, DateTime<Utc>>,
    ) -> Result<Vec<AccountId>> {
        if from.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = from.keys().map(|a| a.0).collect();
        let mut conn = self.pool.acquire().await?;
        let rows = fetch_by_ids(
            &mut conn,
            "SELECT account_id, MAX(executed_at) FROM executions \
             WHERE inferred_fill IS NOT NULL AND account_id IN ({ids}) GROUP BY account_id",
            &[],
            &ids,
        )
        .await?;
        let mut chats = Vec::new();
        for row in &rows {
            let chat = AccountId(row.try_get(0)?);
            let last = parse_ts(&row.try_get::<String, _>(1)?)?;
            if from.get(&chat).is_some_and(|first| last >= *first) {
                chats.push(chat);
            }
        }
        chats.sort();
        Ok(chats)
    }
}

/// A stored execution that is no longer as the import read it.
fn changed(what: &str) -> StoreError {
    StoreError::Busy(format!(
        "a stored execution ({what}) changed while this import read it; run this import again"
    ))
}

/// `id = $n AND broker_ref = … AND action = … AND contracts = …`, parameters numbered
/// from `n`: a corrected row is written only while it is still as it was read.
fn as_read(n: usize) -> String {
    format!(
        "id = ${} AND broker_ref = ${} AND action = ${} AND contracts = ${}",
        n,
        n + 1,
        n + 2,
        n + 3
    )
}

/// Binds the values [`as_read`] compares.
fn bind_as_read<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    row: &StoredLeg,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(row.id)
        .bind(row.execution.broker_ref.clone())
        .bind(row.execution.action.as_str())
        .bind(row.execution.contracts)
}

/// One row written, or the row changed since it was read.
fn one_row(done: u64, row: &StoredLeg) -> Result<()> {
    if done == 1 {
        Ok(())
    } else {
        Err(changed(&row.execution.broker_ref))
    }
}

/// [`Store::executions_from`] on `conn` (inside a transaction: as it sees them).
pub(crate) async fn executions_from_in(
    conn: &mut AnyConnection,
    account: AccountId,
    from: DateTime<Utc>,
) -> Result<Vec<StoredLeg>> {
    let sql = format!(
        "SELECT {EXEC_COLUMNS}, e.inferred_fill FROM executions e \
         WHERE e.account_id = $1 AND e.executed_at >= $2 ORDER BY e.executed_at, e.id"
    );
    let rows = sqlx::query(&sql)
        .bind(account.0)
        .bind(ts(from))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let stored = exec_from_row(row)?;
            Ok(StoredLeg {
                id: stored.id,
                execution: stored.item,
                inferred_fill: row.try_get("inferred_fill")?,
            })
        })
        .collect()
}

/// Takes the write lock on `account` for the rest of the transaction (its row, created
/// if missing): a write first, so that on SQLite the transaction holds the database's
/// write lock before it reads, and on Postgres another transaction taking the same lock
/// waits for this one to end. An import that infers open and close from the executions
/// stored takes it before reading them, so two imports into one chat see each other's.
pub(crate) async fn lock_account_in(
    conn: &mut AnyConnection,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, created_at) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET name = accounts.name",
    )
    .bind(account.0)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What storing a broker file did: each row's outcome, in order, and the days whose
/// matches lost a link to a corrected execution (reconcile them again in the same
/// transaction).
#[derive(Debug, Default)]
pub struct Imported {
    pub outcomes: Vec<RowOutcome>,
    pub unlinked_days: BTreeSet<NaiveDate>,
}

/// Stores a broker file inside `tx`: first the corrected legs of stored fills, then the
/// file's rows (which find a corrected fill they hold again a duplicate).
///
/// A corrected fill keeps its rows where it can: a leg keeps its row (its id) when its
/// ref stays, then the legs left take the rows left in order; a leg more is inserted, a
/// row more deleted. A row changed since it was read is an error (the transaction is
/// dropped: nothing is half-written). Links from matches to the corrected rows are
/// removed, and the days of those matches returned.
pub(crate) async fn import_in(
    backend: Backend,
    tx: &mut AnyConnection,
    rows: &[(&Execution, Option<String>)],
    corrections: &[Correction],
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Imported> {
    let ids: Vec<i64> = corrections
        .iter()
        .flat_map(|c| c.before.iter().map(|l| l.id))
        .collect();
    let mut unlinked_days = BTreeSet::new();
    if !ids.is_empty() {
        // A write first: on SQLite a transaction that reads first may find, when it
        // comes to write, that another one wrote since (and cannot wait for it).
        let unlinked = fetch_by_ids(
            &mut *tx,
            "DELETE FROM match_executions WHERE execution_id IN ({ids}) RETURNING match_id",
            &[],
            &ids,
        )
        .await?;
        let matches = unlinked
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        let days = fetch_by_ids(
            &mut *tx,
            "SELECT DISTINCT day FROM recommendation_execution_matches WHERE id IN ({ids})",
            &[],
            &matches,
        )
        .await?;
        for row in days {
            unlinked_days.insert(parse_day(&row.try_get::<String, _>(0)?)?);
        }
    }
    carry_reasons(&mut *tx, corrections, tz).await?;
    let mut inserts: Vec<(&Execution, Option<String>)> = Vec::new();
    for c in corrections {
        // Each new leg with the row it takes over, if any.
        let mut rows_left: Vec<&StoredLeg> = c.before.iter().collect();
        let mut pairs: Vec<(&Execution, Option<&StoredLeg>)> = Vec::new();
        for leg in &c.after {
            let same = rows_left
                .iter()
                .position(|r| r.execution.broker_ref == leg.broker_ref);
            pairs.push((leg, same.map(|i| rows_left.remove(i))));
        }
        for pair in pairs.iter_mut().filter(|(_, row)| row.is_none()) {
            if !rows_left.is_empty() {
                pair.1 = Some(rows_left.remove(0));
            }
        }
        for row in rows_left {
            let sql = format!("DELETE FROM executions WHERE {}", as_read(1));
            let q = bind_as_read(sqlx::query(&sql), row);
            one_row(q.execute(&mut *tx).await?.rows_affected(), row)?;
        }
        for (leg, row) in pairs {
            let Some(row) = row else {
                inserts.push((leg, Some(c.fill.clone())));
                continue;
            };
            let sql = format!(
                "UPDATE executions SET broker_ref = $1, action = $2, contracts = $3, fees = $4, \
                 fingerprint = $5, inferred_fill = $6 WHERE {}",
                as_read(7)
            );
            let q = sqlx::query(&sql)
                .bind(leg.broker_ref.clone())
                .bind(leg.action.as_str())
                .bind(leg.contracts)
                .bind(leg.fees.units())
                .bind(fingerprint(&exec_canonical(leg)))
                .bind(c.fill.clone());
            let q = bind_as_read(q, row);
            one_row(q.execute(&mut *tx).await?.rows_affected(), row)?;
        }
    }
    if !inserts.is_empty() {
        let outcomes = insert_executions_in(backend, &mut *tx, &inserts, tz, now).await?;
        if let Some((e, _)) = inserts
            .iter()
            .zip(&outcomes)
            .find_map(|(row, o)| (*o != RowOutcome::Inserted).then_some(row))
        {
            return Err(changed(&e.broker_ref));
        }
    }
    let outcomes = insert_executions_in(backend, &mut *tx, rows, tz, now).await?;
    Ok(Imported {
        outcomes,
        unlinked_days,
    })
}

/// The trader's reasons for the trades a correction changes, carried to the trades its
/// fills make now: a reason is recorded under its trade's key (`t:DAY:ACTION:CONTRACT`),
/// which names the action the fill had, so a fill corrected from `buy_to_open` to
/// `buy_to_close` would leave it behind. Each new trade key without a reason of its own
/// takes the latest one of the fill's old keys; the old ones stay (other fills of that
/// day may still make that trade).
async fn carry_reasons(tx: &mut AnyConnection, corrections: &[Correction], tz: Tz) -> Result<()> {
    for c in corrections {
        let Some(first) = c.before.first().map(|l| &l.execution) else {
            continue;
        };
        let day = day_of(first.executed_at, tz);
        let old: BTreeSet<String> = c
            .before
            .iter()
            .map(|l| trade_key(day, l.execution.action, &l.execution.contract))
            .collect();
        let new: BTreeSet<String> = c
            .after
            .iter()
            .map(|e| trade_key(day, e.action, &e.contract))
            .collect();
        for key in &new {
            let from: Vec<&String> = old.iter().filter(|k| *k != key).collect();
            if from.is_empty() {
                continue;
            }
            let list = (0..from.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO match_reasons (account_id, match_key, reason_code, reason_text, reason_at) \
                 SELECT account_id, CAST($1 AS TEXT), reason_code, reason_text, reason_at \
                 FROM match_reasons WHERE account_id = $2 AND match_key IN ({list}) \
                 ORDER BY reason_at DESC LIMIT 1 \
                 ON CONFLICT (account_id, match_key) DO NOTHING"
            );
            let mut q = sqlx::query(&sql).bind(key.clone()).bind(first.account.0);
            for k in from {
                q = q.bind(k.clone());
            }
            q.execute(&mut *tx).await?;
        }
    }
    Ok(())
}
