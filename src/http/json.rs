//! The JSON bodies the API answers with, as typed records the OpenAPI document is
//! generated from. Each carries the names of the command line's `--json` output (SPEC
//! §10, README "Command line"): a match as `matches --json` prints it, a summary as
//! `summary show --json`, a candidate as `candidates list --json`, the analytics as
//! `analytics … --json` (tests compare the two on the same data). Money is a decimal
//! string in dollars, days are `YYYY-MM-DD`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::Problem;
use crate::app::api::{ItemOutcome, ItemStatus};
use crate::app::import::ImportReport;
use crate::app::outcomes::OutcomeReport;
use crate::app::reconcile::DayReport;
use crate::domain::Money;
use crate::domain::outcome::Outcome;
use crate::learning::analytics::{Accuracy, DivergenceRate, ModificationCount, SideRecord};
use crate::learning::candidates::{Candidate, Evidence};
use crate::store::{MatchRecord, StoredSummary};

/// The names of match types.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // named in the document only
pub enum MatchTypeName {
    Consent,
    Modify,
    Reject,
    Independent,
    NoAction,
}

/// The names of reason codes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // named in the document only
pub enum ReasonCodeName {
    Timing,
    PremiumLow,
    IvLow,
    EarningsConcern,
    GutFeeling,
    BetterOpportunity,
    RiskTooHigh,
    AlreadyExposed,
    Other,
}

/// The names of candidate states.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // named in the document only
pub enum CandidateStateName {
    Proposed,
    Implemented,
    Deferred,
    Rejected,
    Validating,
    Kept,
    RolledBack,
    Modified,
}

fn money(m: Money) -> String {
    m.to_string()
}

/// What was done against what was recommended.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Differences {
    /// Strike difference in dollars.
    pub strike: Option<String>,
    /// Days to expiration difference.
    pub dte: Option<i64>,
    pub contracts: Option<i64>,
    /// Premium difference per share in dollars.
    pub premium: Option<String>,
}

/// One side's outcome of a match (`actual`: the trader's; `algorithm`: the
/// recommendation's). Totals, not per share.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutcomeJson {
    /// `actual` or `algorithm`.
    pub side: String,
    /// `position` (from premium to close) or `decision` (a close decision).
    pub basis: String,
    /// `open`, `expired`, `assigned`, `closed`, `rolled`, `awaiting_price`.
    pub status: String,
    pub contracts: i64,
    pub opened_day: NaiveDate,
    pub closed_day: Option<NaiveDate>,
    pub premium: String,
    pub close_cost: Option<String>,
    pub fees: String,
    pub realized_pnl: Option<String>,
    pub days_held: Option<i64>,
    pub return_on_capital_bp: Option<i64>,
}

impl From<&Outcome> for OutcomeJson {
    fn from(o: &Outcome) -> Self {
        Self {
            side: o.side.as_str().to_owned(),
            basis: o.basis.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            contracts: o.contracts,
            opened_day: o.opened_day,
            closed_day: o.closed_day,
            premium: money(o.premium),
            close_cost: o.close_cost.map(money),
            fees: money(o.fees),
            realized_pnl: o.realized_pnl.map(money),
            days_held: o.days_held,
            return_on_capital_bp: o.return_on_capital_bp,
        }
    }
}

/// A reconciled item: a recommendation and/or the trade that answered it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MatchJson {
    pub id: i64,
    /// The account (Telegram chat id).
    pub account: i64,
    pub day: NaiveDate,
    #[schema(value_type = MatchTypeName)]
    pub match_type: String,
    pub underlying: String,
    /// The recommendation's `external_id`, or null for an independent trade.
    pub recommendation: Option<String>,
    /// The `broker_ref`s of the trade's fills (and of a resolving event).
    pub executions: Vec<String>,
    /// e.g. `dte+7`, `strike+5.00`, `contracts-1`.
    pub modifications: Vec<String>,
    pub differences: Differences,
    #[schema(value_type = Option<ReasonCodeName>)]
    pub reason_code: Option<String>,
    pub reason_text: Option<String>,
    pub reason_at: Option<String>,
    /// Both sides' outcomes (on one match only, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<OutcomeJson>>,
}

