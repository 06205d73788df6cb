//! The learning commands: `summary`, `candidates` and `analytics`.

use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};

use super::{UsageError, open_app, scope_of};
use crate::app::App;
use crate::config::Settings;
use crate::domain::{AccountId, Week, day_of};
use crate::learning::DayRange;
use crate::learning::candidates::{Candidate, Decision, Final, State};
use crate::store::{Scope, StoredSummary};
use crate::terminal::printable;

#[derive(Debug, Args)]
pub struct WeekArgs {
    /// ISO year.
    #[arg(long)]
    year: i32,
    /// ISO week number (1–53).
    #[arg(long)]
    week: u32,
    /// The account (Telegram chat id); needed when the database has several.
    #[arg(long)]
    account: Option<i64>,
}

impl WeekArgs {
    fn week(&self) -> Result<Week, UsageError> {
        Week::new(self.year, self.week).map_err(|e| UsageError(e.to_string()))
    }
}

#[derive(Debug, Subcommand)]
pub enum SummaryCommand {
    /// Generate (or regenerate) a week's summary; the review is kept.
    Generate {
        #[command(flatten)]
        week: WeekArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a week's summary.
    Show {
        #[command(flatten)]
        week: WeekArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List summaries, newest first.
    List {
        /// Only this ISO year.
        #[arg(long)]
        year: Option<i32>,
        /// Only this account.
        #[arg(long)]
        account: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 10)]
        limit: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record your review of a week's summary.
    Review {
        #[command(flatten)]
        week: WeekArgs,
        /// pending or reviewed.
        #[arg(long, default_value = "reviewed")]
        status: String,
        /// Your notes.
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    Implement,
    Defer,
    Reject,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FinalArg {
    Keep,
    Rollback,
    Modify,
}

#[derive(Debug, Subcommand)]
pub enum CandidatesCommand {
    /// List the candidates with their state and evidence.
    List {
        /// Only this account.
        #[arg(long)]
        account: Option<i64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one candidate with its evidence, validation and audit trail.
    Show {
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Decide on a proposed (or deferred) candidate.
    Decide {
        id: i64,
        #[arg(value_enum)]
        decision: DecisionArg,
        /// Why (required to reject).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Close a validated candidate: keep it, roll it back or modify it.
    Finalize {
        id: i64,
        #[arg(value_enum)]
        verdict: FinalArg,
        /// Why (required to roll back or modify).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AnalyticsKind {
    DivergenceRate,
    AlgorithmAccuracy,
    TopModifications,
}

#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    #[arg(value_enum)]
    kind: AnalyticsKind,
    /// Days back from today, or from --as-of / --to (default 30 for divergence-rate,
    /// 90 for the others).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650), conflicts_with = "from")]
    days: Option<u32>,
    /// First day of the period (YYYY-MM-DD); the period ends at --to, --as-of or today.
    #[arg(long, value_parser = super::parse_day)]
    from: Option<NaiveDate>,
    /// Last day of the period (YYYY-MM-DD).
    #[arg(long, value_parser = super::parse_day, conflicts_with = "as_of")]
    to: Option<NaiveDate>,
    /// The day a rolling period (--days) ends on, instead of today: a kept demo
    /// database dated 2025 shows its numbers with --as-of 2025-03-01.
    #[arg(long, value_parser = super::parse_day)]
    as_of: Option<NaiveDate>,
    /// Only this account.
    #[arg(long)]
    account: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl AnalyticsArgs {
    /// The period the flags name, and how to say it ("last 30 days", "2025-01-06 to
    /// 2025-02-28").
    fn period(&self, today: NaiveDate) -> Result<(DayRange, String), UsageError> {
        let end = self.to.or(self.as_of).unwrap_or(today);
        match self.from {
            Some(from) if from > end => Err(UsageError(format!(
                "--from {from} is after the end of the period ({end})"
            ))),
            Some(from) if (end - from).num_days() >= 3650 => {
                Err(UsageError("a period may span at most 3650 days".to_owned()))
            }
            Some(from) => Ok((DayRange::new(from, end), format!("{from} to {end}"))),
            None => {
                let days = self.days.unwrap_or(match self.kind {
                    AnalyticsKind::DivergenceRate => 30,
                    _ => 90,
                });
                let label = if end == today {
                    format!("last {days} days")
                } else {
                    format!("{days} days to {end}")
                };
                Ok((DayRange::last_days(days, end), label))
            }
        }
    }
}

/// The one account a week command is about: the one given, or the only one there is.
async fn one_account(app: &App, given: Option<i64>) -> anyhow::Result<AccountId> {
    if let Some(a) = given {
        return Ok(AccountId(a));
    }
    let all = app.accounts().await?;
    match all.as_slice() {
        [one] => Ok(*one),
        [] => {
            Err(UsageError("the database has no accounts yet (import some data)".to_owned()).into())
        }
        many => Err(UsageError(format!(
            "the database has {} accounts; say which with --account (e.g. --account {})",
            many.len(),
            many[0].0
        ))
        .into()),
    }
}

fn print_summary(s: &StoredSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&summary_json(s))?);
    } else {
        println!("{}", s.text);
        let notes = s
            .review_notes
            .as_deref()
            .map(|n| format!(" — {}", printable(n)))
            .unwrap_or_default();
        println!(
            "\n(account {}, review: {}{notes})",
            s.account.0, s.review_status
        );
    }
    Ok(())
}

/// The contract's JSON form of a summary (SPEC §10).
pub fn summary_json(s: &StoredSummary) -> serde_json::Value {
    serde_json::json!({
        "account": s.account,
        "year": s.year,
        "week": s.week,
        "counts": s.counts,
        "total": s.total,
        "pnl": s.pnl,
        "patterns": s.patterns,
        "candidates": s.candidates,
        "text": s.text,
        "review_status": s.review_status,
        "review_notes": s.review_notes,
        "generated_at": s.generated_at,
    })
}

pub async fn summary(
    cmd: SummaryCommand,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    match cmd {
        SummaryCommand::Generate { week, json } => {
            let w = week.week()?;
            let app = open_app(settings.clone()).await?;
            let (report, made) = app
                .generate_summaries(scope_of(week.account), w, now)
                .await?;
            match made.as_slice() {
                [one] => {
                    let s = app.summary(one.account, w).await?;
                    print_summary(&s, json)?;
                }
                _ if json => println!("{}", serde_json::to_string_pretty(&report)?),
                [] => println!("{w}: no account has items in the look-back; nothing generated"),
                many => println!(
                    "{w}: {} summaries generated, {} pattern(s), {} new candidate(s); \
                     show one with: rlhf-bot summary show --year {} --week {} --account {}",
                    many.len(),
                    report.patterns,
                    report.proposed,
                    w.year,
                    w.week,
                    many[0].account.0
                ),
            }
            app.store().close().await;
        }
        SummaryCommand::Show { week, json } => {
            let w = week.week()?;
            let app = open_app(settings.clone()).await?;
            let account = one_account(&app, week.account).await?;
            let s = app.summary(account, w).await?;
            app.store().close().await;
            print_summary(&s, json)?;
        }
        SummaryCommand::List {
            year,
            account,
            limit,
            json,
        } => {
            if limit < 1 {
                return Err(UsageError("--limit must be at least 1".to_owned()).into());
            }
            let app = open_app(settings.clone()).await?;
            let list = app.summaries(scope_of(account), year, limit).await?;
            app.store().close().await;
            if json {
                let v: Vec<_> = list.iter().map(summary_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if list.is_empty() {
                println!(
                    "no summaries (generate one with: rlhf-bot summary generate --year Y --week W)"
                );
            } else {
                for s in &list {
                    println!(
                        "{}-W{:02}  account {}  {} items  P&L {}  {} pattern(s)  {}",
                        s.year,
                        s.week,
                        s.account.0,
                        s.total,
                        s.pnl.to_dollars_display(),
                        s.patterns.as_array().map_or(0, Vec::len),
                        s.review_status
                    );
                }
            }
        }
        SummaryCommand::Review {
            week,
            status,
            notes,
        } => {
            let w = week.week()?;
            let status = status.trim().to_ascii_lowercase();
            if !crate::store::REVIEW_STATUSES.contains(&status.as_str()) {
                return Err(UsageError(format!(
                    "--status must be one of: {}",
                    crate::store::REVIEW_STATUSES.join(", ")
                ))
                .into());
            }
            let app = open_app(settings.clone()).await?;
            let account = one_account(&app, week.account).await?;
            let s = app
                .review_summary(account, w, &status, notes.as_deref(), now)
                .await?;
            app.store().close().await;
            println!("{w} (account {}): {}", s.account.0, s.review_status);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per candidate.
pub fn candidate_line(c: &Candidate) -> String {
    format!(
        "#{:<5} {:<11} {}  (n={}, account {})",
        c.id, c.state, c.title, c.evidence.n, c.account
    )
}

fn candidate_detail(c: &Candidate, history: &[crate::store::AuditEntry]) -> String {
    let mut s = format!("{}\n  pattern: {}", candidate_line(c), c.pattern_key);
    if !c.subject.is_empty() {
        s.push_str(&format!(" ({})", c.subject));
    }
    s.push_str(&format!(
        "\n  evidence: {} (n={}, effect {:.2}, q={:.4})\n",
        c.evidence.description, c.evidence.n, c.evidence.effect, c.evidence.q_value
    ));
    if let (Some(from), Some(until)) = (c.validation_from, c.validation_until()) {
        s.push_str(&format!("  validation: {from} to {until}\n"));
    }
    if let Some(r) = &c.report {
        s.push_str(&format!("  report: {}\n", r.sentence));
    }
    s.push_str("  history:\n");
    for h in history {
        s.push_str(&format!(
            "    {}  {:<11} by {}{}\n",
            h.at,
            h.state,
            h.actor,
            h.reason
                .as_deref()
                .map(|r| format!(": {}", printable(r)))
                .unwrap_or_default()
        ));
    }
    s
}

/// Who the candidate audit trail says decided, for decisions made on the command line.
const CLI_ACTOR: &str = "cli";

pub async fn candidates(
    cmd: CandidatesCommand,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let app = open_app(settings.clone()).await?;
    match cmd {
        CandidatesCommand::List { account, json } => {
            let list = app.candidates(scope_of(account)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no candidates yet (they come from weekly summaries)");
            } else {
                for c in &list {
                    println!("{}", candidate_line(c));
                }
            }
        }
        CandidatesCommand::Show { id, json } => {
            let (c, history) = app.candidate_with_history(id, Scope::All).await?;
            if json {
                let v = serde_json::json!({ "candidate": c, "history": history });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", candidate_detail(&c, &history));
            }
        }
        CandidatesCommand::Decide {
            id,
            decision,
            reason,
        } => {
            let d = match decision {
                DecisionArg::Implement => Decision::Implement,
                DecisionArg::Defer => Decision::Defer,
                DecisionArg::Reject => Decision::Reject,
            };
            if d == Decision::Reject && reason.trim().is_empty() {
                return Err(UsageError(format!(
                    "a rejection needs a reason: rlhf-bot candidates decide {id} reject --reason TEXT"
                ))
                .into());
            }
            let c = app
                .decide(Scope::All, id, d, &reason, CLI_ACTOR, now)
                .await?;
            println!("{}", candidate_line(&c));
            if c.state == State::Implemented {
                println!("  validation starts on the Monday after this and runs 4 weeks");
            }
        }
        CandidatesCommand::Finalize {
            id,
            verdict,
            reason,
        } => {
            let f = match verdict {
                FinalArg::Keep => Final::Keep,
                FinalArg::Rollback => Final::Rollback,
                FinalArg::Modify => Final::Modify,
            };
            if f != Final::Keep && reason.trim().is_empty() {
                return Err(UsageError(format!(
                    "a {} needs a reason: rlhf-bot candidates finalize {id} {} --reason TEXT",
                    if f == Final::Rollback {
                        "rollback"
                    } else {
                        "modification"
                    },
                    if f == Final::Rollback {
                        "rollback"
                    } else {
                        "modify"
                    },
                ))
                .into());
            }
            let c = app
                .finalize(Scope::All, id, f, &reason, CLI_ACTOR, now)
                .await?;
            println!("{}", candidate_line(&c));
        }
    }
    app.store().close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn analytics(
    args: AnalyticsArgs,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let today = day_of(now, settings.tz);
    let (period, days) = args.period(today)?;
    let app = open_app(settings.clone()).await?;
    let scope = scope_of(args.account);
    let json = match args.kind {
        AnalyticsKind::DivergenceRate => {
            let r = app.divergence_rate(scope, period).await?;
            if !args.json {
                println!(
                    "divergence rate, {days}: {:.0}% ({} of {} decisions)",
                    r.rate * 100.0,
                    r.divergent,
                    r.decisions
                );
                for w in &r.weeks {
                    println!(
                        "  {}  {:>3.0}%  ({} of {})",
                        w.week,
                        w.rate * 100.0,
                        w.divergent,
                        w.decisions
                    );
                }
            }
            serde_json::to_value(&r)?
        }
        AnalyticsKind::AlgorithmAccuracy => {
            let r = app.algorithm_accuracy(scope, period).await?;
            if !args.json {
                let rate =
                    |x: Option<f64>| x.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0));
                let avg = |x: Option<crate::domain::Money>| {
                    x.map_or("—".to_owned(), |m| m.to_dollars_display())
                };
                println!("algorithm accuracy, {days}");
                println!(
                    "  followed:  {} trades, algorithm won {}, average {}",
                    r.followed.n,
                    rate(r.followed.win_rate),
                    avg(r.followed.average_pnl)
                );
                println!(
                    "  diverged:  {} trades, algorithm would have won {} (average {}), you won {} (average {})",
                    r.diverged_algorithm.n,
                    rate(r.diverged_algorithm.win_rate),
                    avg(r.diverged_algorithm.average_pnl),
                    rate(r.diverged_trader.win_rate),
                    avg(r.diverged_trader.average_pnl)
                );
                println!(
                    "  on divergences you did better {} times, the algorithm {} times, {} ties; {} not settled yet",
                    r.trader_better, r.algorithm_better, r.ties, r.pending
                );
                println!(
                    "  buy-back decisions (not in the trades above): {} followed, {} diverged; independent trades: {}, {}",
                    r.decisions.followed,
                    r.decisions.diverged,
                    r.independent.n,
                    r.independent.total_pnl.to_dollars_display()
                );
            }
            serde_json::to_value(&r)?
        }
        AnalyticsKind::TopModifications => {
            let r = app.top_modifications(scope, period).await?;
            if !args.json {
                if r.is_empty() {
                    println!("no modifications, {days}");
                }
                for m in &r {
                    println!(
                        "  {:<14} {:>4}  ({:.0}% of modified trades)",
                        m.modification,
                        m.count,
                        m.share * 100.0
                    );
                }
            }
            serde_json::to_value(&r)?
        }
    };
    app.store().close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(ExitCode::SUCCESS)
}
