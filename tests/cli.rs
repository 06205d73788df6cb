//! End-to-end tests of the `rlhf-bot` binary (SPEC §8–§10): each test runs the real
//! program in a temporary working directory with its own SQLite file, and checks exit
//! statuses, what reaches stdout and stderr, and the JSON contract of `matches`.
//!
//! Every run goes through [`Sandbox::run`], which also checks that the program never
//! shows a panic or a backtrace hint to the trader (SPEC §9).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

/// The demo trader's chat id in `samples/demo/`.
const DEMO_ACCOUNT: &str = "123456789";
const DEMO_ACCOUNT_ID: i64 = 123_456_789;

/// Settings the program reads from the environment: none may leak in from the shell
/// that runs the tests.
const INHERITED_SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "SCHEDULE_TZ",
    "TELOXIDE_TOKEN",
    "TELOXIDE_API_URL",
    "ALLOWED_USER_IDS",
    "RESPONSE_WINDOW_WEEKDAYS",
    "RESPONSE_WINDOW_SESSIONS",
    "MATCH_STRIKE_TOLERANCE_BP",
    "MATCH_DTE_TOLERANCE_DAYS",
    "MATCH_CONTRACTS_TOLERANCE",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
];

const SUBCOMMANDS: &[&str] = &[
    "run",
    "demo",
    "migrate",
    "import",
    "reconcile",
    "track-outcomes",
    "matches",
    "match",
    "reason",
    "summary",
    "candidates",
    "analytics",
];

const MATCH_TYPES: &[&str] = &["consent", "modify", "reject", "independent", "no_action"];

const RECOMMENDATIONS_HEADER: &str =
    "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n";

// ---------------------------------------------------------------------------------------
// Harness

/// A temporary working directory with its own database.
struct Sandbox {
    dir: TempDir,
}

/// One finished run of the binary.
struct Run {
    command: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn database_file(&self) -> PathBuf {
        self.path("t.db")
    }

    fn database_url(&self) -> String {
        format!("sqlite://{}", self.database_file().display())
    }

    /// Writes `contents` to `name` in the working directory and returns its path.
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write a fixture");
        path
    }

    /// Runs the binary with the sandbox's database and the default schedule zone.
    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[("DATABASE_URL", &self.database_url())])
    }

    /// Runs the binary with no settings but `env` (and the schedule zone), so the
    /// program's own defaults and `.env` handling are what is tested.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.dir.path());
        for name in INHERITED_SETTINGS {
            command.env_remove(name);
        }
        // The demo keeps its database under the system temporary directory.
        command
            .env("TMPDIR", self.dir.path())
            .env("SCHEDULE_TZ", "America/Los_Angeles");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().expect("the binary starts");
        let run = Run {
            command: format!("rlhf-bot {}", args.join(" ")),
            code: output.status.code().expect("the binary exits, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        run.assert_no_panic();
        run
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str]) -> Run {
        self.run(args).expect_code(0)
    }

    fn import(&self, kind: &str, file: &Path) -> Run {
        self.run(&["import", kind, file.to_str().expect("a UTF-8 path")])
    }

    fn import_demo(&self) {
        for kind in ["recommendations", "executions", "prices"] {
            self.import(kind, &demo_file(kind)).expect_code(0);
        }
    }

    /// The demo imported and reconciled over its whole month.
    fn with_demo_reconciled() -> Self {
        let sandbox = Self::new();
        sandbox.import_demo();
        sandbox.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-31"]);
        sandbox
    }

    /// `matches --json` with extra filter arguments, parsed.
    fn matches(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = vec!["matches", "--json"];
        args.extend_from_slice(filters);
        let run = self.ok(&args);
        match serde_json::from_str(&run.stdout) {
            Ok(Value::Array(items)) => items,
            other => panic!("`{}` printed no JSON array: {other:?}", run.command),
        }
    }

    /// The id of the match of the recommendation with `external_id`.
    fn match_id_of(&self, external_id: &str) -> String {
        let all = self.matches(&[]);
        let m = all
            .iter()
            .find(|m| m["recommendation"] == external_id)
            .unwrap_or_else(|| panic!("no match for recommendation {external_id}"));
        id_text(m)
    }

    fn match_json(&self, id: &str) -> Value {
        let run = self.ok(&["match", id, "--json"]);
        serde_json::from_str(&run.stdout).expect("`match --json` prints JSON")
    }
}

impl Run {
    fn assert_no_panic(&self) {
        for text in ["panicked", "RUST_BACKTRACE"] {
            assert!(
                !self.stderr.contains(text) && !self.stdout.contains(text),
                "`{}` showed {text:?}:\n{}",
                self.command,
                self.stderr
            );
        }
    }

    fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "`{}` exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.command, self.code, self.stdout, self.stderr
        );
        self
    }

    /// The failure as the trader sees it: the one `error:` line on stderr, first.
    fn error_line(&self) -> &str {
        let first = self.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.len() > "error: ".len(),
            "`{}` did not start stderr with an `error:` sentence:\n{}",
            self.command,
            self.stderr
        );
        let errors = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error"))
            .count();
        assert_eq!(
            errors, 1,
            "`{}` printed {errors} error lines:\n{}",
            self.command, self.stderr
        );
        first
    }

    /// A bad-usage failure: status 2 and an `error:` line that mentions `needle`.
    fn expect_usage_error(self, needle: &str) -> Self {
        let run = self.expect_code(2);
        let line = run.error_line();
        assert!(
            line.contains(needle) || run.stderr.contains(needle),
            "`{}` did not mention {needle:?}:\n{}",
            run.command,
            run.stderr
        );
        run
    }

    /// An ordinary failure: status 1 and stderr holding exactly one `error:` sentence.
    fn expect_failure(self, needle: &str) -> Self {
        let run = self.expect_code(1);
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "`{}` printed more than one line on stderr:\n{}",
            run.command,
            run.stderr
        );
        let line = run.error_line();
        assert!(
            line.contains(needle),
            "`{}` did not say {needle:?}: {line}",
            run.command
        );
        run
    }

    fn last_stdout_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

