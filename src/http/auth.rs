//! Who may do what: every route under `/api/v1/strategies/learning/` passes here first
//! (deny by default: the routes are mounted behind this layer, so a route cannot be
//! added without it). A request needs `Authorization: Bearer rlhf_…` of a token that is
//! not revoked (else 401), within the token's rate (else 429 with `Retry-After`), and a
//! token that may write when it asks to change something (else 403). The handler then
//! gets the [`Caller`], whose scope every use case is called with.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiState;
use super::problem::ApiError;
use crate::app::api::Caller;
use crate::config::ApiSettings;

/// Requests per token: a sustained rate with a burst on top.
pub type Limiter = DefaultKeyedRateLimiter<i64>;

pub fn limiter(settings: &ApiSettings) -> Arc<Limiter> {
    let per_second = NonZeroU32::new(settings.rate_per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(settings.rate_burst).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

/// The bearer token of a request, if it carries one.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The layer in front of every API route.
pub async fn authorize(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = bearer(&request) else {
        return Err(ApiError::Unauthorized {
            detail: "this request needs a token: send `Authorization: Bearer rlhf_…` \
                     (rlhf-bot tokens create makes one)"
                .to_owned(),
            invalid: false,
        });
    };
    let Some(caller) = state.app.authenticate(token).await? else {
        return Err(ApiError::Unauthorized {
            detail: "the token is not valid: unknown, mistyped or revoked".to_owned(),
            invalid: true,
        });
    };
    if let Err(not_until) = state.limiter.check_key(&caller.token_id) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        return Err(ApiError::RateLimited {
            retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        });
    }
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if caller.read_only && !reads {
        return Err(ApiError::Forbidden(
            "this token is read-only; changing data needs a token made without --read-only"
                .to_owned(),
        ));
    }
    request.extensions_mut().insert::<Caller>(caller);
    Ok(next.run(request).await)
}
