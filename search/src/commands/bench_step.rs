//! `search bench-step`: the measured training step time of one network.

use clap::Args;

use crate::failure::Failure;
use crate::flags::ComputeArgs;
use crate::inputs::load_arch;
use crate::table::bytes;
use space::estimate_training_memory;
use train::StepTimer;

use super::print_json;

#[derive(Args)]
pub struct BenchStepArgs {
    /// A preset or an architecture JSON file.
    #[arg(long)]
    arch: String,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Image size in pixels.
    #[arg(long, value_name = "PX")]
    size: usize,
    /// Timed steps; the median is the figure.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,
    /// Untimed steps before timing.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    #[command(flatten)]
    compute: ComputeArgs,
    /// Print JSON (keys `step_ms_median`, `step_ms_min`, `step_ms_max`, `params`, …).
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchStepArgs) -> Result<(), Failure> {
    let spec = load_arch(&args.arch)?;
    if args.batch == 0 {
        return Err(Failure::bad_input("--batch must be at least 1"));
    }
    spec.check_image_size("--size", args.size)
        .map_err(Failure::bad_input)?;
    let device = args.compute.device.open()?;
    let timer = StepTimer {
        batch: args.batch,
        size: args.size,
        steps: args.steps as usize,
        warmup: args.warmup,
        seed: args.compute.seed(),
        ops: args.compute.ops(),
    };
    eprintln!(
        "timing {} training steps of {} (batch {}, {} px, {}, {:?} ops, {} CPU kernels) after {} warm-up",
        timer.steps,
        spec.name,
        timer.batch,
        timer.size,
        args.compute.device.device,
        args.compute.ops(),
        models::ops::cpu_kernels(),
        timer.warmup
    );
    let times = timer
        .run(&spec, &device, |e| {
            let kind = if e.timed { "step" } else { "warm-up" };
            eprintln!(
                "  {kind} {}/{}: {:.1} ms (loss {:.3})",
                e.index + 1,
                e.total,
                e.ms,
                e.loss
            );
        })
        .map_err(Failure::runtime)?;
    let estimate =
        estimate_training_memory(&spec, timer.batch, timer.size).map_err(Failure::bad_input)?;

    if args.json {
        let mut value = serde_json::to_value(&times).expect("step times serialise");
        value["device"] = args.compute.device.device.clone().into();
        value["ops"] = args.compute.ops().to_string().into();
        value["cpu_kernels"] = models::ops::cpu_kernels().into();
        value["estimated_memory_bytes"] = estimate.total.into();
        print_json(&value);
        return Ok(());
    }
    println!(
        "{}: median {:.1} ms per step (min {:.1}, max {:.1}, IQR {:.1}) = {:.1} images/s",
        times.arch,
        times.step_ms_median,
        times.step_ms_min,
        times.step_ms_max,
        times.step_ms_iqr,
        times.images_per_s
    );
    println!("parameters: {}", times.params);
    if let (Some(peak), Some(before)) = (times.peak_rss_bytes, times.rss_before_bytes) {
        println!(
            "peak memory: {} resident ({} before building the model; estimate for the step: {})",
            bytes(peak),
            bytes(before),
            bytes(estimate.total)
        );
    }
    Ok(())
}
