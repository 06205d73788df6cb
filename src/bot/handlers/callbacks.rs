//! Button taps, and the text a tap asked for (a reason in words, a candidate step's
//! reason). A tap is answered, recorded through one use case, and its card edited to
//! show what was recorded.

use std::sync::Arc;

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, MessageId};

use super::transport::{answer, drop_keyboard, edit_html, send_html};
use super::{
    HandlerResult, Memory, answer_failure, candidates_page, ensure_account, failure_text,
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

/// A button tap by a served trader.
pub async fn callback(
    bot: TgBot,
    q: CallbackQuery,
    app: App,
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
        ensure_account(&app, &memory, account, &q.from.first_name).await?;
        on_callback(&bot, &q, cb, card, account, &app, &dialogue).await
    }
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(e) => answer_failure(&bot, &q, &e).await,
    }
}

async fn on_callback(
    bot: &TgBot,
    q: &CallbackQuery,
    cb: Callback,
    (chat, message): (ChatId, MessageId),
    account: AccountId,
    app: &App,
    dialogue: &ChatDialogue,
) -> Result<(), BotError> {
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
            answer(bot, q, messages::ASK_TEXT_TOAST).await?;
            send_html(bot, chat, &messages::ask_reason_text(match_id), &[]).await
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
            answer(bot, q, &toast).await?;
            edit_html(bot, chat, message, &messages::reason_recorded(&m), &[]).await
        }
        Callback::Matches(query) => {
            let reply = matches_page(app, account, &query).await?;
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Summaries { page, year } => {
            let reply = summaries_page(app, scope, year, page).await?;
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Candidates { page } => {
            let reply = candidates_page(&app.candidates(scope).await?, page);
            answer(bot, q, "").await?;
            edit_html(bot, chat, message, &reply.html, &reply.keyboard).await
        }
        Callback::Decide {
            candidate,
            decision,
        } => {
            let c = app.candidate(candidate, scope).await?;
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
            let c = app.candidate(candidate, scope).await?;
            if !messages::awaits_decision(&c) {
                answer(bot, q, &messages::candidate_toast(&c)).await?;
                return edit_html(bot, chat, message, &messages::candidate_card(&c), &[]).await;
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
            answer(bot, q, &messages::candidate_toast(&c)).await?;
            edit_html(bot, chat, message, &messages::candidate_updated(&c), &[]).await
        }
        Callback::Verdict { candidate, verdict } => {
            let c = app.candidate(candidate, scope).await?;
            if !messages::awaits_verdict(&c) {
                answer(bot, q, &messages::candidate_toast(&c)).await?;
                return edit_html(bot, chat, message, &messages::candidate_card(&c), &[]).await;
            }
            match verdict {
                Final::Keep => {
                    let c = app
                        .finalize(scope, candidate, Final::Keep, "", CHAT_ACTOR, Utc::now())
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
            answer(bot, q, &toast).await?;
            let html = messages::summary(&s);
            if messages::telegram_len(&html) <= MAX_MESSAGE {
                edit_html(bot, chat, message, &html, &[]).await
            } else {
                // A summary sent in several parts: the buttons sit under the last one,
                // which cannot hold the whole text; only the buttons go.
                drop_keyboard(bot, chat, message).await
            }
        }
        Callback::Dismiss => {
            answer(bot, q, "").await?;
            drop_keyboard(bot, chat, message).await
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
