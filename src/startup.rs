//! `rlhf-bot run`: connect, migrate, and run the bot, the scheduler and the outbox sender
//! in one process until SIGINT or SIGTERM.
//!
//! - The three parts share one [`Store`] and one throttled bot; each gets the same
//!   shutdown signal (a `watch` channel; the dispatcher its own shutdown token). A
//!   scheduled job or an outbox drain in progress is finished, not cut off, so no run is
//!   left `running` and no message is left between "sent" and "marked sent"; after
//!   [`GRACE`] the process exits anyway.
//! - Updates arrive by long polling unless `WEBHOOK_URL` is set: then teloxide's axum
//!   webhook listens on `WEBHOOK_LISTEN`, registers the webhook with `WEBHOOK_SECRET`
//!   as its secret token, and refuses requests without that
//!   `X-Telegram-Bot-Api-Secret-Token` header.
//! - The token never reaches the logs: teloxide already strips URLs from network errors,
//!   and every error text this module logs passes through [`redact`] as well.
//! - Telegram being unreachable at start is not fatal: start-up waits for it
//!   ([`reach_telegram`]) while the scheduler and the sender run, and posts wait in the
//!   outbox. A token Telegram refuses ends the process with one sentence and a non-zero
//!   status. The menu registration is tried once per start.
//! - With `API_LISTEN` set, `run` also serves the HTTP API. In webhook mode, an
//!   `API_LISTEN` equal to `WEBHOOK_LISTEN` shares the webhook's listener: teloxide's
//!   webhook router and the API's are merged into one server (two servers cannot bind one
//!   address); any other address gets a listener of its own. `rlhf-bot serve` runs the
//!   API alone ([`serve`]). Either way, the API's use cases queue their posts with the
//!   bot's wording, and the API finishes the requests in flight before it stops.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use anyhow::Context;
use teloxide::adaptors::throttle::Limits;
use teloxide::adaptors::{CacheMe, Throttle};
use teloxide::prelude::*;
use teloxide::types::Me;
use teloxide::update_listeners::webhooks;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::app::nightly::Nightly;
use crate::app::scheduler::{Schedule, Scheduler};
use crate::bot::TgBot;
use crate::bot::posts::BotPosts;
use crate::bot::sender::ThrottledBot;
use crate::bot::sender::{Sender, SenderConfig, redact};
use crate::config::{Settings, redact_url};
use crate::domain::{Clock, SystemClock};
use crate::store::Store;

/// How long the parts get to finish their work after the shutdown signal.
pub const GRACE: Duration = Duration::from_secs(30);

/// A start that cannot go ahead.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "TELOXIDE_TOKEN is not set; `rlhf-bot run` needs the bot token from @BotFather \
         (in the environment or in .env)"
    )]
    NoToken,
    #[error("TELOXIDE_API_URL `{0}` is not a URL")]
    BadApiUrl(String),
    #[error("WEBHOOK_URL `{0}` is not a URL")]
    BadWebhookUrl(String),
    #[error(
        "Telegram refused the bot token in TELOXIDE_TOKEN (401 Unauthorized); copy it again \
         from @BotFather"
    )]
    BadToken,
    #[error("receiving updates stopped unexpectedly; the process ends so that it is restarted")]
    DispatchingEnded,
}

/// The first pause after Telegram could not be reached at start; it doubles per failure
/// up to [`MAX_START_BACKOFF`].
const START_BACKOFF: Duration = Duration::from_millis(500);
const MAX_START_BACKOFF: Duration = Duration::from_secs(30);

/// Where `rlhf-bot serve` listens when neither `--listen` nor `API_LISTEN` says.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8080";

/// `rlhf-bot serve`: the HTTP API alone, on `listen` (else `API_LISTEN`, else
/// [`DEFAULT_API_LISTEN`]), until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let addr = match listen.or(settings.api.listen) {
        Some(a) => a,
        None => DEFAULT_API_LISTEN.parse()?,
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (API_LISTEN)"))?;
    serve_on(settings, listener, shutdown_signal()).await
}

