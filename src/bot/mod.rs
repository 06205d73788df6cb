//! The Telegram bot: the dptree schema, commands, handlers, keyboards, replies, charts
//! and the sender that drains the outbox.
//!
//! Entry points for `run`: [`dispatcher`] (the real dispatcher with every dependency),
//! [`register_commands`] (the menu), and [`posts`] (the messages scheduled jobs enqueue).

pub mod charts;
pub mod commands;
pub mod dialogue;
mod handlers;
pub mod keyboards;
pub mod messages;
pub mod posts;
mod schema;
pub mod sender;

pub use crate::domain::{Button, Outgoing};
pub use schema::{dispatcher, register_commands, schema};

/// The bot as the handlers see it: throttled to Telegram's limits, with the bot's own
/// user (`getMe`) cached. Start-up asks for it, retrying until Telegram answers
/// (`startup::reach_telegram`), so the dispatcher's own `getMe` — which, failing, would
/// stop it for good — is answered from the cache.
pub type TgBot = teloxide::adaptors::CacheMe<teloxide::adaptors::Throttle<teloxide::Bot>>;

/// What [`dispatcher`] takes as its bot: the throttled bot (the dispatcher then asks
/// `getMe` itself), or a [`TgBot`] whose `getMe` is already cached.
pub trait IntoTgBot {
    fn into_tg_bot(self) -> TgBot;
}

impl IntoTgBot for TgBot {
    fn into_tg_bot(self) -> TgBot {
        self
    }
}

impl IntoTgBot for teloxide::adaptors::Throttle<teloxide::Bot> {
    fn into_tg_bot(self) -> TgBot {
        teloxide::adaptors::CacheMe::new(self)
    }
}

/// Errors of the bot layer. Handlers turn the trader's mistakes into replies; what
/// reaches the dispatcher is logged.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("bad argument: {0}")]
    Arg(#[from] commands::ArgError),
    #[error(transparent)]
    Reason(#[from] crate::domain::ReasonError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("a Telegram request failed: {0}")]
    Request(#[from] teloxide::RequestError),
    #[error("the dialogue state cannot be stored: {0}")]
    Dialogue(#[from] dialogue::DialogueStorageError),
}
