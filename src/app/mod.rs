//! The application layer: one function per use case, under every entry point.
//!
//! The CLI, the bot, the scheduler and the HTTP API only translate — parse a request,
//! call one use case here, render its answer. A use case takes the store and the
//! settings it needs (through [`App`]), a scope (one account, or all for the operator's
//! tools) and the time as a parameter, and returns domain values; it never words a
//! message itself. What it must write together — results and the messages that report
//! them — it writes in one transaction it opens ([`crate::store::Tx`]), with the
//! messages worded by the [`Posts`] port the entry point injected at start-up (the bot's
//! wording in `run`, none on the command line).
//!
//! | use case | function |
//! |---|---|
//! | import a file | [`App::import`] |
//! | import executions from any export (generic or a broker's; detected, dry run) | [`App::import_executions`] |
//! | link a broker account to a chat / unlink / list | [`App::link_broker_account`], [`App::unlink_broker_account`], [`App::broker_links`] |
//! | reconcile a day (with its posts) | [`App::reconcile_day`] |
//! | track outcomes (with their posts) | [`App::track_outcomes`] |
//! | list / show matches, record a reason | [`App::matches`], [`App::match_detail`], [`App::record_reason`] |
//! | weekly summary: generate / list / show / review, the Saturday run | [`App::generate_summary`], [`App::summaries`], [`App::summary`], [`App::review_summary`], [`App::weekly_summary`] |
//! | candidates: list / show / decide / finalize | [`App::candidates`], [`App::candidate`], [`App::decide`], [`App::finalize`] |
//! | analytics, a chart's data | [`App::analytics_items`], read by `learning::analytics` |
//! | the scheduled jobs | [`nightly::Nightly`] runs the use cases above at each slot of [`scheduler::Scheduler`] |
//! | the HTTP API's own: tokens, pages with totals, pushed items, a file for one account, a summary with its posts, health | [`App::create_token`], [`App::authenticate`], [`App::match_page`], [`App::ingest_items`], [`App::import_for`], [`App::generate_and_post_summary`], [`App::readiness`] (in [`api`]) |

pub mod api;
pub mod brokers;
pub mod import;
pub mod learning;
pub mod nightly;
pub mod outcomes;
pub mod reconcile;
pub mod scheduler;

mod matches;
mod posts;

pub use posts::{NoPosts, Posts};
pub use reconcile::Reconciled;

use std::sync::Arc;

use crate::config::Settings;
use crate::domain::AccountId;
use crate::store::Store;

/// Who the candidate audit trail says decided, for decisions made in the chat.
pub const CHAT_ACTOR: &str = "chat";

/// What every use case runs against: the store, the settings, and the wording of the
/// messages the use cases queue. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    settings: Arc<Settings>,
    posts: Arc<dyn Posts>,
}

impl App {
    pub fn new(store: Store, settings: Arc<Settings>, posts: Arc<dyn Posts>) -> Self {
        Self {
            store,
            settings,
            posts,
        }
    }

    /// An application that queues no messages (the command line, tests).
    pub fn quiet(store: Store, settings: Arc<Settings>) -> Self {
        Self::new(store, settings, Arc::new(NoPosts))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// Whether the bot talks to `account` at all: only the chats of `ALLOWED_USER_IDS`
    /// are served, so only they get posts (the others' data is still reconciled,
    /// tracked and summarised).
    pub fn served(&self, account: AccountId) -> bool {
        served(&self.settings, account)
    }
}

/// See [`App::served`].
pub fn served(settings: &Settings, account: AccountId) -> bool {
    settings.allowed_user_ids.contains(&account.0)
}
