//! One module per subcommand.

pub mod arch;
pub mod bench_op;
pub mod bench_step;
pub mod export;
pub mod report_cmd;
pub mod scale;
pub mod search_cmd;
pub mod space_cmd;
pub mod train;

use clap::Args;
use space::StageSpec;

/// Where a command's costs are computed: image size and training batch.
#[derive(Args)]
pub struct CostArgs {
    /// Image size in pixels for MACs and memory [default: the spec's or space's own].
    #[arg(long, value_name = "PX")]
    pub size: Option<usize>,
    /// Batch size for the training-memory estimate.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
}

/// A stage the way the paper's tables name it: `Fused-MBConv4, k3x3`,
/// `MBConv6, k3x3, SE0.25`.
pub fn operator(stage: &StageSpec) -> String {
    let mut op = format!(
        "{}{}, k{}x{}",
        stage.kind.paper_name(),
        stage.expand_ratio,
        stage.kernel,
        stage.kernel
    );
    if let Some(r) = stage.se_ratio {
        op.push_str(&format!(", SE{r}"));
    }
    op
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("command output always serialises")
    );
}