fn demo_file(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/demo")
        .join(format!("{kind}.csv"))
}

fn text<'a>(m: &'a Value, key: &str) -> &'a str {
    m[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {m}"))
}

fn day(m: &Value) -> NaiveDate {
    text(m, "day").parse().expect("`day` is YYYY-MM-DD")
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("{s} is not a string")))
        .collect()
}

/// A match's id as the command line takes it.
fn id_text(m: &Value) -> String {
    m["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no numeric id in {m}"))
        .to_string()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

fn count_by_type(items: &[Value]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for m in items {
        *counts.entry(text(m, "match_type")).or_default() += 1;
    }
    counts
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Help and bad usage

#[test]
fn help_and_every_subcommands_help_exit_zero() {
    let sandbox = Sandbox::new();
    let top = sandbox.ok(&["--help"]);
    for sub in SUBCOMMANDS {
        assert!(top.stdout.contains(sub), "--help does not list {sub}");
        let help = sandbox.ok(&[sub, "--help"]);
        assert!(
            help.stdout.contains(&format!("Usage: rlhf-bot {sub}")),
            "`{sub} --help` shows no usage:\n{}",
            help.stdout
        );
    }
    sandbox.ok(&["help", "import"]);
    sandbox.ok(&["--version"]);
}

#[test]
fn help_never_touches_the_database() {
    let sandbox = Sandbox::new();
    sandbox.ok(&["--help"]);
    sandbox.ok(&["matches", "--help"]);
    assert!(!sandbox.database_file().exists());
}

#[test]
fn an_unknown_command_is_bad_usage() {
    Sandbox::new()
        .run(&["frobnicate"])
        .expect_usage_error("unrecognized subcommand 'frobnicate'");
}

#[test]
fn a_missing_required_argument_is_bad_usage_naming_it() {
    let sandbox = Sandbox::new();
    sandbox.run(&["import"]).expect_usage_error("<FILE>");
    sandbox
        .run(&["import", "recommendations"])
        .expect_usage_error("<FILE>");
    sandbox.run(&["match"]).expect_usage_error("<ID>");
    sandbox.run(&["reason", "1"]).expect_usage_error("<CODE>");
    assert!(!sandbox.database_file().exists());
}

#[test]
fn an_unknown_import_kind_is_bad_usage_listing_the_kinds() {
    Sandbox::new()
        .run(&["import", "trades", "x.csv"])
        .expect_usage_error("recommendations, executions, prices");
}

#[test]
fn a_bad_setting_is_bad_usage_naming_the_variable() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_with(
        &["matches"],
        &[
            ("DATABASE_URL", &sandbox.database_url()),
            ("SCHEDULE_TZ", "Mars/Olympus"),
        ],
    );
    let run = run.expect_usage_error("SCHEDULE_TZ");
    assert!(run.error_line().contains("Mars/Olympus"));
}

// ---------------------------------------------------------------------------------------
// Configuration and migrate

#[test]
fn migrate_creates_the_sqlite_file_and_can_run_twice() {
    let sandbox = Sandbox::new();
    assert!(!sandbox.database_file().exists());
    let first = sandbox.ok(&["migrate"]);
    assert!(sandbox.database_file().is_file());
    assert!(first.stdout.contains("migrations applied"));
    sandbox.ok(&["migrate"]);
    assert_eq!(sandbox.matches(&[]), Vec::<Value>::new());
}

#[test]
fn without_database_url_the_database_is_rlhf_db_in_the_working_directory() {
    let sandbox = Sandbox::new();
    sandbox.run_with(&["migrate"], &[]).expect_code(0);
    assert!(sandbox.path("rlhf.db").is_file());
}

#[test]
fn database_url_is_read_from_a_dot_env_file_in_the_working_directory() {
    let sandbox = Sandbox::new();
    let url = format!("sqlite://{}", sandbox.path("from-env.db").display());
    sandbox.write(".env", &format!("DATABASE_URL={url}\n"));
    sandbox.run_with(&["migrate"], &[]).expect_code(0);
    assert!(sandbox.path("from-env.db").is_file());
    assert!(!sandbox.path("rlhf.db").exists());
}

#[test]
fn a_database_refuses_a_different_schedule_zone() {
    let sandbox = Sandbox::new();
    sandbox.ok(&["migrate"]);
    let run = sandbox.run_with(
        &["matches"],
        &[
            ("DATABASE_URL", &sandbox.database_url()),
            ("SCHEDULE_TZ", "America/New_York"),
        ],
    );
    // A configuration that does not fit the database is a usage error (status 2), like
    // an unknown SCHEDULE_TZ.
    let run = run.expect_usage_error("America/New_York");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(run.error_line().contains("America/Los_Angeles"));
    assert!(run.stdout.is_empty());
    assert!(
        sandbox.matches(&[]).is_empty(),
        "the original zone still works"
    );
}

