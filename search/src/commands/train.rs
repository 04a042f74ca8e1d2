//! `search train`: train one network, at a fixed size or progressively.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use models::EfficientNet;
use models::ops::OpSet;
use records::TrainDir;
use serde_json::json;
use space::{ArchSpec, SmallImages};
use train::{
    Event, LrDecay, LrSchedule, OptimizerKind, Outcome, Progressive, Splits, TrainConfig,
    TrainError, TrainReport, Trainer,
};

use super::print_json;
use super::report_cmd::LiveReport;
use crate::failure::Failure;
use crate::flags::{ComputeArgs, DataArg, finite, run_dir};
use crate::inputs::load_arch;

#[derive(Args)]
pub struct TrainArgs {
    /// A preset or an architecture JSON file.
    #[arg(long)]
    arch: String,
    /// Start from weights under timm's state-dict names (a safetensors file, as
    /// `search export --format timm-weights` writes or timm saves for the network
    /// `search export --format timm` builds) instead of a random draw; a classifier
    /// for other classes is replaced by a fresh one. Refused, naming the first
    /// mismatches, when the file does not fit the network as trained here (its
    /// input channels and classes fitted to the data).
    #[arg(long, value_name = "FILE")]
    init_from: Option<PathBuf>,
    #[command(flatten)]
    data: DataArg,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Training image side for a fixed-size run [default: the data's side rounded
    /// up to a multiple of 8, at least the network's minimum].
    #[arg(long, value_name = "PX")]
    size: Option<usize>,
    /// Progressive learning: a preset (proxy, s, m, l) or a schedule JSON file
    /// [default when given without a value: proxy for images up to 64 px, else s].
    #[arg(long, num_args = 0..=1, default_missing_value = "auto", value_name = "PRESET|FILE")]
    progressive: Option<String>,
    /// With --progressive: keep regularization at its maximum in every stage
    /// (progressive resizing alone).
    #[arg(long, requires = "progressive")]
    no_adaptive: bool,
    #[arg(long, value_enum, default_value = "rmsprop")]
    optimizer: OptimizerKind,
    /// Peak learning rate [default: rmsprop 0.016, sgd 0.1, adamw 0.004 per 256 images].
    #[arg(long, value_parser = finite)]
    lr: Option<f64>,
    /// [default: rmsprop 1e-5, sgd 5e-5, adamw 0.05]; never on BatchNorm or biases.
    #[arg(long, value_parser = finite)]
    weight_decay: Option<f64>,
    /// [default: exponential for rmsprop (the paper's), cosine otherwise].
    #[arg(long, value_enum)]
    decay: Option<LrDecay>,
    /// Warm-up epochs [default: a tenth of the run, at most 5].
    #[arg(long, value_parser = finite)]
    warmup: Option<f64>,
    #[arg(long, default_value_t = 0.1, value_parser = finite)]
    label_smoothing: f64,
    /// EMA decay of the evaluated weights.
    #[arg(long, default_value_t = 0.9999, conflicts_with = "no_ema", value_parser = finite)]
    ema: f64,
    /// Evaluate the raw weights instead of their moving average.
    #[arg(long)]
    no_ema: bool,
    /// Fixed-size runs: dropout [default: the spec's], RandAugment magnitude and
    /// Mixup alpha [default: 0, off].
    #[arg(long, conflicts_with = "progressive", value_parser = finite)]
    dropout: Option<f64>,
    #[arg(long, default_value_t = 0.0, conflicts_with = "progressive", value_parser = finite)]
    randaug: f64,
    #[arg(long, default_value_t = 0.0, conflicts_with = "progressive", value_parser = finite)]
    mixup: f64,
    #[arg(long, default_value_t = 0.0, value_parser = finite)]
    cutmix: f64,
    /// Random-crop padding in source pixels [default: side/14, 2 for 28 px].
    #[arg(long)]
    crop_pad: Option<usize>,
    #[arg(long)]
    no_flip: bool,
    /// Override the spec's stochastic-depth survival probability.
    #[arg(long, value_parser = finite)]
    survival_prob: Option<f64>,
    /// Override the spec's stem stride (1 suits 28–32 px images).
    #[arg(long)]
    stem_stride: Option<usize>,
    /// `adapt`: fit a network designed for larger images to these, by setting
    /// strides to 1 (the stem's first, then the first stride-2 stages) until its
    /// last feature maps are at least 2x2; `keep` trains it as designed.
    #[arg(long, default_value_t = SmallImages::Unchanged, value_name = "adapt|keep")]
    strides: SmallImages,
    #[command(flatten)]
    compute: ComputeArgs,
    /// Run directory (metrics, checkpoints) [default: runs/train/<arch>].
    #[arg(long, value_parser = run_dir)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint, with its saved settings.
    #[arg(long)]
    resume: bool,
    /// Print the final report as JSON.
    #[arg(long)]
    json: bool,
}

fn bad(e: impl std::fmt::Display) -> Failure {
    Failure::bad_input(e)
}

/// The spec as trained: overrides applied, fitted to the data.
fn fitted_spec(args: &TrainArgs, splits: &Splits) -> Result<ArchSpec, Failure> {
    let mut spec = load_arch(&args.arch)?;
    if let Some(s) = args.stem_stride {
        spec.stem_stride = s;
    }
    if let Some(p) = args.survival_prob {
        spec.survival_prob = p;
    }
    let spec = spec
        .with_classes(splits.train.classes)
        .with_input_channels(splits.train.channels);
    let mut checked = spec.clone();
    checked.train_size = checked.min_image_size();
    checked.eval_size = checked.train_size;
    checked
        .validate()
        .map_err(|e| bad(format!("{}: {e}", args.arch)))?;
    Ok(spec)
}

fn progressive(args: &TrainArgs, spec: &ArchSpec, side: usize) -> Result<Progressive, Failure> {
    let Some(name) = &args.progressive else {
        let size = args
            .size
            .unwrap_or_else(|| side.max(spec.min_image_size()).div_ceil(8) * 8);
        let dropout = args.dropout.unwrap_or(spec.dropout);
        return Ok(Progressive::fixed(size, dropout, args.randaug, args.mixup));
    };
    let name = if name == "auto" {
        if side <= 64 { "proxy" } else { "s" }
    } else {
        name.as_str()
    };
    let mut schedule = match Progressive::preset(name) {
        Some(p) => p,
        None if Path::new(name).is_file() => {
            let text = std::fs::read_to_string(name).map_err(|e| bad(format!("{name}: {e}")))?;
            serde_json::from_str(&text)
                .map_err(|e| bad(format!("{name}: not a progressive schedule: {e}")))?
        }
        None => {
            return Err(bad(format!(
                "--progressive `{name}` is neither a preset (proxy, s, m, l) nor a schedule file"
            )));
        }
    };
    if args.no_adaptive {
        schedule.adaptive = false;
    }
    schedule
        .validate()
        .map_err(|e| bad(format!("--progressive {name}: {e}")))?;
    Ok(schedule)
}

fn config(args: &TrainArgs, spec: &ArchSpec, splits: &Splits) -> Result<TrainConfig, Failure> {
    let side = splits.train.height.max(splits.train.width);
    let schedule = progressive(args, spec, side)?;
    let (lr, wd, decay) = args.optimizer.defaults(args.batch);
    let mut c = TrainConfig::paper(args.epochs, args.batch, schedule);
    c.optimizer = args.optimizer;
    c.lr = LrSchedule {
        lr: args.lr.unwrap_or(lr),
        warmup_epochs: args.warmup.unwrap_or(c.lr.warmup_epochs),
        decay: args.decay.unwrap_or(decay),
        ..c.lr
    };
    c.weight_decay = args.weight_decay.unwrap_or(wd);
    c.label_smoothing = args.label_smoothing;
    c.ema_decay = (!args.no_ema).then_some(args.ema);
    c.crop_pad = args.crop_pad.unwrap_or((side / 14).max(1));
    c.flip = !args.no_flip;
    c.cutmix_alpha = args.cutmix;
    c.seed = args.compute.seed();
    c.small_images = args.strides;
    c.validate().map_err(bad)?;
    Ok(c)
}

/// What `config.json` holds: enough to resume.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedRun {
    spec: ArchSpec,
    data: Option<String>,
    ops: String,
    train: TrainConfig,
    /// Weights under timm's names the run started from.
    #[serde(default)]
    init_from: Option<PathBuf>,
}

