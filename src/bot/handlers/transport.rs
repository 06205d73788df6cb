//! Talking to Telegram: send (split under the limit), edit, answer a tap, send an outbox
//! message, and retry after a 429.
//!
//! Replies go through the bot *inside* the `Throttle` adaptor, with [`send`] retrying
//! after a 429's `retry_after`: the throttle's worker wakes every 250 ms, which put a
//! quarter of a second on every reply (measured: `/matches` p50 251 ms). A reply answers
//! one action of one trader, far from Telegram's limits; bulk posting (the outbox) keeps
//! the throttle.

use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode,
};
use teloxide::{ApiError, Bot, RequestError};

use super::HandlerResult;
use crate::bot::messages::{self, MAX_CAPTION, MAX_MESSAGE};
use crate::bot::{Button, Outgoing, TgBot};

/// Answers a tap (an empty text answers without a toast).
pub async fn answer(bot: &TgBot, q: &CallbackQuery, text: &str) -> HandlerResult {
    let mut request = direct(bot).answer_callback_query(q.id.clone());
    if !text.is_empty() {
        request = request.text(text);
    }
    send(request).await?;
    Ok(())
}

/// The inline keyboard of rows of buttons.
pub fn markup(rows: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.text.clone(), b.data.clone()))
            .collect::<Vec<_>>()
    }))
}

/// Sends HTML, split at line boundaries under the limit; the keyboard goes under the
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

/// Sends one outbox message (what the delivery side does with each `Outgoing`).
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

/// How often a reply is tried when Telegram answers 429.
const SEND_ATTEMPTS: u32 = 3;
/// The longest `retry_after` a reply waits for; a longer one fails the reply (and is
/// logged) rather than holding the chat's handler.
const MAX_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The unthrottled bot inside the throttle, for replies.
pub fn direct(bot: &TgBot) -> &Bot {
    bot.inner()
}

/// Sends a request, waiting out a 429's `retry_after` (up to [`MAX_RETRY_WAIT`]) and
/// trying again, at most [`SEND_ATTEMPTS`] times.
pub async fn send<R>(request: R) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let mut attempt = 1;
    loop {
        match request.send_ref().await {
            Err(RequestError::RetryAfter(after))
                if attempt < SEND_ATTEMPTS && after.duration() <= MAX_RETRY_WAIT =>
            {
                tracing::warn!(retry_after = ?after.duration(), "Telegram asked to slow down; retrying the reply");
                tokio::time::sleep(after.duration()).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn not_modified_is_fine(e: RequestError) -> HandlerResult {
    match e {
        RequestError::Api(ApiError::MessageNotModified) => Ok(()),
        e => Err(e.into()),
    }
}