#[test]
fn an_unusable_database_is_a_failure_naming_it() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("no/such/dir/x.db");
    let url = format!("sqlite://{}", missing.display());
    let run = sandbox
        .run_with(&["matches"], &[("DATABASE_URL", &url)])
        .expect_code(1);
    assert!(run.error_line().contains(&url), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// Import

#[test]
fn importing_the_demo_recommendations_twice_finds_eleven_duplicates() {
    let sandbox = Sandbox::new();
    let file = demo_file("recommendations");
    let first = sandbox.import("recommendations", &file).expect_code(0);
    assert_eq!(
        first.last_stdout_line(),
        "imported 11, duplicates 0, rejected 0"
    );
    let again = sandbox.import("recommendations", &file).expect_code(0);
    assert_eq!(
        again.last_stdout_line(),
        "imported 0, duplicates 11, rejected 0"
    );
}

#[test]
fn importing_the_demo_executions_and_prices_keeps_every_row() {
    let sandbox = Sandbox::new();
    let executions = sandbox
        .import("executions", &demo_file("executions"))
        .expect_code(0);
    assert_eq!(
        executions.last_stdout_line(),
        "imported 15, duplicates 0, rejected 0"
    );
    let prices = sandbox
        .import("prices", &demo_file("prices"))
        .expect_code(0);
    assert_eq!(
        prices.last_stdout_line(),
        "imported 10, duplicates 0, rejected 0"
    );
}

/// Rows 3, 5, 6 and 7 are bad, each in one column; rows 2 and 4 are good.
const RECOMMENDATIONS_WITH_BAD_ROWS: &str = "\
r-1,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.10
r-2,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,sideways,230,2025-01-17,1,2.10
r-3,42,2025-01-06T09:36:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.10
r-4,42,not-a-time,sell_to_open,AAPL,put,230,2025-01-17,1,2.10
r-5,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,abc,2025-01-17,1,2.10
r-6,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,-1,2.10
";

#[test]
fn an_import_with_bad_rows_exits_three_reports_each_row_and_keeps_the_good_ones() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "recs.csv",
        &format!("{RECOMMENDATIONS_HEADER}{RECOMMENDATIONS_WITH_BAD_ROWS}"),
    );
    let run = sandbox.import("recommendations", &file).expect_code(3);
    assert_eq!(
        run.last_stdout_line(),
        "imported 2, duplicates 0, rejected 4"
    );
    let reported: Vec<&str> = run.stderr.lines().collect();
    for (i, (line, column)) in [
        ("line 3", "column right"),
        ("line 5", "column created_at"),
        ("line 6", "column strike"),
        ("line 7", "column contracts"),
    ]
    .into_iter()
    .enumerate()
    {
        let prefix = format!("{line}, {column}: ");
        assert!(
            reported.get(i).is_some_and(|l| l.starts_with(&prefix)),
            "expected stderr line {} to start with {prefix:?}:\n{}",
            i + 1,
            run.stderr
        );
    }
    assert_eq!(reported.len(), 4, "one line per bad row:\n{}", run.stderr);
    assert!(reported[0].contains("`sideways`"), "names the bad value");

    let again = sandbox.import("recommendations", &file).expect_code(3);
    assert_eq!(
        again.last_stdout_line(),
        "imported 0, duplicates 2, rejected 4"
    );

    sandbox.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-07"]);
    let matches = sandbox.matches(&[]);
    let kept: BTreeSet<&str> = matches.iter().map(|m| text(m, "recommendation")).collect();
    assert_eq!(kept, BTreeSet::from(["r-1", "r-3"]));
}

#[test]
fn an_import_report_in_json_lists_each_rejected_row_with_line_and_column() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "recs.csv",
        &format!("{RECOMMENDATIONS_HEADER}{RECOMMENDATIONS_WITH_BAD_ROWS}"),
    );
    // A relative path is read from the working directory.
    let run = sandbox
        .run(&["import", "recommendations", "recs.csv", "--json"])
        .expect_code(3);
    let report: Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert_eq!(report["imported"], 2);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["rejected"], 4);
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .expect("an errors array")
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), text(e, "column")))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "right"),
            (5, "created_at"),
            (6, "strike"),
            (7, "contracts")
        ]
    );
}

#[test]
fn a_price_that_contradicts_a_stored_one_is_rejected_by_line() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "prices.csv",
        "symbol,date,close\nAAPL,2025-01-17,229.98\nAAPL,2025-01-17,230.00\n",
    );
    let run = sandbox.import("prices", &file).expect_code(3);
    assert_eq!(
        run.last_stdout_line(),
        "imported 1, duplicates 0, rejected 1"
    );
    assert!(run.stderr.starts_with("line 3"), "{}", run.stderr);
}

#[test]
fn importing_a_missing_file_fails_with_a_sentence_naming_it() {
    let run = Sandbox::new()
        .run(&["import", "prices", "nope.csv"])
        .expect_failure("cannot read nope.csv");
    assert!(run.stdout.is_empty());
}

