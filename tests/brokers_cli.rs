//! Broker exports through the real binary: `import executions` detecting the format
//! and saying which, `--dry-run` (text and the JSON of SPEC §10) writing nothing,
//! `--account`, the `accounts link|unlink|list` commands, and the one-sentence
//! refusals (no chat, a chat other than the linked one, a file that is no export); a
//! Webull range imported before an earlier one says which stored executions the earlier
//! one corrected.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

/// Settings read from the environment: none may leak in from the shell.
const INHERITED_SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "SCHEDULE_TZ",
    "TELOXIDE_TOKEN",
    "TELOXIDE_API_URL",
    "ALLOWED_USER_IDS",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
];

const FIDELITY: &str = "fidelity_History_for_Account_X12345678-3.csv";

struct Sandbox {
    dir: TempDir,
}

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

    fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.dir.path());
        for name in INHERITED_SETTINGS {
            command.env_remove(name);
        }
        command
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", self.dir.path().join("t.db").display()),
            )
            .env("SCHEDULE_TZ", "America/New_York");
        let output = command.output().expect("the binary starts");
        let run = Run {
            command: format!("rlhf-bot {}", args.join(" ")),
            code: output.status.code().expect("the binary exits"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8"),
        };
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
            "`{}` panicked:\n{}",
            run.command,
            run.stderr
        );
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        self.run(args).code(0)
    }

    /// A copy of the fixture `name` in the sandbox (its name kept: Fidelity's names the
    /// broker account).
    fn fixture(&self, name: &str) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/brokers")
            .join(name);
        let to = self.dir.path().join(name);
        std::fs::copy(&from, &to).expect("copy a fixture");
        to
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write a file");
        path
    }

    fn stored_matches(&self) -> usize {
        self.ok(&["reconcile", "--from", "2025-01-06", "--to", "2025-01-24"]);
        let run = self.ok(&["matches", "--json"]);
        match serde_json::from_str(&run.stdout) {
            Ok(Value::Array(v)) => v.len(),
            other => panic!("no JSON array: {other:?}"),
        }
    }
}

