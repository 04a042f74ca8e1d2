//! Flags that several commands take, declared once.

use std::path::PathBuf;

use candle_core::Device;
use clap::Args;
use models::ops::OpSet;

use crate::failure::Failure;

/// `--device`.
#[derive(Args, Clone, Debug)]
pub struct DeviceArg {
    /// Where to train and time: `cpu`, `cuda` (GPU 0) or `cuda:N`. A search
    /// takes several, separated by commas (`cuda:0,cuda:1`), one worker each.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl DeviceArg {
    /// The one device named (a list is refused).
    pub fn open(&self) -> Result<Device, Failure> {
        models::parse_device(&self.device).map_err(Failure::bad_input)
    }

    /// How many devices the list names.
    pub fn count(&self) -> usize {
        self.device.split(',').count()
    }

    /// One handle per worker, in turn over the list (see `models::open_for_workers`).
    pub fn open_for_workers(&self, workers: usize) -> Result<Vec<Device>, Failure> {
        models::open_for_workers(&self.device, workers).map_err(Failure::bad_input)
    }
}

/// `--ops`.
#[derive(Args, Clone, Copy, Debug)]
pub struct OpsArg {
    /// `fast` (our kernels; in training on the CPU a block's layers run as one op),
    /// `per-op` (our kernels, one op per layer, for comparison) or `stock` (candle-nn's
    /// layers, for comparison).
    #[arg(long, default_value = "fast")]
    pub ops: OpSet,
}

/// `--seed`.
#[derive(Args, Clone, Copy, Debug)]
pub struct SeedArg {
    /// Seed of every random choice (weights, data order, augmentation, proposals).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Where and how a command computes: `--seed`, `--device`, `--ops`.
#[derive(Args, Clone, Debug)]
pub struct ComputeArgs {
    #[command(flatten)]
    pub seed: SeedArg,
    #[command(flatten)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub ops: OpsArg,
}

impl ComputeArgs {
    pub fn seed(&self) -> u64 {
        self.seed.seed
    }

    pub fn ops(&self) -> OpSet {
        self.ops.ops
    }
}

/// `--data`.
#[derive(Args, Clone, Debug)]
pub struct DataArg {
    /// `embedded` (the Fashion-MNIST subset built in), `fashion-mnist` (the full
    /// set in /usr/share/datasets/fashion-mnist), or a directory of IDX files,
    /// CIFAR binaries or class folders of images. Without it, `train` uses the full
    /// Fashion-MNIST when installed and the embedded subset otherwise; searches
    /// and reproductions use the embedded subset.
    #[arg(long)]
    pub data: Option<String>,
}

/// `--store` and `--run` of a search kept in PostgreSQL.
#[derive(Args, Clone, Debug)]
pub struct SharedRunArgs {
    /// The database: `postgres://user:password@host:port/database`.
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// The search, as named when it was started (`search --store … --run NAME`).
    #[arg(long, value_name = "NAME")]
    pub run: String,
}

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

/// `runs/<kind>-<date>-<time>` (UTC): where a run goes when no `--out` is given.
pub fn default_out(kind: &str) -> PathBuf {
    let [year, month, day, hour, minute, second] = utc_now();
    PathBuf::from("runs").join(format!(
        "{kind}-{year:04}{month:02}{day:02}-{hour:02}{minute:02}{second:02}"
    ))
}

/// Now, as `2026-12-01 22:40:11 UTC`.
pub fn utc_timestamp() -> String {
    let [year, month, day, hour, minute, second] = utc_now();
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

/// Year, month, day, hour, minute and second now, in UTC.
fn utc_now() -> [i64; 6] {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rest = rest as i64;
    [year, month, day, rest / 3600, rest / 60 % 60, rest % 60]
}

/// Refuses to start a new run of `kind` in `dir` when something else is there.
pub fn refuse_used_out(dir: &std::path::Path, kind: &str) -> Result<(), Failure> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::bad_input(format!(
            "{} is not empty and holds no {kind}; choose a new --out",
            dir.display()
        )));
    }
    Ok(())
}

/// How candidates are timed and rewarded, as a search does it.
#[derive(Args, Clone, Debug)]
pub struct RewardArgs {
    /// Step-time measurement: batch, image side and timed steps.
    #[arg(long, default_value_t = 16)]
    pub step_batch: usize,
    #[arg(long, default_value_t = 128)]
    pub step_size: usize,
    #[arg(long, default_value_t = 3)]
    pub step_steps: usize,
    /// Reward exponents of step time and parameters.
    #[arg(long, default_value_t = -0.07, allow_hyphen_values = true, value_parser = finite)]
    pub w: f64,
    #[arg(long, default_value_t = -0.05, allow_hyphen_values = true, value_parser = finite)]
    pub v: f64,
    /// Network S and P are normalised by [default: the space's backbone].
    #[arg(long)]
    pub reference: Option<String>,
}

/// The reward's reference network and how steps are timed, checked but not yet
/// measured.
pub struct RewardBasis {
    /// As the user named it (a preset or a file).
    pub name: String,
    pub spec: space::ArchSpec,
    pub timing: nas::Timing,
    w: f64,
    v: f64,
}

impl RewardArgs {
    /// The reference (the flag's, or `space`'s backbone) and the timing, checked.
    pub fn basis(&self, space: &space::SearchSpace) -> Result<RewardBasis, Failure> {
        let name = self
            .reference
            .clone()
            .unwrap_or_else(|| backbone_of(space).into());
        let spec = crate::inputs::load_arch(&name)?;
        if self.step_batch == 0 {
            return Err(Failure::bad_input("--step-batch must be at least 1"));
        }
        spec.check_image_size("--step-size", self.step_size)
            .map_err(Failure::bad_input)?;
        Ok(RewardBasis {
            name,
            spec,
            timing: nas::Timing {
                batch: self.step_batch,
                size: self.step_size,
                steps: self.step_steps.max(1),
                warmup: 1,
            },
            w: self.w,
            v: self.v,
        })
    }
}

impl RewardBasis {
    /// The reward, with the reference's step time measured on `device`.
    pub fn measure(&self, seed: u64, device: &Device, ops: OpSet) -> Result<nas::Reward, Failure> {
        eprintln!(
            "timing the reference {} (batch {}, {} px)…",
            self.name, self.timing.batch, self.timing.size
        );
        let steps = self
            .timing
            .measure(&self.spec, seed, device, ops)
            .map_err(Failure::runtime)?;
        Ok(nas::Reward {
            w: self.w,
            v: self.v,
            reference_step_ms: steps.median,
            reference_params: self.spec.param_count(),
        })
    }
}

/// The network a space's rewards are normalised by unless told otherwise: its
/// backbone.
pub fn backbone_of(space: &space::SearchSpace) -> &'static str {
    match space.name.as_str() {
        "efficientnetv2-s" => "efficientnetv2-s",
        _ => "efficientnet-b0",
    }
}

/// A number flag's value: a finite number, so that `nan` or `inf` is refused
/// (exit 2, naming the flag) before anything runs instead of poisoning every
/// result.
pub fn finite(value: &str) -> Result<f64, String> {
    let x: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!("`{value}` is not a finite number"))
    }
}

/// A run directory flag's value (`--out`): a new path or a directory, never an
/// existing file.
pub fn run_dir(value: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(value);
    if path.exists() && !path.is_dir() {
        return Err(format!(
            "{value} is a file, not a directory: give a new or existing run directory"
        ));
    }
    Ok(path)
}
