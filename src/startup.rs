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
//! - Telegram being unreachable at start is not fatal: the menu registration is retried
//!   at the next start, updates are polled again, and posts wait in the outbox.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::update_listeners::webhooks;
use tokio::sync::watch;

use crate::app::App;
use crate::app::nightly::Nightly;
use crate::app::scheduler::{Schedule, Scheduler};
use crate::bot::TgBot;
use crate::bot::posts::BotPosts;
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
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    run_until(settings, shutdown_signal()).await
}

/// Runs until `shutdown` completes.
pub async fn run_until(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let token = settings.token.clone().ok_or(StartupError::NoToken)?;
    let settings = Arc::new(settings);
    let store = Store::open(&settings.database_url)
        .await
        .with_context(|| format!("database {}", redact_url(&settings.database_url)))?;
    store.bind_zone(settings.tz).await?;
    if settings.allowed_user_ids.is_empty() {
        tracing::warn!(
            "ALLOWED_USER_IDS is empty: the bot will refuse every chat; set it to your Telegram user id"
        );
    }
    let bot = bot(&settings, &token)?;
    if let Err(e) = crate::bot::register_commands(&bot).await {
        tracing::warn!(error = %redact(&e.to_string(), &token), "cannot register the command menu; it is tried again at the next start");
    }

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
    let sender = Sender::new(store.clone(), bot.clone(), SenderConfig::default(), clock);
    let sender = tokio::spawn(sender.run(stopped.clone()));

    let mut dispatcher = crate::bot::dispatcher(bot.clone(), store.clone(), settings.clone());
    let dispatcher_token = dispatcher.shutdown_token();
    let listener_token = token.clone();
    let dispatching = match settings.webhook.clone() {
        None => {
            tracing::info!("receiving updates by long polling");
            let listener = teloxide::update_listeners::polling_default(bot.clone()).await;
            tokio::spawn(async move {
                dispatcher
                    .dispatch_with_listener(
                        listener,
                        Arc::new(move |e: teloxide::RequestError| {
                            let error = redact(&e.to_string(), &listener_token);
                            async move {
                                tracing::warn!(%error, "getting updates failed; trying again");
                            }
                        }),
                    )
                    .await;
            })
        }
        Some(w) => {
            let url = w
                .url
                .parse()
                .map_err(|_| StartupError::BadWebhookUrl(w.url.clone()))?;
            let options = webhooks::Options::new(w.listen, url).secret_token(w.secret.clone());
            let listener = webhooks::axum(bot.clone(), options)
                .await
                .map_err(|e| anyhow::anyhow!(redact(&e.to_string(), &token)))
                .context("cannot set up the webhook")?;
            tracing::info!(listen = %w.listen, "receiving updates by webhook");
            tokio::spawn(async move {
                dispatcher
                    .dispatch_with_listener(
                        listener,
                        Arc::new(|e: std::convert::Infallible| async move { match e {} }),
                    )
                    .await;
            })
        }
    };
    tracing::info!(database = %redact_url(&settings.database_url), zone = %settings.tz, "rlhf-bot is running");

    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    let stopping = async {
        if let Ok(done) = dispatcher_token.shutdown() {
            done.await;
        }
        let _ = dispatching.await;
        let _ = scheduler.await;
        let _ = sender.await;
    };
    if tokio::time::timeout(GRACE, stopping).await.is_err() {
        tracing::warn!(grace = ?GRACE, "not everything stopped in time; exiting anyway");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The bot as every part uses it: requests time out after `SEND_TIMEOUT_SECS`, go to
/// `TELOXIDE_API_URL` when set, and are throttled to Telegram's limits.
pub fn bot(settings: &Settings, token: &str) -> anyhow::Result<TgBot> {
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