/// A run to start or continue.
struct Run {
    spec: ArchSpec,
    splits: Splits,
    config: TrainConfig,
    ops: OpSet,
    init_from: Option<PathBuf>,
}

/// The run saved in `dir`, to continue with its own settings.
fn saved(dir: &TrainDir, out: &Path) -> Result<Run, Failure> {
    let path = dir.config_path();
    let saved: SavedRun = dir.config().map_err(bad)?.ok_or_else(|| {
        bad(format!(
            "--resume: {} is missing (nothing to resume here)",
            path.display()
        ))
    })?;
    let splits = train::load_data(saved.data.as_deref()).map_err(bad)?;
    eprintln!(
        "resuming {} (settings from {}; other flags are ignored)",
        out.display(),
        path.display()
    );
    Ok(Run {
        spec: saved.spec,
        splits,
        config: saved.train,
        ops: saved.ops.parse().map_err(bad)?,
        init_from: saved.init_from,
    })
}

/// A new run from the flags, its settings saved in `dir`.
fn fresh(args: &TrainArgs, dir: &TrainDir, out: &Path) -> Result<Run, Failure> {
    if dir.config_path().exists() {
        return Err(bad(format!(
            "{} already holds a run; pass --resume to continue it or --out for a new one",
            out.display()
        )));
    }
    let splits = train::load_data(args.data.data.as_deref()).map_err(bad)?;
    let spec = fitted_spec(args, &splits)?;
    let config = config(args, &spec, &splits)?;
    // The spec as trained: fitted to small images by --strides (which the trainer
    // would do too; fitting twice changes nothing), so config.json and the report
    // show the strides that trained.
    let spec = config.small_images.apply(&spec, config.progressive.size[0]);
    for i in 0..config.progressive.stages {
        let size = config.progressive.at(i).size;
        spec.check_image_size("size", size).map_err(|e| {
            bad(format!(
                "{e}; train at a larger size, or pass --strides adapt for a small-image variant"
            ))
        })?;
    }
    if let Some(weights) = &args.init_from {
        check_init(&spec, weights)?;
    }
    let saved = SavedRun {
        spec: spec.clone(),
        data: args.data.data.clone(),
        ops: args.compute.ops().to_string(),
        train: config.clone(),
        init_from: args.init_from.clone(),
    };
    dir.save_config(&saved).map_err(Failure::runtime)?;
    Ok(Run {
        spec,
        splits,
        config,
        ops: args.compute.ops(),
        init_from: args.init_from.clone(),
    })
}

