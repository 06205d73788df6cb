//! A message the bot sends on its own, as it waits in the outbox.
//!
//! Handlers and jobs build these (text already in Telegram HTML, escaped, under the
//! length limit; callback data already ≤ 64 bytes); the sender turns them into Bot API
//! calls. Stored as JSON in `outbox.payload`.

use serde::{Deserialize, Serialize};

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
