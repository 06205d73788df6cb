//! The handlers the schema routes to: commands, the reason-text dialogue, button taps
//! and refusals. Replies to the trader's own commands and taps are sent directly;
//! wording comes from `messages`, buttons from `keyboards`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode,
};
use teloxide::{ApiError, RequestError};

use super::commands::{self, ArgError, Command};
use super::dialogue::{ChatDialogue, State};
use super::keyboards::{self, Callback, MatchesQuery, PAGE_SIZE};
use super::messages::{self, MAX_CAPTION, MAX_MESSAGE};
use super::posts;
use super::{BotError, Button, Outgoing, TgBot};
use crate::config::Settings;
use crate::domain::{AccountId, Reason, ReasonCode};
use crate::store::{MatchFilter, Scope, Store, StoreError};

/// What a handler returns to the dispatcher (errors are logged there).
pub type HandlerResult = Result<(), BotError>;

/// What the bot remembers in memory between updates: the chats already refused (so a
/// stranger gets one refusal, not one per message) and the accounts known to exist.
#[derive(Debug, Default)]
pub struct Memory {
    refused: Mutex<HashSet<i64>>,
    known: Mutex<HashSet<i64>>,
}

/// A reply: HTML (split if long) and the keyboard under its last part.
struct Reply {
    html: String,
    keyboard: Vec<Vec<Button>>,
}

impl Reply {
    fn text(html: String) -> Self {
        Self {
            html,
            keyboard: Vec::new(),
        }
    }
}

/// Whether a message's sender is served: a private chat with an allowed user.
pub fn is_served_message(msg: &Message, settings: &Settings) -> bool {
    msg.chat.is_private()
        && msg.from.as_ref().is_some_and(|u| {
            let id = u.id.0 as i64;
            id == msg.chat.id.0 && settings.allowed_user_ids.contains(&id)
        })
}

/// Whether a tap is served: an allowed user, under a message in their private chat.
pub fn is_served_callback(q: &CallbackQuery, settings: &Settings) -> bool {
    let user = q.from.id.0 as i64;
    settings.allowed_user_ids.contains(&user)
        && q.message
            .as_ref()
            .is_some_and(|m| m.chat().is_private() && m.chat().id.0 == user)
}

/// A message from someone not served: logged, and answered once per chat.
pub async fn refuse_message(bot: TgBot, msg: Message, memory: Arc<Memory>) -> HandlerResult {
    let user = msg.from.as_ref().map(|u| u.id.0 as i64);
    tracing::warn!(
        chat = msg.chat.id.0,
        ?user,
        "refused a message from a chat that is not served"
    );
    let first = memory
        .refused
        .lock()
        .map(|mut r| r.insert(msg.chat.id.0))
        .unwrap_or(false);
    if !first {
        return Ok(());
    }
    let text = match (msg.chat.is_private(), user) {
        (true, Some(user)) => messages::refusal(user),
        _ => messages::group_refusal(),
    };
    send_html(&bot, msg.chat.id, &text, &[]).await
}

/// A tap from someone not served: logged and answered with a short notice.
pub async fn refuse_callback(bot: TgBot, q: CallbackQuery) -> HandlerResult {
    tracing::warn!(
        user = q.from.id.0,
        "refused a button tap from a user who is not served"
    );
    bot.answer_callback_query(q.id.clone())
        .text(messages::CALLBACK_REFUSED)
        .await?;
    Ok(())
}

/// A command from a served trader.
pub async fn command(
    bot: TgBot,
    msg: Message,
    cmd: Command,
    store: Store,
    settings: Arc<Settings>,
    dialogue: ChatDialogue,
    memory: Arc<Memory>,
) -> HandlerResult {
    let account = AccountId(msg.chat.id.0);
    let name = msg
        .from
        .as_ref()
        .map(|u| u.first_name.clone())
        .unwrap_or_default();
    let result = async {
        ensure_account(&store, &memory, account, &name).await?;
        run_command(&bot, cmd, &name, account, &store, &settings, &dialogue).await
    }
    .await;
    let reply = match result {
        Ok(reply) => reply,
        Err(e) => Reply::text(failure_text(&e)),
    };
    send_html(&bot, msg.chat.id, &reply.html, &reply.keyboard).await
}

