//! The API's one error type and its one mapping to responses: every failure is an
//! `application/problem+json` body (RFC 9457) with the HTTP status, its phrase as the
//! title, one sentence saying what is wrong and, for bad input, the field at fault.
//!
//! | status | when |
//! |---|---|
//! | 400 | the request cannot be read: malformed JSON, query string or multipart form |
//! | 401 | no token, or a malformed, unknown, wrong or revoked one |
//! | 403 | a read-only token asked to change something |
//! | 404 | no such route or row — another account's row included, so ids do not leak |
//! | 409 | the same key with other values, a reason for a non-divergence, a lifecycle step the candidate's state does not allow |
//! | 413 | the body is larger than `API_BODY_LIMIT_KB` |
//! | 415 | a body that is not JSON (or, for imports, not a multipart form) |
//! | 422 | a value that was read but is not acceptable (a date, a week, a reason code, an item's field) |
//! | 429 | the token's rate is spent; `Retry-After` says when to come back |
//! | 503 | the request took longer than `API_TIMEOUT_SECS`, or the database is not ready |
//! | 500 | anything else; the cause goes to the log, never to the client |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::import::ImportError;
use crate::import::FileError;
use crate::store::StoreError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error body (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// One sentence saying what is wrong.
    pub detail: String,
    /// The query parameter, path segment or item field at fault, for bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A JSON Pointer into the request body to the value at fault (e.g. `/3/strike`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// What a request can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request cannot be read.
    Malformed(String),
    /// 401.
    Unauthorized { detail: String, invalid: bool },
    /// 403.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 409.
    Conflict(String),
    /// 413.
    TooLarge(String),
    /// 415.
    UnsupportedMediaType(String),
    /// 422, naming the field.
    Invalid { field: String, detail: String },
    /// 429, with the seconds to wait.
    RateLimited { retry_after: u64 },
    /// 503.
    Unavailable(String),
    /// 500: the cause is logged here and not shown.
    Internal,
}

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of this error.
    pub fn problem(&self) -> Problem {
        let (detail, field) = match self {
            ApiError::Malformed(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::TooLarge(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::Unavailable(d)
            | ApiError::Unauthorized { detail: d, .. } => (d.clone(), None),
            ApiError::Invalid { field, detail } => (detail.clone(), Some(field.clone())),
            ApiError::RateLimited { retry_after } => (
                format!("this token made too many requests; try again in {retry_after} s"),
                None,
            ),
            ApiError::Internal => (
                "the server failed to answer this request; it has been logged".to_owned(),
                None,
            ),
        };
        problem(self.status(), detail, field)
    }
}

/// A problem body for `status`.
pub fn problem(status: StatusCode, detail: String, field: Option<String>) -> Problem {
    Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        field,
        pointer: None,
    }
}

/// `body` as `application/problem+json` with `status`.
pub fn problem_response(status: StatusCode, body: &impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(self.status(), &self.problem());
        match &self {
            ApiError::Unauthorized { invalid, .. } => {
                let challenge = if *invalid {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                };
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::RateLimited { retry_after } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use crate::learning::candidates::LifecycleError;
        match e {
            StoreError::NotFound(d) => ApiError::NotFound(d),
            StoreError::Refused { what, source } => ApiError::Conflict(format!("{what} {source}")),
            StoreError::Lifecycle(LifecycleError::ReasonRequired { action }) => {
                ApiError::invalid("reason", format!("a {action} needs a reason"))
            }
            StoreError::Lifecycle(l) => ApiError::Conflict(l.to_string()),
            StoreError::Busy(d) => ApiError::Unavailable(d),
            other => {
                tracing::error!(error = %other, "an API request failed");
                ApiError::Internal
            }
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            // The file's layout is a broker's: the API reads the generic format only.
            ImportError::File(FileError::BrokerExport { format }) => ApiError::invalid(
                "format",
                format!(
                    "`{format}` is a broker's export, which this endpoint does not read: it \
                     takes the generic format (format=generic or auto); send the export to \
                     the bot, or run `rlhf-bot import executions FILE --format {format}`"
                ),
            ),
            ImportError::File(f) => ApiError::invalid("file", f.to_string()),
            ImportError::Store(s) => s.into(),
            other => {
                tracing::error!(error = %other, "an API import failed");
                ApiError::Internal
            }
        }
    }
}
