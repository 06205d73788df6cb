//! What broker imports need from the store: the links from a broker's account to a
//! Telegram chat (`broker_accounts`), and an account's net open contracts before an
//! instant (from which formats without an open/close flag infer which trades close).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, StoreError, contract_from, parse_named, ts};
use crate::domain::{AccountId, Contract, ExecAction, day_of};

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
        .fetch_all(&self.pool)
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
}
