//! The learning use cases: the weekly run (for each account, the week's counts and P&L,
//! the patterns of the look-back, what they do to the candidates, validation of
//! implemented changes, and the summary message), summaries listed, shown and reviewed,
//! the trader's decisions on candidates, and the items the analytics and charts read.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{App, Posts};
use crate::config::Settings;
use crate::domain::{AccountId, Money, day_of};
use crate::domain::{MessageKind, Week};
use crate::learning::analytics;
use crate::learning::candidates::{
    self, Candidate, Decision, Final, State, Step, ValidationReport,
};
use crate::learning::insight;
use crate::learning::ledger::{self, Ledger};
use crate::learning::summary::{Counts, Digest, render};
use crate::learning::{DayRange, Item};
use crate::store::{
    AuditEntry, NewMessage, NewSummary, Result, Scope, Store, StoredSummary, Transition,
};

/// What a weekly run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WeeklyReport {
    pub week: String,
    pub accounts: usize,
    pub patterns: usize,
    pub proposed: usize,
    pub updated: usize,
    pub reproposed: usize,
    pub validations_started: usize,
    pub validation_reports: usize,
    /// Messages enqueued for the chats (new ones; a re-run adds none).
    pub posted: usize,
}

/// The days the patterns of `week` are computed over.
pub fn lookback(week: Week, weeks: u32) -> (NaiveDate, NaiveDate) {
    (week.minus(weeks.saturating_sub(1)).monday(), week.sunday())
}

/// What a weekly run changed for one account, beside its summary: the candidates it
/// proposed (new or again) and those whose validation report it wrote.
#[derive(Debug, Clone, Default)]
pub struct WeekNews {
    pub proposed: Vec<Candidate>,
    pub reported: Vec<Candidate>,
}

