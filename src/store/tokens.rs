//! HTTP API tokens (`api_tokens`): who may call the API, for which account, and whether
//! they may write. Only a hash of each secret is stored; making secrets, hashing them and
//! comparing hashes is the application's business (`app::api`), not the store's.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, ensure_accounts, parse_ts, ts};
use crate::domain::AccountId;

/// A token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: i64,
    /// The one account the token serves; `None` serves every account.
    pub account: Option<AccountId>,
    pub name: String,
    pub read_only: bool,
    /// SHA-256 of the secret, lowercase hex.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub account: Option<AccountId>,
    pub name: &'a str,
    pub read_only: bool,
    pub secret_hash: &'a str,
}

const COLUMNS: &str = "id, account_id, name, read_only, secret_hash, created_at, revoked_at";

fn token_from(row: &AnyRow) -> Result<StoredToken> {
    let revoked: Option<String> = row.try_get("revoked_at")?;
    Ok(StoredToken {
        id: row.try_get("id")?,
        account: row.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
        name: row.try_get("name")?,
        read_only: row.try_get::<i64, _>("read_only")? != 0,
        secret_hash: row.try_get("secret_hash")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        revoked_at: revoked.as_deref().map(parse_ts).transpose()?,
    })
}

impl Store {
    /// Stores a new token (creating its account if the database has not seen it yet).
    pub async fn insert_token(
        &self,
        token: &NewToken<'_>,
        now: DateTime<Utc>,
    ) -> Result<StoredToken> {
        let mut tx = self.pool.begin().await?;
        if let Some(a) = token.account {
            ensure_accounts(self.backend, &mut tx, &[a], now).await?;
        }
        let sql = format!(
            "INSERT INTO api_tokens (account_id, name, read_only, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(token.account.map(|a| a.0))
            .bind(token.name.to_owned())
            .bind(i64::from(token.read_only))
            .bind(token.secret_hash.to_owned())
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
        let stored = token_from(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// One token by id, revoked or not.
    pub async fn token(&self, id: i64) -> Result<Option<StoredToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id");
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from)
            .collect()
    }

    /// Revokes a token from `now` on; revoking it again keeps the first time.
    pub async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<StoredToken> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.token(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no API token {id}")))
    }
}
