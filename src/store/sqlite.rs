//! Opening a database whatever state its file, folder or server is in, with one
//! sentence for each way it can fail (issue 13, item 10).
//!
//! SQLite: the file is opened for writing when this process can write it; when it cannot
//! (a read-only file, or a read-only folder where SQLite cannot keep its `-wal` and
//! `-shm` files), it is opened read-only, then immutable (a WAL database in a read-only
//! folder can be read no other way), so read commands still work; a write is refused
//! with [`StoreError::ReadOnly`]. Every check is one attempt on one connection, so a
//! failure is said at once instead of after the pool's time-out.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use super::{Backend, Result, Store, StoreError};

/// What every connection runs first when it may write.
const WRITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
/// What every connection of a read-only database runs first.
const READ_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA query_only = ON;";

// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_PERM: i64 = 3;
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_READONLY: i64 = 8;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_NOTADB: i64 = 26;

/// SQLite's result code of an error from the database, if it is one.
fn code(e: &sqlx::Error) -> Option<i64> {
    let db = e.as_database_error()?;
    let code: i64 = db.code()?.parse().ok()?;
    Some(code & 0xff)
}

/// The database's own words, without sqlx's "error returned from database" and code.
fn message(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    }
}

/// Why a statement failed, when it failed because the database is read-only.
pub(super) fn read_only_cause(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    let sqlite_read_only = code(e) == Some(SQLITE_READONLY);
    // A connection opened with `query_only` refuses writes with SQLITE_READONLY too.
    (sqlite_read_only || db.message().contains("readonly database"))
        .then(|| "it could not be opened for writing".to_owned())
}

/// Opens an SQLite database: `path` is what follows `sqlite://`, with any `?options`.
pub(super) async fn connect(path_and_options: &str) -> Result<Store> {
    let (path, options) = match path_and_options.split_once('?') {
        Some((path, options)) => (path, Some(options)),
        None => (path_and_options, None),
    };
    let chosen = options.is_some_and(|o| {
        o.split('&')
            .any(|kv| kv.starts_with("mode=") || kv.starts_with("immutable="))
    });
    let in_memory = path == ":memory:" || options.is_some_and(|o| o.contains("mode=memory"));
    let url = |extra: &str| match (options, extra.is_empty()) {
        (Some(o), true) => format!("sqlite://{path}?{o}"),
        (Some(o), false) => format!("sqlite://{path}?{o}&{extra}"),
        (None, true) => format!("sqlite://{path}"),
        (None, false) => format!("sqlite://{path}?{extra}"),
    };
    if chosen || in_memory {
        // The URL says how to open it: do as it says.
        let url = url("");
        let read_only = options
            .is_some_and(|o| o.contains("mode=ro") || o.contains("immutable=1"))
            .then(|| "DATABASE_URL asks for mode=ro".to_owned());
        return match probe(&url, path, read_only.is_none()).await {
            Ok(()) => pool(&url, read_only).await,
            Err(Probe::Failed(e)) => Err(e),
            Err(Probe::CannotWrite(_) | Probe::Refused(_)) => {
                Err(StoreError::Unreachable(format!(
                    "cannot open the database {path} as DATABASE_URL asks; check that the file and its folder can be read and written by this user"
                )))
            }
        };
    }
    let file = Path::new(path);
    let folder = match file.parent() {
        Some(f) if !f.as_os_str().is_empty() => f,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(StoreError::Unreachable(format!(
            "the folder {} does not exist; create it, or point DATABASE_URL at a file in an existing folder",
            folder.display()
        )));
    }
    if file.is_dir() {
        return Err(StoreError::Unreachable(format!(
            "{path} is a folder, not a database file; point DATABASE_URL at a file"
        )));
    }
    let existed = file.exists();
    let writable = url("mode=rwc");
    // SQLite opens a file it cannot write read-only without a word, and may even take
    // the write lock of a WAL database it cannot write: ask the system first.
    let refused = if !existed {
        None
    } else if !may_write(file) {
        Some(format!("the file {path} is not writable by this user"))
    } else if !may_write(folder) && !companions_writable(path) {
        Some(folder_read_only(folder))
    } else {
        None
    };
    let probed = match refused {
        Some(why) => Err(Probe::Refused(why)),
        None => probe(&writable, path, true).await,
    };
    let why = match probed {
        Err(Probe::Refused(why)) => why,
        Ok(()) => return pool(&writable, None).await,
        Err(Probe::Failed(e)) => return Err(e),
        Err(Probe::CannotWrite(_)) if !existed => {
            return Err(StoreError::Unreachable(format!(
                "cannot create the database file {path}: its folder {} is not writable by this user; make it writable, or point DATABASE_URL at another folder",
                folder.display()
            )));
        }
        Err(Probe::CannotWrite(code)) if code == SQLITE_CANTOPEN => folder_read_only(folder),
        Err(Probe::CannotWrite(_)) => format!("the file {path} is not writable by this user"),
    };
    // Read-only: plainly if SQLite can, immutable if it cannot even create the shared
    // memory file a WAL database is read with (a read-only folder).
    for extra in ["mode=ro", "mode=ro&immutable=1"] {
        let url = url(extra);
        match probe(&url, path, false).await {
            Ok(()) => return pool(&url, Some(why)).await,
            Err(Probe::Failed(e)) => return Err(e),
            Err(Probe::CannotWrite(_) | Probe::Refused(_)) => {}
        }
    }
    Err(StoreError::Unreachable(format!(
        "cannot read the database {path} ({why}); make the file and its folder readable and writable by this user"
    )))
}