#[test]
fn importing_a_missing_file_says_why_once() {
    let run = Sandbox::new()
        .run(&["import", "prices", "nope.csv"])
        .expect_code(1);
    assert_eq!(
        run.error_line().matches("No such file").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_missing_a_required_column_fails_naming_the_column() {
    let sandbox = Sandbox::new();
    let header = RECOMMENDATIONS_HEADER.trim_end().replace(",premium", "");
    let file = sandbox.write(
        "recs.csv",
        &format!(
            "{header}\nx,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1\n"
        ),
    );
    sandbox
        .import("recommendations", &file)
        .expect_failure("`premium`");
    let prices = sandbox.write("prices.csv", "ticker,date,close\nAAPL,2025-01-17,1\n");
    sandbox.import("prices", &prices).expect_failure("`symbol`");
}

#[test]
fn a_missing_column_is_named_once() {
    let sandbox = Sandbox::new();
    let prices = sandbox.write("prices.csv", "ticker,date,close\nAAPL,2025-01-17,1\n");
    let run = sandbox.import("prices", &prices).expect_code(1);
    assert_eq!(
        run.error_line().matches("`symbol`").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_file_fails_with_a_sentence() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("empty.csv", "");
    sandbox.import("prices", &file).expect_failure("empty");
}

#[test]
fn json_lines_import_reconciles_like_csv() {
    let sandbox = Sandbox::new();
    let recs = sandbox.write(
        "recs.jsonl",
        r#"{"external_id":"j-1","account":42,"created_at":"2025-01-06T09:35:00-08:00","action":"sell_to_open","underlying":"AAPL","right":"put","strike":230,"expiration":"2025-01-17","contracts":2,"premium":"2.10","unknown":"ignored"}
"#,
    );
    let execs = sandbox.write(
        "execs.jsonl",
        r#"{"broker_ref":"B-1","account":42,"executed_at":"2025-01-06T09:37:12-08:00","action":"sell_to_open","symbol":"AAPL  250117P00230000","contracts":1,"price":"2.12","fees":"0.66"}
{"broker_ref":"B-2","account":"42","executed_at":"2025-01-06T09:38:00-08:00","action":"sell_to_open","underlying":"AAPL","right":"P","strike":"230","expiration":"2025-01-17","contracts":1,"price":2.14}
"#,
    );
    let run = sandbox.import("recommendations", &recs).expect_code(0);
    assert_eq!(
        run.last_stdout_line(),
        "imported 1, duplicates 0, rejected 0"
    );
    let run = sandbox.import("executions", &execs).expect_code(0);
    assert_eq!(
        run.last_stdout_line(),
        "imported 2, duplicates 0, rejected 0"
    );
    let run = sandbox.import("executions", &execs).expect_code(0);
    assert_eq!(
        run.last_stdout_line(),
        "imported 0, duplicates 2, rejected 0"
    );

    sandbox.ok(&["reconcile", "--date", "2025-01-06"]);
    let matches = sandbox.matches(&[]);
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0]["match_type"], "consent");
    assert_eq!(matches[0]["recommendation"], "j-1");
    assert_eq!(strings(&matches[0]["executions"]), ["B-1", "B-2"]);
}

#[test]
fn json_lines_bad_rows_are_reported_by_line() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "prices.jsonl",
        "{\"symbol\":\"AAPL\",\"date\":\"2025-01-17\",\"close\":\"229.98\"}\n\
         {\"symbol\":\"MSFT\",\"date\":\"2025-01-17\",\"close\":429.03}\n\
         \n\
         {\"symbol\":\"SPY\",\"date\":\"2025-13-17\",\"close\":\"597.58\"}\n\
         not json\n",
    );
    let run = sandbox.import("prices", &file).expect_code(3);
    assert_eq!(
        run.last_stdout_line(),
        "imported 2, duplicates 0, rejected 2"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("line 4, column date: "),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("line 5: "), "{}", lines[1]);
}

// ---------------------------------------------------------------------------------------
// Reconcile

#[test]
fn reconciling_the_demos_first_day_finds_a_consent_and_a_modify() {
    let sandbox = Sandbox::new();
    sandbox.import_demo();
    let run = sandbox.ok(&["reconcile", "--date", "2025-01-06"]);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("2025-01-06: "), "{}", run.stdout);
    assert!(run.stdout.contains("consent 1, modify 1"), "{}", run.stdout);

    let matches = sandbox.matches(&[]);
    assert_eq!(
        count_by_type(&matches),
        BTreeMap::from([("consent", 1), ("modify", 1)])
    );
    assert!(matches.iter().all(|m| day(m) == d("2025-01-06")));
}

#[test]
fn reconcile_json_reports_each_day() {
    let sandbox = Sandbox::new();
    sandbox.import_demo();
    let run = sandbox.ok(&["reconcile", "--date", "2025-01-06", "--json"]);
    let reports: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let reports = reports.as_array().expect("an array of day reports");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["day"], "2025-01-06");
    assert_eq!(reports[0]["counts"]["consent"], 1);
    assert_eq!(reports[0]["counts"]["modify"], 1);
}

#[test]
fn reconciling_the_demos_month_finds_every_match_type() {
    let sandbox = Sandbox::new();
    sandbox.import_demo();
    let run = sandbox.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-31"]);
    assert_eq!(run.stdout.lines().count(), 26, "one line per day");
    let matches = sandbox.matches(&[]);
    assert_eq!(
        count_by_type(&matches),
        BTreeMap::from([
            ("consent", 5),
            ("independent", 1),
            ("modify", 2),
            ("no_action", 1),
            ("reject", 3),
        ])
    );
}

#[test]
fn reconcile_refuses_from_after_to() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&["reconcile", "--from", "2025-01-31", "--to", "2025-01-06"])
        .expect_usage_error("--from 2025-01-31 is after --to 2025-01-06");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!sandbox.database_file().exists(), "nothing was touched");
}