async fn run_command(
    bot: &TgBot,
    cmd: Command,
    name: &str,
    account: AccountId,
    store: &Store,
    settings: &Settings,
    dialogue: &ChatDialogue,
) -> Result<Reply, BotError> {
    let scope = Scope::Account(account);
    Ok(match cmd {
        Command::Start(_) => Reply::text(messages::welcome(name)),
        Command::Help(_) => Reply::text(messages::help()),
        Command::Myid(_) => Reply::text(messages::your_id(account.0)),
        Command::Matches(args) => {
            let q = commands::parse_matches(&args)?;
            matches_page(store, account, &q).await?
        }
        Command::Match(args) => {
            let id = commands::parse_match_id(&args)?;
            let m = store.match_detail(id, scope).await?;
            let keyboard = if m.match_type.is_divergence() && m.reason_code.is_none() {
                keyboards::reasons(m.id)
            } else {
                Vec::new()
            };
            Reply {
                html: messages::match_detail(&m),
                keyboard,
            }
        }
        Command::Reason(args) => {
            let (id, code, text) = commands::parse_reason(&args)?;
            let reason = Reason::new(code, text.as_deref())?;
            let m = store.set_reason(id, scope, &reason, Utc::now()).await?;
            Reply::text(messages::reason_saved(&m))
        }
        Command::Reconcile(args) => {
            let day = commands::parse_reconcile_day(&args)?;
            let now = Utc::now();
            let report = crate::jobs::reconcile::run_day(
                store,
                &settings.rules,
                settings.tz,
                day,
                Some(account),
                now,
            )
            .await?;
            let filter = MatchFilter {
                from: Some(day),
                to: Some(day),
                account: Some(account),
                ..MatchFilter::default()
            };
            let matches = store.matches(&filter).await?;
            send_html(
                bot,
                ChatId(account.0),
                &messages::reconcile_done(&report),
                &[],
            )
            .await?;
            // The cards of a manual run are sent directly: they answer the trader's own
            // command, as every other reply does.
            let mut posts = posts::reconciliation_posts(day, account, &matches).into_iter();
            let Some((_, last)) = posts.next_back() else {
                return Ok(Reply::text(messages::reconciliation_summary(day, &[])));
            };
            for (_, post) in posts {
                send_outgoing(bot, ChatId(account.0), &post).await?;
            }
            return Ok(match last {
                Outgoing::Text { html, keyboard } => Reply { html, keyboard },
                Outgoing::Photo { .. } => {
                    send_outgoing(bot, ChatId(account.0), &last).await?;
                    Reply::text(String::new())
                }
            });
        }
        Command::Track(args) => {
            let day = commands::parse_track_day(&args)?;
            let report =
                crate::jobs::outcomes::run(store, settings.tz, day, Some(account), Utc::now())
                    .await?;
            Reply::text(messages::track_done(&report))
        }
        Command::Summaries(args) => {
            commands::parse_optional_year(&args)?;
            Reply::text(messages::not_available_yet("Weekly summaries"))
        }
        Command::Summary(args) | Command::Generate(args) | Command::Review(args) => {
            commands::parse_week(&args)?;
            Reply::text(messages::not_available_yet("Weekly summaries"))
        }
        Command::Candidates(_) => Reply::text(messages::not_available_yet("Candidates")),
        Command::Decide(args) => {
            commands::parse_decide(&args)?;
            Reply::text(messages::not_available_yet("Candidates"))
        }
        Command::Divergence(args) | Command::Accuracy(args) | Command::Modifications(args) => {
            commands::parse_days(&args)?;
            Reply::text(messages::not_available_yet("Analytics"))
        }
        Command::Chart(args) => {
            commands::parse_chart(&args)?;
            Reply::text(messages::not_available_yet("Charts"))
        }
        Command::Cancel(_) => match dialogue.get().await? {
            Some(State::AwaitingReasonText { .. }) => {
                dialogue.exit().await?;
                Reply::text(messages::cancelled())
            }
            _ => Reply::text(messages::nothing_to_cancel()),
        },
    })
}