/// Serves the HTTP API on `listener` until `shutdown` completes, then finishes the
/// requests in flight (for at most [`GRACE`]).
pub async fn serve_on(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("database {}", redact_url(&settings.database_url)))?;
    // The bot and the API write (the outbox, the run ledger, ingestion): not read-only.
    store.require_writable()?;
    store.bind_zone(settings.tz).await?;
    let app = App::new(store.clone(), settings.clone(), Arc::new(BotPosts));
    let (stop, stopped) = watch::channel(false);
    tracing::info!(listen = %listener.local_addr()?, database = %redact_url(&settings.database_url), "the HTTP API is serving");
    let server = tokio::spawn(crate::http::serve(
        listener,
        crate::http::router(app),
        stopped_signal(stopped),
    ));
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    match tokio::time::timeout(GRACE, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP API stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP API task failed"),
        Err(_) => tracing::warn!(grace = ?GRACE, "requests still in flight; exiting anyway"),
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes when `stopped` turns true (or its sender is gone).
async fn stopped_signal(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    run_until(settings, shutdown_signal()).await
}

/// Runs until `shutdown` completes.
///
/// Start-up asks Telegram who the bot is (`getMe`) before it receives updates, and goes
/// on asking, with a doubling pause, until Telegram answers ([`reach_telegram`]): no
/// network, a 5xx or a time-out in the first seconds only delays the start, and a
/// refused token ends it with [`StartupError::BadToken`]. The answer is cached in the
/// bot, so the dispatcher's own `getMe` — which teloxide does not retry, and which left
/// a running process that never polled — cannot fail. Should the dispatching end
/// anyway, the process ends with [`StartupError::DispatchingEnded`] (a non-zero status
/// its supervisor restarts), never silent; a token revoked while running (getUpdates
/// answers 401) ends it with [`StartupError::BadToken`]. The scheduler and the outbox
/// sender run meanwhile: they do not need Telegram to be up.
pub async fn run_until(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let token = settings.token.clone().ok_or(StartupError::NoToken)?;
    let settings = Arc::new(settings);
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("database {}", redact_url(&settings.database_url)))?;
    // The bot and the API write (the outbox, the run ledger, ingestion): not read-only.
    store.require_writable()?;
    store.bind_zone(settings.tz).await?;
    if settings.allowed_user_ids.is_empty() {
        tracing::warn!(
            "ALLOWED_USER_IDS is empty: the bot will refuse every chat; set it to your Telegram user id"
        );
    }
    let throttled = bot(&settings, &token)?;
    let bot: TgBot = CacheMe::new(throttled.clone());
    let mut shutdown = std::pin::pin!(shutdown);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (stop, stopped) = watch::channel(false);
    let scheduler = Scheduler::new(
        store.clone(),
        Schedule::from_settings(&settings),
        Arc::new(Nightly {
            app: App::new(store.clone(), settings.clone(), Arc::new(BotPosts)),
            clock: clock.clone(),
        }),
    );
    let scheduler = {
        let (clock, stopped) = (clock.clone(), stopped.clone());
        tokio::spawn(async move {
            if let Err(e) = scheduler.run(clock, stopped).await {
                tracing::error!(error = %e, "the scheduler stopped: no scheduled job will run until a restart");
            }
        })
    };
    let sender = Sender::new(
        store.clone(),
        throttled,
        SenderConfig::for_timeout(settings.send_timeout),
        clock,
    );
    let sender = tokio::spawn(sender.run(stopped.clone()));
    let background = async {
        let _ = stop.send(true);
        let _ = scheduler.await;
        let _ = sender.await;
    };

    let reached = tokio::select! {
        reached = reach_telegram(&bot, &token) => Some(reached),
        _ = &mut shutdown => None,
    };
    let me = match reached {
        Some(Ok(me)) => me,
        Some(Err(e)) => {
            stop_within_grace(background).await;
            store.close().await;
            return Err(e.into());
        }
        None => {
            tracing::info!("shutting down before Telegram was reached");
            stop_within_grace(background).await;
            store.close().await;
            return Ok(());
        }
    };
    tracing::info!(bot = %me.username(), "Telegram answered");
    if let Err(e) = crate::bot::register_commands(&bot).await {
        tracing::warn!(error = %redact(&e.to_string(), &token), "cannot register the command menu; it is tried again at the next start");
    }

    let api_app = App::new(store.clone(), settings.clone(), Arc::new(BotPosts));
    // The API's own listener, unless it shares the webhook's (below).
    let shares_webhook = settings
        .webhook
        .as_ref()
        .is_some_and(|w| Some(w.listen) == settings.api.listen);
    let mut api_server = None;
    if let Some(addr) = settings.api.listen.filter(|_| !shares_webhook) {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (API_LISTEN)"))?;
        tracing::info!(listen = %addr, "the HTTP API is serving");
        api_server = Some(tokio::spawn(crate::http::serve(
            listener,
            crate::http::router(api_app.clone()),
            stopped_signal(stopped.clone()),
        )));
    }

    let mut dispatcher = crate::bot::dispatcher(bot.clone(), store.clone(), settings.clone());
    let dispatcher_token = dispatcher.shutdown_token();
    let (listener_token, dispatch_token) = (token.clone(), token.clone());
    // A token revoked while running (getUpdates answers 401): the process ends as at
    // start, rather than polling in vain forever.
    let refused = Arc::new(tokio::sync::Notify::new());
    let refused_by_listener = refused.clone();
    let mut dispatching = match settings.webhook.clone() {
        None => {
            tracing::info!("receiving updates by long polling");
            let listener = teloxide::update_listeners::polling_default(bot.clone()).await;
            tokio::spawn(async move {
                let dispatched = dispatcher
                    .try_dispatch_with_listener(
                        listener,
                        Arc::new(move |e: teloxide::RequestError| {
                            let error = redact(&e.to_string(), &listener_token);
                            if is_refused_token(&e) {
                                refused_by_listener.notify_one();
                            }
                            async move {
                                tracing::warn!(%error, "getting updates failed; trying again");
                            }
                        }),
                    )
                    .await;
                if let Err(e) = dispatched {
                    tracing::error!(error = %redact(&e.to_string(), &dispatch_token), "the dispatcher could not start");
                }
            })
        }
        Some(w) => {
            let url = w
                .url
                .parse()
                .map_err(|_| StartupError::BadWebhookUrl(w.url.clone()))?;
            if shares_webhook {
                let options = webhooks::Options::new(w.listen, url).secret_token(w.secret.clone());
                let setup_failed = |e: teloxide::RequestError| -> anyhow::Error {
                    if is_refused_token(&e) {
                        StartupError::BadToken.into()
                    } else {
                        anyhow::anyhow!(redact(&e.to_string(), &token))
                            .context("cannot set up the webhook")
                    }
                };
                tracing::info!(listen = %w.listen, "receiving updates by webhook");
                let no_errors = Arc::new(|e: std::convert::Infallible| async move { match e {} });
                // One server for both: teloxide's webhook route beside the API's routes.
                let (listener, webhook_stopped, webhook) =
                    webhooks::axum_to_router(bot.clone(), options)
                        .await
                        .map_err(setup_failed)?;
                let tcp = TcpListener::bind(w.listen)
                    .await
                    .with_context(|| format!("cannot listen on {} (WEBHOOK_LISTEN)", w.listen))?;
                let both = webhook.merge(crate::http::router(api_app.clone()));
                let stopped = stopped.clone();
                let until = async move {
                    tokio::select! {
                        () = webhook_stopped => {}
                        () = stopped_signal(stopped) => {}
                    }
                };
                tracing::info!(listen = %w.listen, "the HTTP API shares the webhook's listener");
                api_server = Some(tokio::spawn(crate::http::serve(tcp, both, until)));
                tokio::spawn(async move {
                    let dispatched = dispatcher
                        .try_dispatch_with_listener(listener, no_errors)
                        .await;
                    if let Err(e) = dispatched {
                        tracing::error!(error = %e, "the dispatcher could not start");
                    }
                })
            } else {
                let mut pause = START_BACKOFF;
                let listener = loop {
                    let options = webhooks::Options::new(w.listen, Clone::clone(&url))
                        .secret_token(w.secret.clone());
                    let attempt = tokio::select! {
                        set = webhooks::axum(bot.clone(), options) => set,
                        _ = &mut shutdown => {
                            stop_within_grace(background).await;
                            store.close().await;
                            return Ok(());
                        }
                    };
                    match attempt {
                        Ok(listener) => break listener,
                        Err(e) if is_refused_token(&e) => {
                            stop_within_grace(background).await;
                            store.close().await;
                            return Err(StartupError::BadToken.into());
                        }
                        Err(e) => {
                            tracing::warn!(retry_in_ms = pause.as_millis() as u64, error = %redact(&e.to_string(), &token), "cannot set the webhook; trying again");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(MAX_START_BACKOFF);
                        }
                    }
                };
                tracing::info!(listen = %w.listen, "receiving updates by webhook");
                tokio::spawn(async move {
                    let dispatched = dispatcher
                        .try_dispatch_with_listener(
                            listener,
                            Arc::new(|e: std::convert::Infallible| async move { match e {} }),
                        )
                        .await;
                    if let Err(e) = dispatched {
                        tracing::error!(error = %e, "the dispatcher could not start");
                    }
                })
            }
        }
    };
    tracing::info!(database = %redact_url(&settings.database_url), zone = %settings.tz, "rlhf-bot is running");

    let outcome = tokio::select! {
        _ = &mut shutdown => Ok(()),
        _ = &mut dispatching => Err(StartupError::DispatchingEnded),
        _ = refused.notified() => Err(StartupError::BadToken),
    };
    match &outcome {
        Ok(()) => tracing::info!("shutting down"),
        Err(e) => tracing::error!(error = %e, "stopping"),
    }
    let ended = matches!(outcome, Err(StartupError::DispatchingEnded));
    let stopping = async {
        if !ended {
            if let Ok(done) = dispatcher_token.shutdown() {
                done.await;
            }
            let _ = dispatching.await;
        }
        background.await;
        if let Some(api) = api_server {
            let _ = api.await;
        }
    };
    if tokio::time::timeout(GRACE, stopping).await.is_err() {
        tracing::warn!(grace = ?GRACE, "not everything stopped in time; exiting anyway");
    }
    store.close().await;
    outcome?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for the scheduler and the sender to stop, at most [`GRACE`].
async fn stop_within_grace(background: impl Future<Output = ()>) {
    if tokio::time::timeout(GRACE, background).await.is_err() {
        tracing::warn!(grace = ?GRACE, "not everything stopped in time; exiting anyway");
    }
}

/// Asks Telegram who the bot is until it answers, and caches the answer in `bot`.
///
/// A refused token (401, or 404 for a token of the wrong shape) is final:
/// [`StartupError::BadToken`]. Anything else — no network, a refused connection, a 5xx,
/// a time-out — is logged (without the token) and tried again after a pause that doubles
/// from [`START_BACKOFF`] up to [`MAX_START_BACKOFF`], for as long as it takes.
pub async fn reach_telegram(bot: &TgBot, token: &str) -> Result<Me, StartupError> {
    let mut pause = START_BACKOFF;
    let mut attempt = 1_u32;
    loop {
        match bot.get_me().send().await {
            Ok(me) => return Ok(me),
            Err(e) if is_refused_token(&e) => return Err(StartupError::BadToken),
            Err(e) => {
                tracing::warn!(attempt, retry_in_ms = pause.as_millis() as u64, error = %redact(&e.to_string(), token), "Telegram cannot be reached yet; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_START_BACKOFF);
                attempt += 1;
            }
        }
    }
}

fn is_refused_token(e: &teloxide::RequestError) -> bool {
    matches!(
        e,
        teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)
    )
}

/// The bot as every part uses it: requests time out after `SEND_TIMEOUT_SECS`, go to
/// `TELOXIDE_API_URL` when set, and are throttled to Telegram's limits.
pub fn bot(settings: &Settings, token: &str) -> anyhow::Result<ThrottledBot> {
    let client = teloxide::net::default_reqwest_settings()
        .timeout(settings.send_timeout)
        .build()
        .context("cannot set up the HTTP client")?;
    let mut bot = teloxide::Bot::with_client(token, client);
    if let Some(url) = &settings.api_url {
        bot = bot.set_api_url(
            url.parse()
                .map_err(|_| StartupError::BadApiUrl(url.clone()))?,
        );
    }
    Ok(Throttle::new_spawn(bot, Limits::default()))
}

/// Completes at the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