impl From<&MatchRecord> for MatchJson {
    fn from(m: &MatchRecord) -> Self {
        Self {
            id: m.id,
            account: m.account.0,
            day: m.day,
            match_type: m.match_type.as_str().to_owned(),
            underlying: m.underlying.clone(),
            recommendation: m.recommendation.clone(),
            executions: m.executions.clone(),
            modifications: m.modifications.clone(),
            differences: Differences {
                strike: m.differences.strike.map(money),
                dte: m.differences.dte,
                contracts: m.differences.contracts,
                premium: m.differences.premium.map(money),
            },
            reason_code: m.reason_code.clone(),
            reason_text: m.reason_text.clone(),
            reason_at: m.reason_at.clone(),
            outcomes: m
                .outcomes
                .as_ref()
                .map(|os| os.iter().map(OutcomeJson::from).collect()),
        }
    }
}

/// Items of a week by match type.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountsJson {
    pub consent: usize,
    pub modify: usize,
    pub reject: usize,
    pub independent: usize,
    pub no_action: usize,
}

/// A weekly learning summary.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SummaryJson {
    pub account: i64,
    pub year: i32,
    pub week: u32,
    pub counts: CountsJson,
    pub total: usize,
    /// Realized P&L of the positions closed that week, dollars.
    pub pnl: String,
    /// The patterns with their evidence (`key, subject, description, n, effect, unit,
    /// ci, p_value, q_value, test, threshold, verdict, proposal`).
    #[schema(value_type = Vec<Object>)]
    pub patterns: serde_json::Value,
    /// The open candidates shown (`id, pattern_key, subject, title, state, evidence, change`).
    #[schema(value_type = Vec<Object>)]
    pub candidates: serde_json::Value,
    /// The message, as the chat gets it.
    pub text: String,
    /// `pending` or `reviewed`.
    pub review_status: String,
    pub review_notes: Option<String>,
    pub generated_at: String,
}

impl From<&StoredSummary> for SummaryJson {
    fn from(s: &StoredSummary) -> Self {
        Self {
            account: s.account.0,
            year: s.year,
            week: s.week,
            counts: CountsJson {
                consent: s.counts.consent,
                modify: s.counts.modify,
                reject: s.counts.reject,
                independent: s.counts.independent,
                no_action: s.counts.no_action,
            },
            total: s.total,
            pnl: money(s.pnl),
            patterns: s.patterns.clone(),
            candidates: s.candidates.clone(),
            text: s.text.clone(),
            review_status: s.review_status.clone(),
            review_notes: s.review_notes.clone(),
            generated_at: s.generated_at.clone(),
        }
    }
}

/// What a candidate rests on.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EvidenceJson {
    /// Items behind the pattern.
    pub n: usize,
    pub effect: f64,
    /// The adjusted p-value (Benjamini–Hochberg).
    pub q_value: f64,
    pub description: String,
    /// The pattern with its statistics, and the backtest.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&Evidence> for EvidenceJson {
    fn from(e: &Evidence) -> Self {
        Self {
            n: e.n,
            effect: e.effect,
            q_value: e.q_value,
            description: e.description.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// An algorithm change candidate ("V4 candidate").
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CandidateJson {
    pub id: i64,
    pub account: i64,
    pub pattern_key: String,
    pub subject: String,
    pub title: String,
    #[schema(value_type = CandidateStateName)]
    pub state: String,
    /// What the change would be.
    #[schema(value_type = Object)]
    pub change: serde_json::Value,
    pub evidence: EvidenceJson,
    /// The evidence when it was last rejected or rolled back.
    pub evidence_at_close: Option<EvidenceJson>,
    pub created_at: String,
    pub updated_at: String,
    /// First day of validation.
    pub validation_from: Option<NaiveDate>,
    /// The validation report, after four weeks.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
}

impl From<&Candidate> for CandidateJson {
    fn from(c: &Candidate) -> Self {
        Self {
            id: c.id,
            account: c.account,
            pattern_key: c.pattern_key.clone(),
            subject: c.subject.clone(),
            title: c.title.clone(),
            state: c.state.as_str().to_owned(),
            change: c.change.clone(),
            evidence: EvidenceJson::from(&c.evidence),
            evidence_at_close: c.evidence_at_close.as_ref().map(EvidenceJson::from),
            created_at: c.created_at.clone(),
            updated_at: c.updated_at.clone(),
            validation_from: c.validation_from,
            report: c
                .report
                .as_ref()
                .map(|r| serde_json::to_value(r).unwrap_or(serde_json::Value::Null)),
        }
    }
}

/// One week of the divergence rate.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WeekRateJson {
    /// `2025-W01`.
    pub week: String,
    pub decisions: usize,
    pub divergent: usize,
    /// 0 to 1.
    pub rate: f64,
}

/// The divergence rate over the period, overall and per ISO week (`no_action` items
/// are left out: nothing was decided).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DivergenceRateJson {
    pub decisions: usize,
    pub divergent: usize,
    pub rate: f64,
    pub weeks: Vec<WeekRateJson>,
}

