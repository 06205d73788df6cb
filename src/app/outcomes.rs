//! Track outcomes (a use case): recompute the outcomes of every match that has none yet
//! or whose outcome is still open or awaiting a price, and queue the posts of what
//! became final in the transaction that writes them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::App;
use crate::domain::MessageKind;
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

impl App {
    /// Tracks the outcomes of `scope` as of `as_of`, and queues the posts of the served
    /// accounts' matches whose outcomes became final, in the same transaction: final
    /// outcomes are never recomputed, so a later run would not see them again.
    pub async fn track_outcomes(
        &self,
        scope: Scope,
        as_of: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<OutcomeReport> {
        let posts = |account: AccountId, settled: &[MatchRecord]| -> Vec<NewMessage> {
            if !self.served(account) {
                return Vec::new();
            }
            self.posts
                .outcomes(as_of, account, settled)
                .into_iter()
                .map(|(dedupe_key, payload)| NewMessage {
                    account,
                    dedupe_key,
                    kind: MessageKind::Outcomes,
                    payload,
                    send_after: now,
                })
                .collect()
        };
        run_with_posts(
            &self.store,
            self.settings.tz,
            as_of,
            scope.account(),
            now,
            posts,
        )
        .await
    }
}

/// Tracks outcomes as of `as_of` for one account or all; queues nothing.
pub async fn run(
    store: &Store,
    tz: Tz,
    as_of: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<OutcomeReport> {
    run_with_posts(store, tz, as_of, account, now, |_, _| Vec::new()).await
}

/// [`run`], with the messages `posts` makes of each account's newly final matches
/// (each carrying its new outcomes) queued in the transaction that writes them.
async fn run_with_posts(
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
    let mut tx = store.begin().await?;
    tx.write_outcomes(&rows, now).await?;
    tx.enqueue(&messages, now).await?;
    tx.commit().await?;
    Ok(report)
}
