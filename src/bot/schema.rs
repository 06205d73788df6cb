//! The dptree: one `schema()` routing every update, and the dispatcher that injects
//! every dependency the handlers take.
//!
//! Shape: messages and button taps from a served trader (a private chat of a user in
//! `ALLOWED_USER_IDS`) enter the dialogue and reach commands, the reason-text state, or
//! the fallback; everything else is refused once and logged. Other update kinds are
//! ignored.

use std::sync::Arc;

use teloxide::dispatching::{DefaultKey, Dispatcher, HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use super::commands::Command;
use super::dialogue::{self, DbStorage, State};
use super::handlers::commands::{self as cmd, Trader};
use super::handlers::{self, Memory, callbacks, documents};
use super::posts::BotPosts;
use super::{BotError, IntoTgBot, TgBot};
use crate::app::App;
use crate::config::Settings;
use crate::store::Store;

/// The handler tree.
pub fn schema() -> UpdateHandler<BotError> {
    use dptree::case;

    let commands = dptree::entry()
        .filter_command::<Command>()
        .inspect_async(cmd::end_question)
        .branch(case![Command::Start(args)].endpoint(cmd::start))
        .branch(case![Command::Help(args)].endpoint(cmd::help))
        .branch(case![Command::Myid(args)].endpoint(cmd::myid))
        .branch(case![Command::Matches(args)].endpoint(cmd::matches))
        .branch(case![Command::Match(args)].endpoint(cmd::show_match))
        .branch(case![Command::Reason(args)].endpoint(cmd::reason))
        .branch(case![Command::Reconcile(args)].endpoint(cmd::reconcile))
        .branch(case![Command::Track(args)].endpoint(cmd::track))
        .branch(case![Command::Summaries(args)].endpoint(cmd::summaries))
        .branch(case![Command::Summary(args)].endpoint(cmd::summary))
        .branch(case![Command::Generate(args)].endpoint(cmd::generate))
        .branch(case![Command::Review(args)].endpoint(cmd::review))
        .branch(case![Command::Candidates(args)].endpoint(cmd::candidates))
        .branch(case![Command::Decide(args)].endpoint(cmd::decide))
        .branch(case![Command::Divergence(args)].endpoint(cmd::divergence))
        .branch(case![Command::Accuracy(args)].endpoint(cmd::accuracy))
        .branch(case![Command::Modifications(args)].endpoint(cmd::modifications))
        .branch(case![Command::Chart(args)].endpoint(cmd::chart))
        .branch(case![Command::Cancel(args)].endpoint(cmd::cancel));

    let served_messages = dptree::filter(|msg: Message, settings: Arc<Settings>| {
        handlers::is_served_message(&msg, &settings)
    })
    .map(|msg: Message| Trader::of(&msg))
    .inspect_async(|app: App, memory: Arc<Memory>, t: Trader| async move {
        // A failure here is logged; the handler's own use case reports it to the trader.
        if let Err(e) = handlers::ensure_account(&app, &memory, t.account, &t.name).await {
            tracing::error!(error = %e, account = t.account.0, "the account could not be recorded");
        }
    })
    .chain(dialogue::enter::<Message>())
    // A file sent in the chat is an export to import, whatever the dialogue awaits.
    .branch(dptree::filter(|msg: Message| msg.document().is_some()).endpoint(documents::document))
    .branch(commands)
    .branch(case![State::AwaitingReasonText { match_id }].endpoint(callbacks::reason_text))
    .branch(
        case![State::AwaitingCandidateReason { candidate, step }]
            .endpoint(callbacks::candidate_reason),
    )
    .branch(dptree::endpoint(handlers::fallback));

    let messages = Update::filter_message()
        .branch(served_messages)
        .branch(dptree::endpoint(handlers::refuse_message));

    let served_callbacks = dptree::filter(|q: CallbackQuery, settings: Arc<Settings>| {
        handlers::is_served_callback(&q, &settings)
    })
    .chain(dialogue::enter::<CallbackQuery>())
    .endpoint(callbacks::callback);

    let callbacks = Update::filter_callback_query()
        .branch(served_callbacks)
        .branch(dptree::endpoint(handlers::refuse_callback));

    dptree::entry().branch(messages).branch(callbacks)
}

/// The dispatcher with every dependency injected: the application (its use cases, with
/// the bot's wording for what they queue), the settings, the dialogue storage (our own
/// table) and the bot's in-memory refusal list. Updates of one chat are handled in
/// order, chats concurrently. Shut it down through its `shutdown_token()`.
pub fn dispatcher(
    bot: impl IntoTgBot,
    store: Store,
    settings: Arc<Settings>,
) -> Dispatcher<TgBot, BotError, DefaultKey> {
    let bot = bot.into_tg_bot();
    let app = App::new(store, settings.clone(), Arc::new(BotPosts));
    if settings.allowed_user_ids.is_empty() {
        tracing::warn!("ALLOWED_USER_IDS is empty: the bot serves nobody and refuses every chat");
    }
    let storage = DbStorage::new(app.store().clone());
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![
            app,
            settings,
            storage,
            Arc::new(Memory::default())
        ])
        .default_handler(|update| async move {
            tracing::debug!(
                id = update.id.0,
                "an update of a kind the bot does not handle"
            );
        })
        .error_handler(
            teloxide::error_handlers::LoggingErrorHandler::with_custom_text("a bot handler failed"),
        )
        .build()
}

/// Registers the commands (`setMyCommands`), so Telegram shows the menu.
pub async fn register_commands<R>(bot: &R) -> Result<(), BotError>
where
    R: Requester<Err = teloxide::RequestError>,
{
    // Telegram wants the names without the slash `bot_commands()` puts in front.
    let commands = Command::bot_commands()
        .into_iter()
        .map(|mut c| {
            c.command = c.command.trim_start_matches('/').to_owned();
            c
        })
        .collect::<Vec<_>>();
    bot.set_my_commands(commands).send().await?;
    Ok(())
}
