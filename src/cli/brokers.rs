//! Broker exports on the command line: `import executions` through
//! [`App::import_executions`] (with `--account` and `--dry-run`), and the `accounts`
//! commands that link a broker account to a Telegram chat.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::{UsageError, open_app};
use crate::app::brokers::{AccountChoice, BrokerImportError, ImportOutcome};
use crate::config::Settings;
use crate::domain::AccountId;
use crate::import::ImportFormat;
use crate::import::brokers::FormatName;
use crate::store::Linked;
use crate::terminal::printable;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Link a broker account to a Telegram chat: its exports then import into that chat
    /// without --account.
    Link {
        /// The broker, as --format names it (schwab, thinkorswim, fidelity, ibkr,
        /// tastytrade, robinhood, webull, etrade).
        #[arg(long, value_enum)]
        broker: ImportFormat,
        /// The broker's account as the export writes it (e.g. X12345678).
        #[arg(long)]
        broker_account: String,
        /// The Telegram chat id.
        #[arg(long)]
        account: i64,
    },
    /// Remove a link.
    Unlink {
        /// The broker, as --format names it.
        #[arg(long, value_enum)]
        broker: ImportFormat,
        /// The broker's account as the export writes it.
        #[arg(long)]
        broker_account: String,
    },
    /// List the links.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A broker named on the command line: a broker format, not `auto` or `generic`.
fn broker_of(format: ImportFormat) -> Result<FormatName, UsageError> {
    match format.format_name() {
        Some(FormatName::Generic) | None => Err(UsageError(
            "--broker names a broker (schwab, thinkorswim, fidelity, ibkr, tastytrade, robinhood, \
             webull or etrade); generic files name their chat in each row"
                .to_owned(),
        )),
        Some(b) => Ok(b),
    }
}

fn broker_account_of(s: &str) -> Result<&str, UsageError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
        return Err(UsageError(format!(
            "`{}` is not a broker account (expected the account as the export writes it, at most 64 characters)",
            printable(s)
        )));
    }
    Ok(s)
}

pub(super) async fn accounts(
    cmd: AccountsCommand,
    settings: Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    match cmd {
        AccountsCommand::Link {
            broker,
            broker_account,
            account,
        } => {
            let broker = broker_of(broker)?;
            let ba = broker_account_of(&broker_account)?;
            let app = open_app(settings).await?;
            let linked = app
                .link_broker_account(broker, ba, AccountId(account), now)
                .await;
            app.store().close().await;
            match linked? {
                Linked::Created => println!("linked {broker} account {ba} to chat {account}"),
                Linked::Unchanged => {
                    println!("{broker} account {ba} was already linked to chat {account}");
                }
            }
        }
        AccountsCommand::Unlink {
            broker,
            broker_account,
        } => {
            let broker = broker_of(broker)?;
            let ba = broker_account_of(&broker_account)?;
            let app = open_app(settings).await?;
            let removed = app.unlink_broker_account(broker, ba).await;
            app.store().close().await;
            match removed? {
                Some(chat) => println!("unlinked {broker} account {ba} from chat {chat}"),
                None => {
                    return Err(UsageError(format!(
                        "{broker} account {ba} is not linked (rlhf-bot accounts list shows the links)"
                    ))
                    .into());
                }
            }
        }
        AccountsCommand::List { json } => {
            let app = open_app(settings).await?;
            let links = app.broker_links().await;
            app.store().close().await;
            let links = links?;
            if json {
                println!("{}", serde_json::to_string_pretty(&links)?);
            } else if links.is_empty() {
                println!("no broker accounts are linked");
            } else {
                for l in &links {
                    println!(
                        "{} {} → chat {}",
                        l.broker,
                        printable(&l.broker_account),
                        l.account
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `import executions FILE`: any export, detected unless `--format` forces one.
pub(super) async fn import_executions(
    file: &Path,
    format: ImportFormat,
    account: Option<i64>,
    dry_run: bool,
    json: bool,
    settings: Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let choice = account.map_or(AccountChoice::FromFile, |a| {
        AccountChoice::Chat(AccountId(a))
    });
    let app = open_app(settings).await?;
    let outcome = app
        .import_executions_at(file, format, choice, dry_run, now)
        .await;
    app.store().close().await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(BrokerImportError::Account(sentence)) => return Err(UsageError(sentence).into()),
        Err(e) => return Err(e.into()),
    };
    let how = if format == ImportFormat::Auto {
        "detected"
    } else {
        "as asked"
    };
    if dry_run && json {
        println!("{}", serde_json::to_string_pretty(&outcome.file)?);
    } else if dry_run {
        print!("{}", dry_run_table(&outcome, how));
    } else if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!("format: {} ({how})", outcome.format);
        for e in &outcome.report.errors {
            eprintln!("{e}");
        }
        if !outcome.ignored.is_empty() {
            println!("ignored: {}", ignored_line(&outcome));
        }
        if let Some(corrected) = outcome.corrections_report(usize::MAX) {
            println!("{corrected}");
        }
        println!("{}", outcome.report.summary());
    }
    Ok(if outcome.report.rejected > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn ignored_line(outcome: &ImportOutcome) -> String {
    outcome
        .ignored
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a dry run would import, for a person to check.
fn dry_run_table(outcome: &ImportOutcome, how: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "format: {} ({how}); dry run, nothing written",
        outcome.format
    );
    let accounts: Vec<String> = outcome.accounts.iter().map(ToString::to_string).collect();
    let _ = match (&outcome.account_problem, accounts.is_empty()) {
        (Some(problem), _) => writeln!(out, "account: not determined — {problem}"),
        (None, true) => writeln!(out, "account: -"),
        (None, false) => writeln!(out, "account: chat {}", accounts.join(", ")),
    };
    if outcome.file.executions.is_empty() {
        let _ = writeln!(out, "no option events");
    } else {
        let _ = writeln!(
            out,
            "{:<20} {:<14} {:<24} {:>9} {:>10} {:>8}",
            "date", "action", "contract", "contracts", "price", "fees"
        );
        for e in &outcome.file.executions {
            let _ = writeln!(
                out,
                "{:<20} {:<14} {:<24} {:>9} {:>10} {:>8}",
                e.executed_at.format("%Y-%m-%d %H:%M:%SZ"),
                e.action.as_str(),
                e.contract.to_string(),
                e.contracts,
                e.price.to_dollars_display(),
                e.fees.to_dollars_display()
            );
        }
    }
    if !outcome.ignored.is_empty() {
        let _ = writeln!(out, "ignored: {}", ignored_line(outcome));
    }
    let _ = writeln!(
        out,
        "{} event(s), {} rejected",
        outcome.file.executions.len(),
        outcome.file.rejected.len()
    );
    for e in &outcome.file.rejected {
        let _ = writeln!(out, "  {e}");
    }
    if let Some(corrected) = outcome.corrections_report(usize::MAX) {
        let _ = writeln!(out, "{corrected}");
    }
    out
}
