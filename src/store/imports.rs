//! Writing imported rows: recommendations, executions and prices, in batches, each
//! batch in one transaction. A row whose key is already stored is a duplicate when it
//! is the same row and a conflict when it differs; neither changes what is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::Row;

use super::{Result, Store, ensure_accounts, fingerprint, placeholders, ts};
use crate::domain::{AccountId, Execution, PriceClose, Recommendation, day_of};

/// What became of one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Inserted,
    /// The same row was already stored (or appeared earlier in the same batch).
    Duplicate,
    /// A different row is stored under the same key; the reason says which key.
    Conflict(String),
}

/// Rows per INSERT statement; keeps every statement under SQLite's 32,766 parameters.
const BATCH: usize = 500;

fn opt_money(m: Option<crate::domain::Money>) -> Option<i64> {
    m.map(|m| m.units())
}

fn rec_canonical(r: &Recommendation) -> String {
    let c = &r.context;
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        ts(r.created_at),
        r.action,
        r.contract.occ(),
        r.contracts,
        r.premium.units(),
        r.position.as_ref().map(|p| p.occ()).unwrap_or_default(),
        opt_money(c.underlying_price).unwrap_or(i64::MIN),
        c.delta,
        c.iv,
        c.iv_rank,
        c.earnings_date,
        c.algorithm_version,
        c.rationale,
        r.external_id,
    )
}

fn exec_canonical(e: &Execution) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        ts(e.executed_at),
        e.action,
        e.contract.occ(),
        e.contracts,
        e.price.units(),
        e.fees.units()
    )
}

