//! The weekly learning run: for each account, the week's counts and P&L, the patterns
//! of the look-back, what they do to the candidates, validation of implemented changes,
//! and the summary message. Also the trader's decisions on candidates.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::domain::{AccountId, day_of};
use crate::learning::candidates::{
    self, Candidate, Decision, Final, State, Step, ValidationReport,
};
use crate::learning::insight;
use crate::learning::ledger::Ledger;
use crate::learning::summary::{Counts, Digest, Week, render};
use crate::learning::{DayRange, Item};
use crate::store::{NewMessage, NewSummary, Result, Scope, Store, Transition};

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

/// The messages a stored summary (with its row id) and its week's news are posted as.
pub type SummaryPosts<'a> = dyn Fn(i64, &NewSummary, &WeekNews) -> Vec<NewMessage> + Sync + 'a;

/// Generates (or regenerates) the summaries of `week`, for one account or every account
/// with items in the look-back. A regenerated week keeps its review. Nothing is posted.
pub async fn weekly(
    store: &Store,
    settings: &Settings,
    week: Week,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(WeeklyReport, Vec<NewSummary>)> {
    weekly_with_posts(store, settings, week, account, now, &|_, _, _| Vec::new()).await
}

/// [`weekly`], with the posts of each summary enqueued in the transaction that stores
/// the summaries (the Saturday job).
pub async fn weekly_with_posts(
    store: &Store,
    settings: &Settings,
    week: Week,
    account: Option<AccountId>,
    now: DateTime<Utc>,
    posts: &SummaryPosts<'_>,
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
        let none = WeekNews::default();
        let with_news =
            |id: i64, s: &NewSummary| posts(id, s, news.get(&s.account).unwrap_or(&none));
        report.posted += store.save_summaries(&summaries, &with_news, now).await?;
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

/// The last `days` days up to `today`, both included.
pub fn last_days(days: u32, today: NaiveDate) -> DayRange {
    DayRange::new(today - Duration::days(i64::from(days.max(1)) - 1), today)
}

/// The items of the analytics of the last `days` days up to `today` ([`last_days`]),
/// for one account or all.
pub async fn items_of_last_days(
    store: &Store,
    settings: &Settings,
    days: u32,
    today: NaiveDate,
    account: Option<AccountId>,
) -> Result<Vec<Item>> {
    let period = last_days(days, today);
    let items = store
        .learning_items(period.from, period.to, account, settings.tz)
        .await?;
    Ok(items.into_values().flatten().collect())
}
