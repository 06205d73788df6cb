//! What comes in: the algorithm's recommendations, the broker's executions and the
//! underlyings' daily closes, as parsed domain values.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::contract::{Contract, Symbol};
use super::kinds::{ExecAction, RecAction};
use super::money::Money;

/// A trader's account: the Telegram chat id of the private chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A row as it is stored: its database id and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub id: i64,
    pub item: T,
}

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

/// What the algorithm saw when it made a recommendation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecContext {
    pub underlying_price: Option<Money>,
    pub delta: Option<f64>,
    pub iv: Option<f64>,
    pub iv_rank: Option<f64>,
    pub earnings_date: Option<NaiveDate>,
    pub algorithm_version: Option<String>,
    pub rationale: Option<String>,
}

/// One recommendation of the algorithm.
///
/// `contract` is the contract to trade: the one to sell for `sell_to_open`, the one to
/// buy back for `buy_to_close`, the new one for `roll`. `position` is the contract being
/// closed (for `buy_to_close` it equals `contract`; for `roll` it is the old contract).
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub account: AccountId,
    pub external_id: String,
    pub created_at: DateTime<Utc>,
    pub action: RecAction,
    pub contract: Contract,
    pub contracts: i64,
    /// Expected premium per share; for a roll, the net credit per share.
    pub premium: Money,
    pub position: Option<Contract>,
    pub context: RecContext,
}

/// One fill or lifecycle event at the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub account: AccountId,
    pub broker: String,
    pub broker_ref: String,
    pub executed_at: DateTime<Utc>,
    pub action: ExecAction,
    pub contract: Contract,
    pub contracts: i64,
    /// Price per share (zero for lifecycle events).
    pub price: Money,
    /// Total fees of the fill.
    pub fees: Money,
}

/// An underlying's close on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceClose {
    pub symbol: Symbol,
    pub date: NaiveDate,
    pub close: Money,
}
