//! The command line (SPEC §10). Each command parses its arguments into domain types,
//! calls the library and prints text or, with `--json`, JSON on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

mod brokers;
mod learning;
mod tokens;

pub use brokers::AccountsCommand;

pub use learning::summary_json;

use crate::app::App;
use crate::config::{Settings, redact_url};
use crate::domain::{AccountId, MatchType, Reason, ReasonCode, Symbol, day_of};
use crate::import::{ImportFormat, ImportKind};
use crate::store::{MatchFilter, Scope, Store};
pub use crate::terminal::{UsageError, counts_line, match_detail, match_line};

/// Learns from the gap between an options algorithm's recommendations and the trader's
/// executions.
#[derive(Debug, Parser)]
#[command(name = "rlhf-bot", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Telegram bot, the scheduler and the outbox sender.
    Run,
    /// Simulate a trader over some weeks in a fresh database, run the whole pipeline week
    /// by week and show what learning found (no token needed).
    Demo {
        /// The simulated trader: faithful, adds-week, premium-floor, avoids-symbol,
        /// avoids-earnings or combined.
        #[arg(long, default_value = "combined")]
        persona: crate::sim::Persona,
        /// Trading weeks to simulate (1–52).
        #[arg(long, default_value_t = 8)]
        weeks: u32,
        /// Random seed: the same seed gives the same weeks.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Instead, import the built-in January 2025 sample (every match type, a roll,
        /// partial fills) and show its matches.
        #[arg(long, conflicts_with_all = ["persona", "weeks", "seed"])]
        sample: bool,
        /// Keep the demo database afterwards (its path is printed) to explore it.
        #[arg(long)]
        keep: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Import recommendations, executions or prices from a CSV or JSON Lines file.
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: ImportKind,
        /// The file (CSV with a header row, or JSON Lines).
        file: PathBuf,
        /// The file's layout: for executions `auto` (the default) detects the generic
        /// columns or a broker's export; recommendations and prices are generic.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// Executions only: put every event in this Telegram chat (otherwise the file's
        /// broker account must be linked: `rlhf-bot accounts link`).
        #[arg(long)]
        account: Option<i64>,
        /// Executions only: read the file and show what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Link broker accounts to Telegram chats: link, unlink, list.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Reconcile recommendations with executions for a day or a range of days.
    Reconcile(ReconcileArgs),
    /// Update position outcomes (actual and algorithm) as of a day.
    TrackOutcomes {
        /// The day to track as of (default: today in SCHEDULE_TZ).
        #[arg(long, value_parser = parse_day)]
        as_of: Option<NaiveDate>,
        /// Only this account (Telegram chat id).
        #[arg(long)]
        account: Option<i64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List reconciled matches.
    Matches {
        /// First day (YYYY-MM-DD).
        #[arg(long, value_parser = parse_day)]
        from: Option<NaiveDate>,
        /// Last day (YYYY-MM-DD).
        #[arg(long, value_parser = parse_day)]
        to: Option<NaiveDate>,
        /// consent, modify, reject, independent or no_action.
        #[arg(long = "type")]
        match_type: Option<MatchType>,
        /// Underlying symbol.
        #[arg(long)]
        symbol: Option<String>,
        /// Only this account (Telegram chat id).
        #[arg(long)]
        account: Option<i64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one match with its outcomes.
    Match {
        /// The match id (from `matches`).
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record why you diverged from a recommendation.
    Reason {
        /// The match id.
        id: i64,
        /// timing, premium_low, iv_low, earnings_concern, gut_feeling, better_opportunity,
        /// risk_too_high, already_exposed or other.
        code: ReasonCode,
        /// Free text (required for `other`).
        text: Option<String>,
    },
    /// Weekly learning summaries: generate, show, list, review.
    #[command(subcommand)]
    Summary(learning::SummaryCommand),
    /// Algorithm change candidates: list, show, decide, finalize.
    #[command(subcommand)]
    Candidates(learning::CandidatesCommand),
    /// Divergence rate, algorithm accuracy, top modifications.
    Analytics(learning::AnalyticsArgs),
    /// Serve the HTTP API alone (on --listen, else API_LISTEN, else 127.0.0.1:8080).
    Serve {
        /// The address and port to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// HTTP API tokens: create, list, revoke.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("days").required(true).args(["date", "from"])))]
pub struct ReconcileArgs {
    /// One day (YYYY-MM-DD).
    #[arg(long, conflicts_with_all = ["from", "to"], value_parser = parse_day)]
    date: Option<NaiveDate>,
    /// First day of a range.
    #[arg(long, requires = "to", value_parser = parse_day)]
    from: Option<NaiveDate>,
    /// Last day of a range.
    #[arg(long, requires = "from", value_parser = parse_day)]
    to: Option<NaiveDate>,
    /// Only this account (Telegram chat id).
    #[arg(long)]
    account: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A calendar date as `YYYY-MM-DD`.
fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date (expected YYYY-MM-DD, e.g. 2025-01-06)"))
}

/// Runs a parsed command; the exit status follows SPEC §10.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    let tz = settings.tz;
    let now = Utc::now();
    match cli.command {
        Command::Run => crate::startup::run(settings)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Demo {
            persona,
            weeks,
            seed,
            sample,
            keep,
        } => {
            if sample {
                crate::demo::run_sample(&settings, keep).await?;
            } else {
                let o = crate::demo::simulated::Options {
                    persona,
                    weeks,
                    seed,
                    keep,
                };
                crate::demo::simulated::run(&settings, &o).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = open(&settings).await?;
            let read_only = store.read_only().is_some();
            store.close().await;
            if read_only {
                // Opening checked it: a read-only database lacking one is refused.
                println!(
                    "every migration is already applied to {} (it is read-only: nothing was written)",
                    redact_url(&settings.database_url)
                );
            } else {
                println!(
                    "migrations applied to {}",
                    redact_url(&settings.database_url)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            kind: ImportKind::Executions,
            file,
            format,
            account,
            dry_run,
            json,
        } => {
            let format = format.unwrap_or(ImportFormat::Auto);
            brokers::import_executions(&file, format, account, dry_run, json, settings, now).await
        }
        Command::Import {
            kind,
            file,
            format,
            account,
            dry_run,
            json,
        } => {
            if account.is_some() || dry_run {
                return Err(UsageError(format!(
                    "--account and --dry-run are for executions; {kind} files name their account in each row"
                ))
                .into());
            }
            let format = format.unwrap_or(ImportFormat::Generic);
            let app = open_app(settings).await?;
            let progress = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = app.import_file(kind, format, &file, progress, now).await?;
            app.store().close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for e in &report.errors {
                    eprintln!("{e}");
                }
                println!("{}", report.summary());
            }
            Ok(if report.rejected > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Reconcile(args) => {
            let (from, to) = match (args.date, args.from, args.to) {
                (Some(d), _, _) => (d, d),
                (None, Some(f), Some(t)) if f <= t => (f, t),
                (None, Some(f), Some(t)) => {
                    return Err(UsageError(format!("--from {f} is after --to {t}")).into());
                }
                _ => return Err(UsageError("give --date D, or --from D --to D".to_owned()).into()),
            };
            if (to - from).num_days() > 3_660 {
                return Err(UsageError("a range may span at most ten years".to_owned()).into());
            }
            let app = open_app(settings).await?;
            let scope = scope_of(args.account);
            let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
            let bar = progress_bar(days.len() as u64, !args.json && days.len() > 1);
            let mut reports = Vec::new();
            for day in days {
                reports.push(app.reconcile_day(scope, day, now).await?.report);
                bar.inc(1);
            }
            bar.finish_and_clear();
            app.store().close().await;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                for r in &reports {
                    let counts = counts_line(&r.counts);
                    let counts = if counts.is_empty() {
                        "nothing to match".to_owned()
                    } else {
                        counts
                    };
                    let day = r.day.map(|d| d.to_string()).unwrap_or_default();
                    print!(
                        "{day}: {} account(s), {counts}; {} row(s) written",
                        r.accounts, r.written
                    );
                    if !r.revisited.is_empty() {
                        let days: Vec<String> =
                            r.revisited.iter().map(ToString::to_string).collect();
                        print!("; revisited {}", days.join(", "));
                    }
                    println!();
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::TrackOutcomes {
            as_of,
            account,
            json,
        } => {
            let app = open_app(settings).await?;
            let as_of = as_of.unwrap_or_else(|| day_of(now, tz));
            let report = app.track_outcomes(scope_of(account), as_of, now).await?;
            app.store().close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let statuses: Vec<String> = report
                    .statuses
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                println!(
                    "outcomes as of {as_of}: {} match(es) updated (final outcomes are kept){}{}",
                    report.matches,
                    if statuses.is_empty() { "" } else { "; " },
                    statuses.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Matches {
            from,
            to,
            match_type,
            symbol,
            account,
            json,
        } => {
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(UsageError(format!("--from {f} is after --to {t}")).into());
            }
            let symbol = symbol
                .map(|s| Symbol::parse(&s).map_err(|e| UsageError(format!("--symbol: {e}"))))
                .transpose()?;
            let app = open_app(settings).await?;
            let filter = MatchFilter {
                from,
                to,
                match_type,
                symbol,
                account: account.map(AccountId),
                ..MatchFilter::default()
            };
            let matches = app.matches(&filter).await?;
            app.store().close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&matches)?);
            } else if matches.is_empty() {
                println!("no matches");
            } else {
                for m in &matches {
                    println!("{}", match_line(m));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Match { id, json } => {
            let app = open_app(settings).await?;
            let m = app.match_detail(id, Scope::All).await?;
            app.store().close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                print!("{}", match_detail(&m));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reason { id, code, text } => {
            let reason = Reason::new(code, text.as_deref())
                .map_err(|e| UsageError(format!("{e} (rlhf-bot reason {id} {code} TEXT)")))?;
            let app = open_app(settings).await?;
            let m = app.record_reason(id, Scope::All, &reason, now).await?;
            app.store().close().await;
            println!("{}", match_line(&m));
            Ok(ExitCode::SUCCESS)
        }
        Command::Summary(cmd) => learning::summary(cmd, &settings, now).await,
        Command::Candidates(cmd) => learning::candidates(cmd, &settings, now).await,
        Command::Analytics(args) => learning::analytics(args, &settings, now).await,
        Command::Serve { listen } => crate::startup::serve(settings, listen)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Tokens(cmd) => tokens::tokens(cmd, &settings, now).await,
        Command::Accounts(cmd) => brokers::accounts(cmd, settings, now).await,
    }
}

/// The application the command line runs against: it queues no messages (the bot
/// posts; the command line prints).
pub(crate) async fn open_app(settings: Settings) -> anyhow::Result<App> {
    let store = open(&settings).await?;
    Ok(App::quiet(store, std::sync::Arc::new(settings)))
}

/// All accounts, or the one `--account` names.
/// Parses the command line. Telegram group chats have negative ids, so a value such as
/// `--account -1001234567890` is taken as a number, in every subcommand.
pub fn parse_args() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    fn negative_numbers(command: clap::Command) -> clap::Command {
        command
            .allow_negative_numbers(true)
            .mut_subcommands(negative_numbers)
    }
    let matches = negative_numbers(Cli::command()).try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

pub(crate) fn scope_of(account: Option<i64>) -> Scope {
    account.map_or(Scope::All, |a| Scope::Account(AccountId(a)))
}

pub(crate) async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("database {}", redact_url(&settings.database_url)))?;
    store.bind_zone(settings.tz).await?;
    Ok(store)
}

fn progress_bar(len: u64, show: bool) -> indicatif::ProgressBar {
    if show && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    }
}
