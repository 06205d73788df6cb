//! The algorithm's door: recommendations, executions and closes pushed as JSON (one
//! object, or an array of them, in the generic format's names), and files posted as a
//! multipart form through the command line's importers.
//!
//! Each item stands alone, as each row of a file does: good items are stored even when
//! others are not, and the answer lists every item. The status says the worst that
//! happened: 409 when an item's key is stored with other values, else 422 when an item
//! is not acceptable, else 200 (every item imported or already there). Pushing the same
//! items again answers 200 with every item a duplicate.

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::json::{ImportProblem, ImportReportJson, IngestProblem, IngestReport};
use super::learning::query;
use super::problem::{ApiError, problem, problem_response};
use crate::app::api::Caller;
use crate::import::{ImportFormat, ImportKind};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(recommendations))
        .routes(routes!(executions))
        .routes(routes!(prices))
        .routes(routes!(imports))
}

// The items' schemas say what the generic format reads: every value a string or a
// number (money as `1.25` or `"1.25"`), text also a boolean (read as `true`), and null
// for an empty optional value; which values are acceptable is checked by the row parser.

fn text() -> Object {
    typed(&[Type::String, Type::Number, Type::Boolean])
}

fn opt_text() -> Object {
    typed(&[Type::String, Type::Number, Type::Boolean, Type::Null])
}

fn value() -> Object {
    typed(&[Type::String, Type::Number])
}

fn opt_value() -> Object {
    typed(&[Type::String, Type::Number, Type::Null])
}

fn typed(types: &[Type]) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(types.to_vec()))
        .build()
}

/// A recommendation in the generic format's names (SPEC §10, README "Import formats"):
/// `external_id` (unique per account: the same again is a duplicate), `account` (the
/// Telegram chat id; a token of one account may leave it out), `created_at` (RFC 3339
/// with an offset), `action` (`sell_to_open`, `buy_to_close`, `roll`), `underlying`,
/// `right` (`call`, `put`), `strike`, `expiration` (`YYYY-MM-DD`), `contracts`,
/// `premium` (per share; a roll's net credit), and optional context; `position` is the
/// OCC symbol of the contract a `buy_to_close` or `roll` closes.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // named in the document only
pub struct RecommendationIn {
    #[schema(schema_with = text)]
    external_id: String,
    #[schema(schema_with = opt_value)]
    account: Option<String>,
    #[schema(schema_with = value)]
    created_at: String,
    #[schema(schema_with = value)]
    action: String,
    #[schema(schema_with = text)]
    underlying: String,
    #[schema(schema_with = value)]
    right: String,
    #[schema(schema_with = value)]
    strike: String,
    #[schema(schema_with = value)]
    expiration: String,
    #[schema(schema_with = value)]
    contracts: String,
    #[schema(schema_with = value)]
    premium: String,
    #[schema(schema_with = opt_value)]
    underlying_price: Option<String>,
    #[schema(schema_with = opt_value)]
    delta: Option<String>,
    #[schema(schema_with = opt_value)]
    iv: Option<String>,
    #[schema(schema_with = opt_value)]
    iv_rank: Option<String>,
    #[schema(schema_with = opt_value)]
    earnings_date: Option<String>,
    #[schema(schema_with = opt_text)]
    algorithm_version: Option<String>,
    #[schema(schema_with = opt_text)]
    rationale: Option<String>,
    #[schema(schema_with = opt_text)]
    position: Option<String>,
}

/// An execution in the generic format's names: `broker_ref` (unique per account and
/// broker), `account`, `executed_at`, `action` (`sell_to_open`, `buy_to_close`,
/// `buy_to_open`, `sell_to_close`, `expired`, `assigned`, `exercised`), the contract as
/// `underlying, right, strike, expiration` or as an OCC `symbol`, `contracts`, `price`
/// per share (may be empty for a lifecycle event), and optional `fees` (for the fill)
/// and `broker` (default `generic`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // named in the document only
pub struct ExecutionIn {
    #[schema(schema_with = text)]
    broker_ref: String,
    #[schema(schema_with = opt_value)]
    account: Option<String>,
    #[schema(schema_with = value)]
    executed_at: String,
    #[schema(schema_with = value)]
    action: String,
    #[schema(schema_with = opt_text)]
    underlying: Option<String>,
    #[schema(schema_with = opt_value)]
    right: Option<String>,
    #[schema(schema_with = opt_value)]
    strike: Option<String>,
    #[schema(schema_with = opt_value)]
    expiration: Option<String>,
    #[schema(schema_with = opt_text)]
    symbol: Option<String>,
    #[schema(schema_with = value)]
    contracts: String,
    #[schema(schema_with = opt_value)]
    price: Option<String>,
    #[schema(schema_with = opt_value)]
    fees: Option<String>,
    #[schema(schema_with = opt_text)]
    broker: Option<String>,
}

