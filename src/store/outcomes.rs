//! Outcome rows: what tracking needs to read, and writing its results.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{AnyConnection, Row};

use super::reconcile::{EXEC_COLUMNS, REC_COLUMNS, exec_from_row, rec_from_row};
use super::{Backend, Result, Store, fetch_by_ids, parse_day, parse_named, placeholders, ts};
use crate::domain::outcome::{Closes, MatchView, Outcome};
use crate::domain::reconcile::group_fills;
use crate::domain::{AccountId, Execution, Money, Stored, Symbol};

/// One account's matches whose outcomes are missing or not final, with what computing
/// them needs.
#[derive(Debug)]
pub struct OutcomeInputs {
    pub account: AccountId,
    pub matches: Vec<(i64, MatchView)>,
    /// All the account's executions of contracts that can still matter.
    pub executions: Vec<Stored<Execution>>,
}

/// A match to track: id, day, match type, recommendation id.
type PendingMatch = (i64, NaiveDate, String, Option<i64>);

impl Store {
    /// Gathers the matches up to `as_of` that need (re)tracking, per account, and the
    /// closes they may use.
    pub async fn outcome_inputs(
        &self,
        as_of: NaiveDate,
        account: Option<AccountId>,
        tz: Tz,
    ) -> Result<(Vec<OutcomeInputs>, Closes)> {
        let acct_sql = if account.is_some() {
            " AND m.account_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT m.id, m.account_id, m.day, m.match_type, m.recommendation_id \
             FROM recommendation_execution_matches m WHERE m.day <= $1{acct_sql} \
             AND (NOT EXISTS (SELECT 1 FROM position_outcomes o WHERE o.match_id = m.id) \
                  OR EXISTS (SELECT 1 FROM position_outcomes o WHERE o.match_id = m.id \
                             AND o.status IN ('open', 'awaiting_price'))) \
             ORDER BY m.account_id, m.id"
        );
        let mut q = sqlx::query(&sql).bind(as_of.to_string());
        if let Some(a) = account {
            q = q.bind(a.0);
        }
        let mut pending: BTreeMap<AccountId, Vec<PendingMatch>> = BTreeMap::new();
        for row in q.fetch_all(&self.pool).await? {
            pending
                .entry(AccountId(row.try_get(1)?))
                .or_default()
                .push((
                    row.try_get(0)?,
                    parse_day(&row.try_get::<String, _>(2)?)?,
                    row.try_get(3)?,
                    row.try_get(4)?,
                ));
        }
        let all: Vec<(i64, Option<i64>)> = pending.values().flatten().map(|m| (m.0, m.3)).collect();
        let mut recs = HashMap::new();
        let rec_ids: Vec<i64> = all.iter().filter_map(|m| m.1).collect();
        let sql = format!("SELECT {REC_COLUMNS} FROM recommendations r WHERE r.id IN ({{ids}})");
        for row in fetch_by_ids(&mut *self.pool.acquire().await?, &sql, &[], &rec_ids).await? {
            let r = rec_from_row(&row)?;
            recs.insert(r.id, r);
        }
        let mut linked: HashMap<i64, Vec<Stored<Execution>>> = HashMap::new();
        let match_ids: Vec<i64> = all.iter().map(|m| m.0).collect();
        let sql = format!(
            "SELECT x.match_id, {EXEC_COLUMNS} FROM match_executions x \
             JOIN executions e ON e.id = x.execution_id WHERE x.match_id IN ({{ids}})"
        );
        for row in fetch_by_ids(&mut *self.pool.acquire().await?, &sql, &[], &match_ids).await? {
            linked
                .entry(row.try_get(0)?)
                .or_default()
                .push(exec_from_row(&row)?);
        }
        let earliest = pending.values().flatten().map(|m| m.1).min();
        let mut inputs = Vec::new();
        let accounts: Vec<AccountId> = pending.keys().copied().collect();
        let mut executions: HashMap<AccountId, Vec<Stored<Execution>>> = HashMap::new();
        if let Some(earliest) = earliest {
            // Positions open at `earliest` expire on or after it; older contracts cannot matter.
            let since = (earliest - chrono::Duration::days(400)).to_string();
            let sql = format!(
                "SELECT {EXEC_COLUMNS} FROM executions e WHERE e.expiration >= $1 \
                 AND e.account_id IN ({{ids}}) ORDER BY e.id"
            );
            let ids: Vec<i64> = accounts.iter().map(|a| a.0).collect();
            for row in fetch_by_ids(&mut *self.pool.acquire().await?, &sql, &[since], &ids).await? {
                let e = exec_from_row(&row)?;
                executions.entry(e.account).or_default().push(e);
            }
        }
        for (account, ms) in pending {
            let matches = ms
                .into_iter()
                .map(|(id, day, kind, rec)| {
                    let fills = linked.remove(&id).unwrap_or_default();
                    Ok((
                        id,
                        MatchView {
                            match_type: parse_named(&kind, "match type")?,
                            day,
                            recommendation: rec.and_then(|r| recs.get(&r).cloned()),
                            trades: group_fills(&fills, tz),
                        },
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            inputs.push(OutcomeInputs {
                account,
                matches,
                executions: executions.remove(&account).unwrap_or_default(),
            });
        }
        let mut closes = Closes::new();
        if let Some(earliest) = earliest {
            let rows = sqlx::query(
                "SELECT symbol, price_date, close FROM prices WHERE price_date >= $1 AND price_date <= $2",
            )
            .bind(earliest.to_string())
            .bind(as_of.to_string())
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let symbol: String = row.try_get(0)?;
                if let Ok(symbol) = Symbol::parse(&symbol) {
                    closes.insert(
                        (symbol, parse_day(&row.try_get::<String, _>(1)?)?),
                        Money::from_units(row.try_get(2)?),
                    );
                }
            }
        }
        Ok((inputs, closes))
    }

    /// Stores outcomes (one row per match and side, replaced when recomputed).
    pub async fn write_outcomes(
        &self,
        rows: &[(AccountId, i64, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let n = write_outcomes_in(self.backend, &mut tx, rows, now).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// [`Store::write_outcomes`] inside a caller's transaction.
pub(crate) async fn write_outcomes_in(
    backend: Backend,
    tx: &mut AnyConnection,
    rows: &[(AccountId, i64, Outcome)],
    now: DateTime<Utc>,
) -> Result<usize> {
    {
        for part in rows.chunks(400) {
            const COLS: usize = 15;
            let sql = format!(
                "INSERT INTO position_outcomes (account_id, match_id, side, basis, status, contracts, \
                 opened_day, closed_day, premium, close_cost, fees, realized_pnl, days_held, \
                 return_on_capital_bp, updated_at) VALUES {} \
                 ON CONFLICT (match_id, side) DO UPDATE SET basis = excluded.basis, \
                 status = excluded.status, contracts = excluded.contracts, \
                 opened_day = excluded.opened_day, closed_day = excluded.closed_day, \
                 premium = excluded.premium, close_cost = excluded.close_cost, fees = excluded.fees, \
                 realized_pnl = excluded.realized_pnl, days_held = excluded.days_held, \
                 return_on_capital_bp = excluded.return_on_capital_bp, updated_at = excluded.updated_at",
                placeholders(backend, part.len(), COLS)
            );
            let mut q = sqlx::query(&sql);
            for (account, match_id, o) in part {
                q = q
                    .bind(account.0)
                    .bind(*match_id)
                    .bind(o.side.as_str())
                    .bind(o.basis.as_str())
                    .bind(o.status.as_str())
                    .bind(o.contracts)
                    .bind(o.opened_day.to_string())
                    .bind(o.closed_day.map(|d| d.to_string()))
                    .bind(o.premium.units())
                    .bind(o.close_cost.map(Money::units))
                    .bind(o.fees.units())
                    .bind(o.realized_pnl.map(Money::units))
                    .bind(o.days_held)
                    .bind(o.return_on_capital_bp)
                    .bind(ts(now));
            }
            q.execute(&mut *tx).await?;
        }
        Ok(rows.len())
    }
}
