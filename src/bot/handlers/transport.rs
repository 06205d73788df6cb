//! Talking to Telegram from a handler: send (split under the limit), edit, answer a tap,
//! and the one retry policy every reply shares ([`send`]).
//!
//! # Why a reply is retried here, and not queued in the outbox
//!
//! A reply that meets a 429, a 5xx answer, a lost connection or a time-out is tried
//! again inside the handler, with a doubling pause, for up to [`REPLY_PATIENCE`]; a
//! refusal (400, 403) is not retried. The outbox would promise the same delivery and
//! survive a restart, but the handler is the better place for a reply:
//!
//! - **Order for free.** The dispatcher handles a chat's updates one after the other, so
//!   a reply being retried holds back only its own chat's later updates — exactly the
//!   order the trader expects — and never another chat's (each chat has its own worker).
//!   Through the outbox, a reply would queue behind the cards its own use case just
//!   enqueued (`/reconcile` says "the day's cards follow" before them today).
//! - **At once.** A reply goes out in the request that made it: no database write and
//!   no outbox poll per reply (the reason the replies skip the throttle, below).
//! - **Taps too.** A tap's answer and its card's edit cannot be queued (the outbox
//!   carries messages), and need the same patience.
//! - **Bounded.** Past [`REPLY_PATIENCE`] the trader has moved on and the chat's next
//!   updates must not wait longer: the reply is given up and logged. A restart loses a
//!   reply being retried; the outbox keeps everything the bot posts on its own.
//!
//! Delivered once: a 429 and a 5xx answer mean Telegram did not take the message, and a
//! connection that could not be made carried nothing, so trying again cannot duplicate.
//! A time-out, or a connection lost after the request went out, cannot tell whether
//! Telegram took it; a message is then sent again (a visible duplicate beats silence:
//! the outbox's own at-least-once window), and an answer or an edit repeated is
//! harmless ("message is not modified" is not an error; a second answer is refused and
//! ignored).
//!
//! teloxide's client pauses 10 s after any 5xx before it reports it. That pause is the
//! first wait of the retry (no further pause is added after a 5xx) and holds only the
//! chat whose reply met it.
//!
//! Replies go through the bot *inside* the `Throttle` adaptor ([`direct`]): the
//! throttle's worker wakes every 250 ms, which put a quarter of a second on every reply
//! (measured: `/matches` p50 251 ms). A reply answers one action of one trader, far from
//! Telegram's limits; bulk posting (the outbox) keeps the throttle.

use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode,
};
use teloxide::{ApiError, Bot, RequestError};

use super::HandlerResult;
use crate::bot::messages::{self, MAX_CAPTION, MAX_MESSAGE};
use crate::bot::sender::{Failure, classify, redact};
use crate::bot::{Button, Outgoing, TgBot};

/// How long a reply keeps being tried after its first failure.
pub const REPLY_PATIENCE: Duration = Duration::from_secs(60);
/// The pause after the first failure of a reply (without a pause of its own); it doubles
/// per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest `retry_after` a reply waits for; a longer one gives the reply up (and is
/// logged) rather than holding the chat's handler.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// What teloxide's client already waited before it reported a 5xx.
const SERVER_ERROR_PAUSE: Duration = Duration::from_secs(10);

/// Answers a tap (an empty text answers without a toast), at most once and as a
/// courtesy: the work of a tap is done (recorded, card edited) before it is answered,
/// and a failed answer — most often "query is too old" for a tap answered after
/// Telegram's deadline, or made while the bot was down — is logged, never an error.
pub async fn answer(bot: &TgBot, q: &CallbackQuery, text: &str) {
    let mut request = direct(bot).answer_callback_query(q.id.clone());
    if !text.is_empty() {
        request = request.text(text);
    }
    if let Err(e) = send(request).await {
        tracing::info!(error = %redact(&e.to_string(), ""), "a tap could not be answered (too late, most often); its work is done");
    }
}

/// The inline keyboard of rows of buttons.
pub fn markup(rows: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.text.clone(), b.data.clone()))
            .collect::<Vec<_>>()
    }))
}

/// Sends HTML, split under the limit (`messages::split`); the keyboard goes under the
/// last part. An empty text sends nothing.
pub async fn send_html(
    bot: &TgBot,
    chat: ChatId,
    html: &str,
    keyboard: &[Vec<Button>],
) -> HandlerResult {
    let parts = messages::split(html, MAX_MESSAGE);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let mut request = direct(bot)
            .send_message(chat, part)
            .parse_mode(ParseMode::Html);
        if i == last && !keyboard.is_empty() {
            request = request.reply_markup(markup(keyboard));
        }
        send(request).await?;
    }
    Ok(())
}

