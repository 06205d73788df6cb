//! A message to the trader, as it waits in the outbox: the port between the floors that
//! decide what to say (the bot's wording, handed to the use cases at start-up) and the
//! floors that store and deliver it. It lives here, below the store and the bot, so the
//! store can queue it without knowing the bot.
//!
//! Wording builds these (text already in Telegram HTML, escaped, under the length limit;
//! callback data already ≤ 64 bytes); the bot's sender turns them into Bot API calls.
//! Stored as JSON in `outbox.payload`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use super::kinds::{UnknownName, named_enum};

/// One inline-keyboard button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub text: String,
    /// Callback data, at most 64 bytes.
    pub data: String,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outgoing {
    /// A text message in Telegram HTML, with an optional inline keyboard (rows of buttons).
    Text {
        html: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyboard: Vec<Vec<Button>>,
    },
    /// A PNG picture with an HTML caption.
    Photo {
        /// The PNG bytes, base64 (standard alphabet).
        png_base64: String,
        caption: String,
    },
}

named_enum!(
    /// What a queued message is, for logs, listings and the outbox's `kind` column.
    MessageKind, "message kind" {
        Reconciliation => "reconciliation",
        Outcomes => "outcomes",
        WeeklySummary => "weekly_summary",
        JobFailed => "job_failed",
    }
);

/// So a listing can be compared with the stored name (`m.kind == "reconciliation"`).
impl PartialEq<&str> for MessageKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