#[test]
fn reconcile_needs_a_date_or_a_range() {
    let sandbox = Sandbox::new();
    sandbox.run(&["reconcile"]).expect_usage_error("--date");
    sandbox
        .run(&["reconcile", "--account", DEMO_ACCOUNT])
        .expect_usage_error("--date");
    sandbox
        .run(&["reconcile", "--json"])
        .expect_usage_error("--date");
    sandbox
        .run(&["reconcile", "--from", "2025-01-06"])
        .expect_usage_error("--to");
    sandbox
        .run(&["reconcile", "--to", "2025-01-06"])
        .expect_usage_error("--from");
    sandbox
        .run(&[
            "reconcile",
            "--date",
            "2025-01-06",
            "--from",
            "2025-01-06",
            "--to",
            "2025-01-07",
        ])
        .expect_usage_error("--date");
}

#[test]
fn reconcile_usage_offers_only_the_day_options_as_alternatives() {
    let run = Sandbox::new().ok(&["reconcile", "--help"]);
    let usage = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .expect("a usage line");
    assert!(!usage.contains("--account <ACCOUNT>|"), "{usage}");
    assert!(!usage.contains("|--json"), "{usage}");
}

#[test]
fn a_bad_date_is_bad_usage() {
    let sandbox = Sandbox::new();
    for bad in ["2025-13-01", "yesterday", "01/06/2025", "2025-02-30"] {
        sandbox
            .run(&["reconcile", "--date", bad])
            .expect_usage_error(bad);
    }
    sandbox
        .run(&["matches", "--from", "soon"])
        .expect_usage_error("soon");
    sandbox
        .run(&["track-outcomes", "--as-of", "2025-1-32"])
        .expect_usage_error("2025-1-32");
}

#[test]
fn reconciling_again_leaves_the_matches_byte_identical() {
    let sandbox = Sandbox::with_demo_reconciled();
    let reject = sandbox.match_id_of("alg-0107-tsla");
    sandbox.ok(&["reason", &reject, "other", "waiting for CPI"]);
    sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31"]);
    let before = sandbox.ok(&["matches", "--json"]).stdout;

    sandbox.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-31"]);
    assert_eq!(sandbox.ok(&["matches", "--json"]).stdout, before);
    sandbox.ok(&["reconcile", "--date", "2025-01-08"]);
    assert_eq!(sandbox.ok(&["matches", "--json"]).stdout, before);

    let kept = sandbox.match_json(&reject);
    assert_eq!(kept["reason_code"], "other");
    assert_eq!(kept["reason_text"], "waiting for CPI");
}

// ---------------------------------------------------------------------------------------
// matches --json and its filters

#[test]
fn matches_json_items_carry_the_contract_fields() {
    let sandbox = Sandbox::with_demo_reconciled();
    let matches = sandbox.matches(&[]);
    assert_eq!(matches.len(), 12);
    for m in &matches {
        assert!(m["id"].is_i64(), "id in {m}");
        assert_eq!(m["account"], DEMO_ACCOUNT_ID, "account in {m}");
        assert!(MATCH_TYPES.contains(&text(m, "match_type")), "{m}");
        assert!(
            m["recommendation"].is_string() || m["recommendation"].is_null(),
            "{m}"
        );
        strings(&m["executions"]);
        strings(&m["modifications"]);
        for key in ["reason_code", "reason_text"] {
            assert!(m[key].is_null(), "no reason recorded yet: {m}");
        }
    }

    let by_rec = |external_id: &str| {
        matches
            .iter()
            .find(|m| m["recommendation"] == external_id)
            .unwrap_or_else(|| panic!("no match for {external_id}"))
    };
    let msft = by_rec("alg-0106-msft");
    assert_eq!(msft["match_type"], "modify");
    assert_eq!(strings(&msft["executions"]), ["SCH-1002"]);
    assert_eq!(strings(&msft["modifications"]), ["dte+7"]);

    let spy = by_rec("alg-0106-spy");
    assert_eq!(spy["match_type"], "consent");
    assert_eq!(strings(&spy["executions"]), ["SCH-1003", "SCH-1004"]);

    let tsla = by_rec("alg-0107-tsla");
    assert_eq!(tsla["match_type"], "reject");
    assert!(strings(&tsla["executions"]).is_empty());

    let independent: Vec<&Value> = matches
        .iter()
        .filter(|m| m["match_type"] == "independent")
        .collect();
    assert_eq!(independent.len(), 1);
    assert!(independent[0]["recommendation"].is_null());
    assert_eq!(strings(&independent[0]["executions"]), ["SCH-1010"]);
}

#[test]
fn matches_on_an_empty_database_is_an_empty_list() {
    let sandbox = Sandbox::new();
    assert!(sandbox.matches(&[]).is_empty());
    assert_eq!(sandbox.ok(&["matches"]).stdout.trim(), "no matches");
}

#[test]
fn matches_type_filter_keeps_only_that_type() {
    let sandbox = Sandbox::with_demo_reconciled();
    let all = sandbox.matches(&[]);
    for t in MATCH_TYPES {
        let filtered = sandbox.matches(&["--type", t]);
        let expected: Vec<i64> = ids(&all
            .iter()
            .filter(|m| m["match_type"] == *t)
            .cloned()
            .collect::<Vec<_>>());
        assert!(!filtered.is_empty(), "the demo has a {t}");
        assert_eq!(ids(&filtered), expected, "--type {t}");
    }
    let modify = sandbox.matches(&["--type", "modify"]);
    let recs: Vec<&str> = modify.iter().map(|m| text(m, "recommendation")).collect();
    assert_eq!(recs, ["alg-0106-msft", "alg-0107-nvda"]);
}

