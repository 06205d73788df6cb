//! The pure core: types parsed once at the edge, and the decisions made on them.
//! Nothing here does IO or reads the clock; time is always a parameter.

pub mod calendar;
pub mod clock;
pub mod contract;
pub mod kinds;
pub mod message;
pub mod money;
pub mod outcome;
pub mod reason;
pub mod reconcile;
pub mod records;
pub mod schedule;
pub mod symbology;
pub mod week;

pub use calendar::{ResponseWindow, TradingCalendar, day_of};
pub use clock::{Clock, SystemClock};
pub use contract::{Contract, ContractError, Right, Symbol};
pub use kinds::{ExecAction, MatchType, OutcomeStatus, ReasonCode, RecAction, Side, UnknownName};
pub use message::{Button, MessageKind, Outgoing};
pub use money::{Money, MoneyError};
pub use reason::{Reason, ReasonError};
pub use records::{AccountId, Execution, PriceClose, RecContext, Recommendation, Stored};
pub use week::{NoSuchWeek, Week};
