//! The bodies of the scheduled jobs: what runs at each slot (see `jobs::schedule` for
//! when, and for the run-once guarantees).
//!
//! Posts go only to the chats the bot serves (`ALLOWED_USER_IDS`); every account's data
//! is reconciled, tracked and summarised all the same.
//!
//! Every body is idempotent, because a failed or abandoned run is retried:
//!
//! - **Reconcile** re-reconciles the slot's local day for all accounts (a re-run writes
//!   nothing new), then builds the posts from the day's stored matches — the state, not
//!   the delta — and enqueues them under dedupe keys made of account, day and the post's
//!   own key. A crash between the two leaves the ledger row `running`; the run that
//!   takes it over re-derives the same posts, and the outbox ignores the ones already
//!   there. So each post is enqueued once even though the results and the posts are
//!   written in two transactions.
//! - **Track outcomes** posts what became final in this run; final outcomes are never
//!   recomputed, so those posts are enqueued in the transaction that writes the outcomes
//!   (`Store::write_outcomes_and_enqueue`) — otherwise a crash in between would lose them.
//! - **Weekly summary** of the slot's ISO week (the Saturday's week, Monday to Sunday),
//!   through `jobs::learning::weekly`, which stores the summaries; the posts are built
//!   from the stored summaries, again under dedupe keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures_util::future::BoxFuture;

use crate::bot::{Outgoing, keyboards, messages};
use crate::config::Settings;
use crate::domain::AccountId;
use crate::jobs::schedule::{Clock, Job, JobBodies, Slot};
use crate::learning::summary::Week;
use crate::store::{MatchFilter, MatchRecord, NewMessage, NewSummary, Store};

/// Builds the posts of one account's reconciled day from its matches: `(dedupe key,
/// message)`, the key unique across accounts and days (see `bot::posts`).
pub type ReconciliationPosts = fn(NaiveDate, AccountId, &[MatchRecord]) -> Vec<(String, Outgoing)>;

/// Builds the posts of one account's matches whose outcomes became final as of a day
/// (each match carrying its outcomes): `(dedupe key, message)` as above.
pub type OutcomePosts = fn(NaiveDate, AccountId, &[MatchRecord]) -> Vec<(String, Outgoing)>;

/// How the nightly jobs word their posts.
#[derive(Debug, Clone, Copy)]
pub struct Posts {
    pub reconciliation: ReconciliationPosts,
    pub outcomes: OutcomePosts,
}

impl Posts {
    /// The bot's posts (`bot::posts`).
    pub fn bot() -> Self {
        Self {
            reconciliation: crate::bot::posts::reconciliation_posts,
            outcomes: crate::bot::posts::outcome_posts,
        }
    }

    /// No posts: the jobs only compute and store.
    pub fn none() -> Self {
        Self {
            reconciliation: |_, _, _| Vec::new(),
            outcomes: |_, _, _| Vec::new(),
        }
    }
}

/// The scheduled jobs of the running bot.
pub struct Nightly {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub posts: Posts,
    pub clock: Arc<dyn Clock>,
}

impl JobBodies for Nightly {
    fn run(&self, job: Job, slot: Slot) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let now = self.clock.now();
            let day = slot.day();
            match job {
                Job::Reconcile => {
                    let enqueued = reconcile(
                        &self.store,
                        &self.settings,
                        self.posts.reconciliation,
                        day,
                        now,
                    )
                    .await?;
                    tracing::info!(%day, enqueued, "reconciliation posts enqueued");
                }
                Job::TrackOutcomes => {
                    track(&self.store, &self.settings, self.posts.outcomes, day, now).await?;
                }
                Job::WeeklySummary => {
                    let enqueued =
                        weekly_summary(&self.store, &self.settings, Week::of(day), now).await?;
                    tracing::info!(%day, enqueued, "weekly summary posts enqueued");
                }
            }
            Ok(())
        })
    }

    fn failure_notice(&self, job: Job, slot: Slot, _error: &str) -> Outgoing {
        failure_notice(job, slot.day())
    }

    fn recipients(&self, accounts: Vec<AccountId>) -> Vec<AccountId> {
        accounts
            .into_iter()
            .filter(|a| served(&self.settings, *a))
            .collect()
    }
}

/// Whether the bot talks to `account` at all: only the chats of `ALLOWED_USER_IDS` are
/// served, so only they get posts (the others' data is still reconciled and tracked).
pub fn served(settings: &Settings, account: AccountId) -> bool {
    settings.allowed_user_ids.contains(&account.0)
}

/// The message a trader gets when a scheduled job gave up. The error itself goes to the
/// log, not to the chat.
pub fn failure_notice(job: Job, day: NaiveDate) -> Outgoing {
    let w = day.iso_week();
    let (what, retry) = match job {
        Job::Reconcile => (
            format!("The nightly reconciliation of {day}"),
            format!("/reconcile {day}"),
        ),
        Job::TrackOutcomes => (
            format!("The outcome update of {day}"),
            format!("/track {day}"),
        ),
        Job::WeeklySummary => (
            format!("The weekly summary of {}-W{:02}", w.year(), w.week()),
            format!("/generate {} {}", w.year(), w.week()),
        ),
    };
    Outgoing::Text {
        html: format!(
            "⚠️ {what} failed several times and was not completed; the details are in \
             the bot's log. Send {retry} to try it again."
        ),
        keyboard: Vec::new(),
    }
}

