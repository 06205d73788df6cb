//! The HTTP API (SPEC §8), the third entry point beside the command line and the bot:
//! the seed's endpoints under `/api/v1/strategies/learning/`, the algorithm's door for
//! recommendations, executions, closes and files, and what an operator needs to run it
//! (`/health`, `/ready`, `/metrics`, the OpenAPI document and its page).
//!
//! Like the other entry points it only translates: a handler parses its request into
//! domain values ([`params`]), calls one `App` use case with the caller's scope, and
//! renders the answer ([`json`]) or the error ([`problem`]). Around every route, from
//! the outside in: a panic becomes a 500, any bare error status gets a problem body,
//! the request is counted and timed ([`metrics`]), cut off after `API_TIMEOUT_SECS`,
//! refused beyond `API_BODY_LIMIT_KB`; the API's own routes then pass [`auth`].
//!
//! | file | what |
//! |---|---|
//! | `learning.rs` | the seed's endpoints: reconcile, track, matches, summaries, candidates, analytics |
//! | `ingest.rs` | recommendations, executions and closes pushed as JSON; files as a multipart form |
//! | `auth.rs` | bearer tokens, the per-token rate, read-only tokens |
//! | `problem.rs` | the one error type and its RFC 9457 bodies |
//! | `params.rs`, `json.rs` | query parameters in, JSON out (the command line's names) |
//! | `metrics.rs` | Prometheus counters, the latency histogram, outbox and job gauges |

mod auth;
mod ingest;
mod json;
mod learning;
mod metrics;
mod params;
mod problem;

pub use problem::{ApiError, PROBLEM_JSON, Problem};

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::app::App;
use crate::domain::{Clock, SystemClock};

/// Where the seed's endpoints live.
pub const LEARNING: &str = "/api/v1/strategies/learning";
/// The OpenAPI document.
pub const OPENAPI: &str = "/api/v1/openapi.json";
/// Its page (Swagger UI, served from the binary: nothing is fetched).
pub const DOCS: &str = "/api/v1/docs";

/// What every handler runs against.
#[derive(Clone)]
pub struct ApiState {
    app: App,
    limiter: Arc<auth::Limiter>,
    metrics: Arc<metrics::Metrics>,
    clock: Arc<dyn Clock>,
}

/// The API's routes on `app`, with the system clock.
pub fn router(app: App) -> axum::Router {
    router_with_clock(app, Arc::new(SystemClock))
}

/// The API's routes on `app`; `now` comes from `clock` (tests pass their own).
pub fn router_with_clock(app: App, clock: Arc<dyn Clock>) -> axum::Router {
    let settings = app.settings().api.clone();
    let state = ApiState {
        limiter: auth::limiter(&settings),
        metrics: Arc::new(metrics::Metrics::new()),
        app,
        clock,
    };
    let (api, doc) = routes(state.clone()).split_for_parts();
    let doc = complete(doc);
    let docs = SwaggerUi::new(DOCS)
        .url(OPENAPI, doc)
        .config(Config::default().validator_url("none"));
    let limits = Limits {
        body_kb: settings.body_limit / 1024,
        timeout_secs: settings.timeout.as_secs(),
    };
    api.merge(docs)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(RequestBodyLimitLayer::new(settings.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(limits, problem_bodies))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("an API request panicked");
            ApiError::Internal.into_response()
        }))
        .with_state(state)
}

/// The OpenAPI document, as `/api/v1/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    // The document does not depend on the state's values, only on the routes.
    let (_, doc) = OpenApiRouter::<ApiState>::with_openapi(ApiDoc::openapi())
        .nest(LEARNING, learning::routes().merge(ingest::routes()))
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics_text))
        .split_for_parts();
    complete(doc)
}

fn routes(state: ApiState) -> OpenApiRouter<ApiState> {
    let learning = learning::routes()
        .merge(ingest::routes())
        .route_layer(middleware::from_fn_with_state(state, auth::authorize));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(LEARNING, learning)
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics_text))
}

