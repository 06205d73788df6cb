//! The work the scheduler and the CLI start: each job is a plain async function of the
//! store, the settings it needs and `now`.

pub mod learning;
pub mod nightly;
pub mod outcomes;
pub mod reconcile;
pub mod schedule;
