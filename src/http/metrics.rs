//! `GET /metrics` in the Prometheus text format: requests by route, method and status,
//! their latency as a histogram, and — read from the database at each scrape — the
//! outbox's depth and the scheduled runs by job and state. Routes are labelled by their
//! template (`/api/v1/strategies/learning/matches/{id}`), never by the raw path, so ids
//! do not multiply the series.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::ApiState;
use crate::store::Figures;

/// The API's metrics, in a registry of their own.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    outbox: IntGaugeVec,
    job_runs: IntGaugeVec,
}

/// Latency buckets, in seconds: fine below the 20 ms the list is held to.
const BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "rlhf_http_requests_total",
                "HTTP requests answered, by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("a valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "rlhf_http_request_duration_seconds",
                "Time from request to response, by route and method",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "method"],
        )
        .expect("a valid metric");
        let outbox = IntGaugeVec::new(
            Opts::new(
                "rlhf_outbox_messages",
                "Messages not sent yet: pending (waiting their turn) or parked (refused for good)",
            ),
            &["state"],
        )
        .expect("a valid metric");
        let job_runs = IntGaugeVec::new(
            Opts::new(
                "rlhf_job_runs",
                "Scheduled runs in the ledger, by job and state",
            ),
            &["job", "state"],
        )
        .expect("a valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(outbox.clone()),
            Box::new(job_runs.clone()),
        ] {
            registry.register(c).expect("a metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            outbox,
            job_runs,
        }
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// The text of a scrape, with the database's figures as they are now.
    pub fn render(&self, figures: &Figures) -> String {
        self.outbox
            .with_label_values(&["pending"])
            .set(figures.outbox_pending);
        self.outbox
            .with_label_values(&["parked"])
            .set(figures.outbox_parked);
        self.job_runs.reset();
        for ((job, state), n) in &figures.job_runs {
            self.job_runs.with_label_values(&[job, state]).set(*n);
        }
        let mut out = Vec::new();
        // Encoding text into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request (the route is known here: this runs after routing).
pub async fn track(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    state.metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