/// A page of matches with its paging buttons. One row more than a page is read to know
/// whether a next page exists.
async fn matches_page(
    store: &Store,
    account: AccountId,
    q: &MatchesQuery,
) -> Result<Reply, BotError> {
    let filter = MatchFilter {
        from: q.from,
        to: q.to,
        match_type: q.match_type,
        symbol: q.symbol.clone(),
        account: Some(account),
        limit: Some(i64::from(PAGE_SIZE) + 1),
        offset: i64::from(q.page) * i64::from(PAGE_SIZE),
    };
    let mut matches = store.matches(&filter).await?;
    let has_more = matches.len() > PAGE_SIZE as usize;
    matches.truncate(PAGE_SIZE as usize);
    Ok(Reply {
        html: messages::match_list(q, &matches),
        keyboard: keyboards::pages(q, has_more),
    })
}

/// Text while the bot waits for the reason of an `other`.
pub async fn reason_text(
    bot: TgBot,
    msg: Message,
    store: Store,
    dialogue: ChatDialogue,
    match_id: i64,
) -> HandlerResult {
    let Some(text) = msg.text() else {
        return send_html(&bot, msg.chat.id, &messages::text_expected(), &[]).await;
    };
    if text.starts_with('/') {
        return send_html(&bot, msg.chat.id, &messages::unknown_command(), &[]).await;
    }
    let account = AccountId(msg.chat.id.0);
    let result = async {
        let reason = Reason::new(ReasonCode::Other, Some(text))?;
        let m = store
            .set_reason(match_id, Scope::Account(account), &reason, Utc::now())
            .await?;
        dialogue.exit().await?;
        Ok::<_, BotError>(messages::reason_saved(&m))
    }
    .await;
    let html = match result {
        Ok(html) => html,
        Err(e @ BotError::Store(StoreError::NotFound(_) | StoreError::Refused { .. })) => {
            // The match is gone or not a divergence: asking again would loop.
            dialogue.exit().await?;
            failure_text(&e)
        }
        Err(e) => failure_text(&e),
    };
    send_html(&bot, msg.chat.id, &html, &[]).await
}

/// Anything else a served trader sends.
pub async fn fallback(bot: TgBot, msg: Message) -> HandlerResult {
    let text = if msg.text().is_some_and(|t| t.starts_with('/')) {
        messages::unknown_command()
    } else {
        messages::not_understood()
    };
    send_html(&bot, msg.chat.id, &text, &[]).await
}

/// A button tap by a served trader.
pub async fn callback(
    bot: TgBot,
    q: CallbackQuery,
    store: Store,
    dialogue: ChatDialogue,
    memory: Arc<Memory>,
) -> HandlerResult {
    let account = AccountId(q.from.id.0 as i64);
    let Some(card) = q.message.as_ref().map(|m| (m.chat().id, m.id())) else {
        return answer(&bot, &q, messages::CALLBACK_STALE).await;
    };
    let Some(cb) = q.data.as_deref().and_then(Callback::decode) else {
        tracing::info!(user = account.0, data = ?q.data, "a tap with unknown callback data");
        return answer(&bot, &q, messages::CALLBACK_STALE).await;
    };
    let result = async {
        ensure_account(&store, &memory, account, &q.from.first_name).await?;
        on_callback(&bot, &q, cb, card, account, &store, &dialogue).await
    }
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(e) => answer(&bot, &q, &failure_toast(&e)).await,
    }
}