/// Refuses, before anything is saved, weights under timm's names that do not fit
/// `spec` as trained (a classifier for other classes is refitted, and said so).
fn check_init(spec: &ArchSpec, weights: &Path) -> Result<(), Failure> {
    let model = EfficientNet::new(spec, 0, &candle_core::Device::Cpu).map_err(bad)?;
    let refit = models::load_timm_weights(&model, weights, true)
        .map_err(|e| bad(format!("--init-from: {e}")))?;
    if !refit.is_empty() {
        eprintln!(
            "--init-from: {} is for other classes; it starts from a fresh classifier for {}",
            refit.join(" and "),
            spec.classes
        );
    }
    Ok(())
}

/// `fixed 32 px` or `progressive 4 stages 16→32 px with adaptive regularization`.
fn schedule_words(p: &Progressive) -> String {
    if p.stages > 1 {
        format!(
            "progressive {} stages {}→{} px{}",
            p.stages,
            p.size[0],
            p.size[1],
            if p.adaptive {
                " with adaptive regularization"
            } else {
                ""
            }
        )
    } else {
        format!("fixed {} px", p.size[1])
    }
}

/// Trains with a progress bar per epoch, a log line after each and the report
/// rewritten after each.
fn train_with_progress(trainer: &Trainer, live: &LiveReport) -> Result<TrainReport, Failure> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    trainer
        .run(&mut |event| match event {
            Event::EpochStart { epoch, epochs, stage, steps } => {
                bar.reset();
                bar.set_length(steps as u64);
                bar.set_prefix(format!("epoch {}/{} {}px", epoch + 1, epochs, stage.size));
            }
            Event::Step { step, loss, acc, images_per_s, .. } => {
                bar.set_position(step as u64);
                bar.set_message(format!("loss {loss:.3} acc {:.1}% {images_per_s:.0} img/s", acc * 100.0));
            }
            Event::EpochEnd(m) => {
                live.update();
                bar.finish_and_clear();
                eprintln!(
                    "epoch {:>3}: {}px dropout {:.2} randaug {:.1} mixup {:.2} | lr {:.2e} loss {:.4} acc {:.2}% | val loss {:.4} acc {:.2}% | {:.0} img/s, {:.0} s (data wait {:.1} s)",
                    m.epoch, m.stage.size, m.stage.dropout, m.stage.randaug, m.stage.mixup, m.lr, m.train_loss,
                    m.train_acc * 100.0, m.val_loss, m.val_acc * 100.0, m.images_per_s, m.epoch_s, m.data_wait_s
                );
            }
        })
        .map_err(|e: TrainError| {
            if e.is_bad_input() {
                bad(e)
            } else {
                Failure::runtime(e)
            }
        })
}

