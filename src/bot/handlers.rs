//! The handlers the schema routes to: commands, the reason-text dialogue, button taps
//! and refusals. Replies to the trader's own commands and taps are sent directly;
//! wording comes from `messages`, buttons from `keyboards`.
//!
//! Replies go through the bot *inside* the `Throttle` adaptor, with [`send`] retrying
//! after a 429's `retry_after`: the throttle's worker wakes every 250 ms, which put a
//! quarter of a second on every reply (measured: `/matches` p50 251 ms). A reply answers
//! one action of one trader, far from Telegram's limits; bulk posting (the outbox) keeps
//! the throttle.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::requests::{Output, Request};
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ParseMode,
};
use teloxide::{ApiError, Bot, RequestError};

use super::charts::{self, ChartError};
use super::commands::{self, ChartKind, Command};
use super::dialogue::{CandidateStep, ChatDialogue, State};
use super::keyboards::{self, Callback, MatchesQuery, PAGE_SIZE};
use super::messages::{self, MAX_CAPTION, MAX_MESSAGE};
use super::posts;
use super::{BotError, Button, Outgoing, TgBot};
use crate::config::Settings;
use crate::domain::{AccountId, Reason, ReasonCode};
use crate::jobs::learning as learning_job;
use crate::learning::analytics;
use crate::learning::candidates::{Candidate, Decision, Final};
use crate::learning::summary::Week;
use crate::store::{MatchFilter, NewMessage, Scope, Store, StoreError, StoredSummary};

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
    send(
        direct(&bot)
            .answer_callback_query(q.id.clone())
            .text(messages::CALLBACK_REFUSED),
    )
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
            // The night's cards go through the outbox under the keys the nightly job
            // uses, so a day reconciled by hand is not posted again at night (nor twice
            // by two /reconcile).
            let posts: Vec<NewMessage> = posts::reconciliation_posts(day, account, &matches)
                .into_iter()
                .map(|(dedupe_key, payload)| NewMessage {
                    account,
                    dedupe_key,
                    kind: "reconciliation".to_owned(),
                    payload,
                    send_after: now,
                })
                .collect();
            let queued = store.enqueue(&posts, now).await?;
            Reply::text(messages::reconcile_done(&report, queued))
        }
        Command::Track(args) => {
            let day = commands::parse_track_day(&args)?;
            let report =
                crate::jobs::outcomes::run(store, settings.tz, day, Some(account), Utc::now())
                    .await?;
            Reply::text(messages::track_done(&report))
        }
        Command::Summaries(args) => {
            let year = commands::parse_optional_year(&args)?;
            summaries_page(store, scope, year, 0).await?
        }
        Command::Summary(args) => {
            let week = commands::parse_week(&args)?;
            summary_reply(&store.summary(account, week).await?)
        }
        Command::Generate(args) => {
            let week = commands::parse_week(&args)?;
            learning_job::weekly(store, settings, week, Some(account), Utc::now()).await?;
            summary_reply(&store.summary(account, week).await?)
        }
        Command::Review(args) => {
            let week = commands::parse_week(&args)?;
            let s = store
                .review_summary(account, week, "reviewed", None, Utc::now())
                .await?;
            summary_reply(&s)
        }
        Command::Candidates(_) => {
            let list = store.candidates(scope).await?;
            let chat = ChatId(account.0);
            let first = candidates_page(&list, 0);
            send_html(bot, chat, &first.html, &first.keyboard).await?;
            // Then a card with buttons for each candidate that waits for the trader.
            let waiting: Vec<_> = list
                .iter()
                .filter(|c| messages::awaits_decision(c) || messages::awaits_verdict(c))
                .collect();
            let Some((last, rest)) = waiting.split_last() else {
                return Ok(Reply::text(String::new()));
            };
            for c in rest {
                let card = candidate_reply(c);
                send_html(bot, chat, &card.html, &card.keyboard).await?;
            }
            candidate_reply(last)
        }
        Command::Decide(args) => {
            let (id, decision, text) = commands::parse_decide(&args)?;
            let c = learning_job::decide(
                store,
                scope,
                id,
                decision,
                text.as_deref().unwrap_or(""),
                ACTOR,
                Utc::now(),
            )
            .await?;
            Reply::text(messages::candidate_updated(&c))
        }
        Command::Divergence(args) => {
            let days = commands::parse_days(&args)?;
            let (period, items) = analytics_items(store, settings, days, account).await?;
            Reply::text(messages::divergence_report(
                days,
                &analytics::divergence_rate(&items, period),
            ))
        }
        Command::Accuracy(args) => {
            let days = commands::parse_days(&args)?;
            let (period, items) = analytics_items(store, settings, days, account).await?;
            Reply::text(messages::accuracy_report(
                days,
                &analytics::algorithm_accuracy(&items, period),
            ))
        }
        Command::Modifications(args) => {
            let days = commands::parse_days(&args)?;
            let (period, items) = analytics_items(store, settings, days, account).await?;
            Reply::text(messages::modifications_report(
                days,
                &analytics::top_modifications(&items, period),
            ))
        }
        Command::Chart(args) => {
            let (kind, days) = commands::parse_chart(&args)?;
            let (period, items) = analytics_items(store, settings, days, account).await?;
            let (png, caption) = match kind {
                ChartKind::Divergence => {
                    let points: Vec<(String, f64)> = analytics::divergence_rate(&items, period)
                        .weeks
                        .iter()
                        .map(|w| (w.week.clone(), w.rate))
                        .collect();
                    (
                        charts::divergence_rate_png(&points),
                        messages::chart_caption_divergence(days),
                    )
                }
                ChartKind::Pnl => (
                    charts::cumulative_pnl_png(&crate::learning::ledger::cumulative(
                        &items, period,
                    )),
                    messages::chart_caption_pnl(days),
                ),
            };
            match png {
                Ok(png) => {
                    use base64::Engine;
                    let photo = Outgoing::Photo {
                        png_base64: base64::engine::general_purpose::STANDARD.encode(png),
                        caption,
                    };
                    send_outgoing(bot, ChatId(account.0), &photo).await?;
                    Reply::text(String::new())
                }
                Err(ChartError::NoData) => Reply::text(messages::chart_no_data(days)),
                Err(e) => {
                    tracing::error!(error = %e, "a chart could not be drawn");
                    Reply::text(messages::internal_error())
                }
            }
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

/// How many rows a page of `/summaries` or `/candidates` shows.
const LIST_PAGE: usize = 10;

/// A page of summaries, newest first. The store lists from the newest, so a page reads
/// every row up to its end (summaries are one a week: a few hundred at most).
async fn summaries_page(
    store: &Store,
    scope: Scope,
    year: Option<i32>,
    page: u32,
) -> Result<Reply, BotError> {
    let start = page as usize * LIST_PAGE;
    let list = store
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
/// Who the candidate audit trail says decided, for decisions made in the chat.
const ACTOR: &str = "chat";

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

/// The account's last `days` days, up to today in the schedule zone, and their
/// learning items.
async fn analytics_items(
    store: &Store,
    settings: &Settings,
    days: u32,
    account: AccountId,
) -> Result<(crate::learning::DayRange, Vec<crate::learning::Item>), BotError> {
    let today = crate::domain::day_of(Utc::now(), settings.tz);
    let items =
        learning_job::items_of_last_days(store, settings, days, today, Some(account)).await?;
    Ok((learning_job::last_days(days, today), items))
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
        Callback::Summaries { page, year } => {
            let reply = summaries_page(store, scope, year, page).await?;
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Candidates { page } => {
            let reply = candidates_page(&store.candidates(scope).await?, page);
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Decide {
            candidate,
            decision,
        } => {
            let c = store.candidate(candidate, scope).await?;
            if !messages::awaits_decision(&c) {
                answer(bot, q, &messages::candidate_toast(&c)).await?;
                return edit_html(bot, chat, message, &messages::candidate_card(&c), &[]).await;
            }
            match decision {
                Decision::Implement => {
                    answer(bot, q, "").await?;
                    edit_html(
                        bot,
                        chat,
                        message,
                        &messages::confirm_implement(&c),
                        &keyboards::confirm_implement(c.id),
                    )
                    .await
                }
                Decision::Defer => {
                    let c = learning_job::decide(
                        store,
                        scope,
                        candidate,
                        Decision::Defer,
                        "",
                        ACTOR,
                        Utc::now(),
                    )
                    .await?;
                    answer(bot, q, &messages::candidate_toast(&c)).await?;
                    edit_html(bot, chat, message, &messages::candidate_updated(&c), &[]).await
                }
                Decision::Reject => {
                    ask_candidate_reason(bot, q, dialogue, chat, candidate, CandidateStep::Reject)
                        .await
                }
            }
        }
        Callback::ConfirmImplement { candidate } => {
            let c = store.candidate(candidate, scope).await?;
            if !messages::awaits_decision(&c) {
                answer(bot, q, &messages::candidate_toast(&c)).await?;
                return edit_html(bot, chat, message, &messages::candidate_card(&c), &[]).await;
            }
            let c = learning_job::decide(
                store,
                scope,
                candidate,
                Decision::Implement,
                "",
                ACTOR,
                Utc::now(),
            )
            .await?;
            answer(bot, q, &messages::candidate_toast(&c)).await?;
            edit_html(bot, chat, message, &messages::candidate_updated(&c), &[]).await
        }
        Callback::Verdict { candidate, verdict } => {
            let c = store.candidate(candidate, scope).await?;
            if !messages::awaits_verdict(&c) {
                answer(bot, q, &messages::candidate_toast(&c)).await?;
                return edit_html(bot, chat, message, &messages::candidate_card(&c), &[]).await;
            }
            match verdict {
                Final::Keep => {
                    let c = learning_job::finalize(
                        store,
                        scope,
                        candidate,
                        Final::Keep,
                        "",
                        ACTOR,
                        Utc::now(),
                    )
                    .await?;
                    answer(bot, q, &messages::candidate_toast(&c)).await?;
                    edit_html(bot, chat, message, &messages::candidate_updated(&c), &[]).await
                }
                Final::Rollback => {
                    ask_candidate_reason(bot, q, dialogue, chat, candidate, CandidateStep::Rollback)
                        .await
                }
                Final::Modify => {
                    ask_candidate_reason(bot, q, dialogue, chat, candidate, CandidateStep::Modify)
                        .await
                }
            }
        }
        Callback::Reviewed { summary } => {
            let current = store.summary_by_id(summary, scope).await?;
            let week = Week::new(current.year, current.week)
                .map_err(|_| StoreError::Corrupt(format!("summary {summary} has no valid week")))?;
            let (s, toast) = if current.review_status == "reviewed" {
                (current, messages::ALREADY_RECORDED.to_owned())
            } else {
                let s = store
                    .review_summary(account, week, "reviewed", None, Utc::now())
                    .await?;
                (s, messages::summary_reviewed_toast(week))
            };
            answer(bot, q, &toast).await?;
            let html = messages::summary(&s);
            if messages::telegram_len(&html) <= MAX_MESSAGE {
                edit_html(bot, chat, message, &html, &[]).await
            } else {
                // A summary sent in several parts: the buttons sit under the last one,
                // which cannot hold the whole text; only the buttons go.
                send(direct(bot).edit_message_reply_markup(chat, message))
                    .await
                    .map(drop)
                    .or_else(not_modified_is_fine)
            }
        }
        Callback::Dismiss => {
            answer(bot, q, "").await?;
            send(direct(bot).edit_message_reply_markup(chat, message))
                .await
                .map(drop)
                .or_else(not_modified_is_fine)
        }
    }
}

/// Asks for the words a candidate step needs, and waits for them.
async fn ask_candidate_reason(
    bot: &TgBot,
    q: &CallbackQuery,
    dialogue: &ChatDialogue,
    chat: ChatId,
    candidate: i64,
    step: CandidateStep,
) -> HandlerResult {
    dialogue
        .update(State::AwaitingCandidateReason { candidate, step })
        .await?;
    answer(bot, q, messages::ASK_TEXT_TOAST).await?;
    send_html(
        bot,
        chat,
        &messages::ask_candidate_reason(candidate, step),
        &[],
    )
    .await
}

/// Text while the bot waits for the reason of a candidate step (reject, roll back,
/// modify).
pub async fn candidate_reason(
    bot: TgBot,
    msg: Message,
    store: Store,
    dialogue: ChatDialogue,
    (candidate, step): (i64, CandidateStep),
) -> HandlerResult {
    let Some(text) = msg.text() else {
        return send_html(&bot, msg.chat.id, &messages::text_expected(), &[]).await;
    };
    if text.starts_with('/') {
        return send_html(&bot, msg.chat.id, &messages::unknown_command(), &[]).await;
    }
    let scope = Scope::Account(AccountId(msg.chat.id.0));
    let now = Utc::now();
    let result = match step {
        CandidateStep::Reject => {
            learning_job::decide(&store, scope, candidate, Decision::Reject, text, ACTOR, now).await
        }
        CandidateStep::Rollback => {
            learning_job::finalize(&store, scope, candidate, Final::Rollback, text, ACTOR, now)
                .await
        }
        CandidateStep::Modify => {
            learning_job::finalize(&store, scope, candidate, Final::Modify, text, ACTOR, now).await
        }
    };
    let html = match result {
        Ok(c) => {
            dialogue.exit().await?;
            messages::candidate_updated(&c)
        }
        Err(e @ (StoreError::NotFound(_) | StoreError::Lifecycle(_))) => {
            dialogue.exit().await?;
            failure_text(&e.into())
        }
        Err(e) => failure_text(&e.into()),
    };
    send_html(&bot, msg.chat.id, &html, &[]).await
}

/// The trader's sentence for a failure; internal ones are logged and not shown.
fn failure_text(e: &BotError) -> String {
    match e {
        BotError::Arg(a) => messages::bad_argument(a),
        BotError::Reason(r) => messages::refused(&r.to_string()),
        BotError::Store(StoreError::NotFound(s)) => messages::refused(s),
        BotError::Store(e @ (StoreError::Refused { .. } | StoreError::Lifecycle(_))) => {
            messages::refused(&e.to_string())
        }
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
        BotError::Store(e @ (StoreError::Refused { .. } | StoreError::Lifecycle(_))) => {
            e.to_string()
        }
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
    let mut request = direct(bot)
        .edit_message_text(chat, message, html)
        .parse_mode(ParseMode::Html);
    if !keyboard.is_empty() {
        request = request.reply_markup(markup(keyboard));
    }
    send(request).await.map(drop).or_else(not_modified_is_fine)
}

/// How often a reply is tried when Telegram answers 429.
const SEND_ATTEMPTS: u32 = 3;
/// The longest `retry_after` a reply waits for; a longer one fails the reply (and is
/// logged) rather than holding the chat's handler.
const MAX_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The unthrottled bot inside the throttle, for replies.
fn direct(bot: &TgBot) -> &Bot {
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