/// Sends one message a handler made (a text or a chart).
pub async fn send_outgoing(bot: &TgBot, chat: ChatId, out: &Outgoing) -> HandlerResult {
    match out {
        Outgoing::Text { html, keyboard } => send_html(bot, chat, html, keyboard).await,
        Outgoing::Photo {
            png_base64,
            caption,
        } => {
            use base64::Engine;
            let Ok(png) = base64::engine::general_purpose::STANDARD.decode(png_base64) else {
                tracing::error!("an outgoing photo is not valid base64; not sent");
                return Ok(());
            };
            let caption: String = messages::split(caption, MAX_CAPTION)
                .into_iter()
                .next()
                .unwrap_or_default();
            send(
                direct(bot)
                    .send_photo(chat, InputFile::memory(png).file_name("chart.png"))
                    .caption(caption)
                    .parse_mode(ParseMode::Html),
            )
            .await?;
            Ok(())
        }
    }
}

/// Edits a message's text and keyboard; "message is not modified" (a repeated tap) is
/// not an error.
pub async fn edit_html(
    bot: &TgBot,
    chat: ChatId,
    message: MessageId,
    html: &str,
    keyboard: &[Vec<Button>],
) -> HandlerResult {
    let html = messages::split(html, MAX_MESSAGE)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut request = direct(bot)
        .edit_message_text(chat, message, html)
        .parse_mode(ParseMode::Html);
    if !keyboard.is_empty() {
        request = request.reply_markup(markup(keyboard));
    }
    send(request).await.map(drop).or_else(not_modified_is_fine)
}

/// Removes a message's buttons; "message is not modified" is not an error.
pub async fn drop_keyboard(bot: &TgBot, chat: ChatId, message: MessageId) -> HandlerResult {
    send(direct(bot).edit_message_reply_markup(chat, message))
        .await
        .map(drop)
        .or_else(not_modified_is_fine)
}

/// The unthrottled bot inside the throttle, for replies.
pub fn direct(bot: &TgBot) -> &Bot {
    bot.inner().inner()
}

/// Sends a request, and sends it again after a 429 (its `retry_after`), a 5xx answer, a
/// lost connection or a time-out, with a doubling pause, for up to [`REPLY_PATIENCE`]
/// (see the module's comment); a refusal is returned at once.
pub async fn send<R>(request: R) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1_u32;
    loop {
        let error = match request.send_ref().await {
            Ok(output) => {
                if attempt > 1 {
                    tracing::info!(attempt, "a reply went through after a retry");
                }
                return Ok(output);
            }
            Err(e) => e,
        };
        let wait = match pause_before_retry(&error, backoff) {
            Some(wait) if started.elapsed() + wait <= REPLY_PATIENCE => wait,
            Some(_) => {
                tracing::error!(attempt, error = %redact(&error.to_string(), ""), "a reply could not be delivered in time; given up");
                return Err(error);
            }
            None => return Err(error),
        };
        tracing::warn!(attempt, retry_in_ms = wait.as_millis() as u64, error = %redact(&error.to_string(), ""), "a reply failed; trying again");
        tokio::time::sleep(wait).await;
        if !matches!(error, RequestError::RetryAfter(_)) {
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        attempt += 1;
    }
}

/// How long to wait before trying a failed request again; `None` when it must not be.
fn pause_before_retry(error: &RequestError, backoff: Duration) -> Option<Duration> {
    match classify(error) {
        Failure::RetryAfter(wait) => (wait <= MAX_RETRY_WAIT).then_some(wait),
        Failure::Permanent(_) => None,
        // A bad token is not a reply's to fix.
        Failure::Transient(_) if matches!(error, RequestError::Api(ApiError::InvalidToken)) => None,
        // teloxide already paused 10 s before reporting a 5xx answer (a JSON error, or a
        // proxy's page that is not JSON).
        Failure::Transient(_)
            if matches!(
                error,
                RequestError::Api(ApiError::Unknown(_)) | RequestError::InvalidJson { .. }
            ) =>
        {
            Some(backoff.saturating_sub(SERVER_ERROR_PAUSE))
        }
        Failure::Transient(_) => Some(backoff),
    }
}

fn not_modified_is_fine(e: RequestError) -> HandlerResult {
    match e {
        RequestError::Api(ApiError::MessageNotModified) => Ok(()),
        e => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_worth_another_try_are_retried() {
        let backoff = Duration::from_secs(1);
        let server = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        assert_eq!(pause_before_retry(&server, backoff), Some(Duration::ZERO));
        let refused = RequestError::Api(ApiError::Unknown("Bad Request: query is too old".into()));
        assert_eq!(pause_before_retry(&refused, backoff), None);
        assert_eq!(
            pause_before_retry(&RequestError::Api(ApiError::BotBlocked), backoff),
            None
        );
        assert_eq!(
            pause_before_retry(&RequestError::Api(ApiError::InvalidToken), backoff),
            None
        );
        let slow_down = RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(3));
        assert_eq!(
            pause_before_retry(&slow_down, backoff),
            Some(Duration::from_secs(3))
        );
        let too_slow = RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(3600));
        assert_eq!(pause_before_retry(&too_slow, backoff), None);
        let io = RequestError::Io(std::sync::Arc::new(std::io::Error::other("reset")));
        assert_eq!(pause_before_retry(&io, backoff), Some(backoff));
    }
}
