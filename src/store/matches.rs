//! Reading matches (with filters, one by one, with outcomes) and recording reasons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    Backend, Result, Store, StoreError, backend_of, fetch_rows, parse_day, parse_named, rows_sql,
    ts,
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
        let not_found = || StoreError::NotFound(format!("there is no match {id}"));
        let mut conn = self.pool.acquire().await?;
        let inner = format!(
            "SELECT {MATCH_COLUMNS} FROM recommendation_execution_matches m \
             LEFT JOIN recommendations r ON r.id = m.recommendation_id WHERE m.id = $1"
        );
        let (mut records, _) =
            fetch_matches(&mut conn, &inner, false, vec![Value::Int(id)]).await?;
        let Some(mut record) = records.pop() else {
            return Err(not_found());
        };
        if !scope.allows(record.account) {
            return Err(not_found());
        }
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

/// A match as [`fetch_matches`] reads it: the columns of `MATCH_COLUMNS` in order
/// (serde reads a struct from an array), the list's total (for a page; else null) and
/// the broker references of its executions.
#[derive(Deserialize)]
struct MatchRow {
    id: i64,
    account_id: i64,
    day: String,
    match_type: String,
    underlying: String,
    strike_diff: Option<i64>,
    dte_diff: Option<i64>,
    contracts_diff: Option<i64>,
    premium_diff: Option<i64>,
    modifications: String,
    reason_code: Option<String>,
    reason_text: Option<String>,
    reason_at: Option<String>,
    external_id: Option<String>,
    total: Option<i64>,
    /// The broker references of its executions.
    #[serde(deserialize_with = "nested_list")]
    executions: Vec<String>,
}

/// A list nested in a row: a JSON array on SQLite; on Postgres the text of one (the
/// `Any` driver hands `json` over as text).
fn nested_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Nested {
        List(Vec<String>),
        Text(String),
    }
    match Nested::deserialize(d)? {
        Nested::List(list) => Ok(list),
        Nested::Text(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
    }
}

fn match_from_json(row: MatchRow) -> Result<MatchRecord> {
    let MatchRow {
        id,
        account_id: account,
        day,
        match_type,
        underlying,
        strike_diff,
        dte_diff,
        contracts_diff,
        premium_diff,
        modifications: mods,
        reason_code,
        reason_text,
        reason_at,
        external_id: recommendation,
        total: _,
        executions,
    } = row;
    Ok(MatchRecord {
        id,
        account: AccountId(account),
        day: parse_day(&day)?,
        match_type: parse_named(&match_type, "match type")?,
        underlying,
        recommendation,
        executions,
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
    Ok(fetch_matches(conn, &inner, false, values).await?.0)
}

/// The matches `inner` selects (`SELECT MATCH_COLUMNS[, … AS total] FROM
/// recommendation_execution_matches m LEFT JOIN recommendations r …`, bound to
/// `values`) in day order then id, each with its executions, and the list's total when
/// `with_total` (read from the first row). Every list of matches — a page, a night, one
/// — is read this one way, in one statement: each statement is a round trip to the
/// connection's thread (SQLite) or server (Postgres), and on SQLite the rows come back
/// as one JSON value (see [`fetch_rows`]).
pub(super) async fn fetch_matches(
    conn: &mut AnyConnection,
    inner: &str,
    with_total: bool,
    values: Vec<Value>,
) -> Result<(Vec<MatchRecord>, Option<i64>)> {
    let backend = backend_of(conn);
    let total = if with_total { "q.total" } else { "NULL" };
    let refs = "FROM match_executions x JOIN executions e ON e.id = x.execution_id \
                WHERE x.match_id = q.id";
    let executions = match backend {
        Backend::Sqlite => {
            format!("json((SELECT json_group_array(e.broker_ref ORDER BY e.id) {refs}))")
        }
        Backend::Postgres => {
            format!("(SELECT COALESCE(json_agg(e.broker_ref ORDER BY e.id), '[]')::text {refs})")
        }
    };
    let sql = rows_sql(
        backend,
        &format!(
            "q.id, q.account_id, q.day, q.match_type, q.underlying, q.strike_diff, q.dte_diff, \
             q.contracts_diff, q.premium_diff, q.modifications, q.reason_code, q.reason_text, \
             q.reason_at, q.external_id, {total}, {executions}"
        ),
        &format!("FROM ({inner}) q"),
        "q.day, q.id",
    );
    let rows: Vec<MatchRow> = fetch_rows(conn, bind_values(sqlx::query(&sql), values)).await?;
    let total = rows.first().and_then(|r| r.total);
    let records = rows
        .into_iter()
        .map(match_from_json)
        .collect::<Result<Vec<_>>>()?;
    Ok((records, total))
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
