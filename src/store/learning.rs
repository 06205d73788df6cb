//! What learning reads (items with their context, both sides' outcomes and the trader's
//! fee schedule) and writes (weekly summaries, candidates and their audit trail).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Result, Scope, Store, StoreError, parse_day, parse_named, parse_ts, ts};
use crate::domain::outcome::Basis;
use crate::domain::{AccountId, MatchType, Money, ReasonCode, Symbol};
use crate::domain::{TradingCalendar, Week};
use crate::learning::candidates::{
    Candidate, LifecycleError, Proposal, State, Step, ValidationReport,
};
use crate::learning::summary::Counts;
use crate::learning::{FeeSchedule, Item, RecFacts, SideOutcome};

/// Items of the accounts `$3..=$4` made in `$1..=$2`, recommended in it (a rejection is
/// dated when its window closes, which may be the next week), or with a side closed in
/// it (a position opened earlier that closed in the period is part of its ledger).
const ITEM_SQL: &str = "SELECT m.id, m.account_id, m.day, m.match_type, m.underlying, \
     m.strike_diff, m.dte_diff, m.contracts_diff, m.modifications, m.reason_code, \
     r.action, r.created_at, r.option_right, r.strike, r.expiration, r.contracts, r.premium, \
     r.underlying_price, r.delta, r.iv, r.iv_rank, r.earnings_date, \
     a.basis AS actual_basis, a.realized_pnl AS actual_pnl, a.closed_day AS actual_closed, \
     a.fees AS actual_fees, \
     g.basis AS algorithm_basis, g.realized_pnl AS algorithm_pnl, \
     g.closed_day AS algorithm_closed, g.fees AS algorithm_fees \
     FROM recommendation_execution_matches m \
     LEFT JOIN recommendations r ON r.id = m.recommendation_id \
     LEFT JOIN position_outcomes a ON a.match_id = m.id AND a.side = 'actual' \
     LEFT JOIN position_outcomes g ON g.match_id = m.id AND g.side = 'algorithm' \
     WHERE m.account_id >= $3 AND m.account_id <= $4 \
     AND ((m.day >= $1 AND m.day <= $2) OR (r.created_day >= $1 AND r.created_day <= $2) \
          OR m.id IN (SELECT o.match_id FROM position_outcomes o \
          WHERE o.closed_day >= $1 AND o.closed_day <= $2 \
          AND o.account_id >= $3 AND o.account_id <= $4))";

/// The trader's fills (expirations and assignments are events, not fills), summed per
/// account: the fee schedule of [`FeeSchedule`].
const FEES_SQL: &str = "SELECT account_id, CAST(SUM(fees) AS BIGINT), CAST(SUM(contracts) AS BIGINT) \
     FROM executions WHERE account_id >= $1 AND account_id <= $2 \
     AND action IN ('sell_to_open', 'buy_to_close', 'buy_to_open', 'sell_to_close') \
     GROUP BY account_id";

/// A weekly summary as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSummary {
    pub id: i64,
    pub account: AccountId,
    pub year: i32,
    pub week: u32,
    pub counts: Counts,
    pub total: usize,
    pub pnl: Money,
    /// The reported patterns with their evidence (JSON of `learning::patterns::Pattern`).
    pub patterns: serde_json::Value,
    /// The candidates shown (id, title, state, evidence).
    pub candidates: serde_json::Value,
    pub text: String,
    pub review_status: String,
    pub review_notes: Option<String>,
    pub reviewed_at: Option<String>,
    pub generated_at: String,
}

/// A summary to store (generation replaces everything but the review).
#[derive(Debug, Clone)]
pub struct NewSummary {
    pub account: AccountId,
    pub week: Week,
    pub counts: Counts,
    pub pnl: Money,
    pub patterns: serde_json::Value,
    pub candidates: serde_json::Value,
    pub text: String,
}

/// Review statuses of a summary.
pub const REVIEW_STATUSES: [&str; 2] = ["pending", "reviewed"];

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

fn json_value(s: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("{what} JSON")))
}

