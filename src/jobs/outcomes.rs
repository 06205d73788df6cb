//! Outcome tracking: recompute the outcomes of every match that has none yet or whose
//! outcome is still open or awaiting a price.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::outcome::{Book, outcomes_for};
use crate::domain::{AccountId, day_of};
use crate::store::{Result, Store};

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
    store.write_outcomes(&rows, now).await?;
    Ok(report)
}