pub fn run(args: TrainArgs) -> Result<(), Failure> {
    let device = args.compute.device.open()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/train").join(args.arch.replace(['/', '.'], "_")));
    let dir = TrainDir::create(&out).map_err(Failure::runtime)?;
    let Run {
        spec,
        splits,
        config,
        ops,
        init_from,
    } = if args.resume {
        saved(&dir, &out)?
    } else {
        fresh(&args, &dir, &out)?
    };

    eprintln!(
        "training {} ({} parameters) on {}: {} epochs, batch {}, {:?}, {}",
        spec.name,
        spec.param_count(),
        splits.description,
        config.epochs,
        config.batch,
        config.optimizer,
        schedule_words(&config.progressive)
    );
    let live = LiveReport::start(&out);
    let report = train_with_progress(
        &Trainer {
            spec: &spec,
            splits: &splits,
            config: &config,
            device: &device,
            ops,
            run: Some(&dir),
            resume: args.resume,
            init_from: init_from.as_deref(),
        },
        &live,
    )?;

    if args.json {
        print_json(&json!({"report": report, "run": out}));
    } else {
        println!(
            "{}: validation accuracy {:.2}% (best {:.2}%), {} epochs in {:.0} s, {:.0} images/s; run in {}",
            spec.name,
            report.val_acc * 100.0,
            report.best_val_acc * 100.0,
            report.epochs_done,
            report.elapsed_s,
            report.images_per_s,
            out.display()
        );
    }
    live.finish();
    match report.outcome {
        Outcome::Completed => Ok(()),
        Outcome::Diverged { epoch, step, loss } => Err(Failure::runtime(format!(
            "training diverged: loss {loss} at step {step} (epoch {}); lower --lr",
            epoch + 1
        ))),
    }
}