fn item_from(row: &AnyRow, tz: Tz) -> Result<(AccountId, Item)> {
    let account = AccountId(row.try_get("account_id")?);
    let match_type: MatchType =
        parse_named(&row.try_get::<String, _>("match_type")?, "match type")?;
    let underlying: String = row.try_get("underlying")?;
    let day = parse_day(&row.try_get::<String, _>("day")?)?;
    let rec = match row.try_get::<Option<String>, _>("action")? {
        None => None,
        Some(action) => {
            let created = parse_ts(&row.try_get::<String, _>("created_at")?)?;
            let created_local = created.with_timezone(&tz).naive_local();
            let expiration = parse_day(&row.try_get::<String, _>("expiration")?)?;
            let earnings: Option<String> = row.try_get("earnings_date")?;
            Some(RecFacts {
                action: parse_named(&action, "action")?,
                created_local,
                // Learning counts NYSE sessions, the calendar US equity options follow.
                session: TradingCalendar::nyse().session_on_or_after(created_local.date()),
                right: parse_named(&row.try_get::<String, _>("option_right")?, "right")?,
                strike: Money::from_units(row.try_get("strike")?),
                expiration,
                dte: (expiration - created_local.date()).num_days(),
                contracts: row.try_get("contracts")?,
                premium: Money::from_units(row.try_get("premium")?),
                underlying_price: row
                    .try_get::<Option<i64>, _>("underlying_price")?
                    .map(Money::from_units),
                delta: row.try_get("delta")?,
                iv: row.try_get("iv")?,
                iv_rank: row.try_get("iv_rank")?,
                earnings_date: earnings.as_deref().map(parse_day).transpose()?,
            })
        }
    };
    let modifications: String = row.try_get("modifications")?;
    let reason: Option<String> = row.try_get("reason_code")?;
    let item = Item {
        match_id: row.try_get("id")?,
        day,
        match_type,
        underlying: Symbol::parse(&underlying)
            .map_err(|_| StoreError::Corrupt(format!("symbol `{underlying}`")))?,
        rec,
        dte_diff: row.try_get("dte_diff")?,
        strike_diff: row
            .try_get::<Option<i64>, _>("strike_diff")?
            .map(Money::from_units),
        contracts_diff: row.try_get("contracts_diff")?,
        modifications: modifications
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
        reason: reason
            .as_deref()
            .map(|r| parse_named::<ReasonCode>(r, "reason code"))
            .transpose()?,
        actual: side_from(row, "actual")?,
        algorithm: side_from(row, "algorithm")?,
        fee_schedule: FeeSchedule::default(),
    };
    Ok((account, item))
}

/// One side's outcome from the columns `{side}_basis`, `_pnl`, `_closed`, `_fees`.
fn side_from(row: &AnyRow, side: &str) -> Result<Option<SideOutcome>> {
    let Some(basis) = row.try_get::<Option<String>, _>(format!("{side}_basis").as_str())? else {
        return Ok(None);
    };
    let basis = match basis.as_str() {
        "position" => Basis::Position,
        "decision" => Basis::Decision,
        other => return Err(StoreError::Corrupt(format!("outcome basis `{other}`"))),
    };
    Ok(Some(SideOutcome {
        basis,
        pnl: row
            .try_get::<Option<i64>, _>(format!("{side}_pnl").as_str())?
            .map(Money::from_units),
        closed: row
            .try_get::<Option<String>, _>(format!("{side}_closed").as_str())?
            .as_deref()
            .map(parse_day)
            .transpose()?,
        fees: Money::from_units(row.try_get(format!("{side}_fees").as_str())?),
    }))
}