impl From<&DivergenceRate> for DivergenceRateJson {
    fn from(r: &DivergenceRate) -> Self {
        Self {
            decisions: r.decisions,
            divergent: r.divergent,
            rate: r.rate,
            weeks: r
                .weeks
                .iter()
                .map(|w| WeekRateJson {
                    week: w.week.clone(),
                    decisions: w.decisions,
                    divergent: w.divergent,
                    rate: w.rate,
                })
                .collect(),
        }
    }
}

/// How one side did on items with a final P&L.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SideRecordJson {
    pub n: usize,
    pub wins: usize,
    pub win_rate: Option<f64>,
    pub total_pnl: String,
    pub average_pnl: Option<String>,
}

impl From<&SideRecord> for SideRecordJson {
    fn from(r: &SideRecord) -> Self {
        Self {
            n: r.n,
            wins: r.wins,
            win_rate: r.win_rate,
            total_pnl: money(r.total_pnl),
            average_pnl: r.average_pnl.map(money),
        }
    }
}

/// The algorithm when followed vs when the trader diverged.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccuracyJson {
    /// The algorithm's outcomes where the trader followed it (consent).
    pub followed: SideRecordJson,
    /// The algorithm's counterfactual outcomes where the trader modified or rejected.
    pub diverged_algorithm: SideRecordJson,
    /// The trader's outcomes on those same items.
    pub diverged_trader: SideRecordJson,
    pub trader_better: usize,
    pub algorithm_better: usize,
    pub ties: usize,
    /// Close decisions (buy-back timing): never in the records above.
    pub decisions: DecisionRecordJson,
    /// The trader's own trades: no algorithm side to compare.
    pub independent: SideRecordJson,
    /// Items left out because a side has no final P&L yet.
    pub pending: usize,
}

/// Close decisions on recommendations: followed, and diverged with who did better.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DecisionRecordJson {
    pub followed: usize,
    pub diverged: usize,
    pub trader_better: usize,
    pub algorithm_better: usize,
    pub ties: usize,
    /// The trader's outcome of the diverged decisions, dollars.
    pub trader_total: String,
    /// The algorithm's outcome of the diverged decisions, dollars.
    pub algorithm_total: String,
}

impl From<&Accuracy> for AccuracyJson {
    fn from(a: &Accuracy) -> Self {
        Self {
            followed: (&a.followed).into(),
            diverged_algorithm: (&a.diverged_algorithm).into(),
            diverged_trader: (&a.diverged_trader).into(),
            trader_better: a.trader_better,
            algorithm_better: a.algorithm_better,
            ties: a.ties,
            decisions: DecisionRecordJson {
                followed: a.decisions.followed,
                diverged: a.decisions.diverged,
                trader_better: a.decisions.trader_better,
                algorithm_better: a.decisions.algorithm_better,
                ties: a.decisions.ties,
                trader_total: money(a.decisions.trader_total),
                algorithm_total: money(a.decisions.algorithm_total),
            },
            independent: (&a.independent).into(),
            pending: a.pending,
        }
    }
}

/// One kind of modification and how often the trader made it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModificationJson {
    pub modification: String,
    pub count: usize,
    /// Of the modified items, 0 to 1.
    pub share: f64,
}

impl From<&ModificationCount> for ModificationJson {
    fn from(m: &ModificationCount) -> Self {
        Self {
            modification: m.modification.clone(),
            count: m.count,
            share: m.share,
        }
    }
}

/// What reconciling a day did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DayReportJson {
    pub day: Option<NaiveDate>,
    pub accounts: usize,
    /// Rows of the day by match type.
    pub counts: BTreeMap<String, usize>,
    /// Rows inserted, changed or removed (0 when a re-run found nothing new).
    pub written: usize,
    /// Later days revisited because this day changed.
    pub revisited: Vec<NaiveDate>,
    /// Telegram posts newly queued for the day (0 when they were queued before).
    pub posts_queued: usize,
}

impl DayReportJson {
    pub fn new(r: &DayReport, posts_queued: usize) -> Self {
        Self {
            day: r.day,
            accounts: r.accounts,
            counts: r.counts.clone(),
            written: r.written,
            revisited: r.revisited.clone(),
            posts_queued,
        }
    }
}