fn folder_read_only(folder: &Path) -> String {
    format!(
        "its folder {} is not writable by this user, and SQLite keeps its -wal and -shm files there",
        folder.display()
    )
}

/// Whether this process may write `path` (a file, or create files in a folder), as the
/// system says: permissions, a read-only mount, an immutable file (which stops root too).
fn may_write(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// A WAL database in a folder that cannot be written can still be written when its
/// `-wal` and `-shm` files are already there and writable.
fn companions_writable(path: &str) -> bool {
    ["-wal", "-shm"].iter().all(|end| {
        let p = format!("{path}{end}");
        Path::new(&p).exists() && may_write(Path::new(&p))
    })
}

enum Probe {
    /// The system says this process cannot write the database: why.
    Refused(String),
    /// Writing (or creating what SQLite needs beside the file) was refused: SQLite's code.
    CannotWrite(i64),
    /// Nothing more to try: one sentence.
    Failed(StoreError),
}

/// One connection that reads the schema and, when `write`, takes the write lock and
/// lets it go: whatever would make the pool fail, said at once.
async fn probe(url: &str, path: &str, write: bool) -> Result<(), Probe> {
    let classify = |e: sqlx::Error| match code(&e) {
        Some(SQLITE_NOTADB | SQLITE_CORRUPT) => Probe::Failed(StoreError::Unreachable(format!(
            "{path} is not an SQLite database (it holds something else, or is damaged); point DATABASE_URL at the bot's database, or move the file away to start a new one"
        ))),
        Some(c @ (SQLITE_READONLY | SQLITE_CANTOPEN | SQLITE_PERM)) => Probe::CannotWrite(c),
        _ => Probe::Failed(StoreError::Unreachable(format!(
            "cannot open the SQLite database {path} ({})",
            message(&e)
        ))),
    };
    let mut conn = AnyConnection::connect(url).await.map_err(classify)?;
    let checked = async {
        if write {
            // No waiting here: a lock held by another process means it can be written.
            conn.execute("PRAGMA busy_timeout = 0").await?;
            match conn.execute("PRAGMA journal_mode = WAL").await {
                Err(e) if matches!(code(&e), Some(SQLITE_BUSY | SQLITE_LOCKED)) => {}
                other => {
                    other?;
                }
            }
        }
        // Reading waits as the pool does: another process's checkpoint or recovery
        // makes a reader busy for a moment, and that is no reason to refuse the file.
        conn.execute("PRAGMA busy_timeout = 10000").await?;
        conn.fetch_one("SELECT count(*) FROM sqlite_master").await?;
        if write {
            conn.execute("PRAGMA busy_timeout = 0").await?;
            match conn.execute("BEGIN IMMEDIATE").await {
                Ok(_) => {
                    conn.execute("ROLLBACK").await?;
                }
                Err(e) if matches!(code(&e), Some(SQLITE_BUSY | SQLITE_LOCKED)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let _ = conn.close().await;
    checked.map_err(classify)
}

async fn pool(url: &str, read_only: Option<String>) -> Result<Store> {
    let pragmas = if read_only.is_some() {
        READ_PRAGMAS
    } else {
        WRITE_PRAGMAS
    };
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        // A SQLite connection is a handle in this process, not a socket that can go
        // stale while idle: the ping sqlx sends before handing one out is one more
        // round trip to the connection's thread on every query (it still pings on
        // release).
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(pragmas).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(StoreError::Connect)?;
    Ok(Store {
        pool,
        backend: Backend::Sqlite,
        read_only,
    })
}

/// A read-only database cannot be migrated: it must already have every migration.
pub(super) async fn check_migrated(pool: &AnyPool, migrator: &Migrator, why: &str) -> Result<()> {
    let applied: BTreeSet<i64> =
        match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows
                .iter()
                .filter_map(|r| r.try_get::<i64, _>(0).ok())
                .collect(),
            // No table: nothing was ever applied (a new, empty file).
            Err(_) => BTreeSet::new(),
        };
    let pending = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .count();
    if pending == 0 {
        return Ok(());
    }
    Err(StoreError::Unreachable(format!(
        "the database is read-only ({why}) and lacks {pending} of this version's {} migrations; run `rlhf-bot migrate` once with write access to it",
        migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .count()
    )))
}

// ---------------------------------------------------------------------------------------
// Postgres

/// `host:port` of a Postgres URL, without the user and password.
pub(super) fn postgres_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}

fn postgres_user(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.rsplit_once('@') {
        Some((who, _)) => who.split(':').next().unwrap_or_default().to_owned(),
        None => "postgres".to_owned(),
    }
}

fn postgres_database(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split_once('/')
        .map(|(_, db)| db.split('?').next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// One sentence for a Postgres server that could not be reached or would not let us in.
pub(super) fn postgres_connect_error(url: &str, e: sqlx::Error) -> StoreError {
    let host = postgres_host(url);
    let sentence = match &e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "the Postgres server at {host} refused the connection (is it running, and on that port? check DATABASE_URL)"
        ),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => format!(
            "something at {host} answered, but not as a Postgres server; check the host and port in DATABASE_URL"
        ),
        sqlx::Error::Io(io) => format!(
            "cannot reach the Postgres server at {host} ({io}); check the host in DATABASE_URL"
        ),
        sqlx::Error::Tls(tls) => format!("the TLS connection to {host} failed ({tls})"),
        sqlx::Error::PoolTimedOut => format!(
            "the Postgres server at {host} did not answer in time; check that it is running"
        ),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("3D000") => {
                let name = postgres_database(url);
                format!(
                    "the Postgres server at {host} has no database `{name}`; create it (createdb {name}) or fix its name in DATABASE_URL"
                )
            }
            Some("28000" | "28P01") => format!(
                "the Postgres server at {host} refused the user `{}` ({}); check the user and password in DATABASE_URL",
                postgres_user(url),
                db.message()
            ),
            _ => format!(
                "the Postgres server at {host} refused the connection ({})",
                db.message()
            ),
        },
        other => format!("cannot connect to the Postgres server at {host} ({other})"),
    };
    StoreError::Unreachable(sentence)
}
