//! The seed's endpoints (under `/api/v1/strategies/learning/`), each translating its
//! query into one `App` use case called with the caller's scope, and the answer into
//! the JSON of [`super::json`]. Query parameters keep the seed's names; `limit` and
//! `cursor` page the lists; `account` narrows a token of every account to one.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::json::{
    AccuracyJson, CandidateJson, CandidatePage, DayReportJson, DivergenceRateJson, MatchJson,
    MatchPage, ModificationJson, OutcomeReportJson, SummaryJson, SummaryPage,
};
use super::params;
use super::problem::ApiError;
use crate::app::api::Caller;
use crate::domain::{MatchType, Reason, ReasonCode, Symbol, day_of};

use crate::learning::candidates::{Candidate, Decision};
use crate::store::{
    CandidateKey, MatchFilter, MatchKey, MatchRecord, Page, REVIEW_STATUSES, StoredSummary,
    SummaryKey,
};

/// The routes of this module, for [`super::router`].
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(reconcile))
        .routes(routes!(track_outcomes))
        .routes(routes!(matches))
        .routes(routes!(match_detail))
        .routes(routes!(match_reason))
        .routes(routes!(summaries))
        .routes(routes!(summary))
        .routes(routes!(generate_summary))
        .routes(routes!(review_summary))
        .routes(routes!(candidates))
        .routes(routes!(decide))
        .routes(routes!(divergence_rate))
        .routes(routes!(algorithm_accuracy))
        .routes(routes!(top_modifications))
}

/// A query string, or 400 saying why it cannot be read.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|e| {
        ApiError::Malformed(format!(
            "the query string cannot be read: {}",
            e.body_text()
        ))
    })
}

/// A numeric id in a path; anything else names no row (404).
fn id_of(what: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("there is no {what} {raw}")))
}

fn now_of(state: &ApiState) -> chrono::DateTime<chrono::Utc> {
    state.clock.now()
}

/// A parameter the operation cannot do without (422 naming it when missing).
fn required<'a>(field: &str, value: Option<&'a str>) -> Result<&'a str, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
}

