//! Bad input on the command line, from the outside: each case runs the real binary in a
//! fresh directory and checks the exit status (SPEC §10: 2 for bad usage, 1 for other
//! failures), that stderr is one sentence that says what to do, and that nothing
//! panicked or leaked a database message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    run_with(dir, &[], args)
}

fn run_with(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Outcome {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    for var in [
        "DATABASE_URL",
        "SCHEDULE_TZ",
        "RUST_LOG",
        "RUST_BACKTRACE",
        "TELOXIDE_TOKEN",
        "ALLOWED_USER_IDS",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("the binary runs");
    let o = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "FOREIGN KEY",
        "SQLSTATE",
        "error returned from database",
    ] {
        assert!(
            !o.stderr.contains(bad) && !o.stdout.contains(bad),
            "{args:?} showed `{bad}`:\n{}{}",
            o.stdout,
            o.stderr
        );
    }
    o
}

fn one_line_error(o: &Outcome) -> &str {
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence on stderr: {:?}", o.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0]
}

#[test]
fn a_year_beyond_the_calendar_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for year in ["262143", "262142", "10000", "0"] {
        let o = run(
            dir.path(),
            &["summary", "generate", "--year", year, "--week", "1"],
        );
        assert_eq!(o.code, 2, "{year}: {}", o.stderr);
        assert!(one_line_error(&o).contains("1 to 9999"), "{}", o.stderr);
    }
}

