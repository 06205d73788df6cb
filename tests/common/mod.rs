//! Test support: a fresh store per test on SQLite (a temporary file) or on Postgres (a
//! schema of its own in the database named by `TEST_POSTGRES_URL`).

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use rlhf_bot::domain::reconcile::MatchRules;
use rlhf_bot::store::Store;

pub mod telegram;

pub const PG_ENV: &str = "TEST_POSTGRES_URL";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::open(&url).await.expect("open sqlite");
        Self {
            store,
            url,
            _dir: Some(dir),
        }
    }

    /// `None` (after printing a notice) when no Postgres is configured. When one is
    /// configured but unreachable, this panics: CI must not pass without Postgres.
    pub async fn postgres(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var(PG_ENV) else {
            // Written to the handle, not with eprintln!: the test harness captures the
            // print macros of passing tests, and this notice must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED on Postgres: {test} ({PG_ENV} is not set)"
            );
            return None;
        };
        let schema = format!("t_{}_{}", std::process::id(), unique());
        let admin = Store::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("Postgres at {PG_ENV} is unreachable: {e}"));
        drop_schemas_of_finished_runs(&admin).await;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(admin.pool())
            .await
            .expect("create schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = Store::open(&url).await.expect("open postgres");
        Some(Self {
            store,
            url,
            _dir: None,
        })
    }
}

/// Test schemas are named `t_<pid>_<n>`; those of processes that have ended are dropped,
/// once per test process, so repeated runs do not pile them up.
async fn drop_schemas_of_finished_runs(admin: &Store) {
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANED
        .get_or_init(|| async {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT CAST(schema_name AS TEXT) FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'",
            )
            .fetch_all(admin.pool())
            .await
            .expect("list test schemas");
            for row in rows {
                let name: String = row.try_get(0).expect("schema name");
                let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
                let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .execute(admin.pool())
                        .await
                        .expect("drop an old test schema");
                }
            }
        })
        .await;
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t % 1_000_000_000 * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

/// The broker exports in `tests/fixtures/brokers` (each with its `.expected.json`).
pub fn broker_fixtures() -> Vec<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brokers");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixtures folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "fixtures missing in {}", dir.display());
    files
}

pub fn tz() -> chrono_tz::Tz {
    chrono_tz::America::Los_Angeles
}

pub fn rules() -> MatchRules {
    MatchRules::default()
}

pub fn now() -> DateTime<Utc> {
    "2025-02-01T12:00:00Z".parse().unwrap()
}

/// Runs a scenario on SQLite and on Postgres: `both!(name, scenario_fn)`.
#[macro_export]
macro_rules! both {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                let db = $crate::common::TestDb::sqlite().await;
                super::$scenario(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if let Some(db) = $crate::common::TestDb::postgres(stringify!($name)).await {
                    super::$scenario(&db).await;
                }
            }
        }
    };
}