impl Store {
    /// Inserts recommendations; one outcome per row, in order.
    pub async fn insert_recommendations(
        &self,
        rows: &[Recommendation],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(BATCH) {
            let keys: Vec<(i64, String)> = chunk
                .iter()
                .map(|r| (r.account.0, r.external_id.clone()))
                .collect();
            let prints: Vec<String> = chunk
                .iter()
                .map(|r| fingerprint(&rec_canonical(r)))
                .collect();
            let fresh = first_of_each_key(&keys);
            let mut tx = self.pool.begin().await?;
            let accounts: Vec<AccountId> = chunk.iter().map(|r| r.account).collect();
            ensure_accounts(self.backend, &mut tx, &accounts, now).await?;
            let to_insert: Vec<usize> = (0..chunk.len()).filter(|&i| fresh[i]).collect();
            let mut inserted = std::collections::HashSet::new();
            if !to_insert.is_empty() {
                const COLS: usize = 21;
                let sql = format!(
                    "INSERT INTO recommendations (account_id, external_id, created_at, created_day, \
                     action, underlying, option_right, strike, expiration, contracts, premium, \
                     position, underlying_price, delta, iv, iv_rank, earnings_date, \
                     algorithm_version, rationale, fingerprint, imported_at) VALUES {} \
                     ON CONFLICT (account_id, external_id) DO NOTHING RETURNING account_id, external_id",
                    placeholders(self.backend, to_insert.len(), COLS)
                );
                let mut q = sqlx::query(&sql);
                let now_s = ts(now);
                for &i in &to_insert {
                    let r = &chunk[i];
                    let c = &r.context;
                    q = q
                        .bind(r.account.0)
                        .bind(r.external_id.clone())
                        .bind(ts(r.created_at))
                        .bind(day_of(r.created_at, tz).to_string())
                        .bind(r.action.as_str())
                        .bind(r.contract.underlying.as_str().to_owned())
                        .bind(r.contract.right.as_str())
                        .bind(r.contract.strike.units())
                        .bind(r.contract.expiration.to_string())
                        .bind(r.contracts)
                        .bind(r.premium.units())
                        .bind(r.position.as_ref().map(|p| p.occ()))
                        .bind(opt_money(c.underlying_price))
                        .bind(c.delta)
                        .bind(c.iv)
                        .bind(c.iv_rank)
                        .bind(c.earnings_date.map(|d| d.to_string()))
                        .bind(c.algorithm_version.clone())
                        .bind(c.rationale.clone())
                        .bind(prints[i].clone())
                        .bind(now_s.clone());
                }
                for row in q.fetch_all(&mut *tx).await? {
                    inserted.insert((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
                }
            }
            let mut known: HashMap<(i64, String), String> = HashMap::new();
            for (i, key) in keys.iter().enumerate() {
                let outcome = if fresh[i] && inserted.contains(key) {
                    known.insert(key.clone(), prints[i].clone());
                    RowOutcome::Inserted
                } else {
                    let stored = match known.get(key) {
                        Some(p) => p.clone(),
                        None => {
                            let row = sqlx::query(
                                "SELECT fingerprint FROM recommendations WHERE account_id = $1 AND external_id = $2",
                            )
                            .bind(key.0)
                            .bind(key.1.clone())
                            .fetch_one(&mut *tx)
                            .await?;
                            let p: String = row.try_get(0)?;
                            known.insert(key.clone(), p.clone());
                            p
                        }
                    };
                    if stored == prints[i] {
                        RowOutcome::Duplicate
                    } else {
                        RowOutcome::Conflict(format!(
                            "recommendation `{}` of account {} is already stored with different values",
                            key.1, key.0
                        ))
                    }
                };
                out.push(outcome);
            }
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Inserts executions; one outcome per row, in order.
    pub async fn insert_executions(
        &self,
        rows: &[Execution],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(BATCH) {
            let keys: Vec<(i64, String)> = chunk
                .iter()
                .map(|e| (e.account.0, format!("{}\u{1f}{}", e.broker, e.broker_ref)))
                .collect();
            let prints: Vec<String> = chunk
                .iter()
                .map(|e| fingerprint(&exec_canonical(e)))
                .collect();
            let fresh = first_of_each_key(&keys);
            let mut tx = self.pool.begin().await?;
            let accounts: Vec<AccountId> = chunk.iter().map(|e| e.account).collect();
            ensure_accounts(self.backend, &mut tx, &accounts, now).await?;
            let to_insert: Vec<usize> = (0..chunk.len()).filter(|&i| fresh[i]).collect();
            let mut inserted = std::collections::HashSet::new();
            if !to_insert.is_empty() {
                const COLS: usize = 15;
                let sql = format!(
                    "INSERT INTO executions (account_id, broker, broker_ref, executed_at, exec_day, \
                     action, underlying, option_right, strike, expiration, contracts, price, fees, \
                     fingerprint, imported_at) VALUES {} \
                     ON CONFLICT (account_id, broker, broker_ref) DO NOTHING \
                     RETURNING account_id, broker, broker_ref",
                    placeholders(self.backend, to_insert.len(), COLS)
                );
                let mut q = sqlx::query(&sql);
                let now_s = ts(now);
                for &i in &to_insert {
                    let e = &chunk[i];
                    q = q
                        .bind(e.account.0)
                        .bind(e.broker.clone())
                        .bind(e.broker_ref.clone())
                        .bind(ts(e.executed_at))
                        .bind(day_of(e.executed_at, tz).to_string())
                        .bind(e.action.as_str())
                        .bind(e.contract.underlying.as_str().to_owned())
                        .bind(e.contract.right.as_str())
                        .bind(e.contract.strike.units())
                        .bind(e.contract.expiration.to_string())
                        .bind(e.contracts)
                        .bind(e.price.units())
                        .bind(e.fees.units())
                        .bind(prints[i].clone())
                        .bind(now_s.clone());
                }
                for row in q.fetch_all(&mut *tx).await? {
                    let key = format!(
                        "{}\u{1f}{}",
                        row.try_get::<String, _>(1)?,
                        row.try_get::<String, _>(2)?
                    );
                    inserted.insert((row.try_get::<i64, _>(0)?, key));
                }
            }
            let mut known: HashMap<(i64, String), String> = HashMap::new();
            for (i, key) in keys.iter().enumerate() {
                let outcome = if fresh[i] && inserted.contains(key) {
                    known.insert(key.clone(), prints[i].clone());
                    RowOutcome::Inserted
                } else {
                    let e = &chunk[i];
                    let stored = match known.get(key) {
                        Some(p) => p.clone(),
                        None => {
                            let row = sqlx::query(
                                "SELECT fingerprint FROM executions \
                                 WHERE account_id = $1 AND broker = $2 AND broker_ref = $3",
                            )
                            .bind(e.account.0)
                            .bind(e.broker.clone())
                            .bind(e.broker_ref.clone())
                            .fetch_one(&mut *tx)
                            .await?;
                            let p: String = row.try_get(0)?;
                            known.insert(key.clone(), p.clone());
                            p
                        }
                    };
                    if stored == prints[i] {
                        RowOutcome::Duplicate
                    } else {
                        RowOutcome::Conflict(format!(
                            "execution `{}` from {} of account {} is already stored with different values",
                            e.broker_ref, e.broker, e.account
                        ))
                    }
                };
                out.push(outcome);
            }
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Inserts daily closes; one outcome per row, in order.
    pub async fn insert_prices(
        &self,
        rows: &[PriceClose],
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(BATCH) {
            let keys: Vec<(i64, String)> = chunk
                .iter()
                .map(|p| (0, format!("{}|{}", p.symbol, p.date)))
                .collect();
            let fresh = first_of_each_key(&keys);
            let mut tx = self.pool.begin().await?;
            let to_insert: Vec<usize> = (0..chunk.len()).filter(|&i| fresh[i]).collect();
            let mut inserted = std::collections::HashSet::new();
            if !to_insert.is_empty() {
                let sql = format!(
                    "INSERT INTO prices (symbol, price_date, close, imported_at) VALUES {} \
                     ON CONFLICT (symbol, price_date) DO NOTHING RETURNING symbol, price_date",
                    placeholders(self.backend, to_insert.len(), 4)
                );
                let mut q = sqlx::query(&sql);
                for &i in &to_insert {
                    let p = &chunk[i];
                    q = q
                        .bind(p.symbol.as_str().to_owned())
                        .bind(p.date.to_string())
                        .bind(p.close.units())
                        .bind(ts(now));
                }
                for row in q.fetch_all(&mut *tx).await? {
                    let key = format!(
                        "{}|{}",
                        row.try_get::<String, _>(0)?,
                        row.try_get::<String, _>(1)?
                    );
                    inserted.insert((0, key));
                }
            }
            let mut known: HashMap<String, i64> = HashMap::new();
            for (i, key) in keys.iter().enumerate() {
                let p = &chunk[i];
                let outcome = if fresh[i] && inserted.contains(key) {
                    known.insert(key.1.clone(), p.close.units());
                    RowOutcome::Inserted
                } else {
                    let stored = match known.get(&key.1) {
                        Some(c) => *c,
                        None => {
                            let row = sqlx::query(
                                "SELECT close FROM prices WHERE symbol = $1 AND price_date = $2",
                            )
                            .bind(p.symbol.as_str().to_owned())
                            .bind(p.date.to_string())
                            .fetch_one(&mut *tx)
                            .await?;
                            let c: i64 = row.try_get(0)?;
                            known.insert(key.1.clone(), c);
                            c
                        }
                    };
                    if stored == p.close.units() {
                        RowOutcome::Duplicate
                    } else {
                        RowOutcome::Conflict(format!(
                            "the close of {} on {} is already stored as {}",
                            p.symbol,
                            p.date,
                            crate::domain::Money::from_units(stored)
                        ))
                    }
                };
                out.push(outcome);
            }
            tx.commit().await?;
        }
        Ok(out)
    }
}

/// `true` for the first row of each key in a batch; later rows with the same key are
/// compared with it instead of being sent to the database twice.
fn first_of_each_key(keys: &[(i64, String)]) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    keys.iter().map(|k| seen.insert(k.clone())).collect()
}
