//! The port through which use cases get their messages worded.
//!
//! Wording belongs to the bot (`bot::posts`, `bot::messages`); the use cases that queue
//! messages (the nightly reconciliation, outcomes, the Saturday run, failure notices)
//! sit below it and must not import it. So they ask this trait, and the entry point
//! hands in an implementation at start-up: `run` the bot's, the command line
//! [`NoPosts`]. Every message is returned with its dedupe key, unique across accounts
//! and days (the outbox ignores a key it already holds, which makes re-runs safe).

use chrono::NaiveDate;

use super::learning::WeekNews;
use super::scheduler::Job;
use crate::domain::reconcile::ClosureNotice;
use crate::domain::{AccountId, Outgoing, Week};
use crate::store::MatchRecord;

/// How the use cases' messages are worded: `(dedupe key, message)` each.
pub trait Posts: Send + Sync {
    /// The posts of one account's reconciled day, from its stored matches, and what
    /// the market's closure that day kept open.
    fn reconciliation(
        &self,
        day: NaiveDate,
        account: AccountId,
        matches: &[MatchRecord],
        closure: Option<&ClosureNotice>,
    ) -> Vec<(String, Outgoing)>;

    /// The posts of one account's matches whose outcomes became final as of `day`
    /// (each match carrying its new outcomes).
    fn outcomes(
        &self,
        day: NaiveDate,
        account: AccountId,
        settled: &[MatchRecord],
    ) -> Vec<(String, Outgoing)>;

    /// The posts of a stored weekly summary (with its row id) and its week's news.
    fn weekly(
        &self,
        account: AccountId,
        week: Week,
        summary_id: i64,
        text: &str,
        news: &WeekNews,
    ) -> Vec<(String, Outgoing)>;

    /// The message a trader gets when a scheduled job of `day` gave up (the error
    /// itself goes to the log, not to the chat).
    fn job_failed(&self, job: Job, day: NaiveDate) -> Outgoing;
}

/// No messages: the use cases only compute and store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPosts;

impl Posts for NoPosts {
    fn reconciliation(
        &self,
        _: NaiveDate,
        _: AccountId,
        _: &[MatchRecord],
        _: Option<&ClosureNotice>,
    ) -> Vec<(String, Outgoing)> {
        Vec::new()
    }

    fn outcomes(&self, _: NaiveDate, _: AccountId, _: &[MatchRecord]) -> Vec<(String, Outgoing)> {
        Vec::new()
    }

    fn weekly(
        &self,
        _: AccountId,
        _: Week,
        _: i64,
        _: &str,
        _: &WeekNews,
    ) -> Vec<(String, Outgoing)> {
        Vec::new()
    }

    fn job_failed(&self, job: Job, day: NaiveDate) -> Outgoing {
        Outgoing::Text {
            html: format!("The scheduled {job} of {day} failed."),
            keyboard: Vec::new(),
        }
    }
}