/// Generates (or regenerates) the summaries of `week`, for one account or every account
/// with items in the look-back. A regenerated week keeps its review. Nothing is posted.
pub async fn weekly(
    store: &Store,
    settings: &Settings,
    week: Week,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(WeeklyReport, Vec<NewSummary>)> {
    weekly_with_posts(store, settings, None, week, account, now).await
}

impl App {
    /// The Saturday run: the summaries of `week` for every account with items in its
    /// look-back, and one set of posts per served account (the summary with a "mark
    /// reviewed" button, a card per new candidate and per validation report), queued in
    /// the transaction that stores the summaries. A re-run regenerates the same week
    /// (keeping its review) and its posts' keys are already in the outbox.
    pub async fn weekly_summary(&self, week: Week, now: DateTime<Utc>) -> Result<WeeklyReport> {
        let posts = (self.posts.as_ref(), self);
        let (report, _) =
            weekly_with_posts(&self.store, &self.settings, Some(posts), week, None, now).await?;
        Ok(report)
    }

    /// Generates (or regenerates) the summaries of `week` for the accounts of `scope`
    /// with items in the look-back, without posting them.
    pub async fn generate_summaries(
        &self,
        scope: Scope,
        week: Week,
        now: DateTime<Utc>,
    ) -> Result<(WeeklyReport, Vec<NewSummary>)> {
        if let Some(account) = scope.account() {
            self.store.require_account(account).await?;
        }
        weekly(&self.store, &self.settings, week, scope.account(), now).await
    }

    /// Every account, ascending.
    pub async fn accounts(&self) -> Result<Vec<AccountId>> {
        self.store.account_ids().await
    }

    /// Generates (or regenerates) one account's summary of `week`, without posting it
    /// (the caller shows it), and returns it as stored.
    pub async fn generate_summary(
        &self,
        account: AccountId,
        week: Week,
        now: DateTime<Utc>,
    ) -> Result<StoredSummary> {
        self.generate_summaries(Scope::Account(account), week, now)
            .await?;
        self.store.summary(account, week).await
    }

    /// One account's stored summary of `week`.
    pub async fn summary(&self, account: AccountId, week: Week) -> Result<StoredSummary> {
        self.store.summary(account, week).await
    }

    /// Stored summaries, newest first, at most `limit`.
    pub async fn summaries(
        &self,
        scope: Scope,
        year: Option<i32>,
        limit: i64,
    ) -> Result<Vec<StoredSummary>> {
        self.store.summaries(scope, year, limit).await
    }

    /// Sets a summary's review status (and notes, when given).
    pub async fn review_summary(
        &self,
        account: AccountId,
        week: Week,
        status: &str,
        notes: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredSummary> {
        self.store
            .review_summary(account, week, status, notes, now)
            .await
    }

    /// A summary by its id, if `scope` may see it.
    pub async fn summary_by_id(&self, id: i64, scope: Scope) -> Result<StoredSummary> {
        self.store.summary_by_id(id, scope).await
    }

    /// The candidates `scope` may see.
    pub async fn candidates(&self, scope: Scope) -> Result<Vec<Candidate>> {
        self.store.candidates(scope).await
    }

    /// One candidate, if `scope` may see it.
    pub async fn candidate(&self, id: i64, scope: Scope) -> Result<Candidate> {
        self.store.candidate(id, scope).await
    }

    /// One candidate with its audit trail, if `scope` may see it.
    pub async fn candidate_with_history(
        &self,
        id: i64,
        scope: Scope,
    ) -> Result<(Candidate, Vec<AuditEntry>)> {
        let c = self.store.candidate(id, scope).await?;
        let history = self.store.candidate_history(id).await?;
        Ok((c, history))
    }

    /// Records the trader's decision on a candidate.
    pub async fn decide(
        &self,
        scope: Scope,
        id: i64,
        decision: Decision,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Candidate> {
        decide(&self.store, scope, id, decision, reason, actor, now).await
    }

    /// Records the trader's verdict after validation.
    pub async fn finalize(
        &self,
        scope: Scope,
        id: i64,
        verdict: Final,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Candidate> {
        finalize(&self.store, scope, id, verdict, reason, actor, now).await
    }

    /// The learning items of `period` (made in it, or with a side closed in it), for
    /// the accounts of `scope`: what the analytics and the charts read.
    pub async fn items_in(&self, scope: Scope, period: DayRange) -> Result<Vec<Item>> {
        let items = self
            .store
            .learning_items(period.from, period.to, scope.account(), self.settings.tz)
            .await?;
        Ok(items.into_values().flatten().collect())
    }

    /// Analytics: the divergence rate of `period`, and per week.
    pub async fn divergence_rate(
        &self,
        scope: Scope,
        period: DayRange,
    ) -> Result<analytics::DivergenceRate> {
        let items = self.items_in(scope, period).await?;
        Ok(analytics::divergence_rate(&items, period))
    }

    /// Analytics: how the algorithm did when followed and when the trader diverged.
    pub async fn algorithm_accuracy(
        &self,
        scope: Scope,
        period: DayRange,
    ) -> Result<analytics::Accuracy> {
        let items = self.items_in(scope, period).await?;
        Ok(analytics::algorithm_accuracy(&items, period))
    }

    /// Analytics: the most common modifications of `period`.
    pub async fn top_modifications(
        &self,
        scope: Scope,
        period: DayRange,
    ) -> Result<Vec<analytics::ModificationCount>> {
        let items = self.items_in(scope, period).await?;
        Ok(analytics::top_modifications(&items, period))
    }

    /// A chart's data: the divergence rate of each week of `period`, `(week, rate)`.
    pub async fn divergence_chart(
        &self,
        scope: Scope,
        period: DayRange,
    ) -> Result<Vec<(String, f64)>> {
        Ok(self
            .divergence_rate(scope, period)
            .await?
            .weeks
            .iter()
            .map(|w| (w.week.clone(), w.rate))
            .collect())
    }

    /// A chart's data: cumulative realized P&L of `period`, the trader's and the
    /// algorithm's, by the day positions closed (the ledger's figures).
    pub async fn pnl_chart(
        &self,
        scope: Scope,
        period: DayRange,
    ) -> Result<Vec<(NaiveDate, Money, Money)>> {
        let items = self.items_in(scope, period).await?;
        Ok(ledger::cumulative(&items, period))
    }
}

/// The wording of the posts, and who is served.
pub(super) type PostsFor<'a> = (&'a dyn Posts, &'a App);

/// [`weekly`], with the posts of each summary (when `posts` is given) queued in the
/// transaction that stores the summaries.
pub(super) async fn weekly_with_posts(
    store: &Store,
    settings: &Settings,
    posts: Option<PostsFor<'_>>,
    week: Week,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(WeeklyReport, Vec<NewSummary>)> {
    let tz = settings.tz;
    let (from, to) = lookback(week, settings.learning.lookback_weeks);
    let mut candidates = match account {
        Some(a) => BTreeMap::from([(a, store.candidates(Scope::Account(a)).await?)]),
        None => store.candidates_by_account().await?,
    };
    let accounts = match account {
        Some(a) => vec![a],
        None => store.learning_accounts(from, to).await?,
    };
    let mut report = WeeklyReport {
        week: week.label(),
        accounts: accounts.len(),
        ..WeeklyReport::default()
    };
    let mut all = Vec::with_capacity(accounts.len());
    // Accounts are loaded, learned and stored a batch at a time, so memory holds one
    // batch's items, not every account's.
    for batch in accounts.chunks(ACCOUNTS_PER_BATCH) {
        let (first, last) = (batch[0], batch[batch.len() - 1]);
        let mut items = store
            .learning_items_between(from, to, first, last, tz)
            .await?;
        let mut summaries = Vec::with_capacity(batch.len());
        let mut news: BTreeMap<AccountId, WeekNews> = BTreeMap::new();
        for acct in batch {
            let acct_items = items.remove(acct).unwrap_or_default();
            let existing = candidates.remove(acct).unwrap_or_default();
            let (summary, acct_news) = one_account(
                store,
                settings,
                week,
                *acct,
                &acct_items,
                existing,
                &mut report,
                now,
            )
            .await?;
            summaries.push(summary);
            news.insert(*acct, acct_news);
        }
        let mut tx = store.begin().await?;
        let ids = tx.save_summaries(&summaries, now).await?;
        if let Some((wording, app)) = posts {
            let none = WeekNews::default();
            let messages: Vec<NewMessage> = ids
                .iter()
                .zip(&summaries)
                .filter(|(_, s)| app.served(s.account))
                .flat_map(|(id, s)| {
                    let news = news.get(&s.account).unwrap_or(&none);
                    wording
                        .weekly(s.account, week, *id, &s.text, news)
                        .into_iter()
                        .map(|(dedupe_key, payload)| NewMessage {
                            account: s.account,
                            dedupe_key,
                            kind: MessageKind::WeeklySummary,
                            payload,
                            send_after: now,
                        })
                })
                .collect();
            report.posted += tx.enqueue(&messages, now).await?;
        }
        tx.commit().await?;
        all.extend(summaries);
    }
    Ok((report, all))
}

/// Accounts whose items are loaded and summarised together.
const ACCOUNTS_PER_BATCH: usize = 500;

/// One account's week: patterns, candidate steps, validation, the summary.
#[allow(clippy::too_many_arguments)]
async fn one_account(
    store: &Store,
    settings: &Settings,
    week: Week,
    acct: AccountId,
    acct_items: &[Item],
    existing: Vec<Candidate>,
    report: &mut WeeklyReport,
    now: DateTime<Utc>,
) -> Result<(NewSummary, WeekNews)> {
    let today = day_of(now, settings.tz);
    let (from, to) = lookback(week, settings.learning.lookback_weeks);
    let learned = insight::learn(acct_items, DayRange::new(from, to), &settings.learning);
    report.patterns += learned.patterns.len();
    let steps = candidates::plan(&existing, learned.proposals.clone());
    for s in &steps {
        match s {
            Step::Propose(_) => report.proposed += 1,
            Step::Update { .. } => report.updated += 1,
            Step::Repropose { .. } => report.reproposed += 1,
        }
    }
    let open_before: Vec<i64> = existing
        .iter()
        .filter(|c| c.state == State::Proposed)
        .map(|c| c.id)
        .collect();
    let mut current = if steps.is_empty() {
        existing
    } else {
        store.apply_candidate_steps(acct, &steps, now).await?;
        store.candidates(Scope::Account(acct)).await?
    };
    let mut news = WeekNews::default();
    for c in current.iter_mut() {
        if let Some(next) = advance_validation(store, settings, c, today, now).await? {
            if next.report.is_some() {
                report.validation_reports += 1;
                news.reported.push(next.clone());
            } else {
                report.validations_started += 1;
            }
            *c = next;
        }
    }
    news.proposed = current
        .iter()
        .filter(|c| c.state == State::Proposed && !open_before.contains(&c.id))
        .cloned()
        .collect();
    let counts = Counts::of_week(acct_items, week);
    let ledger = Ledger::of(acct_items, DayRange::new(week.monday(), week.sunday()));
    let summary = summary_of(
        acct,
        week,
        counts,
        &ledger,
        &learned,
        &current,
        &settings.learning.candidate_label,
    );
    Ok((summary, news))
}

fn summary_of(
    account: AccountId,
    week: Week,
    counts: Counts,
    ledger: &Ledger,
    learned: &insight::Learned,
    candidates: &[Candidate],
    label: &str,
) -> NewSummary {
    let open: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| matches!(c.state, State::Proposed | State::Deferred))
        .collect();
    let titles: Vec<String> = open.iter().map(|c| c.title.clone()).collect();
    let text = render(&Digest {
        week,
        counts: &counts,
        ledger,
        patterns: &learned.descriptions,
        candidates: &titles,
        label,
    });
    let candidates_json = open
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id,
                "pattern_key": c.pattern_key,
                "subject": c.subject,
                "title": c.title,
                "state": c.state,
                "evidence": c.evidence,
                "change": c.change,
            })
        })
        .collect();
    NewSummary {
        account,
        week,
        counts,
        pnl: ledger.trader_realized(),
        patterns: serde_json::Value::Array(learned.patterns.clone()),
        candidates: serde_json::Value::Array(candidates_json),
        text,
    }
}

