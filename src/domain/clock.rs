//! The source of `now` for the long-running loops. Everything below the entry points takes
//! time as a parameter; only the loops that run for days ask a clock (tests pass their own).

use chrono::{DateTime, Utc};

/// The source of `now` for the long-running loops (tests pass their own).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
