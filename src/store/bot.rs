//! Reads the bot needs beyond the other groups: a weekly summary by its row id (what a
//! "mark reviewed" button carries).

use sqlx::Row;

use super::{Result, Scope, Store, StoreError, StoredSummary};
use crate::domain::AccountId;
use crate::learning::summary::Week;

impl Store {
    /// The weekly summary with row id `id`, if `scope` may see it (another account's is
    /// "not found", as for matches).
    pub async fn summary_by_id(&self, id: i64, scope: Scope) -> Result<StoredSummary> {
        let not_found = || StoreError::NotFound(format!("there is no summary {id}"));
        let row = sqlx::query(
            "SELECT account_id, year, week FROM weekly_learning_summaries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(not_found)?;
        let account = AccountId(row.try_get(0)?);
        if let Scope::Account(a) = scope
            && a != account
        {
            return Err(not_found());
        }
        let year: i64 = row.try_get(1)?;
        let week: i64 = row.try_get(2)?;
        let week = i32::try_from(year)
            .ok()
            .zip(u32::try_from(week).ok())
            .and_then(|(y, w)| Week::new(y, w).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("summary {id} has week {year}-{week}")))?;
        self.summary(account, week).await
    }
}
