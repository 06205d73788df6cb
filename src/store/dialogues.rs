//! The bot's per-chat conversation state (`bot_dialogues`), stored as JSON text, and the
//! account row a chat creates on first use.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Result, Store, ts};
use crate::domain::AccountId;

impl Store {
    /// The stored dialogue state of `chat_id`, as the JSON text it was saved as.
    pub async fn dialogue(&self, chat_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT state FROM bot_dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<String, _>(0))
            .transpose()
            .map_err(Into::into)
    }

    /// Saves (inserts or replaces) the dialogue state of `chat_id`.
    pub async fn save_dialogue(&self, chat_id: i64, state: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO bot_dialogues (chat_id, state, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(chat_id)
        .bind(state)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the dialogue state of `chat_id`; `false` when there was none.
    pub async fn remove_dialogue(&self, chat_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM bot_dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates the account row of a chat the first time it uses the bot; later calls
    /// change nothing.
    pub async fn ensure_account(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account.0)
        .bind(name)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Fails with "there is no account N" unless the account exists.
    pub async fn require_account(&self, account: AccountId) -> Result<()> {
        let found = sqlx::query("SELECT 1 FROM accounts WHERE id = $1")
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(super::StoreError::NotFound(format!(
                "there is no account {account}"
            ))),
        }
    }
}
