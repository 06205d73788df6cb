//! Reconciling days: load from the store, decide in the domain, write back; then
//! revisit later days already reconciled whose open recommendations a re-run may have
//! changed (a late import for an old day ripples forward through the window).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::reconcile::{MatchRules, reconcile_day};
use crate::domain::{AccountId, MatchType};
use crate::store::{Result, Store};

/// What reconciling one day produced.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DayReport {
    pub day: Option<NaiveDate>,
    pub accounts: usize,
    /// Rows of the day by match type.
    pub counts: BTreeMap<String, usize>,
    /// Rows inserted, changed or removed (0 when a re-run found nothing new).
    pub written: usize,
    /// Later days revisited because this day changed.
    pub revisited: Vec<NaiveDate>,
}

/// Reconciles `day` for one account or all, then revisits affected later days.
pub async fn run_day(
    store: &Store,
    rules: &MatchRules,
    tz: Tz,
    day: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<DayReport> {
    let (mut report, accounts) = one_day(store, rules, tz, day, account, now).await?;
    report.day = Some(day);
    if report.written == 0 {
        return Ok(report);
    }
    // Work list of (day, accounts) to revisit, in day order.
    let span = Duration::days(rules.window.max_span_days());
    let mut work: BTreeMap<NaiveDate, BTreeSet<AccountId>> = BTreeMap::new();
    let seed = store
        .reconciled_days_between(day, day + span, &accounts)
        .await?;
    for (d, accts) in seed {
        work.entry(d).or_default().extend(accts);
    }
    while let Some((d, accts)) = work.pop_first() {
        report.revisited.push(d);
        for a in accts {
            let (r, _) = one_day(store, rules, tz, d, Some(a), now).await?;
            if r.written > 0 {
                for (later, more) in store.reconciled_days_between(d, d + span, &[a]).await? {
                    work.entry(later).or_default().extend(more);
                }
            }
        }
    }
    Ok(report)
}

async fn one_day(
    store: &Store,
    rules: &MatchRules,
    tz: Tz,
    day: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(DayReport, Vec<AccountId>)> {
    let started = std::time::Instant::now();
    let data = store.load_day(day, rules.window.clone(), account).await?;
    let loaded = started.elapsed();
    let accounts: Vec<AccountId> = data.accounts().into_iter().collect();
    let empty = Vec::new();
    let results: Vec<_> = accounts
        .iter()
        .map(|a| {
            let recs = data.recs.get(a).unwrap_or(&empty);
            let execs = data.executions.get(a).map(Vec::as_slice).unwrap_or(&[]);
            (*a, reconcile_day(day, recs, execs, rules, tz))
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in MatchType::ALL {
        counts.insert(t.as_str().to_owned(), 0);
    }
    for (_, drafts) in &results {
        for d in drafts {
            *counts.entry(d.match_type.as_str().to_owned()).or_default() += 1;
        }
    }
    let computed = started.elapsed();
    let written = store.write_day(&data, &results, tz, now).await?;
    tracing::debug!(%day, accounts = accounts.len(), ?loaded, ?computed, total = ?started.elapsed(), "reconciled");
    Ok((
        DayReport {
            day: Some(day),
            accounts: accounts.len(),
            counts,
            written,
            revisited: Vec::new(),
        },
        accounts,
    ))
}
