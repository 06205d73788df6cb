//! The wording of the messages the use cases queue (the nightly reconciliation, outcomes,
//! the Saturday run, failure notices), built purely from what they produced: each with
//! a dedupe key unique per message, so the outbox sends it once however often a job
//! re-runs. [`BotPosts`] hands them to the application layer (its `Posts` port) at
//! start-up.

use chrono::{Datelike, NaiveDate};

use super::keyboards;
use super::messages::{self, MAX_MESSAGE};
use crate::app::Posts;
use crate::app::learning::WeekNews;
use crate::app::scheduler::Job;
use crate::domain::reconcile::ClosureNotice;
use crate::domain::{AccountId, Outgoing, Week};
use crate::store::MatchRecord;

/// The bot's wording, as the application layer's [`Posts`] port.
#[derive(Debug, Clone, Copy, Default)]
pub struct BotPosts;

impl Posts for BotPosts {
    fn reconciliation(
        &self,
        day: NaiveDate,
        account: AccountId,
        matches: &[MatchRecord],
        closure: Option<&ClosureNotice>,
    ) -> Vec<(String, Outgoing)> {
        reconciliation_posts(day, account, matches, closure)
    }

    fn outcomes(
        &self,
        day: NaiveDate,
        account: AccountId,
        settled: &[MatchRecord],
    ) -> Vec<(String, Outgoing)> {
        outcome_posts(day, account, settled)
    }

    fn weekly(
        &self,
        account: AccountId,
        week: Week,
        summary_id: i64,
        text: &str,
        news: &WeekNews,
    ) -> Vec<(String, Outgoing)> {
        weekly_posts(account, week, summary_id, text, news)
    }

    fn job_failed(&self, job: Job, day: NaiveDate) -> Outgoing {
        failure_notice(job, day)
    }
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

/// A night's reconciliation for one account: a summary line of the day, then one short
/// card per divergence (modify, reject, independent) with the nine reason buttons (a
/// card whose reason is already recorded shows it and has no buttons).
///
/// `matches` are the account's matches of `day` (e.g. `store.matches` with
/// `from = to = day`, `account`). Keys: `recon:ACCOUNT:DAY:summary` and
/// `recon:ACCOUNT:DAY:match:ID`.
pub fn reconciliation_posts(
    day: NaiveDate,
    account: AccountId,
    matches: &[MatchRecord],
    closure: Option<&ClosureNotice>,
) -> Vec<(String, Outgoing)> {
    let mut posts = Vec::new();
    let summary = messages::reconciliation_summary(day, matches, closure);
    for (i, part) in messages::split(&summary, MAX_MESSAGE)
        .into_iter()
        .enumerate()
    {
        let key = if i == 0 {
            format!("recon:{account}:{day}:summary")
        } else {
            format!("recon:{account}:{day}:summary:{i}")
        };
        posts.push((key, text(part, Vec::new())));
    }
    for m in matches
        .iter()
        .filter(|m| m.account == account && m.match_type.is_divergence())
    {
        let keyboard = if m.reason_code.is_none() {
            keyboards::reasons(m.id)
        } else {
            Vec::new()
        };
        posts.push((
            format!("recon:{account}:{day}:match:{}", m.id),
            card(messages::reason_card(m), keyboard),
        ));
    }
    posts
}

/// Outcome updates for one account as of `as_of`: the matches' outcomes, actual vs the
/// algorithm, in as many messages as the length limit needs (none when no match has an
/// outcome yet).
///
/// `matches` carry their outcomes (`MatchRecord::outcomes`, as `store.match_detail`
/// returns them); those without are skipped. Keys: `outcomes:ACCOUNT:AS_OF:PART`.
pub fn outcome_posts(
    as_of: NaiveDate,
    account: AccountId,
    matches: &[MatchRecord],
) -> Vec<(String, Outgoing)> {
    let tracked: Vec<MatchRecord> = matches
        .iter()
        .filter(|m| m.account == account && m.outcomes.as_ref().is_some_and(|o| !o.is_empty()))
        .cloned()
        .collect();
    if tracked.is_empty() {
        return Vec::new();
    }
    messages::split(&messages::outcomes_update(as_of, &tracked), MAX_MESSAGE)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            (
                format!("outcomes:{account}:{as_of}:{i}"),
                text(part, Vec::new()),
            )
        })
        .collect()
}

