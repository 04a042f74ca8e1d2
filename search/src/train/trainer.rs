//! The training loop: progressive stages, augmentation, the optimizer and its
//! schedule, EMA, evaluation, metrics, checkpoints, resume and the divergence
//! guard.

use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use models::ema::Ema;
use models::ops::OpSet;
use models::{AdamW, AdamWConfig, EfficientNet, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig};
use serde::Serialize;
use serde_json::json;
use space::ArchSpec;

use super::TrainError;
use super::config::{OptimizerKind, TrainConfig};
use super::loss::{correct, soft_cross_entropy};
use super::progressive::StageSettings;
use super::run_dir::{RunDir, RunState};
use crate::augment::Augment;
use crate::data::loader::{epoch_order, make_batch, rng_for, spawn_batches};
use crate::data::{Dataset, Splits};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    /// The loss became NaN or infinite; training stopped there.
    Diverged {
        epoch: usize,
        step: u64,
        loss: f64,
    },
}

/// What a run achieved.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub outcome: Outcome,
    pub epochs_done: usize,
    /// Validation accuracy after the last epoch (of the EMA weights when used).
    pub val_acc: f64,
    pub val_loss: f64,
    pub best_val_acc: f64,
    /// Training wall time (all epochs, including evaluation), seconds.
    pub elapsed_s: f64,
    /// Training images per second over the run (evaluation excluded).
    pub images_per_s: f64,
    /// Time the model waited for batches, seconds.
    pub data_wait_s: f64,
}

/// Per-epoch results, also written to the metrics.
#[derive(Clone, Debug, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    #[serde(flatten)]
    pub stage: StageSettings,
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: f64,
    pub val_acc: f64,
    /// Validation accuracy of the raw weights when EMA weights are evaluated.
    pub raw_val_acc: Option<f64>,
    pub images_per_s: f64,
    pub epoch_s: f64,
    pub data_wait_s: f64,
    pub wall_s: f64,
}

/// What the trainer tells an observer (a progress bar, a log).
pub enum Event<'a> {
    EpochStart {
        epoch: usize,
        epochs: usize,
        stage: StageSettings,
        steps: usize,
    },
    Step {
        step: usize,
        steps: usize,
        loss: f64,
        acc: f64,
        images_per_s: f64,
    },
    EpochEnd(&'a EpochMetrics),
}

/// Where and how to train.
pub struct Trainer<'a> {
    pub spec: &'a ArchSpec,
    pub splits: &'a Splits,
    pub config: &'a TrainConfig,
    pub device: &'a Device,
    pub ops: OpSet,
    /// Run directory for metrics and checkpoints; `None` keeps everything in memory.
    pub run: Option<&'a RunDir>,
    /// Continue from the run directory's last checkpoint.
    pub resume: bool,
}

fn optimizer(model: &EfficientNet, c: &TrainConfig) -> Result<Box<dyn Optimizer>, TrainError> {
    let p = model.params();
    Ok(match c.optimizer {
        OptimizerKind::Rmsprop => Box::new(RmsProp::new(
            p,
            RmsPropConfig {
                lr: c.lr.lr,
                weight_decay: c.weight_decay,
                ..RmsPropConfig::default()
            },
        )?),
        OptimizerKind::Sgd => Box::new(Sgd::new(
            p,
            SgdConfig {
                lr: c.lr.lr,
                weight_decay: c.weight_decay,
                ..SgdConfig::default()
            },
        )?),
        OptimizerKind::AdamW => Box::new(AdamW::new(
            p,
            AdamWConfig {
                lr: c.lr.lr,
                weight_decay: c.weight_decay,
                ..AdamWConfig::default()
            },
        )?),
    })
}

/// Validation loss and accuracy at `size`, in batches.
pub fn evaluate(
    model: &EfficientNet,
    data: &Dataset,
    size: usize,
    stats: &[(f32, f32)],
    batch: usize,
) -> Result<(f64, f64), TrainError> {
    let augment = Augment::eval(size);
    let (mut loss, mut hits) = (0.0, 0usize);
    let order: Vec<usize> = (0..data.len()).collect();
    for chunk in order.chunks(batch.max(1)) {
        let b = make_batch(data, chunk, &augment, stats, &[0]);
        let device = model.device();
        let x = Tensor::from_vec(b.images, (b.labels.len(), b.channels, size, size), device)?;
        let t = Tensor::from_vec(b.targets, (b.labels.len(), data.classes), device)?;
        let logits = model.forward_t(&x, false)?;
        loss +=
            soft_cross_entropy(&logits, &t, 0.0)?.to_scalar::<f32>()? as f64 * chunk.len() as f64;
        hits += correct(&logits, &b.labels)?;
    }
    Ok((loss / data.len() as f64, hits as f64 / data.len() as f64))
}

