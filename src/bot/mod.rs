//! The Telegram bot: the dptree schema, commands, handlers, keyboards, replies, charts
//! and the sender that drains the outbox.

pub mod outgoing;

pub use outgoing::{Button, Outgoing};
