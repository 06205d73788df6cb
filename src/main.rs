//! Thin entry point: parse the command line, read settings, run, map errors to exit codes.

use std::process::ExitCode;

use std::io::IsTerminal;

use rlhf_bot::cli::{UsageError, parse_args, run};
use rlhf_bot::config::Settings;
use rlhf_bot::learning::candidates::LifecycleError;
use rlhf_bot::store::StoreError;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // sqlx reports statements slower than a second at WARN; on a command line that is
    // noise about a long import, not a problem. RUST_LOG set by hand still shows them.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx::query=error".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_sentence(&e));
            let usage = e.downcast_ref::<UsageError>().is_some()
                || matches!(
                    e.downcast_ref::<StoreError>(),
                    Some(
                        StoreError::ZoneChanged { .. }
                            | StoreError::BadUrl(_)
                            | StoreError::Lifecycle(LifecycleError::ReasonRequired { .. })
                    )
                );
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes as one line, each cause said once: many errors already
/// quote their cause in their own message.
fn one_sentence(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain().map(ToString::to_string) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}

/// Help and version go to stdout as clap prints them; a usage error becomes one line
/// on stderr with a pointer to `--help`, and exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    let first_block = rendered.split("\n\n").next().unwrap_or_default();
    let sentence = first_block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = sentence.strip_prefix("error: ").unwrap_or(&sentence);
    eprintln!("error: {sentence} (see rlhf-bot --help)");
    ExitCode::from(2)
}

/// `rlhf-bot matches | head` should stop quietly when `head` closes the pipe, as other
/// command-line tools do, instead of panicking on the failed write.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
