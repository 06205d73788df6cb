//! The only place that speaks SQL. One `Store` over an sqlx `Any` pool serves SQLite
//! (the default, a file created on first use) and Postgres; the queries are written
//! once in the dialect both accept (`$1` placeholders, `ON CONFLICT`, `RETURNING`) and
//! the schema differs only in its migrations folder.
//!
//! Stored forms: money as integer ten-thousandths of a dollar, timestamps as UTC text
//! with milliseconds (sortable), days as `YYYY-MM-DD` in the schedule time zone.

mod api;
mod bot;
mod brokers;
mod dialogues;
mod imports;
mod learning;
mod ledger;
mod match_counts;
mod matches;
mod outbox;
mod outcomes;
mod reconcile;
mod sqlite;
mod tokens;
mod tx;

pub use api::{CandidateKey, Figures, MatchKey, Page, Readiness, SummaryKey};
pub use brokers::{BrokerLink, Imported, Linked};
pub use learning::{AuditEntry, NewSummary, REVIEW_STATUSES, StoredSummary, Transition};
pub use ledger::{Claim, JobRun, RetryPolicy, RunStatus};
pub use matches::{DifferencesRecord, MatchFilter, MatchRecord, Scope};
pub use outbox::{NewMessage, OutboxMessage};
pub use outcomes::OutcomeInputs;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Row};

use self::sqlite::{postgres_connect_error, postgres_host};

use crate::domain::{AccountId, Contract, Money, Right, Symbol};

pub use imports::RowOutcome;

pub use reconcile::DayData;
pub use tokens::{NewToken, StoredToken};
pub use tx::Tx;

/// How long opening the database may take before it is reported unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A pooled Postgres connection idle longer than this is pinged before it is used.
const IDLE_PING_AFTER: Duration = Duration::from_secs(1);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "`{0}` is not a database URL this program can use (expected sqlite://PATH or postgres://…)"
    )]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot open the database: {0}")]
    Unreachable(String),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    /// A write to a database opened read-only; the text says why it is read-only.
    #[error(
        "the database is read-only ({0}), and this command writes to it; make the file and \
         its folder writable by this user, or run a command that only reads"
    )]
    ReadOnly(String),
    #[error("the database holds a value this program cannot read ({0})")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Busy(String),
    #[error("{what} {source}")]
    Refused {
        what: String,
        source: crate::domain::ReasonError,
    },
    #[error("{0}")]
    Lifecycle(crate::learning::candidates::LifecycleError),
    #[error(
        "this database's days were computed in {stored}, but SCHEDULE_TZ is {configured}; \
         set SCHEDULE_TZ back to {stored} or start a new database"
    )]
    ZoneChanged { stored: String, configured: String },
}

