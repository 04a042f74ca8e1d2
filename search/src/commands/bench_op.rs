//! `search bench-op`: one operation or one block forward and backward, with the
//! flags of `timm_step.py --op` (and `scripts/timm_block_step.py --block`), so the
//! two can be compared line by line.

use clap::Args;

use crate::failure::Failure;
use crate::flags::{DeviceArg, OpsArg};
use train::op_time::{OpKind, OpSpec, time_op};

use super::print_json;

#[derive(Args)]
pub struct BenchOpArgs {
    /// An op, or a whole block (`mbconv`, `fused_mbconv`: as EfficientNetV2 builds
    /// them, squeeze-excitation on MBConv only, the shortcut where the shapes allow).
    #[arg(long, value_enum)]
    op: OpKind,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Input channels.
    #[arg(long, default_value_t = 96)]
    channels: usize,
    /// Output channels of `conv` and `conv1x1` [default: as many as the input].
    #[arg(long)]
    out_channels: Option<usize>,
    /// Image side in pixels.
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long, default_value_t = 3)]
    kernel: usize,
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// Expansion ratio of `mbconv` and `fused_mbconv`.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=16))]
    expand: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[command(flatten)]
    ops: OpsArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Time the forward pass alone.
    #[arg(long)]
    forward_only: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchOpArgs) -> Result<(), Failure> {
    if args.batch == 0 || args.channels == 0 || args.size == 0 || args.out_channels == Some(0) {
        return Err(Failure::bad_input(
            "--batch, --channels, --out-channels and --size must be at least 1",
        ));
    }
    if args.kernel % 2 == 0 || !(1..=7).contains(&args.kernel) {
        return Err(Failure::bad_input(format!(
            "--kernel {} is not supported (use 1, 3, 5 or 7)",
            args.kernel
        )));
    }
    if !(1..=2).contains(&args.stride) {
        return Err(Failure::bad_input(format!(
            "--stride {} is not supported (use 1 or 2)",
            args.stride
        )));
    }
    let spec = OpSpec {
        op: args.op,
        batch: args.batch,
        channels: args.channels,
        out_channels: args.out_channels.unwrap_or(args.channels),
        size: args.size,
        kernel: args.kernel,
        stride: args.stride,
        expand: args.expand as usize,
    };
    let device = args.device.open()?;
    let times = time_op(
        &spec,
        args.ops.ops,
        args.forward_only,
        args.steps as usize,
        args.warmup,
        &device,
    )
    .map_err(Failure::runtime)?;
    if args.json {
        let mut value = serde_json::to_value(&times).expect("op times serialise");
        value["cpu_kernels"] = models::ops::cpu_kernels().into();
        print_json(&value);
    } else {
        println!(
            "{:?}{} {}x{}x{}x{} k{} s{} ({:?}, {} CPU kernels): median {:.2} ms (min {:.2}, max {:.2})",
            spec.op,
            match spec.block() {
                Some(_) => format!(" e{} ->{}", spec.expand, spec.out_channels),
                None => String::new(),
            },
            spec.batch,
            spec.channels,
            spec.size,
            spec.size,
            spec.kernel,
            spec.stride,
            args.ops.ops,
            models::ops::cpu_kernels(),
            times.step_ms_median,
            times.step_ms_min,
            times.step_ms_max
        );
    }
    Ok(())
}