#[test]
fn a_summary_for_an_unknown_account_names_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &[
            "summary",
            "generate",
            "--year",
            "2025",
            "--week",
            "2",
            "--account",
            "999",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        one_line_error(&o).contains("there is no account 999"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_group_chat_id_is_negative_and_taken_after_a_space() {
    // Telegram group chats have negative ids: `--account -100…` is a number, not a flag.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("group.csv");
    std::fs::write(
        &file,
        "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n\
         G1,-1001234567890,2025-01-06T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.15,0.65\n",
    )
    .unwrap();
    let o = run(
        dir.path(),
        &[
            "import",
            "executions",
            file.to_str().unwrap(),
            "--account",
            "-1001234567890",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("imported 1,"), "{}", o.stdout);
    let o = run(
        dir.path(),
        &[
            "summary",
            "generate",
            "--year",
            "2025",
            "--week",
            "2",
            "--account",
            "-42",
        ],
    );
    assert!(
        one_line_error(&o).contains("there is no account -42"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_rejection_without_a_reason_is_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["candidates", "decide", "1", "reject"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(one_line_error(&o).contains("--reason TEXT"), "{}", o.stderr);
    let o = run(dir.path(), &["candidates", "finalize", "1", "rollback"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(one_line_error(&o).contains("--reason TEXT"), "{}", o.stderr);
}

#[test]
fn control_characters_in_a_reason_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["reason", "1", "other", "red \u{1b}[31malert"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let line = one_line_error(&o);
    assert!(line.contains("control characters"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "the escape never reaches the terminal raw"
    );
}

// ---------------------------------------------------------------------------------------
// Databases that cannot be opened (issue 13, item 10)

/// Runs the binary on the database at `url`.
fn run_on(dir: &Path, url: &str, args: &[&str]) -> Outcome {
    run_with(dir, &[("DATABASE_URL", url)], args)
}

/// `path` made read-only for the binary, until dropped. A normal user loses the write
/// permission; root ignores permissions, so for root the file or folder is made
/// immutable (`chattr +i`), which the kernel refuses to let root write either. `None`
/// where neither can be done (root on a file system without the attribute).
struct ReadOnly {
    path: PathBuf,
    immutable: bool,
    mode: u32,
}

impl ReadOnly {
    fn make(path: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        if root {
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("skipped: running as root and `chattr +i` is not available here");
                return None;
            }
        } else {
            let ro = if path.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(ro)).unwrap();
        }
        Some(Self {
            path: path.to_owned(),
            immutable: root,
            mode,
        })
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        } else {
            let _ =
                std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(self.mode));
        }
    }
}

/// The read commands of the CLI over a database, with their output.
const READS: &[&[&str]] = &[
    &["matches"],
    &["summary", "list"],
    &["analytics", "divergence-rate", "--as-of", "2025-02-01"],
    &["analytics", "top-modifications", "--as-of", "2025-02-01"],
    &["candidates", "list"],
];

/// A kept demo database (January 2025 sample: matches of every type), in a folder of
/// its own; the SQLite companions are gone once the demo has closed it.
/// The demo's folder, removed when dropped (after any [`ReadOnly`] made later), even
/// when the test fails.
struct DemoDir(PathBuf);

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo_database(dir: &Path) -> (PathBuf, String, DemoDir) {
    let o = run(dir, &["demo", "--sample", "--keep"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let url = o
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("DATABASE_URL="))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo prints its database")
        .to_owned();
    let file = PathBuf::from(url.strip_prefix("sqlite://").unwrap());
    let kept = DemoDir(file.parent().unwrap().to_owned());
    closed_cleanly(&file);
    (file, url, kept)
}

/// Leaves the database as one closed cleanly is left: without its -wal and -shm files
/// (a process that ends without closing its connections leaves them; in a read-only
/// folder with them still there and writable, the database could be written after
/// all). The checkpoint empties the -wal first.
fn closed_cleanly(file: &Path) {
    assert!(run_sql(file, "PRAGMA wal_checkpoint(TRUNCATE)"));
    for end in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{end}", file.display()));
        if end == "-wal" && companion.exists() {
            assert_eq!(std::fs::metadata(&companion).unwrap().len(), 0);
        }
        let _ = std::fs::remove_file(companion);
    }
}

fn reads_and_a_write_on_a_read_only_database(which: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (file, url, _kept) = demo_database(dir.path());
    let folder = file.parent().unwrap().to_owned();
    let before: Vec<String> = READS
        .iter()
        .map(|args| {
            let o = run_on(dir.path(), &url, args);
            assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
            o.stdout
        })
        .collect();
    assert!(
        before[0].contains("AAPL"),
        "the sample has matches: {}",
        before[0]
    );
    closed_cleanly(&file);
    {
        let target = if which == "file" { &file } else { &folder };
        let Some(_guard) = ReadOnly::make(target) else {
            return;
        };
        for (args, expected) in READS.iter().zip(&before) {
            let o = run_on(dir.path(), &url, args);
            assert_eq!(o.code, 0, "{which} {args:?}: {}", o.stderr);
            assert_eq!(&o.stdout, expected, "{which} {args:?} reads the same");
            assert!(
                o.stderr.contains("read-only"),
                "{which}: said once: {}",
                o.stderr
            );
        }
        // A command that writes is refused in one sentence that says what to do.
        let o = run_on(dir.path(), &url, &["reconcile", "--date", "2025-01-06"]);
        assert_eq!(o.code, 1, "{which}: {}", o.stderr);
        let lines: Vec<&str> = o
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(lines.len(), 1, "{}", o.stderr);
        assert!(
            lines[0].contains("the database is read-only")
                && lines[0].contains("make the file and its folder writable"),
            "{which}: {}",
            lines[0]
        );
        assert!(
            !Path::new(&format!("{}-wal", file.display())).exists() || which == "file",
            "nothing was created in a read-only folder"
        );
        // The API writes (ingestion, tokens): it refuses to start rather than fail later.
        let o = run_on(dir.path(), &url, &["serve", "--listen", "127.0.0.1:0"]);
        assert_eq!(o.code, 1, "{which}: {}", o.stderr);
        assert!(
            o.stderr
                .lines()
                .any(|l| l.starts_with("error: the database is read-only")),
            "{which}: {}",
            o.stderr
        );
    }
}

#[test]
fn a_read_only_database_file_serves_reads_and_refuses_writes_in_one_sentence() {
    reads_and_a_write_on_a_read_only_database("file");
}

#[test]
fn a_database_in_a_read_only_folder_serves_reads_and_refuses_writes_in_one_sentence() {
    reads_and_a_write_on_a_read_only_database("folder");
}

#[test]
fn a_read_only_database_that_needs_a_migration_says_so_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (file, url, _kept) = demo_database(dir.path());
    // As an older version left it: the latest migration not yet applied.
    let conn = run_sql(
        &file,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    );
    assert!(conn, "the database is edited");
    {
        let Some(_guard) = ReadOnly::make(&file) else {
            return;
        };
        let started = Instant::now();
        let o = run_on(dir.path(), &url, &["matches"]);
        assert_eq!(o.code, 1, "{}", o.stderr);
        let line = one_line_error(&o);
        assert!(
            line.contains("read-only") && line.contains("lacks 1 of this version's"),
            "{line}"
        );
        assert!(line.contains("rlhf-bot migrate"), "{line}");
        assert!(started.elapsed() < FAST, "{:?}", started.elapsed());
    }
}

/// Runs one statement on an SQLite file.
fn run_sql(file: &Path, sql: &str) -> bool {
    use sqlx::Connection;
    let url = format!("sqlite://{}", file.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&mut conn).await.is_ok();
        conn.close().await.unwrap();
        done
    })
}

/// Well under the 30 s pool time-out every one of these faults used to wait for; the
/// runs take a few milliseconds.
const FAST: Duration = Duration::from_secs(15);

#[test]
fn databases_that_cannot_be_opened_are_one_sentence_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"these are not the bytes of an SQLite database\n".repeat(200),
    )
    .unwrap();
    let zeros = dir.path().join("zeros.db");
    std::fs::write(&zeros, vec![0u8; 65_536]).unwrap();
    let folder_as_file = dir.path().join("a-folder");
    std::fs::create_dir(&folder_as_file).unwrap();
    let cases = [
        (
            format!("sqlite://{}/missing/db.sqlite", dir.path().display()),
            "missing does not exist; create it",
        ),
        (
            format!("sqlite://{}", garbage.display()),
            "is not an SQLite database",
        ),
        (
            format!("sqlite://{}", zeros.display()),
            "is not an SQLite database",
        ),
        (
            format!("sqlite://{}", folder_as_file.display()),
            "is a folder, not a database file",
        ),
        (
            "postgres://postgres@127.0.0.1:1/test".to_owned(),
            "refused the connection",
        ),
    ];
    for (url, says) in cases {
        let started = Instant::now();
        let o = run_on(dir.path(), &url, &["matches"]);
        assert_eq!(o.code, 1, "{url}: {}", o.stderr);
        let line = one_line_error(&o);
        assert!(line.contains(says), "{url}: {line}");
        assert!(!line.contains("timed out"), "{line}");
        assert!(started.elapsed() < FAST, "{url}: {:?}", started.elapsed());
    }
    // The garbage is left as it was.
    assert!(
        std::fs::read(&garbage)
            .unwrap()
            .starts_with(b"these are not")
    );
}

