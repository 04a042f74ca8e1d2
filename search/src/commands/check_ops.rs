//! `search check-ops`: our operations on a device against the CPU, before trusting the
//! device's step times and trainings.

use clap::Args;

use crate::failure::Failure;
use crate::flags::{DeviceArg, finite};
use crate::inputs::load_arch;
use models::check::{Check, check_convolutions, check_network};

use super::print_json;

#[derive(Args)]
pub struct CheckOpsArgs {
    #[command(flatten)]
    device: DeviceArg,
    /// The network whose training pass is checked: a preset or a spec file.
    #[arg(long, default_value = "efficientnetv2-b0")]
    arch: String,
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Image side for the network check, at least 64: smaller images leave 1×1 maps,
    /// whose BatchNorm over a small batch amplifies f32 rounding beyond any tolerance.
    #[arg(long, default_value_t = 64, value_name = "PX")]
    size: usize,
    /// Largest error accepted, relative to the reference's largest magnitude (the
    /// device computes in f32, the reference in f64).
    #[arg(long, default_value_t = 1e-3, value_parser = finite)]
    tolerance: f64,
    /// Print every check as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckOpsArgs) -> Result<(), Failure> {
    let spec = load_arch(&args.arch)?;
    spec.check_image_size("--size", args.size)
        .map_err(Failure::bad_input)?;
    if args.size < 64 {
        return Err(Failure::bad_input(
            "--size must be at least 64: smaller images leave 1x1 maps whose BatchNorm amplifies rounding",
        ));
    }
    if args.batch < 2 {
        return Err(Failure::bad_input(
            "--batch must be at least 2 (BatchNorm needs a batch)",
        ));
    }
    if args.tolerance.is_nan() || args.tolerance <= 0.0 {
        return Err(Failure::bad_input("--tolerance must be positive"));
    }
    let device = args.device.open()?;
    eprintln!(
        "checking convolutions on {} against the CPU…",
        args.device.device
    );
    let mut checks = check_convolutions(&device, 0).map_err(Failure::runtime)?;
    eprintln!(
        "checking a training pass of {} (batch {}, {} px)…",
        spec.name, args.batch, args.size
    );
    checks.push(check_network(&spec, args.batch, args.size, &device).map_err(Failure::runtime)?);
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| c.worst() > args.tolerance)
        .collect();

    if args.json {
        print_checks_json(&checks, &args, failed.is_empty());
    } else {
        print_checks(&checks, &args, failed.len());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "{} of {} checks on {} exceed {:.0e}: {}",
            failed.len(),
            checks.len(),
            args.device.device,
            args.tolerance,
            failed
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )))
    }
}

fn print_checks_json(checks: &[Check], args: &CheckOpsArgs, passed: bool) {
    let rows: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "check": c.name,
                "worst": c.worst(),
                "errors": c.errors.iter().map(|(what, e)| serde_json::json!({"of": what, "error": e})).collect::<Vec<_>>(),
            })
        })
        .collect();
    print_json(&serde_json::json!({
        "device": args.device.device,
        "tolerance": args.tolerance,
        "passed": passed,
        "checks": rows,
    }));
}

/// A line per check, then how many passed.
fn print_checks(checks: &[Check], args: &CheckOpsArgs, failed: usize) {
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in checks {
        let verdict = if c.worst() <= args.tolerance {
            "ok"
        } else {
            "FAILED"
        };
        // The network's row names its worst tensor; an op's row lists all three.
        let detail = if c.errors.len() > 3 {
            let (what, e) = c
                .errors
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("a network check has errors");
            format!("worst {what}: {e:.1e}")
        } else {
            c.errors
                .iter()
                .map(|(what, e)| format!("{what} {e:.1e}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        println!("{:<width$}  {verdict:<6}  {detail}", c.name);
    }
    println!(
        "{} of {} checks within {:.0e} on {}",
        checks.len() - failed,
        checks.len(),
        args.tolerance,
        args.device.device
    );
}