pub(super) fn summary_from(row: &AnyRow) -> Result<StoredSummary> {
    let counts: String = row.try_get("counts")?;
    let week: i64 = row.try_get("week")?;
    let year: i64 = row.try_get("year")?;
    Ok(StoredSummary {
        id: row.try_get("id")?,
        account: AccountId(row.try_get("account_id")?),
        year: year as i32,
        week: week as u32,
        counts: serde_json::from_str(&counts)
            .map_err(|_| StoreError::Corrupt("summary counts".to_owned()))?,
        total: row.try_get::<i64, _>("total")? as usize,
        pnl: Money::from_units(row.try_get("pnl")?),
        patterns: json_value(&row.try_get::<String, _>("patterns")?, "patterns")?,
        candidates: json_value(&row.try_get::<String, _>("candidates")?, "candidates")?,
        text: row.try_get("text")?,
        review_status: row.try_get("review_status")?,
        review_notes: row.try_get("review_notes")?,
        reviewed_at: row.try_get("reviewed_at")?,
        generated_at: row.try_get("generated_at")?,
    })
}

pub(super) const SUMMARY_COLUMNS: &str = "id, account_id, year, week, counts, total, pnl, patterns, \
     candidates, text, review_status, review_notes, reviewed_at, generated_at";

pub(super) const CANDIDATE_COLUMNS: &str = "id, account_id, pattern_key, subject, title, state, \
     proposed_change, evidence, evidence_at_close, created_at, updated_at, validation_from, report";

pub(super) fn candidate_from(row: &AnyRow) -> Result<Candidate> {
    let evidence: String = row.try_get("evidence")?;
    let closed: Option<String> = row.try_get("evidence_at_close")?;
    let report: Option<String> = row.try_get("report")?;
    let created_at: String = row.try_get("created_at")?;
    let bad = |what: &str| StoreError::Corrupt(format!("candidate {what}"));
    Ok(Candidate {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        pattern_key: row.try_get("pattern_key")?,
        subject: row.try_get("subject")?,
        title: row.try_get("title")?,
        state: parse_named(&row.try_get::<String, _>("state")?, "candidate state")?,
        change: json_value(&row.try_get::<String, _>("proposed_change")?, "change")?,
        evidence: serde_json::from_str(&evidence).map_err(|_| bad("evidence"))?,
        evidence_at_close: closed
            .map(|c| serde_json::from_str(&c).map_err(|_| bad("evidence")))
            .transpose()?,
        updated_at: row
            .try_get::<Option<String>, _>("updated_at")?
            .unwrap_or_else(|| created_at.clone()),
        created_at,
        validation_from: row
            .try_get::<Option<String>, _>("validation_from")?
            .as_deref()
            .map(parse_day)
            .transpose()?,
        report: report
            .map(|r| serde_json::from_str::<ValidationReport>(&r).map_err(|_| bad("report")))
            .transpose()?,
    })
}

/// One entry of a candidate's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub evidence: serde_json::Value,
    pub at: String,
}

/// A change to one candidate's state, with who made it and why.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub state: State,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub validation_from: Option<NaiveDate>,
    pub report: Option<&'a ValidationReport>,
}

impl Store {
    /// The items made in `from..=to`, or with a side closed in it, by account (one account
    /// or all), in day order, each with its account's fee schedule. Streamed: memory holds
    /// the items, not the rows.
    pub async fn learning_items(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        account: Option<AccountId>,
        tz: Tz,
    ) -> Result<BTreeMap<AccountId, Vec<Item>>> {
        match account {
            Some(a) => self.learning_items_between(from, to, a, a, tz).await,
            None => {
                self.learning_items_between(from, to, AccountId(i64::MIN), AccountId(i64::MAX), tz)
                    .await
            }
        }
    }