/// The Saturday posts of one account: the weekly summary (its text, escaped, in as many
/// messages as the limit needs, the last with "mark reviewed"), then a card with
/// implement / defer / reject for every candidate proposed this week, and a card with
/// keep / roll back / modify for every validation report written this week.
///
/// Keys: `summary:ACCOUNT:WEEK[:PART]`, `candidate:ACCOUNT:ID:WEEK`,
/// `validation:ACCOUNT:ID`.
pub fn weekly_posts(
    account: AccountId,
    week: Week,
    summary_id: i64,
    summary_text: &str,
    news: &WeekNews,
) -> Vec<(String, Outgoing)> {
    let parts = messages::split(&messages::esc(summary_text), MAX_MESSAGE);
    let last = parts.len().saturating_sub(1);
    let mut posts: Vec<(String, Outgoing)> = parts
        .into_iter()
        .enumerate()
        .map(|(i, html)| {
            let key = if i == 0 {
                format!("summary:{account}:{}", week.label())
            } else {
                format!("summary:{account}:{}:{i}", week.label())
            };
            let keyboard = if i == last {
                keyboards::reviewed(summary_id)
            } else {
                Vec::new()
            };
            (key, text(html, keyboard))
        })
        .collect();
    for c in &news.proposed {
        posts.push((
            format!("candidate:{account}:{}:{}", c.id, week.label()),
            card(messages::candidate_card(c), keyboards::decisions(c.id)),
        ));
    }
    for c in &news.reported {
        posts.push((
            format!("validation:{account}:{}", c.id),
            card(messages::candidate_card(c), keyboards::verdicts(c.id)),
        ));
    }
    posts
}

fn text(html: String, keyboard: Vec<Vec<crate::domain::Button>>) -> Outgoing {
    Outgoing::Text { html, keyboard }
}

/// A card is short by construction; were it ever not, it is cut to the limit rather than
/// sent and refused.
fn card(html: String, keyboard: Vec<Vec<crate::domain::Button>>) -> Outgoing {
    let html = messages::split(&html, MAX_MESSAGE)
        .into_iter()
        .next()
        .unwrap_or_default();
    text(html, keyboard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MatchType;
    use crate::store::DifferencesRecord;

    fn record(id: i64, t: MatchType, underlying: &str) -> MatchRecord {
        MatchRecord {
            id,
            account: AccountId(7),
            day: NaiveDate::from_ymd_opt(2025, 2, 3).unwrap(),
            match_type: t,
            underlying: underlying.to_owned(),
            recommendation: Some("R<1>".to_owned()),
            executions: vec![],
            modifications: vec!["dte+7".to_owned()],
            differences: DifferencesRecord {
                strike: None,
                dte: Some(7),
                contracts: None,
                premium: None,
            },
            reason_code: None,
            reason_text: None,
            reason_at: None,
            outcomes: None,
        }
    }

    #[test]
    fn a_night_posts_a_summary_and_one_card_per_divergence() {
        let day = NaiveDate::from_ymd_opt(2025, 2, 3).unwrap();
        let matches = vec![
            record(1, MatchType::Consent, "AAPL"),
            record(2, MatchType::Modify, "A&B"),
            record(3, MatchType::Reject, "TSLA"),
            record(4, MatchType::NoAction, "MSFT"),
            record(5, MatchType::Independent, "NVDA"),
        ];
        let posts = reconciliation_posts(day, AccountId(7), &matches, None);
        let keys: Vec<&str> = posts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "recon:7:2025-02-03:summary",
                "recon:7:2025-02-03:match:2",
                "recon:7:2025-02-03:match:3",
                "recon:7:2025-02-03:match:5"
            ]
        );
        let Outgoing::Text { html, keyboard } = &posts[1].1 else {
            panic!()
        };
        assert!(html.contains("A&amp;B"), "{html}");
        assert_eq!(keyboard.iter().flatten().count(), 9);
        let Outgoing::Text { html, .. } = &posts[0].1 else {
            panic!()
        };
        assert!(html.contains("3 divergences"), "{html}");
    }

    #[test]
    fn outcome_posts_skip_untracked_matches_and_split_long_updates() {
        use crate::domain::outcome::{Basis, Outcome};
        use crate::domain::{Money, OutcomeStatus, Side};
        let day = NaiveDate::from_ymd_opt(2025, 2, 3).unwrap();
        assert!(outcome_posts(day, AccountId(7), &[record(1, MatchType::Consent, "X")]).is_empty());
        let outcome = Outcome {
            side: Side::Actual,
            basis: Basis::Position,
            status: OutcomeStatus::Expired,
            contracts: 1,
            opened_day: day,
            closed_day: Some(day),
            premium: Money::from_units(10_000),
            close_cost: Some(Money::ZERO),
            fees: Money::ZERO,
            realized_pnl: Some(Money::from_units(10_000)),
            days_held: Some(0),
            return_on_capital_bp: None,
        };
        let many: Vec<MatchRecord> = (1..=300)
            .map(|i| {
                let mut m = record(i, MatchType::Consent, "AAPL");
                m.outcomes = Some(vec![outcome.clone(), outcome.clone()]);
                m
            })
            .collect();
        let posts = outcome_posts(day, AccountId(7), &many);
        assert!(posts.len() > 1);
        for (_, p) in &posts {
            let Outgoing::Text { html, .. } = p else {
                panic!()
            };
            assert!(messages::telegram_len(html) <= MAX_MESSAGE);
        }
        let keys: std::collections::BTreeSet<_> = posts.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys.len(), posts.len());
    }
}

#[cfg(test)]
mod failure_tests {
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