#[test]
fn matches_symbol_filter_ignores_case() {
    let sandbox = Sandbox::with_demo_reconciled();
    let lower = sandbox.matches(&["--symbol", "aapl"]);
    assert_eq!(lower.len(), 4);
    assert!(lower.iter().all(|m| m["underlying"] == "AAPL"), "{lower:?}");
    assert_eq!(ids(&lower), ids(&sandbox.matches(&["--symbol", "AAPL"])));
    assert!(sandbox.matches(&["--symbol", "GOOG"]).is_empty());
}

#[test]
fn matches_date_filters_are_inclusive() {
    let sandbox = Sandbox::with_demo_reconciled();
    let all = sandbox.matches(&[]);
    let (from, to) = (d("2025-01-13"), d("2025-01-15"));
    let expected: Vec<Value> = all
        .iter()
        .filter(|m| (from..=to).contains(&day(m)))
        .cloned()
        .collect();
    let window = sandbox.matches(&["--from", "2025-01-13", "--to", "2025-01-15"]);
    assert_eq!(window.len(), 4);
    assert_eq!(ids(&window), ids(&expected));

    let since = sandbox.matches(&["--from", "2025-01-15"]);
    assert!(since.iter().all(|m| day(m) >= d("2025-01-15")));
    let until = sandbox.matches(&["--to", "2025-01-08"]);
    assert!(until.iter().all(|m| day(m) <= d("2025-01-08")));
    assert_eq!(since.len() + until.len(), all.len() - 3);
}

#[test]
fn matches_account_filter_keeps_one_account() {
    let sandbox = Sandbox::new();
    sandbox.import_demo();
    let other = sandbox.write(
        "other.csv",
        &format!(
            "{RECOMMENDATIONS_HEADER}o-1,42,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.10\n"
        ),
    );
    sandbox.import("recommendations", &other).expect_code(0);
    sandbox.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-31"]);

    let theirs = sandbox.matches(&["--account", "42"]);
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["recommendation"], "o-1");
    assert_eq!(theirs[0]["account"], 42);
    assert_eq!(theirs[0]["match_type"], "reject");

    let demo = sandbox.matches(&["--account", DEMO_ACCOUNT]);
    assert_eq!(demo.len(), 12);
    assert!(demo.iter().all(|m| m["account"] == DEMO_ACCOUNT_ID));
    assert!(sandbox.matches(&["--account", "7"]).is_empty());
}

#[test]
fn matches_filters_combine() {
    let sandbox = Sandbox::with_demo_reconciled();
    let found = sandbox.matches(&[
        "--type",
        "reject",
        "--symbol",
        "tsla",
        "--from",
        "2025-01-10",
    ]);
    let recs: Vec<&str> = found.iter().map(|m| text(m, "recommendation")).collect();
    assert_eq!(recs, ["alg-0114-tsla"]);
}

#[test]
fn matches_refuses_a_bad_type_or_symbol() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["matches", "--type", "bogus"])
        .expect_usage_error("consent, modify, reject, independent, no_action");
    sandbox
        .run(&["matches", "--symbol", "not a ticker"])
        .expect_usage_error("--symbol");
}

#[test]
fn matches_refuses_from_after_to() {
    Sandbox::new()
        .run(&["matches", "--from", "2025-01-31", "--to", "2025-01-01"])
        .expect_usage_error("after");
}

// ---------------------------------------------------------------------------------------
// match ID and outcomes

#[test]
fn match_json_shows_outcomes_once_they_are_tracked() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0106-msft");
    let before = sandbox.match_json(&id);
    assert_eq!(id_text(&before), id);
    assert_eq!(before["match_type"], "modify");
    assert_eq!(before["outcomes"], Value::Array(Vec::new()));
    let text_before = sandbox.ok(&["match", &id]).stdout;
    assert!(text_before.contains("not tracked yet"), "{text_before}");

    sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31"]);
    let after = sandbox.match_json(&id);
    let outcomes = after["outcomes"].as_array().expect("outcomes");
    let sides: BTreeSet<&str> = outcomes.iter().map(|o| text(o, "side")).collect();
    assert_eq!(sides, BTreeSet::from(["actual", "algorithm"]));
    for o in outcomes {
        assert_eq!(o["status"], "expired", "both MSFT puts expired OTM: {o}");
    }
    let actual = outcomes.iter().find(|o| o["side"] == "actual").unwrap();
    assert_eq!(actual["realized_pnl"], "404.34");
}

#[test]
fn track_outcomes_reports_what_it_did() {
    let sandbox = Sandbox::with_demo_reconciled();
    let run = sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31"]);
    assert!(
        run.stdout
            .starts_with("outcomes as of 2025-01-31: 12 match(es)"),
        "{}",
        run.stdout
    );
    let json = sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31", "--json"]);
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["as_of"], "2025-01-31");
}

#[test]
fn a_match_that_does_not_exist_is_a_failure() {
    let sandbox = Sandbox::with_demo_reconciled();
    let run = sandbox
        .run(&["match", "99999"])
        .expect_failure("there is no match 99999");
    assert!(run.stdout.is_empty());
    sandbox
        .run(&["match", "99999", "--json"])
        .expect_failure("there is no match 99999");
    sandbox.run(&["match", "abc"]).expect_usage_error("'abc'");
}

