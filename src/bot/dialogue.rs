//! What the bot is waiting for in a chat (the dialogue state), and a teloxide `Storage`
//! that keeps it in our own `bot_dialogues` table on either backend, so a restart does
//! not forget that the trader was asked for a reason's text.

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use teloxide::dispatching::UpdateHandler;
use teloxide::dispatching::dialogue::{Dialogue, GetChatId, Storage};
use teloxide::types::ChatId;

use super::BotError;

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
    /// A step on candidate `candidate` that needs the trader's reason was tapped: the
    /// next text is that reason.
    AwaitingCandidateReason { candidate: i64, step: CandidateStep },
}

/// The candidate steps that need a reason in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStep {
    Reject,
    Rollback,
    Modify,
}

/// The dialogue handle handlers receive.
pub type ChatDialogue = Dialogue<State, DbStorage>;

/// Enters a chat's dialogue: puts its [`ChatDialogue`] and its [`State`] within the
/// handlers' reach (what teloxide's `enter_dialogue` does), except when the state cannot
/// be read. teloxide then drops the update, so a served trader fell through to the
/// stranger's refusal; here the failure is logged and the chat taken as `Idle` (a state
/// this version cannot read is removed), so commands keep working.
pub fn enter<Upd>() -> UpdateHandler<BotError>
where
    Upd: GetChatId + Clone + Send + Sync + 'static,
{
    teloxide::dptree::filter_map(|storage: Arc<DbStorage>, upd: Upd| {
        Some(ChatDialogue::new(storage, upd.chat_id()?))
    })
    .map_async(|dialogue: ChatDialogue| async move {
        match dialogue.get().await {
            Ok(state) => state.unwrap_or_default(),
            Err(DialogueStorageError::Corrupt(e)) => {
                tracing::warn!(error = %e, chat = dialogue.chat_id().0, "an unreadable dialogue state was dropped");
                if let Err(e) = dialogue.exit().await {
                    tracing::error!(error = %e, "the unreadable dialogue state could not be removed");
                }
                State::Idle
            }
            Err(e) => {
                tracing::error!(error = %e, chat = dialogue.chat_id().0, "the dialogue state could not be read; taken as idle");
                State::Idle
            }
        }
    })
}

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