/// Reconciles `day` for every account and enqueues its posts; returns how many posts
/// were new.
pub async fn reconcile(
    store: &Store,
    settings: &Settings,
    posts: ReconciliationPosts,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let report =
        crate::jobs::reconcile::run_day(store, &settings.rules, settings.tz, day, None, now)
            .await
            .with_context(|| format!("reconciling {day}"))?;
    tracing::info!(%day, accounts = report.accounts, written = report.written, "reconciled");
    let filter = MatchFilter {
        from: Some(day),
        to: Some(day),
        ..MatchFilter::default()
    };
    let mut by_account: BTreeMap<AccountId, Vec<MatchRecord>> = BTreeMap::new();
    for m in store.matches(&filter).await? {
        by_account.entry(m.account).or_default().push(m);
    }
    let messages: Vec<NewMessage> = by_account
        .iter()
        .filter(|(account, _)| served(settings, **account))
        .flat_map(|(account, matches)| {
            posts(day, *account, matches)
                .into_iter()
                .map(move |(key, payload)| NewMessage {
                    account: *account,
                    dedupe_key: key,
                    kind: "reconciliation".to_owned(),
                    payload,
                    send_after: now,
                })
        })
        .collect();
    Ok(store.enqueue(&messages, now).await?)
}

/// Tracks outcomes as of `day` and enqueues the posts of what became final, in the same
/// transaction.
pub async fn track(
    store: &Store,
    settings: &Settings,
    posts: OutcomePosts,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let report = crate::jobs::outcomes::run_with_posts(
        store,
        settings.tz,
        day,
        None,
        now,
        |account, settled| {
            if !served(settings, account) {
                return Vec::new();
            }
            posts(day, account, settled)
                .into_iter()
                .map(|(key, payload)| NewMessage {
                    account,
                    dedupe_key: key,
                    kind: "outcomes".to_owned(),
                    payload,
                    send_after: now,
                })
                .collect()
        },
    )
    .await
    .with_context(|| format!("tracking outcomes as of {day}"))?;
    tracing::info!(%day, matches = report.matches, "outcomes tracked");
    Ok(())
}

/// The weekly learning summary of `week` for every account with items in its look-back
/// (`jobs::learning::weekly_with_posts`), with one post per served account — the
/// summary's text with a "mark reviewed" button, under the key `summary:ACCOUNT:WEEK` —
/// enqueued in the transaction that stores the summaries. A re-run regenerates the same
/// week (keeping its review) and its posts' keys are already in the outbox. Returns how
/// many posts were new.
pub async fn weekly_summary(
    store: &Store,
    settings: &Settings,
    week: Week,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let posts = |id: i64, s: &NewSummary| {
        if served(settings, s.account) {
            summary_posts(id, s.account, &s.text, week, now)
        } else {
            Vec::new()
        }
    };
    let (report, _) =
        crate::jobs::learning::weekly_with_posts(store, settings, week, None, now, &posts)
            .await
            .with_context(|| format!("the weekly summary of {}", week.label()))?;
    tracing::info!(week = %week.label(), accounts = report.accounts, patterns = report.patterns,
        proposed = report.proposed, "weekly summaries generated");
    Ok(report.posted)
}

/// The posts of one stored summary: its text (plain, escaped here) in as many messages
/// as the length limit needs, the last with the "mark reviewed" button.
fn summary_posts(
    id: i64,
    account: AccountId,
    text: &str,
    week: Week,
    now: DateTime<Utc>,
) -> Vec<NewMessage> {
    let parts = messages::split(&messages::esc(text), messages::MAX_MESSAGE);
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, html)| NewMessage {
            account,
            dedupe_key: if i == 0 {
                format!("summary:{account}:{}", week.label())
            } else {
                format!("summary:{account}:{}:{i}", week.label())
            },
            kind: "weekly_summary".to_owned(),
            payload: Outgoing::Text {
                html,
                keyboard: if i == last {
                    keyboards::reviewed(id)
                } else {
                    Vec::new()
                },
            },
            send_after: now,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_notice_names_the_run_and_the_command_that_retries_it() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let text = |job| match failure_notice(job, day) {
            Outgoing::Text { html, .. } => html,
            Outgoing::Photo { .. } => String::new(),
        };
        assert!(text(Job::Reconcile).contains("reconciliation of 2026-03-14"));
        assert!(text(Job::Reconcile).contains("/reconcile 2026-03-14"));
        assert!(text(Job::TrackOutcomes).contains("/track 2026-03-14"));
        assert!(text(Job::WeeklySummary).contains("2026-W11"));
        assert!(text(Job::WeeklySummary).contains("/generate 2026 11"));
    }
}