// ---------------------------------------------------------------------------------------
// reason

#[test]
fn a_reason_on_a_reject_is_recorded_and_listed() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0107-tsla");
    let run = sandbox.ok(&["reason", &id, "premium_low"]);
    assert!(run.stdout.contains("reason: premium_low"), "{}", run.stdout);

    let listed = sandbox.matches(&["--type", "reject"]);
    let m = listed
        .iter()
        .find(|m| id_text(m) == id)
        .expect("the reject is listed");
    assert_eq!(m["reason_code"], "premium_low");
    assert!(m["reason_text"].is_null());
    let others = listed.iter().filter(|m| id_text(m) != id);
    assert!(others.into_iter().all(|m| m["reason_code"].is_null()));
}

#[test]
fn a_reason_can_carry_text_and_be_replaced() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0106-msft");
    sandbox.ok(&["reason", &id, "other", "  waiting for CPI  "]);
    let m = sandbox.match_json(&id);
    assert_eq!(m["reason_code"], "other");
    assert_eq!(m["reason_text"], "waiting for CPI");
    sandbox.ok(&["reason", &id, "timing"]);
    let m = sandbox.match_json(&id);
    assert_eq!(m["reason_code"], "timing");
    assert!(m["reason_text"].is_null());
}

#[test]
fn the_reason_other_needs_a_text() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0107-tsla");
    sandbox
        .run(&["reason", &id, "other"])
        .expect_usage_error("needs a text");
    sandbox
        .run(&["reason", &id, "other", "   "])
        .expect_usage_error("needs a text");
    assert!(sandbox.match_json(&id)["reason_code"].is_null());
}

#[test]
fn an_unknown_reason_code_is_bad_usage_listing_the_codes() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0107-tsla");
    sandbox
        .run(&["reason", &id, "bogus_code"])
        .expect_usage_error("premium_low");
    assert!(sandbox.match_json(&id)["reason_code"].is_null());
}

#[test]
fn a_reason_text_over_a_thousand_characters_is_bad_usage() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0107-tsla");
    let long = "x".repeat(1001);
    sandbox
        .run(&["reason", &id, "other", &long])
        .expect_usage_error("1000 characters");
}

#[test]
fn a_reason_on_a_consent_is_refused_saying_why() {
    let sandbox = Sandbox::with_demo_reconciled();
    let id = sandbox.match_id_of("alg-0106-aapl");
    let run = sandbox
        .run(&["reason", &id, "timing"])
        .expect_failure("is a consent");
    assert!(run.error_line().contains("divergences"), "{}", run.stderr);
    assert!(sandbox.match_json(&id)["reason_code"].is_null());
}

#[test]
fn a_reason_on_a_match_that_does_not_exist_is_a_failure() {
    Sandbox::with_demo_reconciled()
        .run(&["reason", "99999", "timing"])
        .expect_failure("there is no match 99999");
}

// ---------------------------------------------------------------------------------------
// demo

#[test]
fn the_demo_shows_every_match_type() {
    let sandbox = Sandbox::new();
    let run = sandbox.ok(&["demo", "--sample"]);
    let section: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| *l != "MATCHES")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(section.len(), 12, "{}", run.stdout);
    for t in MATCH_TYPES {
        assert!(
            section
                .iter()
                .any(|l| l.split_whitespace().nth(2) == Some(t)),
            "the MATCHES section has no {t}:\n{}",
            run.stdout
        );
    }
    assert!(
        !sandbox.database_file().exists(),
        "the demo uses its own database"
    );
}

#[test]
fn the_simulated_demo_finds_the_planted_habit_and_proposes_its_change() {
    let sandbox = Sandbox::new();
    let run = sandbox.ok(&[
        "demo",
        "--persona",
        "adds-week",
        "--weeks",
        "6",
        "--seed",
        "3",
    ]);
    let out = &run.stdout;
    assert!(
        out.contains("📊 WEEKLY LEARNING SUMMARY (2025-W07)"),
        "{out}"
    );
    assert!(
        out.contains("• User adds 7 days on average to DTE"),
        "{out}"
    );
    assert!(out.contains("• Increase default DTE by 7 days"), "{out}");
    assert!(out.contains("[dte_shift]"), "{out}");
    assert!(out.contains("core question:"), "{out}");
    assert!(
        out.contains("PLANTED (what the simulator hid in the trader): DTE +7 days"),
        "{out}"
    );
    assert!(
        !sandbox.database_file().exists(),
        "the demo uses its own database"
    );
    let again = sandbox.ok(&[
        "demo",
        "--persona",
        "adds-week",
        "--weeks",
        "6",
        "--seed",
        "3",
    ]);
    assert_eq!(
        again.stdout, run.stdout,
        "the same seed gives the same demo"
    );
}

#[test]
fn a_faithful_trader_shows_no_pattern() {
    let sandbox = Sandbox::new();
    let run = sandbox.ok(&[
        "demo",
        "--persona",
        "faithful",
        "--weeks",
        "6",
        "--seed",
        "1",
    ]);
    assert!(
        run.stdout.contains("PATTERNS DETECTED: 0"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("nothing — every divergence is chance"));
}

#[test]
fn bad_demo_arguments_are_explained() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&["demo", "--persona", "gambler"])
        .expect_code(2);
    assert!(run.stderr.contains("faithful, adds-week"), "{}", run.stderr);
    let run = sandbox.run(&["demo", "--weeks", "0"]).expect_code(2);
    assert!(
        run.error_line()
            .contains("--weeks must be between 1 and 52"),
        "{}",
        run.stderr
    );
    sandbox
        .run(&["demo", "--sample", "--seed", "2"])
        .expect_code(2);
}