impl From<sqlx::Error> for StoreError {
    /// A write refused because the database is read-only is said as such, whatever
    /// statement met it.
    fn from(e: sqlx::Error) -> Self {
        match sqlite::read_only_cause(&e) {
            Some(why) => StoreError::ReadOnly(why),
            None => StoreError::Db(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Why the database is read-only (SQLite only), when it is.
    read_only: Option<String>,
}

impl Store {
    /// Opens the database at `url`, creating an SQLite file if it is missing. SQLite runs
    /// in WAL mode with a busy timeout and foreign keys on.
    ///
    /// Every way a database can fail to open is one sentence that names the cause, said
    /// within [`CONNECT_TIMEOUT`]: a missing folder, a file that is not a database, a
    /// Postgres server that does not answer, a database or user it does not know. An
    /// SQLite database this process cannot write (a read-only file or folder) is opened
    /// read-only: read commands work, and a write is refused with one sentence.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        sqlite_without_memory_statistics();
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_owned()));
            }
            return sqlite::connect(path).await;
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::BadUrl(url.to_owned()));
        }
        // One plain connection first: a pool only reports "timed out" after its acquire
        // timeout, while a single attempt says at once why the database is unreachable.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url))
            .await
            .map_err(|_| {
                StoreError::Unreachable(format!(
                    "the Postgres server at {} did not answer within {} s (check the host and port in DATABASE_URL, and that the server is running)",
                    postgres_host(url),
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| postgres_connect_error(url, e))?;
        probe
            .close()
            .await
            .map_err(|e| postgres_connect_error(url, e))?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings a connection when it returns to the pool; by default it pings
            // it again before handing it out, a round trip to the server on every
            // query. Only a connection idle for a while (the server may have closed it
            // meanwhile: a restart, an idle timeout) is pinged before use.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_PING_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
            .map_err(|e| postgres_connect_error(url, e))?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
            read_only: None,
        })
    }

    /// Applies the migrations of this backend that have not run yet. A read-only
    /// database is only checked: it must need none.
    pub async fn migrate(&self) -> Result<()> {
        if let Some(why) = &self.read_only {
            return sqlite::check_migrated(&self.pool, &SQLITE_MIGRATIONS, why).await;
        }
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Connects and migrates: what every command does first.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        if let Some(why) = &store.read_only {
            tracing::warn!(
                "the database is read-only ({why}): commands that only read work, the others are refused"
            );
        }
        Ok(store)
    }

    /// Why the database was opened read-only (its file or folder cannot be written by
    /// this process), if it was.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Refuses a read-only database, for the processes that write (the bot, the API).
    pub fn require_writable(&self) -> Result<()> {
        match &self.read_only {
            Some(why) => Err(StoreError::ReadOnly(why.clone())),
            None => Ok(()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Ties the database to the schedule time zone: stored days (`created_day`,
    /// `exec_day`, match days) are dates in that zone, so a database must not be read
    /// with another one. The first call records the zone; later calls check it.
    pub async fn bind_zone(&self, tz: chrono_tz::Tz) -> Result<()> {
        let name = tz.name();
        // Read first: a read-only database that already knows its zone is only read.
        let read = || async {
            sqlx::query("SELECT value FROM meta WHERE key = 'schedule_tz'")
                .fetch_optional(&self.pool)
                .await
        };
        let stored: String = match read().await? {
            Some(row) => row.try_get(0)?,
            None => {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('schedule_tz', $1) ON CONFLICT (key) DO NOTHING",
                )
                .bind(name)
                .execute(&self.pool)
                .await?;
                let row = read().await?.ok_or_else(|| {
                    StoreError::Corrupt("the schedule zone was not recorded".to_owned())
                })?;
                row.try_get(0)?
            }
        };
        if stored == name {
            Ok(())
        } else {
            Err(StoreError::ZoneChanged {
                stored,
                configured: name.to_owned(),
            })
        }
    }

    /// Every account, ascending.
    pub async fn account_ids(&self) -> Result<Vec<AccountId>> {
        let rows = sqlx::query("SELECT id FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get::<i64, _>(0)?)))
            .collect()
    }
}

/// Turns off SQLite's memory statistics, once per process, before the first connection.
///
/// With statistics on (SQLite's default), every allocation inside SQLite takes one
/// process-wide mutex; sqlx runs each connection on its own thread, so overlapping
/// queries queue on that mutex (measured: a fifth of a night's reconciliation time in
/// futex wake-ups). Nothing here reads the statistics.
fn sqlite_without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config must run before SQLite is initialised and not
        // concurrently with other SQLite calls. Every connection of this process is
        // opened by `Store::connect`, which calls this first, and `Once` serialises it.
        // Were SQLite already initialised, the call would return SQLITE_MISUSE and
        // change nothing.
        unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

async fn ensure_accounts(
    backend: Backend,
    tx: &mut AnyConnection,
    ids: &[AccountId],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut ids: Vec<i64> = ids.iter().map(|a| a.0).collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "INSERT INTO accounts (id, created_at) VALUES {} ON CONFLICT (id) DO NOTHING",
            placeholders(backend, chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        let now = ts(now);
        for id in chunk {
            q = q.bind(*id).bind(now.clone());
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// The VALUES list of a multi-row insert: `($1, $2), ($3, $4)…` on Postgres and
/// `(?, ?), (?, ?)…` on SQLite. SQLite looks up a numbered parameter's name by a linear
/// scan, which makes binding thousands of `$n` quadratic; bare `?` are bound by position.
/// Use it only in statements whose other parameters are bare `?` too (or absent).
pub(crate) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(1 + r * cols + c).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// `?, ?, …` on SQLite, `$start, $start+1, …` on Postgres: a parameter list for a
/// statement whose parameters are all positional (see `placeholders`).
pub(crate) fn param_list(backend: Backend, n: usize, start: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(", "),
        Backend::Postgres => list(n, start),
    }
}

/// `$a, $b, …` for an `IN (…)` list of `n` values numbered from `start`.
pub(crate) fn list(n: usize, start: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ids per `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

/// The rows of `sql` for all `ids`, in chunks: `{ids}` in `sql` stands for the id list,
/// which is numbered after the `fixed` text parameters (`$1`…).
pub(crate) async fn fetch_by_ids(
    conn: &mut AnyConnection,
    sql: &str,
    fixed: &[String],
    ids: &[i64],
) -> Result<Vec<AnyRow>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = sql.replace("{ids}", &list(chunk.len(), fixed.len() + 1));
        let mut q = sqlx::query(&sql);
        for f in fixed {
            q = q.bind(f.clone());
        }
        for id in chunk {
            q = q.bind(*id);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// Runs `sql` for all `ids` inside a transaction, in chunks (`{ids}` as above).
pub(crate) async fn execute_by_ids(tx: &mut AnyConnection, sql: &str, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = sql.replace("{ids}", &list(chunk.len(), 1));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// A UTC timestamp in its stored form.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp `{s}`")))
}

pub(crate) fn parse_day(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("date `{s}`")))
}

pub(crate) fn parse_named<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} `{s}`")))
}

/// Reads the contract stored in the columns `underlying, option_right, strike, expiration,
/// underlying_as_written`.
pub(crate) fn contract_from(row: &AnyRow) -> Result<Contract> {
    let underlying: String = row.try_get("underlying")?;
    let written: Option<String> = row.try_get("underlying_as_written")?;
    let right: String = row.try_get("option_right")?;
    let strike: i64 = row.try_get("strike")?;
    let expiration: String = row.try_get("expiration")?;
    contract_of(&underlying, written.as_deref(), &right, strike, &expiration)
}

/// The contract of the stored values `underlying, underlying_as_written, option_right,
/// strike, expiration`.
pub(crate) fn contract_of(
    underlying: &str,
    written: Option<&str>,
    right: &str,
    strike: i64,
    expiration: &str,
) -> Result<Contract> {
    let underlying = Symbol::parse(underlying)
        .map_err(|_| StoreError::Corrupt(format!("symbol `{underlying}`")))?
        .written_as(written);
    let right: Right = parse_named(right, "right")?;
    Contract::new(
        underlying,
        parse_day(expiration)?,
        right,
        Money::from_units(strike),
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The backend behind a connection of the `Any` pool.
pub(crate) fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The statement [`fetch_rows`] runs: `SELECT {cols} {rest} ORDER BY {order}`, where
/// `rest` is `FROM … WHERE …`. On SQLite the rows are aggregated into one JSON array of
/// arrays (`[]` when there are none).
pub(crate) fn rows_sql(backend: Backend, cols: &str, rest: &str, order: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT json_group_array(json_array({cols}) ORDER BY {order}) {rest}")
        }
        Backend::Postgres => format!("SELECT {cols} {rest} ORDER BY {order}"),
    }
}

/// Runs a statement made by [`rows_sql`] and decodes each row into `T` (a tuple of the
/// columns, read by serde from an array).
///
/// Through sqlx's `Any` driver every column of every row is a separate conversion (a
/// value boxed into `AnyValue`, looked up by name, copied out), and on SQLite that, not
/// the engine, was most of the time of reading a night back: 0.9 s for the 110,000 rows
/// of `load_day`, against 0.04 s for the same queries in the `sqlite3` shell. Aggregated
/// into one JSON text inside the engine, the rows cross the driver as one value and
/// serde decodes them in one pass (0.3 s). On Postgres the same aggregate (`json_agg`)
/// was slower than its binary rows (0.95 s against 0.47 s), so there the rows stay rows,
/// decoded as they stream in.
pub(crate) async fn fetch_rows<'q, T: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Vec<T>> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("rows read back: {e}"));
    match backend_of(conn) {
        Backend::Sqlite => {
            let row = query.fetch_one(&mut *conn).await?;
            // Borrowed from the row: a night's text is megabytes, copied once already.
            let text: &str = row.try_get(0)?;
            serde_json::from_str(text).map_err(corrupt)
        }
        Backend::Postgres => {
            use futures_util::TryStreamExt;
            let mut out = Vec::new();
            let mut rows = query.fetch(&mut *conn);
            while let Some(row) = rows.try_next().await? {
                out.push(serde_json::from_value(row_json(&row)?).map_err(corrupt)?);
            }
            Ok(out)
        }
    }
}

/// A row as a JSON array of its columns, for the decoder `fetch_rows` shares.
fn row_json(row: &AnyRow) -> Result<serde_json::Value> {
    use serde_json::Value;
    use sqlx::any::AnyTypeInfoKind as Kind;
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = match sqlx::Column::type_info(column).kind() {
            Kind::SmallInt | Kind::Integer | Kind::BigInt => {
                row.try_get::<Option<i64>, _>(i)?.map(Value::from)
            }
            Kind::Real | Kind::Double => row.try_get::<Option<f64>, _>(i)?.map(Value::from),
            Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::from),
            Kind::Null => None,
            Kind::Blob => {
                return Err(StoreError::Corrupt(format!(
                    "binary column `{}` in rows read as values",
                    sqlx::Column::name(column)
                )));
            }
            Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Value::Array(values))
}

/// `(SELECT … )`: the integers of the JSON array bound as parameter `$n`, for an `IN`.
pub(crate) fn json_ids(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("(SELECT value FROM json_each(${n}))"),
        Backend::Postgres => {
            format!("(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(${n}::json))")
        }
    }
}

/// `ids` as the JSON array [`json_ids`] reads.
pub(crate) fn json_id_list(ids: &[i64]) -> String {
    let mut s = String::with_capacity(ids.len() * 12 + 2);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

/// FNV-1a over the canonical text of a row: tells a re-import of the same row from a
/// different row under the same key. Stable across builds, unlike `DefaultHasher`.
pub(crate) fn fingerprint(canonical: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(placeholders(Backend::Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(list(3, 2), "$2, $3, $4");
    }

    #[test]
    fn timestamps_are_fixed_width_utc() {
        let at: DateTime<Utc> = "2025-01-02T09:35:00-08:00".parse().unwrap();
        assert_eq!(ts(at), "2025-01-02T17:35:00.000Z");
        assert_eq!(parse_ts(&ts(at)).unwrap(), at);
    }
}
