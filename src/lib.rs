//! rlhf-bot: learns from the gap between an options algorithm's recommendations and the
//! trader's executions.

pub mod bot;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod import;
pub mod jobs;
pub mod learning;
pub mod sim;
pub mod startup;
pub mod store;
