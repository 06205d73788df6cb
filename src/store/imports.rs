//! Writing imported rows: recommendations, executions and prices, in batches, each
//! batch in one transaction. A row whose key is already stored is a duplicate when it
//! is the same row and a conflict when it differs; neither changes what is stored.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{AnyConnection, Row};

use super::{
    Backend, Result, Store, StoreError, ensure_accounts, fingerprint, param_list, placeholders, ts,
};
use crate::domain::{AccountId, Contract, Execution, Money, PriceClose, Recommendation, day_of};

/// What became of one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Inserted,
    /// The same row was already stored (or appeared earlier in the same batch).
    Duplicate,
    /// A different row is stored under the same key; the reason says which key.
    Conflict(String),
}

/// Rows per statement: keeps every statement well under both backends' parameter limits.
const BATCH: usize = 500;

type AnyQuery<'q> = Query<'q, sqlx::Any, AnyArguments<'q>>;

/// A row's identity in its table: up to three parts (unused parts are constant).
type Key = (i64, String, String);

/// How one table is written by `insert_keyed`.
struct Table {
    name: &'static str,
    /// Insert column list.
    columns: &'static str,
    count: usize,
    /// Key column expressions matched against the key parts, and the fingerprint expression.
    key_exprs: [&'static str; 3],
    fingerprint_expr: &'static str,
    conflict_target: &'static str,
}

const RECOMMENDATIONS: Table = Table {
    name: "recommendations",
    columns: "account_id, external_id, created_at, created_day, action, underlying, option_right, \
              strike, expiration, contracts, premium, position, underlying_price, delta, iv, iv_rank, \
              earnings_date, algorithm_version, rationale, fingerprint, imported_at, underlying_as_written",
    count: 22,
    key_exprs: ["t.account_id", "t.external_id", "''"],
    fingerprint_expr: "t.fingerprint",
    conflict_target: "account_id, external_id",
};

const EXECUTIONS: Table = Table {
    name: "executions",
    columns: "account_id, broker, broker_ref, executed_at, exec_day, action, underlying, option_right, \
              strike, expiration, contracts, price, fees, fingerprint, imported_at, underlying_as_written, \
              inferred_fill",
    count: 17,
    key_exprs: ["t.account_id", "t.broker", "t.broker_ref"],
    fingerprint_expr: "t.fingerprint",
    conflict_target: "account_id, broker, broker_ref",
};

const PRICES: Table = Table {
    name: "prices",
    columns: "symbol, price_date, close, imported_at",
    count: 4,
    key_exprs: ["CAST(0 AS BIGINT)", "t.symbol", "t.price_date"],
    fingerprint_expr: "CAST(t.close AS TEXT)",
    conflict_target: "symbol, price_date",
};

/// The underlying as the import wrote it, when that is not its canonical name.
fn written(contract: &Contract) -> Option<String> {
    contract.underlying.written_differently().map(str::to_owned)
}

// The fingerprints take the underlying as written, as rows stored before symbols had a
// canonical name were fingerprinted: re-importing an old file finds its rows unchanged.
fn rec_canonical(r: &Recommendation) -> String {
    let c = &r.context;
    format!(
        "{}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        ts(r.created_at),
        r.action,
        r.contract.occ_as_written(),
        r.contracts,
        r.premium.units(),
        r.position
            .as_ref()
            .map(|p| p.occ_as_written())
            .unwrap_or_default(),
        c.underlying_price.map(Money::units),
        c.delta,
        c.iv,
        c.iv_rank,
        c.earnings_date,
        c.algorithm_version,
        c.rationale,
    )
}

pub(crate) fn exec_canonical(e: &Execution) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        ts(e.executed_at),
        e.action,
        e.contract.occ_as_written(),
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
        let now_s = ts(now);
        self.insert_keyed(
            &RECOMMENDATIONS,
            rows,
            now,
            |r| Some(r.account),
            |r| (r.account.0, r.external_id.clone(), String::new()),
            |r| fingerprint(&rec_canonical(r)),
            |q, r, print| {
                let c = &r.context;
                q.bind(r.account.0)
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
                    .bind(c.underlying_price.map(Money::units))
                    .bind(c.delta)
                    .bind(c.iv)
                    .bind(c.iv_rank)
                    .bind(c.earnings_date.map(|d| d.to_string()))
                    .bind(c.algorithm_version.clone())
                    .bind(c.rationale.clone())
                    .bind(print)
                    .bind(now_s.clone())
                    .bind(written(&r.contract))
            },
            |r, _| {
                format!(
                    "recommendation `{}` of account {} is already stored with different values",
                    r.external_id, r.account
                )
            },
        )
        .await
    }

    /// Inserts executions; one outcome per row, in order.
    pub async fn insert_executions(
        &self,
        rows: &[Execution],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(&Execution, Option<String>)> = rows.iter().map(|e| (e, None)).collect();
        let mut tx = self.pool.begin().await?;
        let out = insert_executions_in(self.backend, &mut tx, &rows, tz, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Inserts daily closes; one outcome per row, in order.
    pub async fn insert_prices(
        &self,
        rows: &[PriceClose],
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        let now_s = ts(now);
        self.insert_keyed(
            &PRICES,
            rows,
            now,
            |_| None,
            |p| (0, p.symbol.as_str().to_owned(), p.date.to_string()),
            |p| p.close.units().to_string(),
            |q, p, _| {
                q.bind(p.symbol.as_str().to_owned())
                    .bind(p.date.to_string())
                    .bind(p.close.units())
                    .bind(now_s.clone())
            },
            |p, stored| {
                let stored = stored
                    .parse()
                    .map(Money::from_units)
                    .map_or_else(|_| stored.to_owned(), |m| m.to_string());
                format!(
                    "the close of {} on {} is already stored as {stored}",
                    p.symbol, p.date
                )
            },
        )
        .await
    }

    /// [`insert_keyed_in`] in a transaction of its own: a call's rows land together or
    /// not at all, and a commit (an fsync on Postgres) is paid once per call.
    #[allow(clippy::too_many_arguments)]
    async fn insert_keyed<T>(
        &self,
        table: &Table,
        rows: &[T],
        now: DateTime<Utc>,
        account: impl Fn(&T) -> Option<AccountId>,
        key: impl Fn(&T) -> Key,
        print: impl Fn(&T) -> String,
        bind: impl for<'q> Fn(AnyQuery<'q>, &T, String) -> AnyQuery<'q>,
        conflict: impl Fn(&T, &str) -> String,
    ) -> Result<Vec<RowOutcome>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let out = insert_keyed_in(
            self.backend,
            &mut tx,
            table,
            rows,
            now,
            account,
            key,
            print,
            bind,
            conflict,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Executions with the fill each inferred one is a leg of, inserted inside `tx`; one
/// outcome per row, in order.
pub(crate) async fn insert_executions_in(
    backend: Backend,
    tx: &mut AnyConnection,
    rows: &[(&Execution, Option<String>)],
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<RowOutcome>> {
    let now_s = ts(now);
    insert_keyed_in(
        backend,
        tx,
        &EXECUTIONS,
        rows,
        now,
        |(e, _)| Some(e.account),
        |(e, _)| (e.account.0, e.broker.clone(), e.broker_ref.clone()),
        |(e, _)| fingerprint(&exec_canonical(e)),
        |q, (e, fill), print| bind_execution(q, e, fill.clone(), print, now_s.clone(), tz),
        |(e, _), _| {
            format!(
                "execution `{}` from {} of account {} is already stored with different values",
                e.broker_ref, e.broker, e.account
            )
        },
    )
    .await
}

/// Binds one execution's values in the order of the `EXECUTIONS` columns.
fn bind_execution<'q>(
    q: AnyQuery<'q>,
    e: &Execution,
    inferred_fill: Option<String>,
    print: String,
    now: String,
    tz: Tz,
) -> AnyQuery<'q> {
    q.bind(e.account.0)
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
        .bind(print)
        .bind(now)
        .bind(written(&e.contract))
        .bind(inferred_fill)
}

/// The one way rows come in, inside `tx`: per statement-sized chunk, look up which
/// keys are stored already, insert the rest, and tell each row's outcome. Duplicates
/// inside a batch are compared with the first row of their key.
#[allow(clippy::too_many_arguments)]
async fn insert_keyed_in<T>(
    backend: Backend,
    tx: &mut AnyConnection,
    table: &Table,
    rows: &[T],
    now: DateTime<Utc>,
    account: impl Fn(&T) -> Option<AccountId>,
    key: impl Fn(&T) -> Key,
    print: impl Fn(&T) -> String,
    bind: impl for<'q> Fn(AnyQuery<'q>, &T, String) -> AnyQuery<'q>,
    conflict: impl Fn(&T, &str) -> String,
) -> Result<Vec<RowOutcome>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH) {
        let keys: Vec<Key> = chunk.iter().map(&key).collect();
        let prints: Vec<String> = chunk.iter().map(&print).collect();
        let accounts: Vec<AccountId> = chunk.iter().filter_map(&account).collect();
        ensure_accounts(backend, &mut *tx, &accounts, now).await?;
        let mut known = stored_prints(backend, &mut *tx, table, &keys).await?;
        let mut to_insert = Vec::new();
        let mut outcomes = Vec::with_capacity(chunk.len());
        for (i, k) in keys.iter().enumerate() {
            outcomes.push(match known.get(k) {
                None => {
                    known.insert(k.clone(), prints[i].clone());
                    to_insert.push(i);
                    RowOutcome::Inserted
                }
                Some(p) if *p == prints[i] => RowOutcome::Duplicate,
                Some(p) => RowOutcome::Conflict(conflict(&chunk[i], p)),
            });
        }
        if !to_insert.is_empty() {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO NOTHING",
                table.name,
                table.columns,
                placeholders(backend, to_insert.len(), table.count),
                table.conflict_target
            );
            let mut q = sqlx::query(&sql);
            for &i in &to_insert {
                q = bind(q, &chunk[i], prints[i].clone());
            }
            let done = q.execute(&mut *tx).await?.rows_affected();
            if done != to_insert.len() as u64 {
                // Another import wrote some of these keys since the lookup; the
                // transaction is dropped, so nothing of this batch is half-written.
                return Err(StoreError::Busy(format!(
                    "another import wrote the same {} at the same time; run this import again",
                    table.name
                )));
            }
        }
        out.extend(outcomes);
    }
    Ok(out)
}

