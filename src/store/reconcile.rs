//! Reading what a day's reconciliation needs and writing its rows, per account in one
//! transaction (several accounts share a transaction when a whole night is written).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    Backend, Result, Store, StoreError, contract_from, contract_of, execute_by_ids, fetch_by_ids,
    fetch_rows, json_id_list, json_ids, parse_day, parse_named, parse_ts, placeholders, rows_sql,
    ts,
};
use crate::domain::reconcile::{MatchDraft, group_fills};
use crate::domain::{
    AccountId, Contract, Execution, Money, RecContext, Recommendation, ResponseWindow, Stored,
};

/// A reason the trader recorded, as stored under a match key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReason {
    pub code: String,
    pub text: Option<String>,
    pub at: String,
}

/// A match row already stored on the day being reconciled.
#[derive(Debug, Clone)]
struct ExistingRow {
    id: i64,
    key: String,
    fields: RowFields,
}

/// The columns a re-run may change; equal fields mean nothing to write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowFields {
    match_type: String,
    recommendation: Option<i64>,
    underlying: String,
    strike_diff: Option<i64>,
    dte_diff: Option<i64>,
    contracts_diff: Option<i64>,
    premium_diff: Option<i64>,
    modifications: String,
    reason: Option<StoredReason>,
    executions: Vec<i64>,
}

/// Everything one day's reconciliation reads, for one account or all of them.
#[derive(Debug, Default)]
pub struct DayData {
    pub day: NaiveDate,
    /// Recommendations that may still be open on the day (not paired before it).
    pub recs: BTreeMap<AccountId, Vec<Stored<Recommendation>>>,
    /// Executions of the day.
    pub executions: BTreeMap<AccountId, Vec<Stored<Execution>>>,
    existing: BTreeMap<AccountId, Vec<ExistingRow>>,
    /// The trader's reasons by account, then by match key.
    reasons: HashMap<AccountId, HashMap<String, StoredReason>>,
    /// Rows of later days that belong to the loaded recommendations (a re-run of an
    /// earlier day can take them over): (account, key) → id.
    later: HashMap<(AccountId, String), i64>,
}

impl DayData {
    /// Accounts with anything to reconcile or rows to revisit on the day.
    pub fn accounts(&self) -> BTreeSet<AccountId> {
        self.recs
            .keys()
            .chain(self.executions.keys())
            .chain(self.existing.keys())
            .copied()
            .collect()
    }
}

/// Reads a recommendation selected with `REC_COLUMNS`.
pub(crate) fn rec_from_row(row: &AnyRow) -> Result<Stored<Recommendation>> {
    let mut rec = rec_core_from_row(row)?;
    let earnings: Option<String> = row.try_get("earnings_date")?;
    let underlying_price: Option<i64> = row.try_get("underlying_price")?;
    rec.item.context = RecContext {
        underlying_price: underlying_price.map(Money::from_units),
        delta: row.try_get("delta")?,
        iv: row.try_get("iv")?,
        iv_rank: row.try_get("iv_rank")?,
        earnings_date: earnings.as_deref().map(parse_day).transpose()?,
        algorithm_version: row.try_get("algorithm_version")?,
        rationale: row.try_get("rationale")?,
    };
    Ok(rec)
}