/// What a tracking run did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutcomeReportJson {
    pub as_of: Option<NaiveDate>,
    /// Matches whose outcomes were computed.
    pub matches: usize,
    /// Outcome rows written, by status.
    pub statuses: BTreeMap<String, usize>,
}

impl From<&OutcomeReport> for OutcomeReportJson {
    fn from(r: &OutcomeReport) -> Self {
        Self {
            as_of: r.as_of,
            matches: r.matches,
            statuses: r.statuses.clone(),
        }
    }
}

macro_rules! page {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// How many there are in all (every page).
            pub total: i64,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

page!(
    /// A page of matches, in day order.
    MatchPage,
    MatchJson
);
page!(
    /// A page of weekly summaries, newest week first.
    SummaryPage,
    SummaryJson
);
page!(
    /// A page of candidates, by account then id.
    CandidatePage,
    CandidateJson
);

/// `imported`, `duplicate`, `rejected` or `conflict`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // named in the document only
pub enum ItemStatusName {
    Imported,
    Duplicate,
    Rejected,
    Conflict,
}

/// What became of one pushed item.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ItemJson {
    /// The item's place in the request, from 0.
    pub index: usize,
    #[schema(value_type = ItemStatusName)]
    pub status: String,
    /// The account the item belongs to (null for a close, or when unreadable).
    pub account: Option<i64>,
    /// `external_id`, `broker_ref`, or `SYMBOL DATE` for a close.
    pub key: Option<String>,
    /// The field at fault, for a rejected item.
    pub field: Option<String>,
    /// Why it was not stored.
    pub reason: Option<String>,
}

/// What a push did, item by item.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IngestReport {
    pub imported: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub conflicts: usize,
    pub items: Vec<ItemJson>,
}

impl IngestReport {
    pub fn new(items: &[ItemOutcome]) -> Self {
        let count = |s: ItemStatus| items.iter().filter(|i| i.status == s).count();
        Self {
            imported: count(ItemStatus::Imported),
            duplicates: count(ItemStatus::Duplicate),
            rejected: count(ItemStatus::Rejected),
            conflicts: count(ItemStatus::Conflict),
            items: items
                .iter()
                .map(|i| ItemJson {
                    index: i.index,
                    status: match i.status {
                        ItemStatus::Imported => "imported",
                        ItemStatus::Duplicate => "duplicate",
                        ItemStatus::Rejected => "rejected",
                        ItemStatus::Conflict => "conflict",
                    }
                    .to_owned(),
                    account: i.account.map(|a| a.0),
                    key: i.key.clone(),
                    field: i.field.clone(),
                    reason: i.reason.clone(),
                })
                .collect(),
        }
    }
}

/// A push some of whose items were not stored (409: a key is stored with other values;
/// 422: an item is not acceptable): a problem, with what became of every item when the
/// items were read (the others were stored).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IngestProblem {
    #[serde(flatten)]
    pub problem: Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ItemJson>>,
}

impl IngestProblem {
    pub fn new(problem: Problem, r: IngestReport) -> Self {
        Self {
            problem,
            imported: Some(r.imported),
            duplicates: Some(r.duplicates),
            rejected: Some(r.rejected),
            conflicts: Some(r.conflicts),
            items: Some(r.items),
        }
    }
}

/// A bad row of an imported file.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RowErrorJson {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

/// What an imported file did (as `import … --json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportReportJson {
    pub imported: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The rejected rows, by line.
    pub errors: Vec<RowErrorJson>,
}

impl From<&ImportReport> for ImportReportJson {
    fn from(r: &ImportReport) -> Self {
        Self {
            imported: r.imported,
            duplicates: r.duplicates,
            rejected: r.rejected,
            errors: r
                .errors
                .iter()
                .map(|e| RowErrorJson {
                    line: e.line,
                    column: e.column.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        }
    }
}

/// A file some of whose rows were rejected (the others were kept): a problem, with
/// the import's report when the file was read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportProblem {
    #[serde(flatten)]
    pub problem: Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowErrorJson>>,
}

impl ImportProblem {
    pub fn new(problem: Problem, r: ImportReportJson) -> Self {
        Self {
            problem,
            imported: Some(r.imported),
            duplicates: Some(r.duplicates),
            rejected: Some(r.rejected),
            errors: Some(r.errors),
        }
    }
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /ready`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
}
