//! The bodies of the scheduled jobs: what runs at each slot (see [`super::scheduler`] for
//! when, and for the run-once guarantees). Each body is one use case of [`App`].
//!
//! Posts go only to the chats the bot serves (`ALLOWED_USER_IDS`); every account's data
//! is reconciled, tracked and summarised all the same.
//!
//! Every body is idempotent, because a failed or abandoned run is retried:
//!
//! - **Reconcile** ([`App::reconcile_day`]) re-reconciles the slot's local day for all
//!   accounts (a re-run writes nothing new) and queues the posts built from the day's
//!   stored matches — the state, not the delta — under dedupe keys made of account, day
//!   and the post's own key, in the transaction that writes the matches.
//! - **Track outcomes** ([`App::track_outcomes`]) posts what became final in this run;
//!   final outcomes are never recomputed, so those posts are queued in the transaction
//!   that writes the outcomes — otherwise a crash in between would lose them.
//! - **Weekly summary** ([`App::weekly_summary`]) of the slot's ISO week (the Saturday's
//!   week, Monday to Sunday), with its posts queued in the transaction that stores the
//!   summaries.

use std::sync::Arc;

use anyhow::Context;
use futures_util::future::BoxFuture;

use super::App;
use super::scheduler::{Job, JobBodies, Slot};
use crate::domain::{AccountId, Clock, Outgoing, Week};
use crate::store::Scope;

/// The scheduled jobs of the running bot.
pub struct Nightly {
    pub app: App,
    pub clock: Arc<dyn Clock>,
}

impl JobBodies for Nightly {
    fn run(&self, job: Job, slot: Slot) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let now = self.clock.now();
            let day = slot.day();
            match job {
                Job::Reconcile => {
                    let done = self
                        .app
                        .reconcile_day(Scope::All, day, now)
                        .await
                        .with_context(|| format!("reconciling {day}"))?;
                    let r = &done.report;
                    tracing::info!(%day, accounts = r.accounts, written = r.written, "reconciled");
                    tracing::info!(%day, enqueued = done.queued, "reconciliation posts enqueued");
                }
                Job::TrackOutcomes => {
                    let report = self
                        .app
                        .track_outcomes(Scope::All, day, now)
                        .await
                        .with_context(|| format!("tracking outcomes as of {day}"))?;
                    tracing::info!(%day, matches = report.matches, "outcomes tracked");
                }
                Job::WeeklySummary => {
                    let week = Week::of(day);
                    let report = self
                        .app
                        .weekly_summary(week, now)
                        .await
                        .with_context(|| format!("the weekly summary of {}", week.label()))?;
                    tracing::info!(week = %week.label(), accounts = report.accounts,
                        patterns = report.patterns, proposed = report.proposed,
                        "weekly summaries generated");
                    tracing::info!(%day, enqueued = report.posted, "weekly summary posts enqueued");
                }
            }
            Ok(())
        })
    }

    fn failure_notice(&self, job: Job, slot: Slot, _error: &str) -> Outgoing {
        self.app.posts.job_failed(job, slot.day())
    }

    fn recipients(&self, accounts: Vec<AccountId>) -> Vec<AccountId> {
        accounts
            .into_iter()
            .filter(|a| self.app.served(*a))
            .collect()
    }
}
