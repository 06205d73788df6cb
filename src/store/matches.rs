//! Reading matches (with filters, one by one, with outcomes) and recording reasons.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    Result, Store, StoreError, backend_of, fetch_rows, json_id_list, json_ids, parse_day,
    parse_named, rows_sql, ts,
};
use crate::domain::outcome::{Basis, Outcome};
use crate::domain::{AccountId, MatchType, Money, OutcomeStatus, Reason, Side, Symbol};

/// Whose rows a query may see: the operator's CLI sees all, a chat only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Account(AccountId),
}

impl Scope {
    /// The one account of the scope, or `None` for all.
    pub fn account(self) -> Option<AccountId> {
        match self {
            Scope::All => None,
            Scope::Account(a) => Some(a),
        }
    }

    /// Whether the scope may see `account`'s data.
    pub fn allows(self, account: AccountId) -> bool {
        match self {
            Scope::All => true,
            Scope::Account(a) => a == account,
        }
    }
}

/// Filters of `matches`; every field optional.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub match_type: Option<MatchType>,
    pub symbol: Option<Symbol>,
    pub account: Option<AccountId>,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// Differences between what was done and what was recommended.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DifferencesRecord {
    pub strike: Option<Money>,
    pub dte: Option<i64>,
    pub contracts: Option<i64>,
    pub premium: Option<Money>,
}

/// A match as the CLI, the API and the bot show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MatchRecord {
    pub id: i64,
    pub account: AccountId,
    pub day: NaiveDate,
    pub match_type: MatchType,
    pub underlying: String,
    /// The recommendation's external id.
    pub recommendation: Option<String>,
    /// The broker references of the trade's fills (and of a resolving event).
    pub executions: Vec<String>,
    pub modifications: Vec<String>,
    pub differences: DifferencesRecord,
    pub reason_code: Option<String>,
    pub reason_text: Option<String>,
    pub reason_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<Outcome>>,
}

pub(super) const MATCH_COLUMNS: &str = "m.id, m.account_id, m.day, m.match_type, m.underlying, \
    m.strike_diff, m.dte_diff, m.contracts_diff, m.premium_diff, m.modifications, \
    m.reason_code, m.reason_text, m.reason_at, r.external_id";

pub(super) fn match_from_row(row: &AnyRow) -> Result<MatchRecord> {
    let mods: String = row.try_get("modifications")?;
    Ok(MatchRecord {
        id: row.try_get("id")?,
        account: AccountId(row.try_get("account_id")?),
        day: parse_day(&row.try_get::<String, _>("day")?)?,
        match_type: parse_named(&row.try_get::<String, _>("match_type")?, "match type")?,
        underlying: row.try_get("underlying")?,
        recommendation: row.try_get("external_id")?,
        executions: Vec::new(),
        modifications: mods
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        differences: DifferencesRecord {
            strike: row
                .try_get::<Option<i64>, _>("strike_diff")?
                .map(Money::from_units),
            dte: row.try_get("dte_diff")?,
            contracts: row.try_get("contracts_diff")?,
            premium: row
                .try_get::<Option<i64>, _>("premium_diff")?
                .map(Money::from_units),
        },
        reason_code: row.try_get("reason_code")?,
        reason_text: row.try_get("reason_text")?,
        reason_at: row.try_get("reason_at")?,
        outcomes: None,
    })
}

fn outcome_from_row(row: &AnyRow) -> Result<Outcome> {
    let basis: String = row.try_get("basis")?;
    let closed: Option<String> = row.try_get("closed_day")?;
    Ok(Outcome {
        side: parse_named::<Side>(&row.try_get::<String, _>("side")?, "side")?,
        basis: if basis == "decision" {
            Basis::Decision
        } else {
            Basis::Position
        },
        status: parse_named::<OutcomeStatus>(&row.try_get::<String, _>("status")?, "status")?,
        contracts: row.try_get("contracts")?,
        opened_day: parse_day(&row.try_get::<String, _>("opened_day")?)?,
        closed_day: closed.as_deref().map(parse_day).transpose()?,
        premium: Money::from_units(row.try_get("premium")?),
        close_cost: row
            .try_get::<Option<i64>, _>("close_cost")?
            .map(Money::from_units),
        fees: Money::from_units(row.try_get("fees")?),
        realized_pnl: row
            .try_get::<Option<i64>, _>("realized_pnl")?
            .map(Money::from_units),
        days_held: row.try_get("days_held")?,
        return_on_capital_bp: row.try_get("return_on_capital_bp")?,
    })
}

