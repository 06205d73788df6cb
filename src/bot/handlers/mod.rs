//! The handlers the schema routes to: [`commands`] (one endpoint per command),
//! [`callbacks`] (button taps and the text a tap asked for), [`documents`] (a file sent
//! in the chat: an export imported), refusals, and the
//! [`transport`] helpers they share (send, edit, answer, retry). Every handler only
//! translates: it parses the update, calls one use case of [`crate::app::App`], and
//! words the answer with `messages` and `keyboards`.

pub mod callbacks;
pub mod commands;
pub mod documents;
pub mod transport;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::CallbackQuery;

use super::commands::ArgError;
use super::keyboards::{self, Callback, MatchesQuery, PAGE_SIZE};
use super::messages;
use super::{BotError, Button};
use crate::app::App;
use crate::config::Settings;
use crate::domain::AccountId;
use crate::learning::candidates::Candidate;
use crate::store::{MatchFilter, Scope, StoreError, StoredSummary};
use transport::{answer, send_html};

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
pub struct Reply {
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

    /// Nothing more to send (the handler already sent what it had).
    fn none() -> Self {
        Self::text(String::new())
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
    answer(&bot, &q, messages::CALLBACK_REFUSED).await;
    Ok(())
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

use super::TgBot;

/// What the trader may be told about a failure: the one mapping from errors to words.
/// `None` is an internal failure: it is logged, and the trader gets a generic sentence.
enum Told<'a> {
    /// A wrong argument, with its example.
    Argument(&'a ArgError),
    /// A refusal the trader can act on (not found, not allowed, not now).
    Refused(String),
}

fn told(e: &BotError) -> Option<Told<'_>> {
    match e {
        BotError::Arg(a) => Some(Told::Argument(a)),
        BotError::Reason(r) => Some(Told::Refused(r.to_string())),
        BotError::Store(StoreError::NotFound(s)) => Some(Told::Refused(s.clone())),
        BotError::Store(e @ (StoreError::Refused { .. } | StoreError::Lifecycle(_))) => {
            Some(Told::Refused(e.to_string()))
        }
        _ => None,
    }
}

/// The trader's sentence for a failure of a command or a text; internal ones are logged
/// and not shown.
fn failure_text(e: &BotError) -> String {
    match told(e) {
        Some(Told::Argument(a)) => messages::bad_argument(a),
        Some(Told::Refused(s)) => messages::refused(&s),
        None => {
            tracing::error!(error = %e, "a chat request failed");
            messages::internal_error()
        }
    }
}

/// The short form for a callback answer (plain text, at most 200 characters).
fn failure_toast(e: &BotError) -> String {
    let text = match told(e) {
        Some(Told::Argument(a)) => a.to_string(),
        Some(Told::Refused(s)) => s,
        None => {
            tracing::error!(error = %e, "a button tap failed");
            messages::internal_error()
        }
    };
    text.chars().take(200).collect()
}

/// Makes sure the account of a served chat exists (once per process and account).
pub async fn ensure_account(
    app: &App,
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
        app.store()
            .ensure_account(account, name, Utc::now())
            .await?;
        if let Ok(mut k) = memory.known.lock() {
            k.insert(account.0);
        }
    }
    Ok(())
}

/// How many rows a page of `/summaries` or `/candidates` shows.
const LIST_PAGE: usize = 10;

/// A page of summaries, newest first. The store lists from the newest, so a page reads
/// every row up to its end (summaries are one a week: a few hundred at most).
async fn summaries_page(
    app: &App,
    scope: Scope,
    year: Option<i32>,
    page: u32,
) -> Result<Reply, BotError> {
    let start = page as usize * LIST_PAGE;
    let list = app
        .summaries(scope, year, (start + LIST_PAGE + 1) as i64)
        .await?;
    let has_more = list.len() > start + LIST_PAGE;
    let shown: Vec<_> = list.into_iter().skip(start).take(LIST_PAGE).collect();
    Ok(Reply {
        html: messages::summaries_list(&shown),
        keyboard: keyboards::list_pages(page, has_more, |page| Callback::Summaries { page, year }),
    })
}

/// A page of the candidates list.
fn candidates_page(list: &[Candidate], page: u32) -> Reply {
    let start = page as usize * LIST_PAGE;
    let shown: Vec<Candidate> = list.iter().skip(start).take(LIST_PAGE).cloned().collect();
    Reply {
        html: messages::candidates_list(&shown),
        keyboard: keyboards::list_pages(page, list.len() > start + LIST_PAGE, |page| {
            Callback::Candidates { page }
        }),
    }
}

fn summary_reply(s: &StoredSummary) -> Reply {
    Reply {
        html: messages::summary(s),
        keyboard: if s.review_status == "reviewed" {
            Vec::new()
        } else {
            keyboards::reviewed(s.id)
        },
    }
}

fn candidate_reply(c: &Candidate) -> Reply {
    let keyboard = if messages::awaits_decision(c) {
        keyboards::decisions(c.id)
    } else if messages::awaits_verdict(c) {
        keyboards::verdicts(c.id)
    } else {
        Vec::new()
    };
    Reply {
        html: messages::candidate_card(c),
        keyboard,
    }
}

/// A page of matches with its paging buttons. One row more than a page is read to know
/// whether a next page exists.
async fn matches_page(app: &App, account: AccountId, q: &MatchesQuery) -> Result<Reply, BotError> {
    let filter = MatchFilter {
        from: q.from,
        to: q.to,
        match_type: q.match_type,
        symbol: q.symbol.clone(),
        account: Some(account),
        limit: Some(i64::from(PAGE_SIZE) + 1),
        offset: i64::from(q.page) * i64::from(PAGE_SIZE),
    };
    let mut matches = app.matches(&filter).await?;
    let has_more = matches.len() > PAGE_SIZE as usize;
    matches.truncate(PAGE_SIZE as usize);
    Ok(Reply {
        html: messages::match_list(q, &matches),
        keyboard: keyboards::pages(q, has_more),
    })
}
