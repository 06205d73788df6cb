//! One endpoint per command (routed by `case![Command::X]` in the schema). Each parses its
//! arguments (`bot::commands`), calls one use case and replies; a failure becomes the
//! trader's sentence (`failure_text`).

use chrono::Utc;
use teloxide::prelude::*;

use super::transport::{send_html, send_outgoing};
use super::{
    HandlerResult, Reply, candidate_reply, candidates_page, failure_text, matches_page,
    summaries_page, summary_reply,
};
use crate::app::{App, CHAT_ACTOR};
use crate::bot::charts::{self, ChartError};
use crate::bot::commands::{self, ChartKind, Period};
use crate::bot::dialogue::{ChatDialogue, State};
use crate::bot::keyboards;
use crate::bot::messages;
use crate::bot::{BotError, Outgoing, TgBot};
use crate::domain::{AccountId, Reason, day_of};
use crate::learning::DayRange;
use crate::store::Scope;

/// The trader a message comes from (a served private chat: the chat is the account).
#[derive(Debug, Clone)]
pub struct Trader {
    pub account: AccountId,
    pub name: String,
}

impl Trader {
    pub fn of(msg: &Message) -> Self {
        Self {
            account: AccountId(msg.chat.id.0),
            name: msg
                .from
                .as_ref()
                .map(|u| u.first_name.clone())
                .unwrap_or_default(),
        }
    }

    fn chat(&self) -> ChatId {
        ChatId(self.account.0)
    }

    fn scope(&self) -> Scope {
        Scope::Account(self.account)
    }
}

/// Sends a command's reply, or the trader's sentence for its failure.
async fn respond(bot: &TgBot, t: &Trader, result: Result<Reply, BotError>) -> HandlerResult {
    let reply = result.unwrap_or_else(|e| Reply::text(failure_text(&e)));
    send_html(bot, t.chat(), &reply.html, &reply.keyboard).await
}

pub async fn start(bot: TgBot, t: Trader) -> HandlerResult {
    respond(&bot, &t, Ok(Reply::text(messages::welcome(&t.name)))).await
}

pub async fn help(bot: TgBot, t: Trader) -> HandlerResult {
    respond(&bot, &t, Ok(Reply::text(messages::help()))).await
}

pub async fn myid(bot: TgBot, t: Trader) -> HandlerResult {
    respond(&bot, &t, Ok(Reply::text(messages::your_id(t.account.0)))).await
}

