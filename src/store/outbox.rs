//! The outbox: every message the bot sends on its own waits here until Telegram took it.
//!
//! Writers enqueue with a dedupe key (unique across all accounts — include the account
//! in it); enqueuing the same key again does nothing, so a job that re-runs after a crash
//! re-enqueues nothing it already enqueued. `Tx::enqueue` writes inside a use case's
//! transaction, so a message and the results it reports commit together.
//!
//! Delivery (see `bot::sender`) keeps each chat in order: only the oldest unsent,
//! unparked message of a chat (lowest id) is ever offered, so message n+1 waits for n.
//! A sender claims a message by moving its `send_after` forward by a lease in one
//! conditional update; a second sender sees the claim and leaves the message alone, and a
//! sender that dies mid-send leaves a claim that simply expires.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, Result, Store, ensure_accounts, parse_named, parse_ts, placeholders, ts};
use crate::domain::AccountId;
use crate::domain::{MessageKind, Outgoing};

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The chat (the account's Telegram chat id).
    pub account: AccountId,
    /// Unique across all messages ever enqueued; a repeat is ignored.
    pub dedupe_key: String,
    /// What it is, for logs and listings.
    pub kind: MessageKind,
    pub payload: Outgoing,
    /// Not before this instant.
    pub send_after: DateTime<Utc>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub account: AccountId,
    pub dedupe_key: String,
    pub kind: MessageKind,
    /// The stored JSON of an [`Outgoing`].
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub send_after: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub parked_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl OutboxMessage {
    /// The payload, decoded.
    pub fn outgoing(&self) -> std::result::Result<Outgoing, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }
}

const COLUMNS: &str = "id, account_id, dedupe_key, kind, payload, created_at, send_after, \
    sent_at, parked_at, attempts, last_error";

/// Enqueues `messages` inside `tx` (creating missing accounts); returns how many were
/// new (repeated dedupe keys are ignored).
pub(crate) async fn enqueue_in(
    backend: Backend,
    tx: &mut sqlx::AnyConnection,
    messages: &[NewMessage],
    now: DateTime<Utc>,
) -> Result<usize> {
    if messages.is_empty() {
        return Ok(0);
    }
    let accounts: Vec<AccountId> = messages.iter().map(|m| m.account).collect();
    ensure_accounts(backend, tx, &accounts, now).await?;
    let mut added = 0;
    for part in messages.chunks(200) {
        let sql = format!(
            "INSERT INTO outbox (account_id, dedupe_key, kind, payload, created_at, send_after) \
             VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
            placeholders(backend, part.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for m in part {
            let payload = serde_json::to_string(&m.payload)
                .map_err(|e| super::StoreError::Corrupt(format!("outgoing message: {e}")))?;
            q = q
                .bind(m.account.0)
                .bind(m.dedupe_key.clone())
                .bind(m.kind.as_str())
                .bind(payload)
                .bind(ts(now))
                .bind(ts(m.send_after));
        }
        added += q.execute(&mut *tx).await?.rows_affected() as usize;
    }
    Ok(added)
}

impl Store {
    /// Enqueues `messages` in a transaction of their own; returns how many were new.
    pub async fn enqueue(&self, messages: &[NewMessage], now: DateTime<Utc>) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let added = enqueue_in(self.backend, &mut tx, messages, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// The next message of each chat: its oldest unsent, unparked one (due or not).
    pub async fn outbox_heads(&self) -> Result<Vec<OutboxMessage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o WHERE o.id IN \
             (SELECT MIN(p.id) FROM outbox p WHERE p.sent_at IS NULL AND p.parked_at IS NULL \
              GROUP BY p.account_id) ORDER BY o.id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(message_from_row).collect()
    }

    /// The next message of one chat.
    pub async fn outbox_head(&self, account: AccountId) -> Result<Option<OutboxMessage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE account_id = $1 AND sent_at IS NULL \
             AND parked_at IS NULL ORDER BY id LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Claims a due message for sending until `lease_until` and counts the attempt.
    /// False when it is not due, already sent or parked, or claimed by another sender.
    pub async fn claim_message(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET send_after = $1, attempts = attempts + 1 WHERE id = $2 \
             AND sent_at IS NULL AND parked_at IS NULL AND send_after <= $3",
        )
        .bind(ts(lease_until))
        .bind(id)
        .bind(ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Records that Telegram took the message.
    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Puts a message back to be tried again from `send_after`, with the error.
    pub async fn retry_message(
        &self,
        id: i64,
        send_after: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox SET send_after = $1, last_error = $2 WHERE id = $3")
            .bind(ts(send_after))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a message aside for good (Telegram refused it); its chat goes on.
    pub async fn park_message(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET parked_at = $1, last_error = $2 WHERE id = $3")
            .bind(ts(now))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every message of one account or all, oldest first (for diagnostics and tests).
    pub async fn outbox(&self, account: Option<AccountId>) -> Result<Vec<OutboxMessage>> {
        let rows = match account {
            Some(a) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM outbox WHERE account_id = $1 ORDER BY id"
                ))
                .bind(a.0)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(message_from_row).collect()
    }
}

fn message_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMessage> {
    let time = |name: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<String>, _>(name)?
            .as_deref()
            .map(parse_ts)
            .transpose()
    };
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        account: AccountId(row.try_get("account_id")?),
        dedupe_key: row.try_get("dedupe_key")?,
        kind: parse_named(&row.try_get::<String, _>("kind")?, "message kind")?,
        payload: row.try_get("payload")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        send_after: parse_ts(&row.try_get::<String, _>("send_after")?)?,
        sent_at: time("sent_at")?,
        parked_at: time("parked_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}
