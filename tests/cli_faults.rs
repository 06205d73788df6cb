//! Bad input on the command line, from the outside: each case runs the real binary in a
//! fresh directory and checks the exit status (SPEC §10: 2 for bad usage, 1 for other
//! failures), that stderr is one sentence that says what to do, and that nothing
//! panicked or leaked a database message.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-bot");

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &std::path::Path, args: &[&str]) -> Outcome {
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