#[test]
fn a_database_file_that_cannot_be_created_names_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("locked");
    std::fs::create_dir(&folder).unwrap();
    let url = format!("sqlite://{}/new.db", folder.display());
    let Some(_guard) = ReadOnly::make(&folder) else {
        return;
    };
    let o = run_on(dir.path(), &url, &["matches"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let line = one_line_error(&o);
    assert!(
        line.contains("cannot create the database file") && line.contains("is not writable"),
        "{line}"
    );
}

#[test]
fn a_postgres_server_that_is_wrong_is_one_sentence_at_once() {
    // A server that takes the connection and never answers: the connect time-out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = run_on(
        dir.path(),
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        &["matches"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        one_line_error(&o).contains("did not answer within 5 s"),
        "{}",
        o.stderr
    );
    assert!(started.elapsed() < FAST, "{:?}", started.elapsed());
    drop(silent);
    // A real server, when the tests have one: a database or a user it does not know.
    let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
        return;
    };
    let (head, _) = base.rsplit_once('/').unwrap();
    let server = head.rsplit_once('@').map_or(head, |(_, h)| h);
    for (url, says) in [
        (
            format!("{head}/no_such_database_13"),
            "has no database `no_such_database_13`",
        ),
        (
            format!("postgres://no_such_user_13@{server}/test"),
            "refused the user `no_such_user_13`",
        ),
    ] {
        let o = run_on(dir.path(), &url, &["matches"]);
        assert_eq!(o.code, 1, "{url}: {}", o.stderr);
        assert!(one_line_error(&o).contains(says), "{url}: {}", o.stderr);
    }
}

/// Imports started together on one SQLite database all open it: a process checking the
/// database at start-up read it without waiting, so another's checkpoint (or the WAL
/// being removed as it closed) refused the file — "cannot open the SQLite database …
/// (database is locked)" for about one start in five with three Webull imports at once.
#[test]
fn imports_started_together_all_open_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,\
                    Placed Time,Filled Time\n"
        .to_owned();
    for i in 0..1500u32 {
        let (day, minute) = (3 + i / 300, i % 300);
        let at = format!(
            "02/{day:02}/2025 {:02}:{:02}:00 EST",
            10 + minute / 60,
            minute % 60
        );
        let side = if i % 3 == 0 { "Sell" } else { "Buy" };
        text.push_str(&format!(
            "QQQ250620P00400000,QQQ250620P00400000,{side},Filled,1,1,@1.00,1.00,DAY,{at},{at}\n"
        ));
    }
    let file = dir.path().join("Webull_Orders_Records_Options.csv");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    for round in 0..10 {
        let db = dir.path().join(format!("round{round}.db"));
        let url = format!("sqlite://{}", db.display());
        let first = run_on(
            dir.path(),
            &url,
            &["import", "executions", file, "--account", "1"],
        );
        assert_eq!(first.code, 0, "{}", first.stderr);
        let children: Vec<_> = (2..5)
            .map(|chat| {
                Command::new(BIN)
                    .args(["import", "executions", file, "--account", &chat.to_string()])
                    .current_dir(dir.path())
                    .env("DATABASE_URL", &url)
                    .env_remove("RUST_LOG")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("the binary runs")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