/// The fingerprints stored under `keys`.
///
/// On SQLite the keys go in as one JSON array joined to the table: one probe of the
/// unique index per key. (An `IN (…)` list per key column made SQLite probe their
/// combinations: in the night benchmark, 236 ms of lookups for 110,000 rows, 62 ms
/// joined.) On Postgres the filter is one `IN (…)` list per key column, served from the
/// table's unique index. (A join against a `VALUES` list of the keys made Postgres hash
/// the list and scan the whole table for every batch: measured on a 60,000-row table,
/// 5 ms a batch instead of 1.) Rows that match the lists but not a whole key are dropped
/// here.
async fn stored_prints(
    backend: Backend,
    tx: &mut AnyConnection,
    table: &Table,
    keys: &[Key],
) -> Result<HashMap<Key, String>> {
    let [k1, k2, k3] = table.key_exprs;
    let key_columns = [k1, k2, k3].into_iter().enumerate();
    let select = format!("SELECT {k1}, {k2}, {k3}, {}", table.fingerprint_expr);
    let (sql, json);
    let q = match backend {
        Backend::Sqlite => {
            let on: Vec<String> = key_columns
                .filter(|(_, e)| e.starts_with("t."))
                .map(|(i, e)| format!("{e} = k.value ->> {i}"))
                .collect();
            sql = format!(
                "{select} FROM json_each($1) k JOIN {} t ON {}",
                table.name,
                on.join(" AND ")
            );
            let listed: Vec<(i64, &str, &str)> = keys
                .iter()
                .map(|k| (k.0, k.1.as_str(), k.2.as_str()))
                .collect();
            json = serde_json::to_string(&listed)
                .map_err(|e| StoreError::Corrupt(format!("keys as JSON: {e}")))?;
            sqlx::query(&sql).bind(json.as_str())
        }
        Backend::Postgres => {
            let firsts: BTreeSet<i64> = keys.iter().map(|k| k.0).collect();
            let seconds: BTreeSet<&str> = keys.iter().map(|k| k.1.as_str()).collect();
            let thirds: BTreeSet<&str> = keys.iter().map(|k| k.2.as_str()).collect();
            let counts = [firsts.len(), seconds.len(), thirds.len()];
            let mut filters = Vec::new();
            let mut n = 0;
            for (i, expr) in key_columns.filter(|(_, e)| e.starts_with("t.")) {
                filters.push(format!(
                    "{expr} IN ({})",
                    param_list(backend, counts[i], n + 1)
                ));
                n += counts[i];
            }
            sql = format!(
                "{select} FROM {} t WHERE {}",
                table.name,
                filters.join(" AND ")
            );
            let mut q = sqlx::query(&sql);
            if k1.starts_with("t.") {
                for v in &firsts {
                    q = q.bind(*v);
                }
            }
            for (expr, values) in [(k2, &seconds), (k3, &thirds)] {
                if expr.starts_with("t.") {
                    for v in values {
                        q = q.bind((*v).to_owned());
                    }
                }
            }
            q
        }
    };
    let wanted: HashSet<&Key> = keys.iter().collect();
    let mut found = HashMap::new();
    for row in q.fetch_all(&mut *tx).await? {
        let key = (
            row.try_get::<i64, _>(0)?,
            row.try_get::<String, _>(1)?,
            row.try_get::<String, _>(2)?,
        );
        if wanted.contains(&key) {
            found.insert(key, row.try_get::<String, _>(3)?);
        }
    }
    Ok(found)
}