pub async fn matches(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let q = commands::parse_matches(&args)?;
        matches_page(&app, t.account, &q).await
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn show_match(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let id = commands::parse_match_id(&args)?;
        let m = app.match_detail(id, t.scope()).await?;
        let keyboard = if m.match_type.is_divergence() && m.reason_code.is_none() {
            keyboards::reasons(m.id)
        } else {
            Vec::new()
        };
        Ok(Reply {
            html: messages::match_detail(&m),
            keyboard,
        })
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn reason(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let (id, code, text) = commands::parse_reason(&args)?;
        let reason = Reason::new(code, text.as_deref())?;
        let m = app
            .record_reason(id, t.scope(), &reason, Utc::now())
            .await?;
        Ok(Reply::text(messages::reason_saved(&m)))
    }
    .await;
    respond(&bot, &t, result).await
}

/// The day reconciled by hand: its cards go through the outbox under the keys the
/// nightly job uses, so a day reconciled by hand is not posted again at night (nor twice
/// by two `/reconcile`).
pub async fn reconcile(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let day = commands::parse_reconcile_day(&args)?;
        let done = app.reconcile_day(t.scope(), day, Utc::now()).await?;
        Ok(Reply::text(messages::reconcile_done(
            &done.report,
            done.queued,
        )))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn track(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let day = commands::parse_track_day(&args)?;
        let report = app.track_outcomes(t.scope(), day, Utc::now()).await?;
        Ok(Reply::text(messages::track_done(&report)))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn summaries(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let year = commands::parse_optional_year(&args)?;
        summaries_page(&app, t.scope(), year, 0).await
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn summary(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let week = commands::parse_week(&args)?;
        Ok(summary_reply(&app.summary(t.account, week).await?))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn generate(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let week = commands::parse_week(&args)?;
        Ok(summary_reply(
            &app.generate_summary(t.account, week, Utc::now()).await?,
        ))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn review(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let week = commands::parse_week(&args)?;
        let s = app
            .review_summary(t.account, week, "reviewed", None, Utc::now())
            .await?;
        Ok(summary_reply(&s))
    }
    .await;
    respond(&bot, &t, result).await
}

/// The list, then a card with buttons for each candidate that waits for the trader.
pub async fn candidates(bot: TgBot, app: App, t: Trader) -> HandlerResult {
    let result = async {
        let list = app.candidates(t.scope()).await?;
        let first = candidates_page(&list, 0);
        send_html(&bot, t.chat(), &first.html, &first.keyboard).await?;
        let waiting: Vec<_> = list
            .iter()
            .filter(|c| messages::awaits_decision(c) || messages::awaits_verdict(c))
            .collect();
        let Some((last, rest)) = waiting.split_last() else {
            return Ok(Reply::none());
        };
        for c in rest {
            let card = candidate_reply(c);
            send_html(&bot, t.chat(), &card.html, &card.keyboard).await?;
        }
        Ok(candidate_reply(last))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn decide(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let (id, decision, text) = commands::parse_decide(&args)?;
        let reason = text.as_deref().unwrap_or("");
        let c = app
            .decide(t.scope(), id, decision, reason, CHAT_ACTOR, Utc::now())
            .await?;
        Ok(Reply::text(messages::candidate_updated(&c)))
    }
    .await;
    respond(&bot, &t, result).await
}

/// The days of a period, with today in the schedule zone.
fn days_of(app: &App, period: Period) -> Result<DayRange, commands::ArgError> {
    period.range(day_of(Utc::now(), app.settings().tz))
}

pub async fn divergence(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let period = commands::parse_period(&args)?;
        let r = app
            .divergence_rate(t.scope(), days_of(&app, period)?)
            .await?;
        Ok(Reply::text(messages::divergence_report(period, &r)))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn accuracy(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let period = commands::parse_period(&args)?;
        let r = app
            .algorithm_accuracy(t.scope(), days_of(&app, period)?)
            .await?;
        Ok(Reply::text(messages::accuracy_report(period, &r)))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn modifications(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let period = commands::parse_period(&args)?;
        let r = app
            .top_modifications(t.scope(), days_of(&app, period)?)
            .await?;
        Ok(Reply::text(messages::modifications_report(period, &r)))
    }
    .await;
    respond(&bot, &t, result).await
}

pub async fn chart(bot: TgBot, app: App, t: Trader, args: String) -> HandlerResult {
    let result = async {
        let (kind, period) = commands::parse_chart_period(&args)?;
        let days = days_of(&app, period).map_err(|e| commands::ArgError {
            example: commands::EX_CHART,
            ..e
        })?;
        let (png, caption) = match kind {
            ChartKind::Divergence => (
                charts::divergence_rate_png(&app.divergence_chart(t.scope(), days).await?),
                messages::chart_caption_divergence(period),
            ),
            ChartKind::Pnl => (
                charts::cumulative_pnl_png(&app.pnl_chart(t.scope(), days).await?),
                messages::chart_caption_pnl(period),
            ),
        };
        match png {
            Ok(png) => {
                use base64::Engine;
                let photo = Outgoing::Photo {
                    png_base64: base64::engine::general_purpose::STANDARD.encode(png),
                    caption,
                };
                send_outgoing(&bot, t.chat(), &photo).await?;
                Ok(Reply::none())
            }
            Err(ChartError::NoData) => Ok(Reply::text(messages::chart_no_data(period))),
            Err(e) => {
                tracing::error!(error = %e, "a chart could not be drawn");
                Ok(Reply::text(messages::internal_error()))
            }
        }
    }
    .await;
    respond(&bot, &t, result).await
}

/// A command while the bot waits for words (a reason's text, a candidate step's reason)
/// ends the wait, and says so before the command runs: the words typed next must not
/// become the answer to an earlier question. `/cancel` ends it itself.
pub async fn end_question(
    bot: TgBot,
    t: Trader,
    command: commands::Command,
    state: State,
    dialogue: ChatDialogue,
) {
    if state == State::Idle || matches!(command, commands::Command::Cancel(_)) {
        return;
    }
    if let Err(e) = dialogue.exit().await {
        tracing::error!(error = %e, chat = t.account.0, "a pending question could not be ended");
        return;
    }
    if let Some(note) = messages::question_dropped(&state)
        && let Err(e) = send_html(&bot, t.chat(), &note, &[]).await
    {
        tracing::warn!(error = %e, chat = t.account.0, "the end of a question could not be said");
    }
}

/// Leaves whatever the bot was waiting for (a reason's text, a candidate step's words).
pub async fn cancel(bot: TgBot, t: Trader, dialogue: ChatDialogue) -> HandlerResult {
    let result = async {
        Ok(match dialogue.get().await? {
            Some(State::AwaitingReasonText { .. } | State::AwaitingCandidateReason { .. }) => {
                dialogue.exit().await?;
                Reply::text(messages::cancelled())
            }
            _ => Reply::text(messages::nothing_to_cancel()),
        })
    }
    .await;
    respond(&bot, &t, result).await
}