// ---------------------------------------------------------------------------------------
// summary, candidates, analytics

#[test]
fn a_summary_is_generated_shown_listed_and_reviewed() {
    let sandbox = Sandbox::with_demo_reconciled();
    sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31"]);
    let run = sandbox.ok(&["summary", "generate", "--year", "2025", "--week", "2"]);
    assert!(
        run.stdout
            .starts_with("📊 WEEKLY LEARNING SUMMARY (2025-W02)\n\nRECOMMENDATIONS: "),
        "{}",
        run.stdout
    );
    // Issue 10: the closing line points to what exists in the chat, not a "Learning tab".
    assert!(
        run.stdout
            .contains("Mark reviewed or send /review 2025 2 when done."),
        "{}",
        run.stdout
    );
    let show = sandbox.ok(&["summary", "show", "--year", "2025", "--week", "2", "--json"]);
    let v: Value = serde_json::from_str(&show.stdout).expect("JSON");
    for key in [
        "year",
        "week",
        "counts",
        "total",
        "pnl",
        "patterns",
        "candidates",
        "text",
    ] {
        assert!(v.get(key).is_some(), "summary JSON lacks {key}: {v}");
    }
    assert_eq!(v["year"], 2025);
    assert_eq!(v["week"], 2);
    let counts = v["counts"].as_object().expect("counts");
    let total: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(v["total"].as_u64(), Some(total));
    for t in MATCH_TYPES {
        assert!(counts.contains_key(*t), "counts lack {t}");
    }
    sandbox.ok(&[
        "summary", "review", "--year", "2025", "--week", "2", "--status", "reviewed", "--notes",
        "ok",
    ]);
    sandbox.ok(&["summary", "generate", "--year", "2025", "--week", "2"]);
    let list = sandbox.ok(&["summary", "list", "--year", "2025", "--json"]);
    let list: Value = serde_json::from_str(&list.stdout).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(
        list[0]["review_status"], "reviewed",
        "regenerating keeps the review"
    );
    assert_eq!(list[0]["review_notes"], "ok");
}

#[test]
fn summary_mistakes_get_one_clear_sentence() {
    let sandbox = Sandbox::with_demo_reconciled();
    let run = sandbox
        .run(&["summary", "show", "--year", "2025", "--week", "53"])
        .expect_code(2);
    assert_eq!(
        run.error_line(),
        "error: 2025 has no ISO week 53 (weeks run from 1 to 52)"
    );
    let run = sandbox
        .run(&["summary", "show", "--year", "2025", "--week", "3"])
        .expect_code(1);
    assert!(
        run.error_line().contains("no summary for 2025-W03 yet"),
        "{}",
        run.stderr
    );
    let run = sandbox
        .run(&[
            "summary", "review", "--year", "2025", "--week", "2", "--status", "done",
        ])
        .expect_code(2);
    assert!(
        run.error_line().contains("pending, reviewed"),
        "{}",
        run.stderr
    );
}

#[test]
fn candidate_decisions_are_checked() {
    let sandbox = Sandbox::with_demo_reconciled();
    let run = sandbox.ok(&["candidates", "list"]);
    assert!(run.stdout.contains("no candidates yet"));
    let run = sandbox
        .run(&["candidates", "decide", "7", "implement"])
        .expect_code(1);
    assert_eq!(run.error_line(), "error: there is no candidate 7");
    let run = sandbox
        .run(&["candidates", "decide", "7", "approve"])
        .expect_code(2);
    assert!(run.stderr.contains("implement"), "{}", run.stderr);
    let run = sandbox
        .run(&["candidates", "finalize", "7", "keep"])
        .expect_code(1);
    assert_eq!(run.error_line(), "error: there is no candidate 7");
}

#[test]
fn the_three_analytics_print_json() {
    let sandbox = Sandbox::with_demo_reconciled();
    sandbox.ok(&["track-outcomes", "--as-of", "2025-01-31"]);
    let days = "3650";
    let rate: Value = serde_json::from_str(
        &sandbox
            .ok(&["analytics", "divergence-rate", "--days", days, "--json"])
            .stdout,
    )
    .unwrap();
    assert!(
        rate["rate"]
            .as_f64()
            .is_some_and(|r| (0.0..=1.0).contains(&r)),
        "{rate}"
    );
    assert!(!rate["weeks"].as_array().unwrap().is_empty());
    let acc: Value = serde_json::from_str(
        &sandbox
            .ok(&["analytics", "algorithm-accuracy", "--days", days, "--json"])
            .stdout,
    )
    .unwrap();
    assert!(
        acc["followed"]["n"].as_u64().is_some_and(|n| n > 0),
        "{acc}"
    );
    let top: Value = serde_json::from_str(
        &sandbox
            .ok(&["analytics", "top-modifications", "--days", days, "--json"])
            .stdout,
    )
    .unwrap();
    let kinds: Vec<&str> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["modification"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"dte+7"), "{top}");
    let run = sandbox
        .run(&["analytics", "divergence-rate", "--days", "0"])
        .expect_code(2);
    assert!(run.stderr.contains("0"), "{}", run.stderr);
}
