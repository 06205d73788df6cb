//! What the bot is waiting for in a chat (the dialogue state), and a teloxide `Storage`
//! that keeps it in our own `bot_dialogues` table on either backend, so a restart does
//! not forget that the trader was asked for a reason's text.

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::{Dialogue, Storage};
use teloxide::types::ChatId;

use crate::store::{Store, StoreError};

/// The state of one chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Nothing asked; commands and buttons as usual.
    #[default]
    Idle,
    /// `other` was tapped on match `match_id`: the next text is its reason.
    AwaitingReasonText { match_id: i64 },
}

/// The dialogue handle handlers receive.
pub type ChatDialogue = Dialogue<State, DbStorage>;

/// Errors of the dialogue storage.
#[derive(Debug, thiserror::Error)]
pub enum DialogueStorageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored dialogue state cannot be read: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Dialogue states in the database, as JSON.
#[derive(Debug, Clone)]
pub struct DbStorage {
    store: Store,
}

impl DbStorage {
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self { store })
    }
}

impl<D> Storage<D> for DbStorage
where
    D: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    type Error = DialogueStorageError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        // Removing a dialogue that is not there is not an error here (teloxide's own
        // storages say otherwise): a second /cancel, or a race with a restart, must not
        // surface as a failure.
        Box::pin(async move {
            self.store.remove_dialogue(chat_id.0).await?;
            Ok(())
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: D,
    ) -> BoxFuture<'static, Result<(), Self::Error>>
    where
        D: Send + 'static,
    {
        Box::pin(async move {
            let json = serde_json::to_string(&dialogue)?;
            self.store
                .save_dialogue(chat_id.0, &json, Utc::now())
                .await?;
            Ok(())
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<D>, Self::Error>> {
        Box::pin(async move {
            match self.store.dialogue(chat_id.0).await? {
                None => Ok(None),
                Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            }
        })
    }
}
