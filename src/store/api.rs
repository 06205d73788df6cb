//! Reads the HTTP API needs beyond the others': lists a page at a time with how many
//! there are in all, and the service's own figures (are the migrations applied, how deep
//! is the outbox, how did the scheduled runs end).
//!
//! Pages are keyed, not offset: a page starts after the key of the last row of the page
//! before, so reading page 1,000 costs what reading page 1 does, and rows written
//! meanwhile neither repeat nor vanish from later pages.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use super::learning::{CANDIDATE_COLUMNS, SUMMARY_COLUMNS, candidate_from, summary_from};
use super::match_counts;
use super::matches::{MATCH_COLUMNS, Value, bind_values, fetch_matches, filter_conditions};
use super::{
    Backend, MatchFilter, MatchRecord, POSTGRES_MIGRATIONS, Result, SQLITE_MIGRATIONS, Scope,
    Store, StoreError, StoredSummary,
};
use crate::learning::candidates::Candidate;

/// Up to a page of rows, how many rows the whole list has, and whether more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub more: bool,
}

/// Where a page of matches starts: after this day and id (their order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchKey {
    pub day: NaiveDate,
    pub id: i64,
}

/// Where a page of summaries starts: after this year, week and account (newest week
/// first, then by account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryKey {
    pub year: i32,
    pub week: u32,
    pub account: i64,
}

/// Where a page of candidates starts: after this account and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateKey {
    pub account: i64,
    pub id: i64,
}

/// Whether the database answers and every migration this program knows is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Migrations of this program not applied (or failed) in the database.
    pub pending_migrations: usize,
}

/// The service's figures for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Messages waiting to be sent.
    pub outbox_pending: i64,
    /// Messages Telegram refused for good.
    pub outbox_parked: i64,
    /// Scheduled runs by `(job, status)`.
    pub job_runs: BTreeMap<(String, String), i64>,
}

/// Splits a page read with one row more than `limit`.
fn page<T>(mut rows: Vec<T>, limit: i64, total: i64) -> Page<T> {
    let limit = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        items: rows,
        total,
        more,
    }
}

impl Store {
    /// A page of the matches `filter` selects (its `limit` and `offset` are ignored), in
    /// day order then id, starting after `after`.
    pub async fn match_page(
        &self,
        filter: &MatchFilter,
        after: Option<MatchKey>,
        limit: i64,
    ) -> Result<Page<MatchRecord>> {
        let mut conditions = String::new();
        let mut values = filter_conditions(filter, &mut conditions, 1);
        if let Some(k) = after {
            // `m.day >= day` as well: without it SQLite cannot seek the index to the
            // key and reads the list from its start (4 ms at 100,000 matches).
            let n = values.len();
            conditions.push_str(&format!(
                " AND m.day >= ${a} AND (m.day > ${a} OR (m.day = ${a} AND m.id > ${b}))",
                a = n + 1,
                b = n + 2
            ));
            values.push(Value::Text(k.day.to_string()));
            values.push(Value::Int(k.id));
        }
        // The total rides along with the page (one statement, not two): the same
        // value on every row, computed once (see `match_counts`).
        let (total_sql, total_values) = match_counts::total_query(filter, values.len() + 1);
        values.extend(total_values);
        let inner = format!(
            "SELECT {MATCH_COLUMNS}, ({total_sql}) AS total FROM recommendation_execution_matches m \
             LEFT JOIN recommendations r ON r.id = m.recommendation_id WHERE 1 = 1{conditions} \
             ORDER BY m.day, m.id LIMIT {}",
            limit.max(0) + 1
        );
        let mut conn = self.pool.acquire().await?;
        let (rows, total) = fetch_matches(&mut conn, &inner, true, values).await?;
        let total = match total {
            Some(total) => total,
            None if rows.is_empty() && after.is_none() => 0,
            // Past the last page: nothing to carry the total, so it is asked alone.
            None if rows.is_empty() => match_counts::match_total(&mut conn, filter).await?,
            None => {
                return Err(StoreError::Corrupt(
                    "a page of matches came without its total".to_owned(),
                ));
            }
        };
        let page = page(rows, limit, total);
        Ok(page)
    }