/// Serves `router` on `listener` until `shutdown` completes; requests in flight are
/// finished first.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rlhf-bot API",
        description = "The seed's learning endpoints, and a door for the algorithm: recommendations \
                       pushed as they are made. Every route under /api/v1/strategies/learning/ needs \
                       `Authorization: Bearer rlhf_…` (`rlhf-bot tokens create`). Errors are \
                       application/problem+json (RFC 9457). Money is a decimal string in dollars, \
                       days are YYYY-MM-DD in the schedule time zone."
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme),
    tags(
        (name = "reconciliation", description = "Matches of recommendations and executions, and their outcomes"),
        (name = "weekly summaries", description = "The Saturday summaries: list, show, generate, review"),
        (name = "candidates", description = "Algorithm change candidates and the trader's decisions"),
        (name = "analytics", description = "Divergence rate, algorithm accuracy, top modifications"),
        (name = "ingestion", description = "Recommendations, executions and closes in; files"),
        (name = "service", description = "Health, readiness and metrics (no token)"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("rlhf_<id>_<secret>".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// Adds the error answers every operation can give, so the document lists each status
/// the API really answers with (an operation's own answer for a status is kept).
fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let problem = |description: &str| -> RefOr<utoipa::openapi::Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    if let Some(op) = doc
        .paths
        .paths
        .get_mut(&format!("{LEARNING}/imports"))
        .and_then(|item| item.post.as_mut())
    {
        // The formats are the command line's, whatever they are in this build.
        let formats: Vec<String> =
            <crate::import::ImportFormat as clap::ValueEnum>::value_variants()
                .iter()
                .filter_map(clap::ValueEnum::to_possible_value)
                .map(|v| v.get_name().to_owned())
                .collect();
        for p in op.parameters.iter_mut().flatten() {
            if let RefOr::T(p) = p
                && p.name == "format"
            {
                p.schema = Some(RefOr::T(utoipa::openapi::Schema::Object(
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .enum_values(Some(formats.clone()))
                        .build(),
                )));
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let api = path.starts_with(LEARNING);
        let operations = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, op) in operations {
            let Some(op) = op.as_mut() else { continue };
            let mut add = |status: &str, response: RefOr<utoipa::openapi::Response>| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert(response);
            };
            add(
                "500",
                problem("The server failed; the cause is logged, not shown"),
            );
            add(
                "503",
                problem(
                    "The request took longer than API_TIMEOUT_SECS, or the database is not ready",
                ),
            );
            if !api {
                continue;
            }
            add("400", problem("The query string or body cannot be read"));
            add(
                "401",
                problem("No token, or a malformed, unknown, wrong or revoked one"),
            );
            add(
                "404",
                problem("No such row, or one of another account (ids do not leak)"),
            );
            add("413", problem("The body is larger than API_BODY_LIMIT_KB"));
            add(
                "422",
                problem("A value is not acceptable; `field` names it"),
            );
            let limited = ResponseBuilder::new()
                .description("The token's rate is spent; come back after Retry-After seconds")
                .header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(utoipa::openapi::schema::Object::with_type(
                            utoipa::openapi::schema::Type::Integer,
                        )))
                        .description(Some("Seconds to wait"))
                        .build(),
                )
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            add("429", RefOr::T(limited));
            if method != Method::GET {
                add("403", problem("The token is read-only"));
                add(
                    "409",
                    problem(
                        "The request conflicts with what is stored (a key with other values, a step the state does not allow)",
                    ),
                );
                add(
                    "415",
                    problem("The body is not of the media type the operation takes"),
                );
            }
        }
    }
    doc
}

/// The limits an error body quotes.
#[derive(Debug, Clone, Copy)]
struct Limits {
    body_kb: usize,
    timeout_secs: u64,
}

/// Gives a problem body to an error answered without one (a route that does not exist,
/// a method a route does not take, the body limit, the time-out); headers such as
/// `Allow` are kept.
async fn problem_bodies(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let has_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if status.as_u16() < 400 || has_problem {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => format!("there is no route {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take {method}"),
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the body is larger than {} KiB (API_BODY_LIMIT_KB)",
            limits.body_kb
        ),
        StatusCode::SERVICE_UNAVAILABLE => format!(
            "the request took longer than {} s (API_TIMEOUT_SECS)",
            limits.timeout_secs
        ),
        other => other.canonical_reason().unwrap_or("Error").to_owned(),
    };
    let (mut parts, _) = response.into_parts();
    let body = problem::problem(status, detail, None);
    let fresh = problem::problem_response(status, &body);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, fresh.into_body())
}

async fn no_route() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// Alive: the process answers.
#[utoipa::path(
    get, path = "/health", tag = "service",
    responses((status = 200, description = "The process answers", body = json::Health))
)]
async fn health() -> Json<json::Health> {
    Json(json::Health {
        status: "ok".to_owned(),
    })
}

/// Ready: the database answers and every migration is applied.
#[utoipa::path(
    get, path = "/ready", tag = "service",
    responses((status = 200, description = "Ready to serve", body = json::Ready))
)]
async fn ready(State(s): State<ApiState>) -> Result<Json<json::Ready>, ApiError> {
    match s.app.readiness().await {
        Ok(r) if r.pending_migrations == 0 => Ok(Json(json::Ready {
            status: "ready".to_owned(),
        })),
        Ok(r) => Err(ApiError::Unavailable(format!(
            "{} database migration(s) are not applied (rlhf-bot migrate applies them)",
            r.pending_migrations
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            Err(ApiError::Unavailable(
                "the database does not answer".to_owned(),
            ))
        }
    }
}

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(
    get, path = "/metrics", tag = "service",
    responses((status = 200, description = "The metrics", body = String, content_type = "text/plain"))
)]
async fn metrics_text(State(s): State<ApiState>) -> Response {
    let figures = match s.app.figures().await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "metrics without the database's figures");
            crate::store::Figures::default()
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.metrics.render(&figures),
    )
        .into_response()
}
