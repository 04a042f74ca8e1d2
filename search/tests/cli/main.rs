//! The `search` binary end to end, by theme: outputs others depend on, and exit
//! code 2 with a named problem for every kind of bad input.

mod common;

mod architectures;
mod exporting;
mod measuring;
mod proxy_checking;
mod reproducing;
mod searching;
mod sharing;
mod strategies;