    /// A page of the stored summaries of `scope` (of `year`, when given), newest week
    /// first then by account, starting after `after`.
    pub async fn summary_page(
        &self,
        scope: Scope,
        year: Option<i32>,
        after: Option<SummaryKey>,
        limit: i64,
    ) -> Result<Page<StoredSummary>> {
        let mut filter = String::new();
        let mut values = Vec::new();
        if let Scope::Account(a) = scope {
            values.push(Value::Int(a.0));
            filter.push_str(&format!(" AND account_id = ${}", values.len()));
        }
        if let Some(y) = year {
            values.push(Value::Int(i64::from(y)));
            filter.push_str(&format!(" AND year = ${}", values.len()));
        }
        let count = format!("SELECT COUNT(*) FROM weekly_learning_summaries WHERE 1 = 1{filter}");
        let total: i64 = bind_values(sqlx::query(&count), values.clone())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut sql =
            format!("SELECT {SUMMARY_COLUMNS} FROM weekly_learning_summaries WHERE 1 = 1{filter}");
        if let Some(k) = after {
            let n = values.len();
            sql.push_str(&format!(
                " AND (year < ${a} OR (year = ${a} AND week < ${b}) \
                 OR (year = ${a} AND week = ${b} AND account_id > ${c}))",
                a = n + 1,
                b = n + 2,
                c = n + 3
            ));
            values.push(Value::Int(i64::from(k.year)));
            values.push(Value::Int(i64::from(k.week)));
            values.push(Value::Int(k.account));
        }
        sql.push_str(&format!(
            " ORDER BY year DESC, week DESC, account_id LIMIT {}",
            limit.max(0) + 1
        ));
        let rows = bind_values(sqlx::query(&sql), values)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(rows, limit, total))
    }

    /// A page of the candidates of `scope`, by account then id, starting after `after`.
    pub async fn candidate_page(
        &self,
        scope: Scope,
        after: Option<CandidateKey>,
        limit: i64,
    ) -> Result<Page<Candidate>> {
        let mut filter = " WHERE candidate_id IS NULL".to_owned();
        let mut values = Vec::new();
        if let Scope::Account(a) = scope {
            values.push(Value::Int(a.0));
            filter.push_str(&format!(" AND account_id = ${}", values.len()));
        }
        let count = format!("SELECT COUNT(*) FROM algorithm_changes{filter}");
        let total: i64 = bind_values(sqlx::query(&count), values.clone())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut sql = format!("SELECT {CANDIDATE_COLUMNS} FROM algorithm_changes{filter}");
        if let Some(k) = after {
            let n = values.len();
            sql.push_str(&format!(
                " AND (account_id > ${a} OR (account_id = ${a} AND id > ${b}))",
                a = n + 1,
                b = n + 2
            ));
            values.push(Value::Int(k.account));
            values.push(Value::Int(k.id));
        }
        sql.push_str(&format!(
            " ORDER BY account_id, id LIMIT {}",
            limit.max(0) + 1
        ));
        let rows = bind_values(sqlx::query(&sql), values)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(candidate_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(rows, limit, total))
    }

    /// Asks the database whether every migration of this program is applied (an error
    /// when it does not answer).
    pub async fn readiness(&self) -> Result<Readiness> {
        let known = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied: Vec<i64> =
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
        let pending = known
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count();
        Ok(Readiness {
            pending_migrations: pending,
        })
    }

    /// The outbox's depth and the scheduled runs by job and status.
    pub async fn figures(&self) -> Result<Figures> {
        let row =
            sqlx::query("SELECT COUNT(*), COUNT(parked_at) FROM outbox WHERE sent_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let (unsent, parked): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let mut figures = Figures {
            outbox_pending: unsent - parked,
            outbox_parked: parked,
            ..Figures::default()
        };
        let rows = sqlx::query("SELECT job, status, COUNT(*) FROM job_runs GROUP BY job, status")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            figures
                .job_runs
                .insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
        }
        Ok(figures)
    }
}