async fn on_callback(
    bot: &TgBot,
    q: &CallbackQuery,
    cb: Callback,
    (chat, message): (ChatId, MessageId),
    account: AccountId,
    store: &Store,
    dialogue: &ChatDialogue,
) -> Result<(), BotError> {
    let scope = Scope::Account(account);
    match cb {
        Callback::Reason {
            match_id,
            code: ReasonCode::Other,
        } => {
            let m = store.match_detail(match_id, scope).await?;
            crate::domain::Reason::applies_to(m.match_type).map_err(|source| {
                StoreError::Refused {
                    what: format!("match {match_id}"),
                    source,
                }
            })?;
            dialogue
                .update(State::AwaitingReasonText { match_id })
                .await?;
            answer(bot, q, messages::ASK_TEXT_TOAST).await?;
            send_html(bot, chat, &messages::ask_reason_text(match_id), &[]).await
        }
        Callback::Reason { match_id, code } => {
            let current = store.match_detail(match_id, scope).await?;
            // A second tap (or a duplicated update) finds the reason already there and
            // records nothing.
            let (m, toast) = if current.reason_code.as_deref() == Some(code.as_str()) {
                (current, messages::ALREADY_RECORDED.to_owned())
            } else {
                let reason = Reason::new(code, None)?;
                let m = store
                    .set_reason(match_id, scope, &reason, Utc::now())
                    .await?;
                (m, messages::reason_toast(code))
            };
            answer(bot, q, &toast).await?;
            edit_html(bot, chat, message, &messages::reason_recorded(&m), &[]).await
        }
        Callback::Matches(query) => {
            let reply = matches_page(store, account, &query).await?;
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Decide { .. }
        | Callback::ConfirmImplement { .. }
        | Callback::Verdict { .. }
        | Callback::Reviewed { .. } => answer(bot, q, &messages::not_available_yet("This")).await,
        Callback::Dismiss => {
            answer(bot, q, "").await?;
            bot.edit_message_reply_markup(chat, message)
                .await
                .map(drop)
                .or_else(not_modified_is_fine)
        }
    }
}

/// The trader's sentence for a failure; internal ones are logged and not shown.
fn failure_text(e: &BotError) -> String {
    match e {
        BotError::Arg(a) => messages::bad_argument(a),
        BotError::Reason(r) => messages::refused(&r.to_string()),
        BotError::Store(StoreError::NotFound(s)) => messages::refused(s),
        BotError::Store(e @ StoreError::Refused { .. }) => messages::refused(&e.to_string()),
        other => {
            tracing::error!(error = %other, "a chat request failed");
            messages::internal_error()
        }
    }
}

/// The short form for a callback answer (plain text, at most 200 characters).
fn failure_toast(e: &BotError) -> String {
    let text = match e {
        BotError::Reason(r) => r.to_string(),
        BotError::Store(StoreError::NotFound(s)) => s.clone(),
        BotError::Store(e @ StoreError::Refused { .. }) => e.to_string(),
        other => {
            tracing::error!(error = %other, "a button tap failed");
            messages::internal_error()
        }
    };
    text.chars().take(200).collect()
}

async fn ensure_account(
    store: &Store,
    memory: &Memory,
    account: AccountId,
    name: &str,
) -> Result<(), BotError> {
    let known = memory
        .known
        .lock()
        .map(|k| k.contains(&account.0))
        .unwrap_or(false);
    if !known {
        store.ensure_account(account, name, Utc::now()).await?;
        if let Ok(mut k) = memory.known.lock() {
            k.insert(account.0);
        }
    }
    Ok(())
}

async fn answer(bot: &TgBot, q: &CallbackQuery, text: &str) -> HandlerResult {
    let mut request = bot.answer_callback_query(q.id.clone());
    if !text.is_empty() {
        request = request.text(text);
    }
    request.await?;
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
        let mut request = bot.send_message(chat, part).parse_mode(ParseMode::Html);
        if i == last && !keyboard.is_empty() {
            request = request.reply_markup(markup(keyboard));
        }
        request.await?;
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
            bot.send_photo(chat, InputFile::memory(png).file_name("chart.png"))
                .caption(caption)
                .parse_mode(ParseMode::Html)
                .await?;
            Ok(())
        }
    }
}

/// Edits a message's text and keyboard; "message is not modified" (a repeated tap) is
/// not an error.
async fn edit_html(
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
    let mut request = bot
        .edit_message_text(chat, message, html)
        .parse_mode(ParseMode::Html);
    if !keyboard.is_empty() {
        request = request.reply_markup(markup(keyboard));
    }
    request.await.map(drop).or_else(not_modified_is_fine)
}

fn not_modified_is_fine(e: RequestError) -> HandlerResult {
    match e {
        RequestError::Api(ApiError::MessageNotModified) => Ok(()),
        e => Err(e.into()),
    }
}

impl From<ArgError> for BotError {
    fn from(e: ArgError) -> Self {
        BotError::Arg(e)
    }
}
