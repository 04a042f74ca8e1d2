//! The effnas search: turning user input into specs and spaces, and everything the
//! `search` command line needs to report on them.

pub mod augment;
pub mod coordinator;
pub mod data;
pub mod driver;
pub mod evaluator;
pub mod failure;
pub mod inputs;
pub mod op_time;
pub mod reproduce;
pub mod step_time;
pub mod store;
pub mod strategy;
pub mod table;
pub mod train;
pub mod trial;
pub mod worker;

pub use failure::Failure;
