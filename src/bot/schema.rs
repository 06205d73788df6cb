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
use super::dialogue::{DbStorage, State};
use super::handlers::{self, Memory};
use super::{BotError, TgBot};
use crate::config::Settings;
use crate::store::Store;

/// The handler tree.
pub fn schema() -> UpdateHandler<BotError> {
    let served_messages = dptree::filter(|msg: Message, settings: Arc<Settings>| {
        handlers::is_served_message(&msg, &settings)
    })
    .enter_dialogue::<Message, DbStorage, State>()
    .branch(
        dptree::entry()
            .filter_command::<Command>()
            .endpoint(handlers::command),
    )
    .branch(dptree::case![State::AwaitingReasonText { match_id }].endpoint(handlers::reason_text))
    .branch(dptree::endpoint(handlers::fallback));

    let messages = Update::filter_message()
        .branch(served_messages)
        .branch(dptree::endpoint(handlers::refuse_message));

    let served_callbacks = dptree::filter(|q: CallbackQuery, settings: Arc<Settings>| {
        handlers::is_served_callback(&q, &settings)
    })
    .enter_dialogue::<CallbackQuery, DbStorage, State>()
    .endpoint(handlers::callback);

    let callbacks = Update::filter_callback_query()
        .branch(served_callbacks)
        .branch(dptree::endpoint(handlers::refuse_callback));

    dptree::entry().branch(messages).branch(callbacks)
}

/// The dispatcher with every dependency injected: the store, the settings, the dialogue
/// storage (our own table) and the bot's in-memory refusal list. Updates of one chat are
/// handled in order, chats concurrently. Shut it down through its `shutdown_token()`.
pub fn dispatcher(
    bot: TgBot,
    store: Store,
    settings: Arc<Settings>,
) -> Dispatcher<TgBot, BotError, DefaultKey> {
    if settings.allowed_user_ids.is_empty() {
        tracing::warn!("ALLOWED_USER_IDS is empty: the bot serves nobody and refuses every chat");
    }
    let storage = DbStorage::new(store.clone());
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![
            store,
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
pub async fn register_commands(bot: &TgBot) -> Result<(), BotError> {
    // Telegram wants the names without the slash `bot_commands()` puts in front.
    let commands = Command::bot_commands()
        .into_iter()
        .map(|mut c| {
            c.command = c.command.trim_start_matches('/').to_owned();
            c
        })
        .collect::<Vec<_>>();
    bot.set_my_commands(commands).await?;
    Ok(())
}
