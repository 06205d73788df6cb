//! Reconcile a day (a use case): load from the store, decide in the domain, write back;
//! then revisit later days already reconciled whose open recommendations a re-run may
//! have changed (a late import for an old day ripples forward through the window). The
//! day, its revisits and the posts that report it are written in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{App, Posts};
use crate::domain::MessageKind;
use crate::domain::reconcile::{ClosureNotice, MatchRules, closure_notice, reconcile_day};
use crate::domain::{AccountId, MatchType};
use crate::store::{MatchFilter, MatchRecord, NewMessage, Result, Scope, Store, Tx};

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

/// What reconciling a day through [`App::reconcile_day`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub report: DayReport,
    /// Posts newly queued for the day (0 when they were queued before).
    pub queued: usize,
}

impl App {
    /// Reconciles `day` for the accounts of `scope`, revisits affected later days, and
    /// queues the day's posts (its state, not the delta) for the served accounts under
    /// keys made of account, day and post — so the nightly run, `/reconcile` and the
    /// API queue each card once — all in one transaction.
    pub async fn reconcile_day(
        &self,
        scope: Scope,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Reconciled> {
        let account = scope.account();
        let s = &self.settings;
        let mut tx = self.store.begin().await?;
        let (report, closures) = run_day_in(&mut tx, &s.rules, s.tz, day, account, now).await?;
        let queued = queue_day_posts(&mut tx, self, day, account, &closures, now).await?;
        tx.commit().await?;
        Ok(Reconciled { report, queued })
    }
}

/// Up to this many served accounts, a day's posts read each one's matches on its own.
const SERVED_READ_ONE_BY_ONE: usize = 50;

/// The posts of the day's stored matches, per served account, queued in `tx`.
async fn queue_day_posts(
    tx: &mut Tx,
    app: &App,
    day: NaiveDate,
    account: Option<AccountId>,
    closures: &Closures,
    now: DateTime<Utc>,
) -> Result<usize> {
    // Only served accounts hear of their day, so only their matches are read: a night
    // holds tens of thousands of rows of other accounts (and the command line serves
    // none). A few served accounts are read one by one, many in one read of the day.
    let served: BTreeSet<AccountId> = match account {
        Some(a) => BTreeSet::from([a]),
        None => app
            .settings
            .allowed_user_ids
            .iter()
            .map(|&id| AccountId(id))
            .collect(),
    };
    let served: Vec<AccountId> = served.into_iter().filter(|a| app.served(*a)).collect();
    let filter = |account| MatchFilter {
        from: Some(day),
        to: Some(day),
        account,
        ..MatchFilter::default()
    };
    let mut by_account: BTreeMap<AccountId, Vec<MatchRecord>> = BTreeMap::new();
    if served.len() <= SERVED_READ_ONE_BY_ONE {
        for a in &served {
            let matches = tx.matches(&filter(Some(*a))).await?;
            if !matches.is_empty() {
                by_account.insert(*a, matches);
            }
        }
    } else {
        for m in tx.matches(&filter(account)).await? {
            by_account.entry(m.account).or_default().push(m);
        }
    }
    // An account with nothing decided on a closed day still hears what stays open.
    for a in closures.keys() {
        by_account.entry(*a).or_default();
    }
    let posts: &dyn Posts = app.posts.as_ref();
    let messages: Vec<NewMessage> = by_account
        .iter()
        .filter(|(account, _)| app.served(**account))
        .flat_map(|(account, matches)| {
            posts
                .reconciliation(day, *account, matches, closures.get(account))
                .into_iter()
                .map(move |(key, payload)| NewMessage {
                    account: *account,
                    dedupe_key: key,
                    kind: MessageKind::Reconciliation,
                    payload,
                    send_after: now,
                })
        })
        .collect();
    tx.enqueue(&messages, now).await
}

/// Reconciles `day` for one account or all, then revisits affected later days, in a
/// transaction of its own; queues nothing.
pub async fn run_day(
    store: &Store,
    rules: &MatchRules,
    tz: Tz,
    day: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<DayReport> {
    let mut tx = store.begin().await?;
    let (report, _) = run_day_in(&mut tx, rules, tz, day, account, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// [`run_day`] inside a caller's transaction; also what a closure kept open that day.
pub(super) async fn run_day_in(
    tx: &mut Tx,
    rules: &MatchRules,
    tz: Tz,
    day: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(DayReport, Closures)> {
    let (mut report, accounts, closures) = one_day(tx, rules, tz, day, account, now).await?;
    report.day = Some(day);
    if report.written == 0 {
        return Ok((report, closures));
    }
    // Work list of (day, accounts) to revisit, in day order.
    let span = Duration::days(rules.window.max_span_days());
    let mut work: BTreeMap<NaiveDate, BTreeSet<AccountId>> = BTreeMap::new();
    let seed = tx
        .reconciled_days_between(day, day + span, &accounts)
        .await?;
    for (d, accts) in seed {
        work.entry(d).or_default().extend(accts);
    }
    while let Some((d, accts)) = work.pop_first() {
        report.revisited.push(d);
        for a in accts {
            let (r, _, _) = one_day(tx, rules, tz, d, Some(a), now).await?;
            if r.written > 0 {
                for (later, more) in tx.reconciled_days_between(d, d + span, &[a]).await? {
                    work.entry(later).or_default().extend(more);
                }
            }
        }
    }
    Ok((report, closures))
}

/// `f` over `items` in order, on every core when there are enough items to pay for the
/// threads: each account's day is matched on its own, and a night of 10,000 accounts
/// spends about 150 ms matching on one core (docs/PERFORMANCE.md).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const MIN_PER_THREAD: usize = 500;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len() / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// What the market's closure on a day kept open, per account.
type Closures = BTreeMap<AccountId, ClosureNotice>;

async fn one_day(
    tx: &mut Tx,
    rules: &MatchRules,
    tz: Tz,
    day: NaiveDate,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<(DayReport, Vec<AccountId>, Closures)> {
    let started = std::time::Instant::now();
    let data = tx.load_day(day, &rules.window, account).await?;
    let loaded = started.elapsed();
    let accounts: Vec<AccountId> = data.accounts().into_iter().collect();
    let empty = Vec::new();
    let results = par_map(&accounts, |a| {
        let recs = data.recs.get(a).unwrap_or(&empty);
        let execs = data.executions.get(a).map(Vec::as_slice).unwrap_or(&[]);
        (*a, reconcile_day(day, recs, execs, rules, tz))
    });
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in MatchType::ALL {
        counts.insert(t.as_str().to_owned(), 0);
    }
    for (_, drafts) in &results {
        for d in drafts {
            *counts.entry(d.match_type.as_str().to_owned()).or_default() += 1;
        }
    }
    let closures: Closures = results
        .iter()
        .filter_map(|(a, drafts)| {
            let recs = data.recs.get(a).unwrap_or(&empty);
            closure_notice(day, recs, drafts, rules, tz).map(|c| (*a, c))
        })
        .collect();
    let computed = started.elapsed();
    let written = tx.write_day(&data, &results, tz, now).await?;
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
        closures,
    ))
}