/// An underlying's daily close: `symbol`, `date` (`YYYY-MM-DD`), `close` (dollars).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // named in the document only
pub struct PriceIn {
    #[schema(schema_with = text)]
    symbol: String,
    #[schema(schema_with = value)]
    date: String,
    #[schema(schema_with = value)]
    close: String,
}

/// One item or an array of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // named in the document only
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// The file formats, as `rlhf-bot import --format` names them in this build.
pub fn formats() -> Vec<String> {
    <ImportFormat as clap::ValueEnum>::value_variants()
        .iter()
        .filter_map(clap::ValueEnum::to_possible_value)
        .map(|v| v.get_name().to_owned())
        .collect()
}

/// The items of a JSON body: an array's elements, or the one value.
fn items_of(headers: &HeaderMap, body: &Bytes) -> Result<Vec<Box<RawValue>>, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".to_owned(),
        ));
    }
    let malformed =
        |e: serde_json::Error| ApiError::Malformed(format!("the body is not valid JSON: {e}"));
    let whole: Box<RawValue> = serde_json::from_slice(body).map_err(malformed)?;
    if whole.get().trim_start().starts_with('[') {
        serde_json::from_str(whole.get()).map_err(malformed)
    } else {
        Ok(vec![whole])
    }
}

/// Pushes the body's items of `kind`.
async fn push(
    s: &ApiState,
    caller: &Caller,
    kind: ImportKind,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let items = items_of(headers, body)?;
    let single = !body.trim_ascii_start().starts_with(b"[");
    let texts: Vec<&str> = items.iter().map(|i| i.get()).collect();
    let outcomes = s
        .app
        .ingest_items(kind, caller.scope(), &texts, s.clock.now())
        .await?;
    let report = IngestReport::new(&outcomes);
    let worst = report
        .items
        .iter()
        .find(|i| i.status == "conflict")
        .map(|i| (StatusCode::CONFLICT, i))
        .or_else(|| {
            report
                .items
                .iter()
                .find(|i| i.status == "rejected")
                .map(|i| (StatusCode::UNPROCESSABLE_ENTITY, i))
        });
    let Some((status, item)) = worst else {
        return Ok(Json(report).into_response());
    };
    let (index, field) = (item.index, item.field.clone());
    let reason = item.reason.clone().unwrap_or_default();
    let mut p = problem(
        status,
        if single {
            reason
        } else {
            format!("item {index}: {reason}")
        },
        field.clone(),
    );
    p.pointer = Some(match (single, &field) {
        (true, Some(f)) => format!("/{f}"),
        (true, None) => String::new(),
        (false, Some(f)) => format!("/{index}/{f}"),
        (false, None) => format!("/{index}"),
    });
    Ok(problem_response(status, &IngestProblem::new(p, report)))
}

