//! Outcome tracking: recompute the outcomes of every match that has none yet or whose
//! outcome is still open or awaiting a price.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::outcome::{Book, Outcome, outcomes_for};
use crate::domain::{AccountId, day_of};
use crate::store::{MatchRecord, NewMessage, Result, Scope, Store};

/// What a tracking run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OutcomeReport {
    pub as_of: Option<NaiveDate>,
    pub matches: usize,
    /// Outcome rows written, by status.
    pub statuses: BTreeMap<String, usize>,
}

pub async fn run(
    store: &Store,
    tz: Tz,
    as_of: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<OutcomeReport> {
    run_with_posts(store, tz, as_of, account, now, |_, _| Vec::new()).await
}

/// [`run`], and enqueues what `posts` makes of each account's matches whose outcomes
/// became final in this run (each carrying its new outcomes) in the transaction that
/// writes them, so a crash cannot lose the posts: final outcomes are never recomputed,
/// a later run would not see them again.
pub async fn run_with_posts(
    store: &Store,
    tz: Tz,
    as_of: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
    posts: impl Fn(AccountId, &[MatchRecord]) -> Vec<NewMessage>,
) -> Result<OutcomeReport> {
    let (inputs, closes) = store.outcome_inputs(as_of, account, tz).await?;
    let mut rows = Vec::new();
    let mut report = OutcomeReport {
        as_of: Some(as_of),
        ..OutcomeReport::default()
    };
    for input in inputs {
        // Only what was known on `as_of` counts.
        let known: Vec<_> = input
            .executions
            .into_iter()
            .filter(|e| day_of(e.executed_at, tz) <= as_of)
            .collect();
        let book = Book::build(&known, &closes, as_of, tz);
        for (id, view) in &input.matches {
            report.matches += 1;
            for o in outcomes_for(view, &book, &known, &closes, as_of, tz) {
                *report
                    .statuses
                    .entry(o.status.as_str().to_owned())
                    .or_default() += 1;
                rows.push((input.account, *id, o));
            }
        }
    }
    let mut settled: BTreeMap<AccountId, BTreeMap<i64, Vec<Outcome>>> = BTreeMap::new();
    for (account, id, o) in &rows {
        if o.status.is_final() {
            settled
                .entry(*account)
                .or_default()
                .entry(*id)
                .or_default()
                .push(o.clone());
        }
    }
    let mut messages: Vec<NewMessage> = Vec::new();
    for (account, by_match) in settled {
        let mut records = Vec::with_capacity(by_match.len());
        for (id, outcomes) in by_match {
            let mut m = store.match_detail(id, Scope::Account(account)).await?;
            m.outcomes = Some(outcomes);
            records.push(m);
        }
        messages.extend(posts(account, &records));
    }
    store
        .write_outcomes_and_enqueue(&rows, &messages, now)
        .await?;
    Ok(report)
}