    /// [`Store::learning_items`] of the accounts `first..=last`.
    pub async fn learning_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        first: AccountId,
        last: AccountId,
        tz: Tz,
    ) -> Result<BTreeMap<AccountId, Vec<Item>>> {
        let mut schedules: BTreeMap<AccountId, FeeSchedule> = BTreeMap::new();
        for row in sqlx::query(FEES_SQL)
            .bind(first.0)
            .bind(last.0)
            .fetch_all(&self.pool)
            .await?
        {
            let fees: Option<i64> = row.try_get(1)?;
            let contracts: Option<i64> = row.try_get(2)?;
            schedules.insert(
                AccountId(row.try_get(0)?),
                FeeSchedule {
                    fees: Money::from_units(fees.unwrap_or(0)),
                    contracts: contracts.unwrap_or(0),
                },
            );
        }
        let sql = format!("{ITEM_SQL} ORDER BY m.account_id, m.day, m.id");
        let mut rows = sqlx::query(&sql)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(first.0)
            .bind(last.0)
            .fetch(&self.pool);
        let mut out: BTreeMap<AccountId, Vec<Item>> = BTreeMap::new();
        while let Some(row) = rows.try_next().await? {
            let (account, mut item) = item_from(&row, tz)?;
            item.fee_schedule = schedules.get(&account).copied().unwrap_or_default();
            out.entry(account).or_default().push(item);
        }
        Ok(out)
    }

    /// The accounts with items made in `from..=to` or with a side closed in it, ascending.
    pub async fn learning_accounts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT account_id FROM recommendation_execution_matches \
             WHERE day >= $1 AND day <= $2 \
             UNION SELECT account_id FROM position_outcomes \
             WHERE closed_day >= $1 AND closed_day <= $2 ORDER BY account_id",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(AccountId(r.try_get(0)?))).collect()
    }

    /// Stores summaries in a transaction of their own (see [`save_summaries_in`]);
    /// returns their row ids, in order.
    pub async fn save_summaries(
        &self,
        summaries: &[NewSummary],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let ids = save_summaries_in(&mut tx, summaries, now).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// One week's summary of an account.
    pub async fn summary(&self, account: AccountId, week: Week) -> Result<StoredSummary> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM weekly_learning_summaries \
             WHERE account_id = $1 AND year = $2 AND week = $3"
        );
        let row = sqlx::query(&sql)
            .bind(account.0)
            .bind(i64::from(week.year))
            .bind(i64::from(week.week))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "there is no summary for {week} yet (generate it first)"
                ))
            })?;
        summary_from(&row)
    }

    /// Summaries, newest first; of one year if given.
    pub async fn summaries(
        &self,
        scope: Scope,
        year: Option<i32>,
        limit: i64,
    ) -> Result<Vec<StoredSummary>> {
        let mut sql =
            format!("SELECT {SUMMARY_COLUMNS} FROM weekly_learning_summaries WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if let Scope::Account(_) = scope {
            sql.push_str(&format!(" AND account_id = ${}", next()));
        }
        if year.is_some() {
            sql.push_str(&format!(" AND year = ${}", next()));
        }
        sql.push_str(&format!(
            " ORDER BY year DESC, week DESC, account_id LIMIT ${}",
            next()
        ));
        let mut q = sqlx::query(&sql);
        if let Scope::Account(a) = scope {
            q = q.bind(a.0);
        }
        if let Some(y) = year {
            q = q.bind(i64::from(y));
        }
        q = q.bind(limit);
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary_from)
            .collect()
    }

    /// Records the trader's review of a week's summary.
    pub async fn review_summary(
        &self,
        account: AccountId,
        week: Week,
        status: &str,
        notes: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredSummary> {
        if !REVIEW_STATUSES.contains(&status) {
            return Err(StoreError::NotFound(format!(
                "unknown review status '{status}' (expected one of: {})",
                REVIEW_STATUSES.join(", ")
            )));
        }
        let done = sqlx::query(
            "UPDATE weekly_learning_summaries SET review_status = $1, \
             review_notes = COALESCE($2, review_notes), reviewed_at = $3 \
             WHERE account_id = $4 AND year = $5 AND week = $6",
        )
        .bind(status)
        .bind(notes.map(str::to_owned))
        .bind(ts(now))
        .bind(account.0)
        .bind(i64::from(week.year))
        .bind(i64::from(week.week))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "there is no summary for {week} yet (generate it first)"
            )));
        }
        self.summary(account, week).await
    }

    /// Candidates (not their audit rows), by account then id.
    pub async fn candidates(&self, scope: Scope) -> Result<Vec<Candidate>> {
        let mut sql =
            format!("SELECT {CANDIDATE_COLUMNS} FROM algorithm_changes WHERE candidate_id IS NULL");
        if let Scope::Account(_) = scope {
            sql.push_str(" AND account_id = $1");
        }
        sql.push_str(" ORDER BY account_id, id");
        let mut q = sqlx::query(&sql);
        if let Scope::Account(a) = scope {
            q = q.bind(a.0);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(candidate_from)
            .collect()
    }

    /// Candidates of many accounts at once, by account.
    pub async fn candidates_by_account(&self) -> Result<BTreeMap<AccountId, Vec<Candidate>>> {
        let mut out: BTreeMap<AccountId, Vec<Candidate>> = BTreeMap::new();
        for c in self.candidates(Scope::All).await? {
            out.entry(AccountId(c.account)).or_default().push(c);
        }
        Ok(out)
    }

    /// One candidate, if the scope may see it.
    pub async fn candidate(&self, id: i64, scope: Scope) -> Result<Candidate> {
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM algorithm_changes WHERE id = $1 AND candidate_id IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let not_found = || StoreError::NotFound(format!("there is no candidate {id}"));
        let c = candidate_from(&row.ok_or_else(not_found)?)?;
        match scope {
            Scope::Account(a) if a.0 != c.account => Err(not_found()),
            _ => Ok(c),
        }
    }

    /// A candidate's audit trail, oldest first.
    pub async fn candidate_history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT state, actor, reason, evidence, created_at FROM algorithm_change_audit \
             WHERE candidate_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    state: r.try_get("state")?,
                    actor: r.try_get("actor")?,
                    reason: r.try_get("reason")?,
                    evidence: json_value(&r.try_get::<String, _>("evidence")?, "evidence")?,
                    at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Applies a week's plan to an account's candidates, each step with its audit row.
    /// One transaction per call.
    pub async fn apply_candidate_steps(
        &self,
        account: AccountId,
        steps: &[Step],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let at = ts(now);
        for step in steps {
            let (id, p, why) = match step {
                Step::Propose(p) => {
                    let row = sqlx::query(
                        "INSERT INTO algorithm_changes (account_id, candidate_id, pattern_key, \
                         subject, title, state, actor, reason, evidence, proposed_change, \
                         created_at, updated_at) \
                         VALUES ($1, NULL, $2, $3, $4, 'proposed', 'system', $5, $6, $7, $8, $8) \
                         RETURNING id",
                    )
                    .bind(account.0)
                    .bind(p.pattern_key.clone())
                    .bind(p.subject.clone())
                    .bind(p.title.clone())
                    .bind(p.evidence.description.clone())
                    .bind(json_text(&p.evidence))
                    .bind(json_text(&p.change))
                    .bind(at.clone())
                    .fetch_one(&mut *tx)
                    .await?;
                    (row.try_get::<i64, _>(0)?, p, "pattern detected")
                }
                Step::Update { id, proposal } => {
                    sqlx::query(
                        "UPDATE algorithm_changes SET title = $1, evidence = $2, \
                         proposed_change = $3, updated_at = $4 WHERE id = $5",
                    )
                    .bind(proposal.title.clone())
                    .bind(json_text(&proposal.evidence))
                    .bind(json_text(&proposal.change))
                    .bind(at.clone())
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
                    (*id, proposal, "evidence updated")
                }
                Step::Repropose { id, proposal } => {
                    sqlx::query(
                        "UPDATE algorithm_changes SET title = $1, evidence = $2, \
                         proposed_change = $3, updated_at = $4, state = 'proposed' WHERE id = $5",
                    )
                    .bind(proposal.title.clone())
                    .bind(json_text(&proposal.evidence))
                    .bind(json_text(&proposal.change))
                    .bind(at.clone())
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
                    (
                        *id,
                        proposal,
                        "evidence grew materially since it was closed",
                    )
                }
            };
            audit(&mut tx, account, id, p, "system", Some(why), &at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves a candidate to a new state with its audit row, checking that the state is
    /// still `from` (so two taps or two processes cannot both move it).
    pub async fn transition_candidate(
        &self,
        c: &Candidate,
        t: Transition<'_>,
        now: DateTime<Utc>,
    ) -> Result<Candidate> {
        let mut tx = self.pool.begin().await?;
        let at = ts(now);
        let closing = matches!(t.state, State::Rejected | State::RolledBack);
        let done = sqlx::query(
            "UPDATE algorithm_changes SET state = $1, updated_at = $2, \
             validation_from = COALESCE($3, validation_from), report = COALESCE($4, report), \
             evidence_at_close = CASE WHEN $5 = 1 THEN evidence ELSE evidence_at_close END \
             WHERE id = $6 AND state = $7 AND candidate_id IS NULL",
        )
        .bind(t.state.as_str())
        .bind(at.clone())
        .bind(t.validation_from.map(|d| d.to_string()))
        .bind(t.report.map(json_text))
        .bind(i64::from(closing))
        .bind(c.id)
        .bind(c.state.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Busy(format!(
                "candidate {} changed meanwhile; look at it again",
                c.id
            )));
        }
        let p = Proposal {
            pattern_key: c.pattern_key.clone(),
            subject: c.subject.clone(),
            title: c.title.clone(),
            change: c.change.clone(),
            evidence: c.evidence.clone(),
        };
        audit(
            &mut tx,
            AccountId(c.account),
            c.id,
            &p,
            t.actor,
            t.reason,
            &at,
        )
        .await?;
        tx.commit().await?;
        self.candidate(c.id, Scope::All).await
    }
}

/// Stores summaries inside a caller's transaction, replacing earlier versions of the
/// same weeks but keeping their review status and notes; returns their row ids, in
/// order (the use case words and enqueues their posts in the same transaction).
pub(crate) async fn save_summaries_in(
    tx: &mut AnyConnection,
    summaries: &[NewSummary],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let at = ts(now);
    let mut ids = Vec::with_capacity(summaries.len());
    for s in summaries {
        let row = sqlx::query(
            "INSERT INTO weekly_learning_summaries (account_id, year, week, counts, total, \
             pnl, patterns, candidates, text, generated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (account_id, year, week) DO UPDATE SET counts = excluded.counts, \
             total = excluded.total, pnl = excluded.pnl, patterns = excluded.patterns, \
             candidates = excluded.candidates, text = excluded.text, \
             generated_at = excluded.generated_at RETURNING id",
        )
        .bind(s.account.0)
        .bind(i64::from(s.week.year))
        .bind(i64::from(s.week.week))
        .bind(json_text(&s.counts))
        .bind(s.counts.total() as i64)
        .bind(s.pnl.units())
        .bind(json_text(&s.patterns))
        .bind(json_text(&s.candidates))
        .bind(s.text.clone())
        .bind(at.clone())
        .fetch_one(&mut *tx)
        .await?;
        ids.push(row.try_get(0)?);
    }
    Ok(ids)
}

/// The audit row of candidate `id` after a change in this transaction: it records the
/// state the candidate row now has, who, why, and the evidence then.
#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    id: i64,
    p: &Proposal,
    actor: &str,
    reason: Option<&str>,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO algorithm_change_audit (account_id, candidate_id, pattern_key, subject, \
         title, state, actor, reason, evidence, proposed_change, created_at) \
         SELECT $1, $2, $3, $4, $5, c.state, $6, $7, $8, $9, $10 \
         FROM algorithm_changes c WHERE c.id = $2",
    )
    .bind(account.0)
    .bind(id)
    .bind(p.pattern_key.clone())
    .bind(p.subject.clone())
    .bind(p.title.clone())
    .bind(actor.to_owned())
    .bind(reason.map(str::to_owned))
    .bind(json_text(&p.evidence))
    .bind(json_text(&p.change))
    .bind(at.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl From<LifecycleError> for StoreError {
    fn from(e: LifecycleError) -> Self {
        StoreError::Lifecycle(e)
    }
}
