//! Button taps, and the text a tap asked for (a reason in words, a candidate step's
//! reason). A tap is recorded through one use case, its card edited to show what was
//! recorded, and then answered (best effort: see [`callback`]).

use std::sync::Arc;

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, MessageId};

use super::transport::{answer, drop_keyboard, edit_html, send_html};
use super::{
    HandlerResult, Memory, candidates_page, ensure_account, failure_text, failure_toast,
    matches_page, summaries_page,
};
use crate::app::{App, CHAT_ACTOR};
use crate::bot::dialogue::{CandidateStep, ChatDialogue, State};
use crate::bot::keyboards::{self, Callback};
use crate::bot::messages::{self, MAX_MESSAGE};
use crate::bot::{BotError, TgBot};
use crate::domain::{AccountId, Reason, ReasonCode, Week};
use crate::learning::candidates::{Decision, Final};
use crate::store::{Scope, StoreError};

/// Text while the bot waits for the reason of an `other`.
pub async fn reason_text(
    bot: TgBot,
    msg: Message,
    app: App,
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
        let m = app
            .record_reason(match_id, Scope::Account(account), &reason, Utc::now())
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

/// A button tap by a served trader: the work first (record, edit the card, ask a
/// question), then one answer with its toast. The answer is a courtesy
/// ([`transport::answer`](super::transport::answer)): a tap answered after Telegram's
/// deadline — slow handling, or a tap made while the bot was down — is still recorded
/// and its card still edited, and its expired query is answered once, not twice.
///
/// A tap that changes something (a reason, a decision, a verdict, a review) ends a
/// question the bot was waiting on ([`State`]): the words typed next must not become
/// the reason of an earlier tap. Paging through a list does not.
pub async fn callback(
    bot: TgBot,
    q: CallbackQuery,
    app: App,
    dialogue: ChatDialogue,
    memory: Arc<Memory>,
    state: State,
) -> HandlerResult {
    let account = AccountId(q.from.id.0 as i64);
    let card = q.message.as_ref().map(|m| (m.chat().id, m.id()));
    let cb = q.data.as_deref().and_then(Callback::decode);
    let toast = match (card, cb) {
        (None, _) => messages::CALLBACK_STALE.to_owned(),
        (Some(_), None) => {
            tracing::info!(user = account.0, data = ?q.data, "a tap with unknown callback data");
            messages::CALLBACK_STALE.to_owned()
        }
        (Some(card), Some(cb)) => {
            let result = async {
                ensure_account(&app, &memory, account, &q.from.first_name).await?;
                if changes_something(&cb) && state != State::Idle {
                    dialogue.exit().await?;
                }
                on_callback(&bot, cb, card, account, &app, &dialogue).await
            }
            .await;
            result.unwrap_or_else(|e| failure_toast(&e))
        }
    };
    answer(&bot, &q, &toast).await;
    Ok(())
}

/// Whether a tap records or decides something (paging and dismissing do not).
fn changes_something(cb: &Callback) -> bool {
    !matches!(
        cb,
        Callback::Matches(_)
            | Callback::Summaries { .. }
            | Callback::Candidates { .. }
            | Callback::Dismiss
    )
}

/// Shows what a tap recorded on its card. The record stands whatever happens here, so a
/// card that cannot be edited (deleted, or Telegram refuses) is logged, not an error.
async fn show(
    bot: &TgBot,
    (chat, message): (ChatId, MessageId),
    html: &str,
    keyboard: &[Vec<crate::domain::Button>],
) {
    if let Err(e) = edit_html(bot, chat, message, html, keyboard).await {
        tracing::warn!(error = %e, chat = chat.0, "a card could not be edited to show what was recorded");
    }
}

/// Does a tap's work and returns its toast.
async fn on_callback(
    bot: &TgBot,
    cb: Callback,
    card: (ChatId, MessageId),
    account: AccountId,
    app: &App,
    dialogue: &ChatDialogue,
) -> Result<String, BotError> {
    let (chat, message) = card;
    let scope = Scope::Account(account);
    match cb {
        Callback::Reason {
            match_id,
            code: ReasonCode::Other,
        } => {
            let m = app.match_detail(match_id, scope).await?;
            crate::domain::Reason::applies_to(m.match_type).map_err(|source| {
                StoreError::Refused {
                    what: format!("match {match_id}"),
                    source,
                }
            })?;
            dialogue
                .update(State::AwaitingReasonText { match_id })
                .await?;
            send_html(bot, chat, &messages::ask_reason_text(match_id), &[]).await?;
            Ok(messages::ASK_TEXT_TOAST.to_owned())
        }
        Callback::Reason { match_id, code } => {
            let current = app.match_detail(match_id, scope).await?;
            // A second tap (or a duplicated update) finds the reason already there and
            // records nothing.
            let (m, toast) = if current.reason_code.as_deref() == Some(code.as_str()) {
                (current, messages::ALREADY_RECORDED.to_owned())
            } else {
                let reason = Reason::new(code, None)?;
                let m = app
                    .record_reason(match_id, scope, &reason, Utc::now())
                    .await?;
                (m, messages::reason_toast(code))
            };
            show(bot, card, &messages::reason_recorded(&m), &[]).await;
            Ok(toast)
        }
        Callback::Matches(query) => {
            let reply = matches_page(app, account, &query).await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await?;
            Ok(String::new())
        }
        Callback::Summaries { page, year } => {
            let reply = summaries_page(app, scope, year, page).await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await?;
            Ok(String::new())
        }
        Callback::Candidates { page } => {
            let reply = candidates_page(&app.candidates(scope).await?, page);
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await?;
            Ok(String::new())
        }
        Callback::Decide {
            candidate,
            decision,
        } => {
            let c = app.candidate(candidate, scope).await?;
            if !messages::awaits_decision(&c) {
                show(bot, card, &messages::candidate_card(&c), &[]).await;
                return Ok(messages::candidate_toast(&c));
            }
            match decision {
                Decision::Implement => {
                    edit_html(
                        bot,
                        chat,
                        message,
                        &messages::confirm_implement(&c),
                        &keyboards::confirm_implement(c.id),
                    )
                    .await?;
                    Ok(String::new())
                }
                Decision::Defer => {
                    let c = app
                        .decide(
                            scope,
                            candidate,
                            Decision::Defer,
                            "",
                            CHAT_ACTOR,
                            Utc::now(),
                        )
                        .await?;
                    show(bot, card, &messages::candidate_updated(&c), &[]).await;
                    Ok(messages::candidate_toast(&c))
                }
                Decision::Reject => {
                    ask_candidate_reason(bot, dialogue, chat, candidate, CandidateStep::Reject)
                        .await
                }
            }
        }
        Callback::ConfirmImplement { candidate } => {
            let c = app.candidate(candidate, scope).await?;
            if !messages::awaits_decision(&c) {
                show(bot, card, &messages::candidate_card(&c), &[]).await;
                return Ok(messages::candidate_toast(&c));
            }
            let c = app
                .decide(
                    scope,
                    candidate,
                    Decision::Implement,
                    "",
                    CHAT_ACTOR,
                    Utc::now(),
                )
                .await?;
            show(bot, card, &messages::candidate_updated(&c), &[]).await;
            Ok(messages::candidate_toast(&c))
        }
        Callback::Verdict { candidate, verdict } => {
            let c = app.candidate(candidate, scope).await?;
            if !messages::awaits_verdict(&c) {
                show(bot, card, &messages::candidate_card(&c), &[]).await;
                return Ok(messages::candidate_toast(&c));
            }
            match verdict {
                Final::Keep => {
                    let c = app
                        .finalize(scope, candidate, Final::Keep, "", CHAT_ACTOR, Utc::now())
                        .await?;
                    show(bot, card, &messages::candidate_updated(&c), &[]).await;
                    Ok(messages::candidate_toast(&c))
                }
                Final::Rollback => {
                    ask_candidate_reason(bot, dialogue, chat, candidate, CandidateStep::Rollback)
                        .await
                }
                Final::Modify => {
                    ask_candidate_reason(bot, dialogue, chat, candidate, CandidateStep::Modify)
                        .await
                }
            }
        }
        Callback::Reviewed { summary } => {
            let current = app.summary_by_id(summary, scope).await?;
            let week = Week::new(current.year, current.week)
                .map_err(|_| StoreError::Corrupt(format!("summary {summary} has no valid week")))?;
            let (s, toast) = if current.review_status == "reviewed" {
                (current, messages::ALREADY_RECORDED.to_owned())
            } else {
                let s = app
                    .review_summary(account, week, "reviewed", None, Utc::now())
                    .await?;
                (s, messages::summary_reviewed_toast(week))
            };
            let html = messages::summary(&s);
            if messages::telegram_len(&html) <= MAX_MESSAGE {
                show(bot, card, &html, &[]).await;
            } else if let Err(e) = drop_keyboard(bot, chat, message).await {
                // A summary sent in several parts: the buttons sit under the last one,
                // which cannot hold the whole text; only the buttons go.
                tracing::warn!(error = %e, "the review button could not be removed");
            }
            Ok(toast)
        }
        Callback::ReconcileDays { from, to } => {
            if (to - from).num_days() > 366 {
                return Ok(messages::RECONCILE_SPAN_TOO_LONG.to_owned());
            }
            let (mut written, mut queued) = (0, 0);
            for day in from.iter_days().take_while(|d| *d <= to) {
                let done = app.reconcile_day(scope, day, Utc::now()).await?;
                written += done.report.written;
                queued += done.queued;
            }
            show(
                bot,
                card,
                &messages::document_reconciled(from, to, written, queued),
                &[],
            )
            .await;
            Ok(messages::RECONCILED_TOAST.to_owned())
        }
        Callback::Dismiss => {
            drop_keyboard(bot, chat, message).await?;
            Ok(String::new())
        }
    }
}

/// Asks for the words a candidate step needs, and waits for them.
async fn ask_candidate_reason(
    bot: &TgBot,
    dialogue: &ChatDialogue,
    chat: ChatId,
    candidate: i64,
    step: CandidateStep,
) -> Result<String, BotError> {
    dialogue
        .update(State::AwaitingCandidateReason { candidate, step })
        .await?;
    send_html(
        bot,
        chat,
        &messages::ask_candidate_reason(candidate, step),
        &[],
    )
    .await?;
    Ok(messages::ASK_TEXT_TOAST.to_owned())
}

/// Text while the bot waits for the reason of a candidate step (reject, roll back,
/// modify).
pub async fn candidate_reason(
    bot: TgBot,
    msg: Message,
    app: App,
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
            app.decide(scope, candidate, Decision::Reject, text, CHAT_ACTOR, now)
                .await
        }
        CandidateStep::Rollback => {
            app.finalize(scope, candidate, Final::Rollback, text, CHAT_ACTOR, now)
                .await
        }
        CandidateStep::Modify => {
            app.finalize(scope, candidate, Final::Modify, text, CHAT_ACTOR, now)
                .await
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
