//! rlhf-bot: learns from the gap between an options algorithm's recommendations and the
//! trader's executions.
//!
//! # Layout
//!
//! The crate is a house of floors; data flows one way, and each floor imports only from
//! the floors below it (`tests/layering.rs` fails when a module imports from above):
//!
//! ```text
//! 4  cli · bot · http · demo · terminal · startup   entry points: translate, call one use case, render
//! 3  app · config                                   use cases (one fn each); typed settings
//! 2  store                                          the only place that speaks SQL
//! 1  learning · import · sim                        pure: statistics and wording of summaries; file
//!                                                   formats parsed; the simulated market and trader
//! 0  domain                                         pure vocabulary and decisions; time is a parameter
//! ```
//!
//! - **domain** imports nothing of the crate. It holds the types parsed once at the edge
//!   (money, contracts, symbols, records), reconciliation and outcomes, weeks, schedule
//!   slots, the clock's trait, and the message type queued in the outbox.
//! - **learning**, **import** and **sim** import only `domain` (never each other).
//! - **store** imports `domain` and `learning` (it stores learning's values).
//! - **app** imports the floors below and `config`; `config` imports only what is
//!   below it. The use cases word no message: they ask the `app::Posts` port, which the
//!   entry point hands in at start-up (`bot::posts::BotPosts` in `run`, none on the
//!   command line).
//! - The entry points import the floors below; among themselves only `cli` → `demo`,
//!   `startup`, `terminal`; `demo` → `terminal`; `startup` → `bot`, `http`. The bot's
//!   delivery side (the outbox sender, the dialogue storage teloxide needs) reads the
//!   store directly; its handlers call only `app`.
//!
//! # Where things are
//!
//! | question | file |
//! |---|---|
//! | where is a match classified? | `src/domain/reconcile.rs` |
//! | where is the Saturday message worded? | `src/learning/summary.rs` (its text; the cards around it in `src/bot/posts.rs`) |
//! | where is a scheduler slot claimed? | `src/app/scheduler.rs` (`Scheduler::tick`, through the run ledger's atomic claim) |
//! | where is a reason tap handled? | `src/bot/handlers/callbacks.rs` |
//! | where is a bot message queued? | `src/store/tx.rs` (`Tx::enqueue`, inside the use case's transaction) |
//! | where does a broker format go? | `src/import/brokers/` (one module per broker, on `import::reading` and `import::values`) |
//! | where does an HTTP endpoint go? | `src/http/learning.rs` (the seed's routes) or `src/http/ingest.rs` (ingestion): a handler per route, each calling one `App` use case |

pub mod app;
pub mod bot;
pub mod cli;
pub mod config;
mod demo;
pub mod domain;
pub mod http;
pub mod import;
pub mod learning;
pub mod sim;
pub mod startup;
pub mod store;
mod terminal;

/// Entry points for the fuzz targets in `fuzz/` (`bash tools/fuzz.sh`), not an API: each
/// function is a thin call of the parser the bot, the CLI or the HTTP API runs on
/// untrusted input, so a target reaches the real code, private parsers included,
/// without those being made public. See `docs/RELIABILITY.md`, "Fuzzing".
#[doc(hidden)]
pub mod fuzzing {
    use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

    use crate::import::values;

    /// The cell parsers of `import::values`, by name: each takes one trimmed, non-empty
    /// cell and returns the value or the sentence a row error carries.
    pub mod cells {
        use super::*;
        use crate::domain::{Contract, Money};

        pub fn timestamp(s: &str) -> Result<DateTime<Utc>, String> {
            values::timestamp(s)
        }
        pub fn exchange_day(at: DateTime<Utc>) -> NaiveDate {
            values::exchange_day(at)
        }
        pub fn date(s: &str) -> Result<NaiveDate, String> {
            values::date(s)
        }
        pub fn us_date(s: &str) -> Result<NaiveDate, String> {
            values::us_date(s)
        }
        pub fn day_month_year(s: &str) -> Result<NaiveDate, String> {
            values::day_month_year(s)
        }
        pub fn month_day_year(s: &str) -> Result<NaiveDate, String> {
            values::month_day_year(s)
        }
        pub fn compact_date(s: &str) -> Result<NaiveDate, String> {
            values::compact_date(s)
        }
        pub fn clock(s: &str) -> Result<NaiveTime, String> {
            values::clock(s)
        }
        pub fn money(s: &str) -> Result<Money, String> {
            values::money(s)
        }
        pub fn broker_money(s: &str) -> Result<Money, String> {
            values::broker_money(s)
        }
        pub fn strike(s: &str) -> Result<Money, String> {
            values::strike(s)
        }
        pub fn contracts(s: &str) -> Result<i64, String> {
            values::contracts(s)
        }
        pub fn quantity(s: &str) -> Result<i64, String> {
            values::quantity(s)
        }
        pub fn signed_contracts(s: &str) -> Result<i64, String> {
            values::signed_contracts(s)
        }
        pub fn row_value(price: Money, contracts: i64) -> Result<(), String> {
            values::row_value(price, contracts)
        }
        pub fn key(s: &str) -> Result<String, String> {
            values::key(s)
        }
        pub fn occ(s: &str) -> Result<Contract, String> {
            values::occ(s)
        }
        /// The largest amount a cell may hold, and the largest row, in dollars.
        pub const MAX_DOLLARS: i64 = values::MAX_DOLLARS;
        pub const MAX_ROW_DOLLARS: i64 = values::MAX_ROW_DOLLARS;
        pub const MAX_CONTRACTS: i64 = values::MAX_CONTRACTS;
    }
}