/// A page's items as JSON, its total, and the cursor after its last item when more
/// follow.
fn page_json<T, J>(page: Page<T>, cursor: impl Fn(&T) -> String) -> (Vec<J>, i64, Option<String>)
where
    J: for<'a> From<&'a T>,
{
    let next_cursor = page.more.then(|| page.items.last()).flatten().map(cursor);
    (
        page.items.iter().map(J::from).collect(),
        page.total,
        next_cursor,
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconcileQuery {
    /// The day to reconcile, `YYYY-MM-DD` (default: today in `SCHEDULE_TZ`).
    #[param(value_type = Option<String>, format = Date)]
    target_date: Option<String>,
    /// A token of every account: only this account (Telegram chat id).
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Reconcile a day now, and queue its Telegram posts as the nightly run does.
#[utoipa::path(
    post, path = "/reconcile", tag = "reconciliation",
    params(ReconcileQuery),
    responses((status = 200, description = "The day as reconciled", body = DayReportJson)),
    security(("bearer" = []))
)]
async fn reconcile(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ReconcileQuery>, QueryRejection>,
) -> Result<Json<DayReportJson>, ApiError> {
    let q = query(q)?;
    let now = now_of(&s);
    let day = params::opt_day("target_date", q.target_date.as_deref())?
        .unwrap_or_else(|| day_of(now, s.app.settings().tz));
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let done = s.app.reconcile_day(scope, day, now).await?;
    Ok(Json(DayReportJson::new(&done.report, done.queued)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackQuery {
    /// Track as of this day, `YYYY-MM-DD` (default: today in `SCHEDULE_TZ`).
    #[param(value_type = Option<String>, format = Date)]
    as_of_date: Option<String>,
    /// A token of every account: only this account.
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Update the outcomes (actual and algorithm) as of a day, and queue the posts of
/// positions that settled.
#[utoipa::path(
    post, path = "/track-outcomes", tag = "reconciliation",
    params(TrackQuery),
    responses((status = 200, description = "What the tracking run did", body = OutcomeReportJson)),
    security(("bearer" = []))
)]
async fn track_outcomes(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<TrackQuery>, QueryRejection>,
) -> Result<Json<OutcomeReportJson>, ApiError> {
    let q = query(q)?;
    let now = now_of(&s);
    let as_of = params::opt_day("as_of_date", q.as_of_date.as_deref())?
        .unwrap_or_else(|| day_of(now, s.app.settings().tz));
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let report = s.app.track_outcomes(scope, as_of, now).await?;
    Ok(Json((&report).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchesQuery {
    /// First day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    start_date: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    end_date: Option<String>,
    /// Only this match type.
    #[param(value_type = Option<super::json::MatchTypeName>, inline)]
    match_type: Option<String>,
    /// Only this underlying (class shares and OCC roots are one name: `BRK/B` is `BRK.B`).
    #[param(value_type = Option<String>)]
    symbol: Option<String>,
    /// Matches per page (1–500, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the page before.
    #[param(value_type = Option<String>)]
    cursor: Option<String>,
    /// A token of every account: only this account.
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Reconciled matches, filtered, a page at a time, in day order.
#[utoipa::path(
    get, path = "/matches", tag = "reconciliation",
    params(MatchesQuery),
    responses((status = 200, description = "A page of matches", body = MatchPage)),
    security(("bearer" = []))
)]
async fn matches(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<MatchesQuery>, QueryRejection>,
) -> Result<Json<MatchPage>, ApiError> {
    let q = query(q)?;
    let from = params::opt_day("start_date", q.start_date.as_deref())?;
    let to = params::opt_day("end_date", q.end_date.as_deref())?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::invalid(
            "end_date",
            format!("end_date {t} is before start_date {f}"),
        ));
    }
    let match_type = q
        .match_type
        .as_deref()
        .map(|t| params::named::<MatchType>("match_type", t))
        .transpose()?;
    let symbol = q
        .symbol
        .as_deref()
        .map(|t| Symbol::parse(t).map_err(|e| ApiError::invalid("symbol", e.to_string())))
        .transpose()?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::match_after(q.cursor.as_deref())?;
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let filter = MatchFilter {
        from,
        to,
        match_type,
        symbol,
        account: scope.account(),
        ..MatchFilter::default()
    };
    let page = s.app.match_page(&filter, after, limit).await?;
    let cursor = |m: &MatchRecord| {
        params::match_cursor(MatchKey {
            day: m.day,
            id: m.id,
        })
    };
    let (items, total, next_cursor) = page_json::<_, MatchJson>(page, cursor);
    Ok(Json(MatchPage {
        items,
        total,
        next_cursor,
    }))
}

/// One match with both sides' outcomes.
#[utoipa::path(
    get, path = "/matches/{id}", tag = "reconciliation",
    params(("id" = i64, Path, description = "The match id")),
    responses((status = 200, description = "The match", body = MatchJson)),
    security(("bearer" = []))
)]
async fn match_detail(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<MatchJson>, ApiError> {
    let id = id_of("match", &id)?;
    let m = s.app.match_detail(id, caller.scope()).await?;
    Ok(Json((&m).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why you diverged.
    #[param(value_type = super::json::ReasonCodeName, inline)]
    reason_code: Option<String>,
    /// In your words (required for `other`; at most 1000 characters).
    #[param(value_type = Option<String>)]
    reason_text: Option<String>,
}

/// Record why the trader diverged (modify, reject, independent); kept across re-runs.
#[utoipa::path(
    patch, path = "/matches/{id}/reason", tag = "reconciliation",
    params(("id" = i64, Path, description = "The match id"), ReasonQuery),
    responses((status = 200, description = "The match with its reason", body = MatchJson)),
    security(("bearer" = []))
)]
async fn match_reason(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<ReasonQuery>, QueryRejection>,
) -> Result<Json<MatchJson>, ApiError> {
    let id = id_of("match", &id)?;
    let q = query(q)?;
    let code = required("reason_code", q.reason_code.as_deref())?;
    let code = params::named::<ReasonCode>("reason_code", code)?;
    let reason = Reason::new(code, q.reason_text.as_deref())
        .map_err(|e| ApiError::invalid("reason_text", e.to_string()))?;
    let m = s
        .app
        .record_reason(id, caller.scope(), &reason, now_of(&s))
        .await?;
    Ok(Json((&m).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummariesQuery {
    /// Only this ISO year.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 9999)]
    year: Option<String>,
    /// Summaries per page (1–500, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the page before.
    #[param(value_type = Option<String>)]
    cursor: Option<String>,
    /// A token of every account: only this account.
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Weekly learning summaries, newest week first, a page at a time.
#[utoipa::path(
    get, path = "/weekly-summaries", tag = "weekly summaries",
    params(SummariesQuery),
    responses((status = 200, description = "A page of summaries", body = SummaryPage)),
    security(("bearer" = []))
)]
async fn summaries(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<SummariesQuery>, QueryRejection>,
) -> Result<Json<SummaryPage>, ApiError> {
    let q = query(q)?;
    let year = q
        .year
        .as_deref()
        .map(|y| params::year("year", y))
        .transpose()?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::summary_after(q.cursor.as_deref())?;
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let page = s.app.summary_page(scope, year, after, limit).await?;
    let cursor = |x: &StoredSummary| {
        params::summary_cursor(SummaryKey {
            year: x.year,
            week: x.week,
            account: x.account.0,
        })
    };
    let (items, total, next_cursor) = page_json::<_, SummaryJson>(page, cursor);
    Ok(Json(SummaryPage {
        items,
        total,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// A token of every account: the account (required for such a token).
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// The year and week of a path; a week that does not exist names no summary (404).
fn path_week(year: &str, week: &str) -> Result<crate::domain::Week, ApiError> {
    let none = || ApiError::NotFound(format!("there is no summary of {year}-W{week}"));
    let y: i32 = year.parse().map_err(|_| none())?;
    let w: u32 = week.parse().map_err(|_| none())?;
    if !(1..=9999).contains(&y) {
        return Err(none());
    }
    crate::domain::Week::new(y, w).map_err(|_| none())
}

/// One week's summary.
#[utoipa::path(
    get, path = "/weekly-summaries/{year}/{week}", tag = "weekly summaries",
    params(
        ("year" = i32, Path, description = "ISO year", minimum = 1, maximum = 9999),
        ("week" = u32, Path, description = "ISO week (1–53)", minimum = 1, maximum = 53),
        AccountQuery
    ),
    responses((status = 200, description = "The summary", body = SummaryJson)),
    security(("bearer" = []))
)]
async fn summary(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((year, week)): Path<(String, String)>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Result<Json<SummaryJson>, ApiError> {
    let q = query(q)?;
    let week = path_week(&year, &week)?;
    let account = params::one_account(params::scope(caller.scope(), q.account.as_deref())?)?;
    let summary = s.app.summary(account, week).await?;
    Ok(Json((&summary).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GenerateQuery {
    /// ISO year.
    #[param(value_type = i32, minimum = 1, maximum = 9999)]
    year: Option<String>,
    /// ISO week (1–53).
    #[param(value_type = u32, minimum = 1, maximum = 53)]
    week: Option<String>,
    /// A token of every account: the account (required for such a token).
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Generate (or regenerate) a week's summary — patterns, candidates, the message — and
/// queue its Telegram posts as the Saturday run does. The review is kept.
#[utoipa::path(
    post, path = "/weekly-summaries/generate", tag = "weekly summaries",
    params(GenerateQuery),
    responses((status = 200, description = "The summary as generated", body = SummaryJson)),
    security(("bearer" = []))
)]
async fn generate_summary(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<GenerateQuery>, QueryRejection>,
) -> Result<Json<SummaryJson>, ApiError> {
    let q = query(q)?;
    let year = params::year("year", required("year", q.year.as_deref())?)?;
    let week = params::number("week", required("week", q.week.as_deref())?, 1, 53)?;
    let week = params::week(year, week as u32)?;
    let account = params::one_account(params::scope(caller.scope(), q.account.as_deref())?)?;
    let summary = s
        .app
        .generate_and_post_summary(account, week, now_of(&s))
        .await?;
    Ok(Json((&summary).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Your notes.
    #[param(value_type = Option<String>)]
    review_notes: Option<String>,
    /// `reviewed` (default) or `pending`.
    #[param(value_type = Option<String>, pattern = "^(reviewed|pending)$")]
    review_status: Option<String>,
    /// A token of every account: the account (required for such a token).
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Record your review of a week's summary.
#[utoipa::path(
    patch, path = "/weekly-summaries/{year}/{week}/review", tag = "weekly summaries",
    params(
        ("year" = i32, Path, description = "ISO year", minimum = 1, maximum = 9999),
        ("week" = u32, Path, description = "ISO week (1–53)", minimum = 1, maximum = 53),
        ReviewQuery
    ),
    responses((status = 200, description = "The summary with its review", body = SummaryJson)),
    security(("bearer" = []))
)]
async fn review_summary(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((year, week)): Path<(String, String)>,
    q: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<SummaryJson>, ApiError> {
    let q = query(q)?;
    let week = path_week(&year, &week)?;
    let status = q.review_status.as_deref().unwrap_or("reviewed").to_owned();
    if !REVIEW_STATUSES.contains(&status.as_str()) {
        return Err(ApiError::invalid(
            "review_status",
            format!(
                "`{status}` is not a review status (expected one of: {})",
                REVIEW_STATUSES.join(", ")
            ),
        ));
    }
    let account = params::one_account(params::scope(caller.scope(), q.account.as_deref())?)?;
    let summary = s
        .app
        .review_summary(
            account,
            week,
            &status,
            q.review_notes.as_deref(),
            now_of(&s),
        )
        .await?;
    Ok(Json((&summary).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// Candidates per page (1–500, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the page before.
    #[param(value_type = Option<String>)]
    cursor: Option<String>,
    /// A token of every account: only this account.
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// Every algorithm change candidate with its state and evidence, a page at a time.
#[utoipa::path(
    get, path = "/v4-candidates", tag = "candidates",
    params(CandidatesQuery),
    responses((status = 200, description = "A page of candidates", body = CandidatePage)),
    security(("bearer" = []))
)]
async fn candidates(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<CandidatesQuery>, QueryRejection>,
) -> Result<Json<CandidatePage>, ApiError> {
    let q = query(q)?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::candidate_after(q.cursor.as_deref())?;
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let page = s.app.candidate_page(scope, after, limit).await?;
    let cursor = |c: &Candidate| {
        params::candidate_cursor(CandidateKey {
            account: c.account,
            id: c.id,
        })
    };
    let (items, total, next_cursor) = page_json::<_, CandidateJson>(page, cursor);
    Ok(Json(CandidatePage {
        items,
        total,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecideQuery {
    /// `implement`, `defer` or `reject`.
    #[param(value_type = String, pattern = "^(implement|defer|reject)$")]
    decision: Option<String>,
    /// Why (required to reject).
    #[param(value_type = Option<String>)]
    reason: Option<String>,
}

/// Decide on a proposed (or deferred) candidate; the audit trail records it.
#[utoipa::path(
    post, path = "/v4-candidates/{id}/decide", tag = "candidates",
    params(("id" = i64, Path, description = "The candidate id"), DecideQuery),
    responses((status = 200, description = "The candidate after the decision", body = CandidateJson)),
    security(("bearer" = []))
)]
async fn decide(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<DecideQuery>, QueryRejection>,
) -> Result<Json<CandidateJson>, ApiError> {
    let id = id_of("candidate", &id)?;
    let q = query(q)?;
    let decision = required("decision", q.decision.as_deref())?;
    let decision = params::named::<Decision>("decision", decision)?;
    let c = s
        .app
        .decide(
            caller.scope(),
            id,
            decision,
            q.reason.as_deref().unwrap_or(""),
            &caller.actor(),
            now_of(&s),
        )
        .await?;
    Ok(Json((&c).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// Days back from today (1–3650; default 30 for the divergence rate, 90 for the others).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    days: Option<String>,
    /// A token of every account: only this account.
    #[param(value_type = Option<i64>)]
    account: Option<String>,
}

/// The learning items of the last `days` days, for the analytics.
async fn items(
    s: &ApiState,
    caller: &Caller,
    q: DaysQuery,
    default_days: u32,
) -> Result<(crate::store::Scope, crate::learning::DayRange), ApiError> {
    let days = q
        .days
        .as_deref()
        .map(|d| params::number("days", d, 1, 3650))
        .transpose()?
        .map_or(default_days, |d| d as u32);
    let scope = params::scope(caller.scope(), q.account.as_deref())?;
    let today = day_of(now_of(s), s.app.settings().tz);
    Ok((scope, crate::learning::DayRange::last_days(days, today)))
}

/// The share of decisions where the trader diverged, overall and per ISO week.
#[utoipa::path(
    get, path = "/analytics/divergence-rate", tag = "analytics",
    params(DaysQuery),
    responses((status = 200, description = "The divergence rate", body = DivergenceRateJson)),
    security(("bearer" = []))
)]
async fn divergence_rate(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<DaysQuery>, QueryRejection>,
) -> Result<Json<DivergenceRateJson>, ApiError> {
    let (scope, period) = items(&s, &caller, query(q)?, 30).await?;
    Ok(Json((&s.app.divergence_rate(scope, period).await?).into()))
}

/// The algorithm when followed vs when the trader diverged, and who did better.
#[utoipa::path(
    get, path = "/analytics/algorithm-accuracy", tag = "analytics",
    params(DaysQuery),
    responses((status = 200, description = "The algorithm's accuracy", body = AccuracyJson)),
    security(("bearer" = []))
)]
async fn algorithm_accuracy(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<DaysQuery>, QueryRejection>,
) -> Result<Json<AccuracyJson>, ApiError> {
    let (scope, period) = items(&s, &caller, query(q)?, 90).await?;
    Ok(Json(
        (&s.app.algorithm_accuracy(scope, period).await?).into(),
    ))
}

/// The trader's most common modifications, most common first.
#[utoipa::path(
    get, path = "/analytics/top-modifications", tag = "analytics",
    params(DaysQuery),
    responses((status = 200, description = "The modifications", body = Vec<ModificationJson>)),
    security(("bearer" = []))
)]
async fn top_modifications(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<DaysQuery>, QueryRejection>,
) -> Result<Json<Vec<ModificationJson>>, ApiError> {
    let (scope, period) = items(&s, &caller, query(q)?, 90).await?;
    Ok(Json(
        s.app
            .top_modifications(scope, period)
            .await?
            .iter()
            .map(ModificationJson::from)
            .collect(),
    ))
}
