//! One module per subcommand.

pub mod arch;
pub mod bench_op;
pub mod bench_step;
pub mod bench_strategies;
pub mod check_ops;
pub mod coordinate;
pub mod export;
pub mod proxy_check;
pub mod pull;
pub mod report_cmd;
pub mod reproduce;
pub mod scale;
pub mod search_cmd;
pub mod space_cmd;
pub mod train;
pub mod worker;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("command output always serialises")
    );
}