/// Push recommendations as the algorithm makes them.
#[utoipa::path(
    post, path = "/recommendations", tag = "ingestion",
    request_body(content = OneOrMany<RecommendationIn>, content_type = "application/json"),
    responses(
        (status = 200, description = "Every item imported or already there", body = IngestReport),
        (status = 409, description = "An item's key is stored with other values (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
        (status = 422, description = "An item is not acceptable (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn recommendations(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    push(&s, &caller, ImportKind::Recommendations, &headers, &body).await
}

/// Push executions (fills, expirations, assignments).
#[utoipa::path(
    post, path = "/executions", tag = "ingestion",
    request_body(content = OneOrMany<ExecutionIn>, content_type = "application/json"),
    responses(
        (status = 200, description = "Every item imported or already there", body = IngestReport),
        (status = 409, description = "An item's key is stored with other values (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
        (status = 422, description = "An item is not acceptable (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn executions(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    push(&s, &caller, ImportKind::Executions, &headers, &body).await
}

/// Push underlying daily closes (shared by every account).
#[utoipa::path(
    post, path = "/prices", tag = "ingestion",
    request_body(content = OneOrMany<PriceIn>, content_type = "application/json"),
    responses(
        (status = 200, description = "Every item imported or already there", body = IngestReport),
        (status = 409, description = "A close is stored with another value (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
        (status = 422, description = "An item is not acceptable (the others were kept)", body = IngestProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn prices(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    push(&s, &caller, ImportKind::Prices, &headers, &body).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// What the file holds: `recommendations`, `executions` or `prices`.
    #[param(value_type = String, pattern = "^(recommendations|executions|prices)$")]
    kind: Option<String>,
    /// The file's layout (default `generic`), as `rlhf-bot import --format` takes it.
    #[param(value_type = Option<String>)]
    format: Option<String>,
}

/// A file, as a multipart form with one part named `file`.
#[derive(ToSchema)]
#[allow(dead_code)] // named in the document only
pub struct ImportForm {
    /// CSV with a header row, or JSON Lines.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// Import a file through the same detection and importers as `rlhf-bot import`.
#[utoipa::path(
    post, path = "/imports", tag = "ingestion",
    params(ImportQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Every row imported or already there", body = ImportReportJson),
        (status = 422, description = "Some rows were rejected (the others were kept)", body = ImportProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn imports(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !multipart {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be a multipart form (Content-Type: multipart/form-data) with a part named file"
                .to_owned(),
        ));
    }
    let kind = q.kind.as_deref().ok_or_else(|| {
        ApiError::invalid(
            "kind",
            "kind is required (recommendations, executions or prices)",
        )
    })?;
    let kind = <ImportKind as clap::ValueEnum>::from_str(kind, false).map_err(|_| {
        ApiError::invalid(
            "kind",
            format!(
                "`{kind}` is not a kind of file (expected recommendations, executions or prices)"
            ),
        )
    })?;
    let format = match q.format.as_deref() {
        None => ImportFormat::default(),
        Some(f) => <ImportFormat as clap::ValueEnum>::from_str(f, false).map_err(|_| {
            let known = formats();
            ApiError::invalid(
                "format",
                format!(
                    "`{f}` is not a file format (expected one of: {})",
                    known.join(", ")
                ),
            )
        })?,
    };
    let mut form = form.map_err(|e| match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "the body must be a multipart form (Content-Type: multipart/form-data) with a part named file"
                .to_owned(),
        ),
        _ => ApiError::Malformed(format!("the form cannot be read: {}", e.body_text())),
    })?;
    let mut file = None;
    loop {
        let field = form.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(
                "the file is larger than the body limit (API_BODY_LIMIT_KB)".to_owned(),
            ),
            _ => ApiError::Malformed(format!("the form cannot be read: {}", e.body_text())),
        })?;
        let Some(field) = field else { break };
        if field.name() == Some("file") {
            let bytes = field.bytes().await.map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(
                    "the file is larger than the body limit (API_BODY_LIMIT_KB)".to_owned(),
                ),
                _ => ApiError::Malformed(format!("the file cannot be read: {}", e.body_text())),
            })?;
            file = Some(bytes);
        }
    }
    let file = file.ok_or_else(|| ApiError::invalid("file", "the form has no part named file"))?;
    let report = s
        .app
        .import_for(
            caller.scope(),
            kind,
            format,
            std::io::Cursor::new(file),
            s.clock.now(),
        )
        .await?;
    let json = ImportReportJson::from(&report);
    if report.rejected == 0 {
        return Ok(Json(json).into_response());
    }
    let first = &report.errors[0];
    let p = problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "{} row(s) rejected, the others kept; first: {first}",
            report.rejected
        ),
        first.column.clone(),
    );
    Ok(problem_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ImportProblem::new(p, json),
    ))
}
