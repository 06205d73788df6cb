//! The Telegram bot: the dptree schema, commands, handlers, keyboards, replies, charts
//! and the sender that drains the outbox.

pub mod charts;
pub mod outgoing;
pub mod sender;

pub use outgoing::{Button, Outgoing};