impl Store {
    /// Matches in day order (then id), filtered.
    pub async fn matches(&self, filter: &MatchFilter) -> Result<Vec<MatchRecord>> {
        matches_in(&mut *self.pool.acquire().await?, filter).await
    }

    /// One match with its outcomes, if `scope` may see it.
    pub async fn match_detail(&self, id: i64, scope: Scope) -> Result<MatchRecord> {
        let sql = format!(
            "SELECT {MATCH_COLUMNS} FROM recommendation_execution_matches m \
             LEFT JOIN recommendations r ON r.id = m.recommendation_id WHERE m.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let not_found = || StoreError::NotFound(format!("there is no match {id}"));
        let mut record = match row {
            Some(row) => match_from_row(&row)?,
            None => return Err(not_found()),
        };
        if !scope.allows(record.account) {
            return Err(not_found());
        }
        attach_executions(
            &mut *self.pool.acquire().await?,
            std::slice::from_mut(&mut record),
        )
        .await?;
        let rows = sqlx::query(
            "SELECT side, basis, status, contracts, opened_day, closed_day, premium, close_cost, fees, \
             realized_pnl, days_held, return_on_capital_bp FROM position_outcomes \
             WHERE match_id = $1 ORDER BY side",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        record.outcomes = Some(rows.iter().map(outcome_from_row).collect::<Result<_>>()?);
        Ok(record)
    }

    /// Records the trader's reason for a match. The reason is kept under the match's
    /// stable key, so re-running reconciliation never loses it.
    /// Refused for another account's match (as "no such match") and for a match that is
    /// not a divergence.
    pub async fn set_reason(
        &self,
        id: i64,
        scope: Scope,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<MatchRecord> {
        let not_found = || StoreError::NotFound(format!("there is no match {id}"));
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT account_id, match_key, match_type FROM recommendation_execution_matches WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(not_found)?;
        let account = AccountId(row.try_get(0)?);
        let key: String = row.try_get(1)?;
        if !scope.allows(account) {
            return Err(not_found());
        }
        let match_type: MatchType = parse_named(&row.try_get::<String, _>(2)?, "match type")?;
        Reason::applies_to(match_type).map_err(|source| StoreError::Refused {
            what: format!("match {id}"),
            source,
        })?;
        let (code, text) = (reason.code.as_str(), reason.text.clone());
        let at = ts(now);
        sqlx::query(
            "INSERT INTO match_reasons (account_id, match_key, reason_code, reason_text, reason_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, match_key) DO UPDATE SET \
             reason_code = excluded.reason_code, reason_text = excluded.reason_text, \
             reason_at = excluded.reason_at",
        )
        .bind(account.0)
        .bind(key)
        .bind(code)
        .bind(text.clone())
        .bind(at.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE recommendation_execution_matches SET reason_code = $1, reason_text = $2, \
             reason_at = $3 WHERE id = $4",
        )
        .bind(code)
        .bind(text)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.match_detail(id, scope).await
    }
}

/// A match as `matches_in` reads it (the columns of `MATCH_COLUMNS`).
type MatchJsonRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn match_from_json(row: MatchJsonRow) -> Result<MatchRecord> {
    let (
        id,
        account,
        day,
        match_type,
        underlying,
        strike_diff,
        dte_diff,
        contracts_diff,
        premium_diff,
        mods,
        reason_code,
        reason_text,
        reason_at,
        recommendation,
    ) = row;
    Ok(MatchRecord {
        id,
        account: AccountId(account),
        day: parse_day(&day)?,
        match_type: parse_named(&match_type, "match type")?,
        underlying,
        recommendation,
        executions: Vec::new(),
        modifications: mods
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        differences: DifferencesRecord {
            strike: strike_diff.map(Money::from_units),
            dte: dte_diff,
            contracts: contracts_diff,
            premium: premium_diff.map(Money::from_units),
        },
        reason_code,
        reason_text,
        reason_at,
        outcomes: None,
    })
}

/// [`Store::matches`] on a connection (a caller's transaction sees its own writes). The
/// rows come back as one JSON value (see `json_select`): a night's matches are tens of
/// thousands.
pub(crate) async fn matches_in(
    conn: &mut AnyConnection,
    filter: &MatchFilter,
) -> Result<Vec<MatchRecord>> {
    let backend = backend_of(conn);
    let mut inner = format!(
        "SELECT {MATCH_COLUMNS} FROM recommendation_execution_matches m \
             LEFT JOIN recommendations r ON r.id = m.recommendation_id WHERE 1 = 1"
    );
    let values = filter_conditions(filter, &mut inner, 1);
    if let Some(limit) = filter.limit {
        inner.push_str(&format!(
            " ORDER BY m.day, m.id LIMIT {} OFFSET {}",
            limit.max(0),
            filter.offset.max(0)
        ));
    }
    let sql = rows_sql(
        backend,
        "q.id, q.account_id, q.day, q.match_type, q.underlying, q.strike_diff, q.dte_diff, \
         q.contracts_diff, q.premium_diff, q.modifications, q.reason_code, q.reason_text, \
         q.reason_at, q.external_id",
        &format!("FROM ({inner}) q"),
        "q.day, q.id",
    );
    let q = bind_values(sqlx::query(&sql), values);
    let rows: Vec<MatchJsonRow> = fetch_rows(conn, q).await?;
    let mut records = rows
        .into_iter()
        .map(match_from_json)
        .collect::<Result<Vec<_>>>()?;
    attach_executions(conn, &mut records).await?;
    Ok(records)
}

/// A value bound to a filter's condition.
#[derive(Clone)]
pub(super) enum Value {
    Text(String),
    Int(i64),
}

/// Appends ` AND m.column = $n` for each filter of `filter` (numbered from `first`) to
/// `sql`, and returns the values to bind in order.
pub(super) fn filter_conditions(
    filter: &MatchFilter,
    sql: &mut String,
    first: usize,
) -> Vec<Value> {
    let mut values: Vec<(&str, Value)> = Vec::new();
    if let Some(d) = filter.from {
        values.push(("m.day >=", Value::Text(d.to_string())));
    }
    if let Some(d) = filter.to {
        values.push(("m.day <=", Value::Text(d.to_string())));
    }
    if let Some(t) = filter.match_type {
        values.push(("m.match_type =", Value::Text(t.as_str().to_owned())));
    }
    if let Some(s) = &filter.symbol {
        values.push(("m.underlying =", Value::Text(s.as_str().to_owned())));
    }
    if let Some(a) = filter.account {
        values.push(("m.account_id =", Value::Int(a.0)));
    }
    for (i, (cond, _)) in values.iter().enumerate() {
        sql.push_str(&format!(" AND {cond} ${}", first + i));
    }
    values.into_iter().map(|(_, v)| v).collect()
}

/// Binds filter values in order.
pub(super) fn bind_values<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    values: Vec<Value>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in values {
        q = match v {
            Value::Text(t) => q.bind(t),
            Value::Int(i) => q.bind(i),
        };
    }
    q
}

pub(super) async fn attach_executions(
    conn: &mut AnyConnection,
    records: &mut [MatchRecord],
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let backend = backend_of(conn);
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let sql = rows_sql(
        backend,
        "x.match_id, e.broker_ref",
        &format!(
            "FROM match_executions x JOIN executions e ON e.id = x.execution_id \
             WHERE x.match_id IN {}",
            json_ids(backend, 1)
        ),
        "e.id",
    );
    let rows: Vec<(i64, String)> =
        fetch_rows(conn, sqlx::query(&sql).bind(json_id_list(&ids))).await?;
    let mut refs: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, broker_ref) in rows {
        refs.entry(id).or_default().push(broker_ref);
    }
    for r in records {
        r.executions = refs.remove(&r.id).unwrap_or_default();
    }
    Ok(())
}