impl Trainer<'_> {
    /// Trains, reporting to `observe`; see [`TrainReport`].
    pub fn run(&self, observe: &mut dyn FnMut(Event)) -> Result<TrainReport, TrainError> {
        let c = self.config;
        c.validate().map_err(TrainError::Config)?;
        let data = &self.splits.train;
        let spec = self
            .spec
            .clone()
            .with_classes(data.classes)
            .with_input_channels(data.channels);
        let last = c.progressive.at(c.progressive.stages - 1);
        for settings in (0..c.progressive.stages).map(|i| c.progressive.at(i)) {
            spec.check_image_size("size", settings.size)
                .map_err(|e| TrainError::Config(format!("stage {}: {e}", settings.stage)))?;
        }

        let mut model = EfficientNet::new(&spec, c.seed, self.device)?;
        model.set_ops(self.ops);
        let mut opt = optimizer(&model, c)?;
        let mut ema = match c.ema_decay {
            Some(d) => Some(Ema::new(&model, d)?),
            None => None,
        };
        let stats = data.channel_stats();
        let train = Arc::new(data.clone());

        let mut state = RunState {
            epochs_done: 0,
            steps_done: 0,
            ema_updates: 0,
            elapsed_s: 0.0,
            best_val_acc: 0.0,
        };
        if let Some(run) = self.run {
            if self.resume {
                if let Some(dir) = run.latest_checkpoint() {
                    state = RunDir::load_state(&dir)?;
                    models::load_weights(&model, &dir.join("model.safetensors"))?;
                    opt.load_state(RunDir::load_optimizer(&dir, self.device)?)?;
                    if let Some(ema) = &mut ema {
                        models::load_weights(&ema.model, &dir.join("ema.safetensors"))?;
                        ema.set_updates(state.ema_updates);
                    }
                }
                run.trim_metrics(state.epochs_done)?;
            } else {
                let _ = std::fs::remove_file(run.metrics_path());
            }
        }

        let steps_per_epoch = data.len().div_ceil(c.batch);
        let started = Instant::now();
        let elapsed_before = state.elapsed_s;
        let (mut images_seen, mut train_seconds, mut wait_total) = (0usize, 0f64, 0f64);
        let (mut val_loss, mut val_acc) = (f64::NAN, f64::NAN);
        for epoch in state.epochs_done..c.epochs {
            let stage = c.progressive.at(c.progressive.stage_of(epoch, c.epochs));
            model.set_dropout(stage.dropout);
            model.reseed(rng_seed(c.seed, epoch));
            let augment = Augment {
                size: stage.size,
                crop_pad: c.crop_pad,
                flip: c.flip,
                randaug_ops: c.randaug_ops,
                randaug_magnitude: stage.randaug,
                mixup_alpha: stage.mixup,
                cutmix_alpha: c.cutmix_alpha,
            };
            observe(Event::EpochStart {
                epoch,
                epochs: c.epochs,
                stage,
                steps: steps_per_epoch,
            });
            let batches = spawn_batches(
                train.clone(),
                epoch_order(data.len(), Some((c.seed, epoch as u64))),
                c.batch,
                augment,
                stats.clone(),
                [c.seed, epoch as u64],
                2,
            );
            let epoch_start = Instant::now();
            let (mut loss_sum, mut hits, mut seen, mut wait) = (0.0, 0usize, 0usize, 0.0);
            let mut lr = 0.0;
            for i in 0..steps_per_epoch {
                let waited = Instant::now();
                let Ok(b) = batches.recv() else { break };
                wait += waited.elapsed().as_secs_f64();
                lr = c.lr.at(
                    state.steps_done as f64 / steps_per_epoch as f64,
                    c.epochs as f64,
                );
                opt.set_learning_rate(lr);
                let n = b.labels.len();
                let x = Tensor::from_vec(b.images, (n, b.channels, b.size, b.size), self.device)?;
                let t = Tensor::from_vec(b.targets, (n, data.classes), self.device)?;
                let logits = model.forward_t(&x, true)?;
                let loss = soft_cross_entropy(&logits, &t, c.label_smoothing)?;
                let value = loss.to_scalar::<f32>()? as f64;
                if !value.is_finite() {
                    let outcome = Outcome::Diverged {
                        epoch,
                        step: state.steps_done,
                        loss: value,
                    };
                    if let Some(run) = self.run {
                        run.append_metric(&json!({"kind": "diverged", "epoch": epoch + 1, "step": state.steps_done}))?;
                    }
                    return Ok(TrainReport {
                        outcome,
                        epochs_done: state.epochs_done,
                        val_acc,
                        val_loss,
                        best_val_acc: state.best_val_acc,
                        elapsed_s: elapsed_before + started.elapsed().as_secs_f64(),
                        images_per_s: images_seen as f64 / train_seconds.max(1e-9),
                        data_wait_s: wait_total + wait,
                    });
                }
                opt.step(&loss.backward()?)?;
                if let Some(ema) = &mut ema {
                    ema.update(&model)?;
                }
                state.steps_done += 1;
                loss_sum += value * n as f64;
                hits += correct(&logits, &b.labels)?;
                seen += n;
                let rate = seen as f64 / epoch_start.elapsed().as_secs_f64();
                observe(Event::Step {
                    step: i + 1,
                    steps: steps_per_epoch,
                    loss: loss_sum / seen as f64,
                    acc: hits as f64 / seen as f64,
                    images_per_s: rate,
                });
                if let Some(run) = self.run
                    && c.log_every > 0
                    && state.steps_done % c.log_every as u64 == 0
                {
                    run.append_metric(
                        &json!({"kind": "step", "epoch": epoch + 1, "step": state.steps_done,
                        "loss": value, "lr": lr, "size": stage.size}),
                    )?;
                }
            }
            let epoch_s = epoch_start.elapsed().as_secs_f64();
            train_seconds += epoch_s;
            images_seen += seen;
            wait_total += wait;

            let final_size = last.size;
            let (raw_loss, raw_acc) =
                evaluate(&model, &self.splits.val, final_size, &stats, c.batch)?;
            let (raw_val_acc, (l, a)) = match &ema {
                Some(ema) => (
                    Some(raw_acc),
                    evaluate(&ema.model, &self.splits.val, final_size, &stats, c.batch)?,
                ),
                None => (None, (raw_loss, raw_acc)),
            };
            (val_loss, val_acc) = (l, a);
            state.epochs_done = epoch + 1;
            state.ema_updates = ema.as_ref().map_or(0, |e| e.updates());
            state.best_val_acc = state.best_val_acc.max(val_acc);
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            let metrics = EpochMetrics {
                epoch: epoch + 1,
                stage,
                lr,
                train_loss: loss_sum / seen.max(1) as f64,
                train_acc: hits as f64 / seen.max(1) as f64,
                val_loss,
                val_acc,
                raw_val_acc,
                images_per_s: seen as f64 / epoch_s,
                epoch_s,
                data_wait_s: wait,
                wall_s: state.elapsed_s,
            };
            if let Some(run) = self.run {
                run.save_checkpoint(&model, ema.as_ref().map(|e| &e.model), opt.state()?, &state)?;
                let mut line = serde_json::to_value(&metrics).expect("metrics serialise");
                line["kind"] = "epoch".into();
                run.append_metric(&line)?;
            }
            observe(Event::EpochEnd(&metrics));
        }
        Ok(TrainReport {
            outcome: Outcome::Completed,
            epochs_done: state.epochs_done,
            val_acc,
            val_loss,
            best_val_acc: state.best_val_acc,
            elapsed_s: elapsed_before + started.elapsed().as_secs_f64(),
            images_per_s: images_seen as f64 / train_seconds.max(1e-9),
            data_wait_s: wait_total,
        })
    }
}

/// The seed of epoch `epoch`'s stochastic depth and dropout masks.
fn rng_seed(seed: u64, epoch: usize) -> u64 {
    use rand::Rng;
    rng_for(&[seed, epoch as u64, 0xD809]).random()
}