/// Reads a recommendation selected with `REC_CORE_COLUMNS`: everything but the
/// context, which reconciliation does not look at (reading it would double the cost of
/// loading a night).
pub(crate) fn rec_core_from_row(row: &AnyRow) -> Result<Stored<Recommendation>> {
    let position: Option<String> = row.try_get("position")?;
    let position = position
        .map(|p| Contract::parse_occ(&p).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    Ok(Stored {
        id: row.try_get("id")?,
        item: Recommendation {
            account: AccountId(row.try_get("account_id")?),
            external_id: row.try_get("external_id")?,
            created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
            action: parse_named(&row.try_get::<String, _>("action")?, "action")?,
            contract: contract_from(row)?,
            contracts: row.try_get("contracts")?,
            premium: Money::from_units(row.try_get("premium")?),
            position,
            context: RecContext::default(),
        },
    })
}

pub(crate) fn exec_from_row(row: &AnyRow) -> Result<Stored<Execution>> {
    Ok(Stored {
        id: row.try_get("id")?,
        item: Execution {
            account: AccountId(row.try_get("account_id")?),
            broker: row.try_get("broker")?,
            broker_ref: row.try_get("broker_ref")?,
            executed_at: parse_ts(&row.try_get::<String, _>("executed_at")?)?,
            action: parse_named(&row.try_get::<String, _>("action")?, "action")?,
            contract: contract_from(row)?,
            contracts: row.try_get("contracts")?,
            price: Money::from_units(row.try_get("price")?),
            fees: Money::from_units(row.try_get("fees")?),
        },
    })
}

pub(crate) const REC_CORE_COLUMNS: &str = "r.id, r.account_id, r.external_id, r.created_at, \
    r.action, r.underlying, r.option_right, r.strike, r.expiration, r.contracts, r.premium, r.position, \
    r.underlying_as_written";
pub(crate) const REC_COLUMNS: &str = "r.id, r.account_id, r.external_id, r.created_at, r.action, \
    r.underlying, r.option_right, r.strike, r.expiration, r.contracts, r.premium, r.position, \
    r.underlying_price, r.delta, r.iv, r.iv_rank, r.earnings_date, r.algorithm_version, r.rationale, \
    r.underlying_as_written";
pub(crate) const EXEC_COLUMNS: &str = "e.id, e.account_id, e.broker, e.broker_ref, e.executed_at, \
    e.action, e.underlying, e.option_right, e.strike, e.expiration, e.contracts, e.price, e.fees, \
    e.underlying_as_written";

/// Accounts whose rows are written by one round of statements when a whole night is
/// written.
const ACCOUNTS_PER_STATEMENTS: usize = 250;

impl Store {
    /// Loads what reconciling `day` needs, for one account or every account.
    pub async fn load_day(
        &self,
        day: NaiveDate,
        window: ResponseWindow,
        account: Option<AccountId>,
    ) -> Result<DayData> {
        let mut conn = self.pool.acquire().await?;
        load_day_in(self.backend, &mut conn, day, &window, account).await
    }

    /// Writes the rows of `data.day` in a transaction of its own (see [`write_day_in`]).
    pub async fn write_day(
        &self,
        data: &DayData,
        results: &[(AccountId, Vec<MatchDraft>)],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let changed = write_day_in(self.backend, &mut tx, data, results, tz, now).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Days after `day` (up to `until`) already reconciled for any of `accounts`, with
    /// the accounts they were reconciled for: the days a re-run of `day` must revisit.
    pub async fn reconciled_days_between(
        &self,
        after: NaiveDate,
        until: NaiveDate,
        accounts: &[AccountId],
    ) -> Result<BTreeMap<NaiveDate, Vec<AccountId>>> {
        let mut conn = self.pool.acquire().await?;
        reconciled_days_between_in(&mut conn, after, until, accounts).await
    }
}

/// A recommendation as `load_day` reads it (the columns of `REC_CORE_COLUMNS`).
type RecCoreRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

fn rec_core_from_json(row: RecCoreRow) -> Result<Stored<Recommendation>> {
    let (
        id,
        account,
        external_id,
        created_at,
        action,
        underlying,
        right,
        strike,
        expiration,
        contracts,
        premium,
        position,
        written,
    ) = row;
    let position = position
        .map(|p| Contract::parse_occ(&p).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    Ok(Stored {
        id,
        item: Recommendation {
            account: AccountId(account),
            external_id,
            created_at: parse_ts(&created_at)?,
            action: parse_named(&action, "action")?,
            contract: contract_of(&underlying, written.as_deref(), &right, strike, &expiration)?,
            contracts,
            premium: Money::from_units(premium),
            position,
            context: RecContext::default(),
        },
    })
}

/// An execution as `load_day` reads it (the columns of `EXEC_COLUMNS`).
type ExecRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);

fn exec_from_json(row: ExecRow) -> Result<Stored<Execution>> {
    let (
        id,
        account,
        broker,
        broker_ref,
        executed_at,
        action,
        underlying,
        right,
        strike,
        expiration,
        contracts,
        price,
        fees,
        written,
    ) = row;
    Ok(Stored {
        id,
        item: Execution {
            account: AccountId(account),
            broker,
            broker_ref,
            executed_at: parse_ts(&executed_at)?,
            action: parse_named(&action, "action")?,
            contract: contract_of(&underlying, written.as_deref(), &right, strike, &expiration)?,
            contracts,
            price: Money::from_units(price),
            fees: Money::from_units(fees),
        },
    })
}

/// A stored match row of the day with one of its executions (`None` when it has none).
type MatchRow = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// [`Store::load_day`] on a connection (a caller's transaction sees its own writes).
///
/// Each query returns its rows as one JSON value (see `json_select`): decoding 100,000
/// rows one column at a time through the `Any` driver took ten times as long as the
/// queries themselves.
/// ` AND {column} = ${n}` when a read is for one account.
fn one_account(acct: Option<i64>, column: &str, n: usize) -> String {
    acct.map_or_else(String::new, |_| format!(" AND {column} = ${n}"))
}

/// Binds the account of a read for one account (see [`one_account`]).
fn bind_account<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    acct: Option<i64>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match acct {
        Some(a) => q.bind(a),
        None => q,
    }
}

pub(crate) async fn load_day_in(
    backend: Backend,
    conn: &mut AnyConnection,
    day: NaiveDate,
    window: &ResponseWindow,
    account: Option<AccountId>,
) -> Result<DayData> {
    let first = window.earliest_sent(day).to_string();
    let day_s = day.to_string();
    let acct = account.map(|a| a.0);

    let sql = rows_sql(
        backend,
        REC_CORE_COLUMNS,
        &format!(
            "FROM recommendations r \
             WHERE r.created_day >= $1 AND r.created_day <= $2{} \
             AND NOT EXISTS (SELECT 1 FROM recommendation_execution_matches m \
                 WHERE m.account_id = r.account_id AND m.recommendation_id = r.id AND m.day < $2)",
            one_account(acct, "r.account_id", 3)
        ),
        "r.account_id, r.id",
    );
    let q = bind_account(
        sqlx::query(&sql).bind(first.clone()).bind(day_s.clone()),
        acct,
    );
    let rows: Vec<RecCoreRow> = fetch_rows(conn, q).await?;
    let mut recs: BTreeMap<AccountId, Vec<Stored<Recommendation>>> = BTreeMap::new();
    for row in rows {
        let r = rec_core_from_json(row)?;
        recs.entry(r.item.account).or_default().push(r);
    }

    let sql = rows_sql(
        backend,
        EXEC_COLUMNS,
        &format!(
            "FROM executions e WHERE e.exec_day = $1{}",
            one_account(acct, "e.account_id", 2)
        ),
        "e.account_id, e.id",
    );
    let q = bind_account(sqlx::query(&sql).bind(day_s.clone()), acct);
    let rows: Vec<ExecRow> = fetch_rows(conn, q).await?;
    let mut executions: BTreeMap<AccountId, Vec<Stored<Execution>>> = BTreeMap::new();
    for row in rows {
        let e = exec_from_json(row)?;
        executions.entry(e.item.account).or_default().push(e);
    }

    let sql = rows_sql(
        backend,
        "m.id, m.account_id, m.match_key, m.match_type, m.recommendation_id, m.underlying, \
         m.strike_diff, m.dte_diff, m.contracts_diff, m.premium_diff, m.modifications, \
         m.reason_code, m.reason_text, m.reason_at, x.execution_id",
        &format!(
            "FROM recommendation_execution_matches m \
             LEFT JOIN match_executions x ON x.match_id = m.id WHERE m.day = $1{}",
            one_account(acct, "m.account_id", 2)
        ),
        "m.account_id, m.id, x.execution_id",
    );
    let q = bind_account(sqlx::query(&sql).bind(day_s.clone()), acct);
    let match_rows: Vec<MatchRow> = fetch_rows(conn, q).await?;

    let sql = rows_sql(
        backend,
        "m.id, m.account_id, m.match_key",
        &format!(
            "FROM recommendation_execution_matches m \
             JOIN recommendations r ON r.id = m.recommendation_id \
             WHERE r.created_day >= $1 AND r.created_day <= $2 AND m.day > $2{}",
            one_account(acct, "m.account_id", 3)
        ),
        "m.id",
    );
    let q = bind_account(sqlx::query(&sql).bind(first).bind(day_s), acct);
    let later_rows: Vec<(i64, i64, String)> = fetch_rows(conn, q).await?;
    let later = later_rows
        .into_iter()
        .map(|(id, a, key)| ((AccountId(a), key), id))
        .collect();

    let mut data = DayData {
        day,
        later,
        recs,
        executions,
        ..DayData::default()
    };
    for row in match_rows {
        let (
            id,
            account,
            key,
            match_type,
            recommendation,
            underlying,
            strike_diff,
            dte_diff,
            contracts_diff,
            premium_diff,
            modifications,
            reason_code,
            reason_text,
            reason_at,
            exec,
        ) = row;
        let rows = data.existing.entry(AccountId(account)).or_default();
        if rows.last().map(|r| r.id) != Some(id) {
            rows.push(ExistingRow {
                id,
                key,
                fields: RowFields {
                    match_type,
                    recommendation,
                    underlying,
                    strike_diff,
                    dte_diff,
                    contracts_diff,
                    premium_diff,
                    modifications,
                    reason: reason_code.map(|code| StoredReason {
                        code,
                        text: reason_text,
                        at: reason_at.unwrap_or_default(),
                    }),
                    executions: Vec::new(),
                },
            });
        }
        if let (Some(e), Some(last)) = (exec, rows.last_mut()) {
            last.fields.executions.push(e);
        }
    }

    let accounts: Vec<i64> = data.accounts().into_iter().map(|a| a.0).collect();
    if !accounts.is_empty() {
        let sql = rows_sql(
            backend,
            "account_id, match_key, reason_code, reason_text, reason_at",
            &format!(
                "FROM match_reasons WHERE account_id IN {}",
                json_ids(backend, 1)
            ),
            "account_id, match_key",
        );
        let q = sqlx::query(&sql).bind(json_id_list(&accounts));
        let rows: Vec<(i64, String, String, Option<String>, String)> = fetch_rows(conn, q).await?;
        for (account, key, code, text, at) in rows {
            data.reasons
                .entry(AccountId(account))
                .or_default()
                .insert(key, StoredReason { code, text, at });
        }
    }
    Ok(data)
}

/// Writes the rows of `data.day` for each account in `results` inside `tx`: rows that
/// did not change are left alone, changed rows are updated in place (their ids kept),
/// new rows inserted and rows that no longer exist removed. Reasons come from
/// `match_reasons`, so a rebuilt row keeps the trader's reason. Returns the number of
/// rows written or removed.
pub(crate) async fn write_day_in(
    backend: Backend,
    tx: &mut AnyConnection,
    data: &DayData,
    results: &[(AccountId, Vec<MatchDraft>)],
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<usize> {
    {
        let mut changed = 0;
        for chunk in results.chunks(ACCOUNTS_PER_STATEMENTS) {
            let mut upserts: Vec<(AccountId, &MatchDraft, RowFields)> = Vec::new();
            let mut stale: Vec<i64> = Vec::new();
            for (account, drafts) in chunk {
                let existing: HashMap<&str, &ExistingRow> = data
                    .existing
                    .get(account)
                    .map(|rows| rows.iter().map(|r| (r.key.as_str(), r)).collect())
                    .unwrap_or_default();
                // Only an account with reasons needs its trades' keys (to carry a reason
                // from an `independent` trade into the match that now holds it).
                let reasons = data.reasons.get(account);
                let trade_keys = match reasons {
                    Some(_) => trade_keys_by_fill(data.executions.get(account), tz),
                    None => HashMap::new(),
                };
                let keys: BTreeSet<&str> = drafts.iter().map(|d| d.key.as_str()).collect();
                for row in existing.values() {
                    if !keys.contains(row.key.as_str()) {
                        stale.push(row.id);
                    }
                }
                for d in drafts {
                    let reason = reasons.and_then(|r| reason_for(d, &trade_keys, r));
                    let fields = RowFields {
                        match_type: d.match_type.as_str().to_owned(),
                        recommendation: d.recommendation,
                        underlying: d.underlying.as_str().to_owned(),
                        strike_diff: d.diff.strike.map(Money::units),
                        dte_diff: d.diff.dte,
                        contracts_diff: d.diff.contracts,
                        premium_diff: d.diff.premium.map(Money::units),
                        modifications: d.modifications.join(","),
                        reason,
                        executions: d.executions.clone(),
                    };
                    if existing.get(d.key.as_str()).map(|r| &r.fields) != Some(&fields) {
                        upserts.push((*account, d, fields));
                    }
                }
            }
            changed += upserts.len() + stale.len();

            // Rows whose links and outcomes must go: removed rows, changed rows of the day,
            // and rows of other days that this day now takes over (same key).
            let mut touched: Vec<i64> = stale.clone();
            for (account, d, _) in &upserts {
                let today = data
                    .existing
                    .get(account)
                    .and_then(|rows| rows.iter().find(|r| r.key == d.key));
                if let Some(id) = today
                    .map(|r| r.id)
                    .or_else(|| data.later.get(&(*account, d.key.clone())).copied())
                {
                    touched.push(id);
                }
            }
            for table in ["match_executions", "position_outcomes"] {
                let sql = format!("DELETE FROM {table} WHERE match_id IN ({{ids}})");
                execute_by_ids(&mut *tx, &sql, &touched).await?;
            }
            execute_by_ids(
                &mut *tx,
                "DELETE FROM recommendation_execution_matches WHERE id IN ({ids})",
                &stale,
            )
            .await?;
            let reconciled_at = ts(now);
            for part in upserts.chunks(400) {
                const COLS: usize = 15;
                let sql = format!(
                    "INSERT INTO recommendation_execution_matches (account_id, match_key, day, match_type, \
                     recommendation_id, underlying, strike_diff, dte_diff, contracts_diff, premium_diff, \
                     modifications, reason_code, reason_text, reason_at, reconciled_at) VALUES {} \
                     ON CONFLICT (account_id, match_key) DO UPDATE SET day = excluded.day, \
                     match_type = excluded.match_type, recommendation_id = excluded.recommendation_id, \
                     underlying = excluded.underlying, strike_diff = excluded.strike_diff, \
                     dte_diff = excluded.dte_diff, contracts_diff = excluded.contracts_diff, \
                     premium_diff = excluded.premium_diff, modifications = excluded.modifications, \
                     reason_code = excluded.reason_code, reason_text = excluded.reason_text, \
                     reason_at = excluded.reason_at, reconciled_at = excluded.reconciled_at",
                    placeholders(backend, part.len(), COLS)
                );
                let mut q = sqlx::query(&sql);
                for (account, d, f) in part {
                    q = q
                        .bind(account.0)
                        .bind(d.key.clone())
                        .bind(data.day.to_string())
                        .bind(f.match_type.clone())
                        .bind(f.recommendation)
                        .bind(f.underlying.clone())
                        .bind(f.strike_diff)
                        .bind(f.dte_diff)
                        .bind(f.contracts_diff)
                        .bind(f.premium_diff)
                        .bind(f.modifications.clone())
                        .bind(f.reason.as_ref().map(|r| r.code.clone()))
                        .bind(f.reason.as_ref().and_then(|r| r.text.clone()))
                        .bind(f.reason.as_ref().map(|r| r.at.clone()))
                        .bind(reconciled_at.clone());
                }
                q.execute(&mut *tx).await?;
            }
            let links: Vec<(i64, &str, i64)> = upserts
                .iter()
                .flat_map(|(a, d, f)| f.executions.iter().map(move |&e| (a.0, d.key.as_str(), e)))
                .collect();
            for part in links.chunks(500) {
                // Each link names its match by key; the join finds the match's id.
                let sql = format!(
                    "INSERT INTO match_executions (match_id, execution_id, account_id) \
                     SELECT m.id, v.column3, v.column1 FROM (VALUES {}) v \
                     JOIN recommendation_execution_matches m \
                     ON m.account_id = v.column1 AND m.match_key = v.column2",
                    placeholders(backend, part.len(), 3)
                );
                let mut q = sqlx::query(&sql);
                for (a, k, e) in part {
                    q = q.bind(*a).bind((*k).to_owned()).bind(*e);
                }
                let done = q.execute(&mut *tx).await?.rows_affected();
                if done != part.len() as u64 {
                    return Err(StoreError::Corrupt(format!(
                        "linked {done} of {} executions on {}",
                        part.len(),
                        data.day
                    )));
                }
            }
            for part in chunk.chunks(300) {
                let sql = format!(
                    "INSERT INTO reconciled_days (account_id, day, reconciled_at) VALUES {} \
                     ON CONFLICT (account_id, day) DO UPDATE SET reconciled_at = excluded.reconciled_at",
                    placeholders(backend, part.len(), 3)
                );
                let mut q = sqlx::query(&sql);
                for (account, _) in part {
                    q = q.bind(account.0).bind(data.day.to_string()).bind(ts(now));
                }
                q.execute(&mut *tx).await?;
            }
        }
        Ok(changed)
    }
}

/// [`Store::reconciled_days_between`] on a connection.
pub(crate) async fn reconciled_days_between_in(
    conn: &mut AnyConnection,
    after: NaiveDate,
    until: NaiveDate,
    accounts: &[AccountId],
) -> Result<BTreeMap<NaiveDate, Vec<AccountId>>> {
    {
        let ids: Vec<i64> = accounts.iter().map(|a| a.0).collect();
        let rows = fetch_by_ids(
            conn,
            "SELECT day, account_id FROM reconciled_days WHERE day > $1 AND day <= $2 \
             AND account_id IN ({ids}) ORDER BY day, account_id",
            &[after.to_string(), until.to_string()],
            &ids,
        )
        .await?;
        let mut out: BTreeMap<NaiveDate, Vec<AccountId>> = BTreeMap::new();
        for row in rows {
            out.entry(parse_day(&row.try_get::<String, _>(0)?)?)
                .or_default()
                .push(AccountId(row.try_get(1)?));
        }
        Ok(out)
    }
}

/// Execution id → the key of the trade it belongs to, for one account's day.
fn trade_keys_by_fill(execs: Option<&Vec<Stored<Execution>>>, tz: Tz) -> HashMap<i64, String> {
    let mut out = HashMap::new();
    if let Some(execs) = execs {
        for t in group_fills(execs, tz) {
            let key = t.key();
            for f in t.fills {
                out.insert(f, key.clone());
            }
        }
    }
    out
}

/// The reason a draft carries: the one recorded under its own key, else the latest one
/// recorded for a trade it now contains (an `independent` trade that has since been
/// paired keeps the reason the trader gave it).
fn reason_for(
    draft: &MatchDraft,
    trade_keys: &HashMap<i64, String>,
    reasons: &HashMap<String, StoredReason>,
) -> Option<StoredReason> {
    if let Some(r) = reasons.get(&draft.key) {
        return Some(r.clone());
    }
    draft
        .executions
        .iter()
        .filter_map(|e| trade_keys.get(e))
        .filter(|k| **k != draft.key)
        .filter_map(|k| reasons.get(k))
        .max_by(|a, b| a.at.cmp(&b.at))
        .cloned()
}