/// Moves an implemented candidate into validation, and writes the report of one whose
/// four weeks are over.
async fn advance_validation(
    store: &Store,
    settings: &Settings,
    c: &Candidate,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<Candidate>> {
    match c.state {
        State::Implemented => {
            let implemented = chrono::DateTime::parse_from_rfc3339(&c.updated_at)
                .map(|d| day_of(d.with_timezone(&Utc), settings.tz))
                .unwrap_or(today);
            let from = candidates::validation_start(implemented);
            let t = Transition {
                state: State::Validating,
                actor: "system",
                reason: Some("implemented: validation runs for 4 weeks"),
                validation_from: Some(from),
                report: None,
            };
            Ok(Some(store.transition_candidate(c, t, now).await?))
        }
        State::Validating if c.report.is_none() => {
            let (Some(from), Some(until)) = (c.validation_from, c.validation_until()) else {
                return Ok(None);
            };
            if today <= until {
                return Ok(None);
            }
            let report = validation_report(store, settings, c, from, until).await?;
            let t = Transition {
                state: State::Validating,
                actor: "system",
                reason: Some(&report.sentence),
                validation_from: None,
                report: Some(&report),
            };
            Ok(Some(store.transition_candidate(c, t, now).await?))
        }
        _ => Ok(None),
    }
}

/// Compares the four weeks before validation with the four weeks of it.
pub async fn validation_report(
    store: &Store,
    settings: &Settings,
    c: &Candidate,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<ValidationReport> {
    let span = Duration::weeks(candidates::VALIDATION_WEEKS);
    let account = AccountId(c.account);
    let mut before = store
        .learning_items(
            from - span,
            from - Duration::days(1),
            Some(account),
            settings.tz,
        )
        .await?;
    let mut after = store
        .learning_items(from, until, Some(account), settings.tz)
        .await?;
    let before: Vec<Item> = before.remove(&account).unwrap_or_default();
    let after: Vec<Item> = after.remove(&account).unwrap_or_default();
    Ok(insight::validate(
        c,
        (from - span, from - Duration::days(1), &before),
        (from, until, &after),
        &settings.learning,
    ))
}

/// Records the trader's decision on a candidate.
pub async fn decide(
    store: &Store,
    scope: Scope,
    id: i64,
    decision: Decision,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Candidate> {
    let step = |c: &Candidate| candidates::decide(c, decision, reason);
    trader_step(store, scope, id, step, reason, actor, now).await
}

/// Records the trader's verdict after validation.
pub async fn finalize(
    store: &Store,
    scope: Scope,
    id: i64,
    verdict: Final,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Candidate> {
    let step = |c: &Candidate| candidates::finalize(c, verdict, reason);
    trader_step(store, scope, id, step, reason, actor, now).await
}

/// A transition the trader asked for: the candidate (if the scope may see it), the new
/// state the lifecycle allows, and its audit row.
async fn trader_step(
    store: &Store,
    scope: Scope,
    id: i64,
    step: impl Fn(&Candidate) -> Result<State, candidates::LifecycleError>,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Candidate> {
    let c = store.candidate(id, scope).await?;
    let t = Transition {
        state: step(&c)?,
        actor,
        reason: Some(reason).filter(|r| !r.trim().is_empty()),
        validation_from: None,
        report: None,
    };
    store.transition_candidate(&c, t, now).await
}