impl Run {
    fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "`{}` exited {}:\nstdout:\n{}\nstderr:\n{}",
            self.command, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Exit `code` with exactly one `error:` sentence on stderr containing `needle`.
    fn refused(self, code: i32, needle: &str) -> Self {
        let run = self.code(code);
        let lines: Vec<&str> = run.stderr.trim_end().lines().collect();
        assert_eq!(lines.len(), 1, "`{}`:\n{}", run.command, run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(
            lines[0].contains(needle),
            "`{}` did not say {needle:?}: {}",
            run.command,
            lines[0]
        );
        run
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn accounts_link_list_and_unlink() {
    let sb = Sandbox::new();
    assert_eq!(
        sb.ok(&["accounts", "list"]).stdout.trim(),
        "no broker accounts are linked"
    );
    let run = sb.ok(&[
        "accounts",
        "link",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
        "--account",
        "42",
    ]);
    assert_eq!(
        run.stdout.trim(),
        "linked fidelity account X12345678 to chat 42"
    );
    let run = sb.ok(&[
        "accounts",
        "link",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
        "--account",
        "42",
    ]);
    assert!(
        run.stdout.contains("already linked to chat 42"),
        "{}",
        run.stdout
    );
    sb.run(&[
        "accounts",
        "link",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
        "--account",
        "43",
    ])
    .refused(1, "already linked to chat 42");
    sb.ok(&[
        "accounts",
        "link",
        "--broker",
        "tos",
        "--broker-account",
        "123-456789",
        "--account",
        "43",
    ]);

    let run = sb.ok(&["accounts", "list", "--json"]);
    let links: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let pairs: Vec<(String, String, i64)> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["broker"].as_str().unwrap().to_owned(),
                l["broker_account"].as_str().unwrap().to_owned(),
                l["account"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("fidelity".to_owned(), "X12345678".to_owned(), 42),
            ("thinkorswim".to_owned(), "123-456789".to_owned(), 43)
        ]
    );
    let run = sb.ok(&["accounts", "list"]);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);

    let run = sb.ok(&[
        "accounts",
        "unlink",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
    ]);
    assert_eq!(
        run.stdout.trim(),
        "unlinked fidelity account X12345678 from chat 42"
    );
    sb.run(&[
        "accounts",
        "unlink",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
    ])
    .refused(2, "is not linked");
    sb.run(&[
        "accounts",
        "link",
        "--broker",
        "generic",
        "--broker-account",
        "A",
        "--account",
        "1",
    ])
    .refused(2, "--broker names a broker");
    sb.run(&[
        "accounts",
        "link",
        "--broker",
        "auto",
        "--broker-account",
        "A",
        "--account",
        "1",
    ])
    .refused(2, "--broker names a broker");
    sb.run(&[
        "accounts",
        "link",
        "--broker",
        "schwab",
        "--broker-account",
        " ",
        "--account",
        "1",
    ])
    .refused(2, "is not a broker account");
}

#[test]
fn a_linked_export_lands_in_its_chat_and_a_reimport_adds_nothing() {
    let sb = Sandbox::new();
    let file = sb.fixture(FIDELITY);
    // No link and no --account: refused, naming both ways out.
    let run = sb
        .run(&["import", "executions", s(&file)])
        .refused(2, "--account CHAT_ID");
    assert!(
        run.stderr.contains(
            "rlhf-bot accounts link --broker fidelity --broker-account X12345678 --account CHAT_ID"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(sb.stored_matches(), 0, "a refused file stores nothing");

    sb.ok(&[
        "accounts",
        "link",
        "--broker",
        "fidelity",
        "--broker-account",
        "X12345678",
        "--account",
        "42",
    ]);
    let run = sb.ok(&["import", "executions", s(&file)]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "format: fidelity (detected)");
    assert!(lines[1].starts_with("ignored: "), "{}", run.stdout);
    assert!(lines[1].contains("stock 2"), "{}", run.stdout);
    assert_eq!(
        lines.last().copied(),
        Some("imported 7, duplicates 0, rejected 0")
    );
    let run = sb.ok(&["import", "executions", s(&file), "--format", "fidelity"]);
    assert_eq!(
        run.stdout.lines().next(),
        Some("format: fidelity (as asked)")
    );
    assert_eq!(
        run.stdout.lines().last(),
        Some("imported 0, duplicates 7, rejected 0")
    );

    // Linked to 42; --account 43 would put it elsewhere: refused.
    sb.run(&["import", "executions", s(&file), "--account", "43"])
        .refused(2, "linked to chat 42, not to chat 43");
    // The JSON report names the format and the chat.
    let run = sb.ok(&["import", "executions", s(&file), "--json"]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["format"], "fidelity");
    assert_eq!(report["accounts"], serde_json::json!([42]));
    assert_eq!(report["duplicates"], 7);
}

#[test]
fn a_dry_run_prints_the_events_and_writes_nothing() {
    let sb = Sandbox::new();
    let file = sb.fixture("webull_options_orders.csv");
    // JSON: exactly the dry-run object of SPEC §10; Webull names no account.
    let run = sb.ok(&["import", "executions", s(&file), "--dry-run", "--json"]);
    let v: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["executions", "format", "ignored", "rejected"]);
    assert_eq!(v["format"], "webull");
    let events = v["executions"].as_array().unwrap();
    assert_eq!(events.len(), 6);
    for e in events {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "account",
                "action",
                "broker",
                "broker_account",
                "broker_ref",
                "contracts",
                "executed_at",
                "expiration",
                "fees",
                "price",
                "right",
                "strike",
                "underlying"
            ]
        );
        assert_eq!(e["account"], Value::Null);
    }
    // With --account the chat is filled.
    let run = sb.ok(&[
        "import",
        "executions",
        s(&file),
        "--dry-run",
        "--json",
        "--account",
        "42",
    ]);
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["account"] == 42)
    );

    // The table a person checks.
    let run = sb.ok(&[
        "import",
        "executions",
        s(&file),
        "--dry-run",
        "--account",
        "42",
    ]);
    assert!(
        run.stdout
            .starts_with("format: webull (detected); dry run, nothing written\naccount: chat 42\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("buy_to_close"), "{}", run.stdout);
    assert!(
        run.stdout.contains("ignored: cancelled 4"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("6 event(s), 0 rejected"),
        "{}",
        run.stdout
    );
    let run = sb.ok(&["import", "executions", s(&file), "--dry-run"]);
    assert!(
        run.stdout.contains("account: not determined"),
        "{}",
        run.stdout
    );

    assert_eq!(sb.stored_matches(), 0, "a dry run writes nothing");
    let run = sb.ok(&["import", "executions", s(&file), "--account", "42"]);
    assert_eq!(
        run.stdout.lines().last(),
        Some("imported 6, duplicates 0, rejected 0")
    );
    assert!(sb.stored_matches() > 0);
}

#[test]
fn refusals_are_one_sentence() {
    let sb = Sandbox::new();
    let junk = sb.write("notes.csv", "when,what\nmonday,coffee\n");
    sb.run(&["import", "executions", s(&junk)]).refused(
        1,
        "the file is not an export rlhf-bot knows (it reads generic, schwab, thinkorswim, fidelity, ibkr, tastytrade, robinhood, webull, etrade)",
    );
    // Close to Schwab: named, with what is missing.
    let near = sb.write(
        "near.csv",
        "Date,Action,Symbol,Description,Quantity,Price\n",
    );
    sb.run(&["import", "executions", s(&near)])
        .refused(1, "the closest is schwab");
    let recs = sb.write("recs.csv", "external_id\n");
    sb.run(&["import", "recommendations", s(&recs), "--dry-run"])
        .refused(2, "--account and --dry-run are for executions");
    // A generic row for another chat than --account is rejected by line (exit 3).
    let generic = sb.write(
        "g.csv",
        "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n\
         G-1,42,2025-01-06T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.00,0.65\n\
         G-2,7,2025-01-06T10:00:00-05:00,sell_to_open,AAPL,put,230,2025-01-17,1,2.00,0.65\n",
    );
    let run = sb
        .run(&["import", "executions", s(&generic), "--account", "42"])
        .code(3);
    assert_eq!(
        run.stdout.lines().last(),
        Some("imported 1, duplicates 0, rejected 1")
    );
    assert!(
        run.stderr
            .starts_with("line 3, column account: the row is for account 7"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_earlier_webull_range_says_what_it_corrected() {
    let sb = Sandbox::new();
    let whole = std::fs::read_to_string(sb.fixture("webull_options_orders.csv")).unwrap();
    let mut lines = whole.lines();
    let header = lines.next().unwrap().to_owned();
    // Cut by the order's placed day (`MM/DD/YYYY` in the tenth column).
    let (mut earlier, mut later) = (format!("{header}\n"), format!("{header}\n"));
    for line in lines {
        let placed = line.split(',').nth(9).unwrap();
        let half = if placed < "01/10/2025" {
            &mut earlier
        } else {
            &mut later
        };
        half.push_str(line);
        half.push('\n');
    }
    let later = sb.write("later.csv", &later);
    let earlier = sb.write("earlier.csv", &earlier);
    let run = sb.ok(&["import", "executions", s(&later), "--account", "42"]);
    assert!(!run.stdout.contains("corrected"), "{}", run.stdout);
    // A dry run of the earlier range says what it would correct, and writes nothing.
    let run = sb.ok(&[
        "import",
        "executions",
        s(&earlier),
        "--account",
        "42",
        "--dry-run",
    ]);
    assert!(
        run.stdout.contains(
            "would correct 2 stored executions whose open or close this file's earlier trades decide:"
        ),
        "{}",
        run.stdout
    );
    let run = sb.ok(&["import", "executions", s(&earlier), "--account", "42"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "format: webull (detected)");
    let at = lines
        .iter()
        .position(|l| l.starts_with("corrected 2 stored executions whose open or close"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        lines[at + 1].ends_with(": buy_to_open 2 → buy_to_close 2"),
        "{}",
        run.stdout
    );
    assert!(
        lines[at + 2].ends_with(": buy_to_open 1 → buy_to_close 1"),
        "{}",
        run.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("imported 3, duplicates 0, rejected 0")
    );
    // Nothing was reconciled, so nothing is reconciled again; a second run corrects nothing.
    assert!(!run.stdout.contains("reconciled again"), "{}", run.stdout);
    let run = sb.ok(&[
        "import",
        "executions",
        s(&earlier),
        "--account",
        "42",
        "--json",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["corrected"], serde_json::json!([]));
    assert_eq!(report["duplicates"], 3);
}
