//! The training loop: progressive stages, augmentation, the optimizer and its
//! schedule, EMA, evaluation, metrics, checkpoints, resume and the divergence
//! guard.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use models::ema::Ema;
use models::ops::OpSet;
use models::{AdamW, AdamWConfig, EfficientNet, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig};
use records::{EpochRecord, MetricLine, StageSettings, TrainDir};
use serde::Serialize;
use space::ArchSpec;

use crate::augment::Augment;
use crate::checkpoint::{self, RunState};
use crate::config::{OptimizerKind, TrainConfig};
use crate::data::{Dataset, Splits};
use crate::error::TrainError;
use crate::loader::{epoch_order, make_batch, spawn_batches};
use crate::loss::{correct, soft_cross_entropy};
use crate::rng::rng_for;

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
    EpochEnd(&'a EpochRecord),
}

/// Where and how to train.
pub struct Trainer<'a> {
    pub spec: &'a ArchSpec,
    pub splits: &'a Splits,
    pub config: &'a TrainConfig,
    pub device: &'a Device,
    pub ops: OpSet,
    /// Run directory for metrics and checkpoints; `None` keeps everything in memory.
    pub run: Option<&'a TrainDir>,
    /// Continue from the run directory's last checkpoint.
    pub resume: bool,
    /// Start from these weights under timm's names (a network pretrained or
    /// initialised in timm) instead of a random draw, but for a classifier of
    /// another shape; a restored checkpoint supersedes them.
    pub init_from: Option<&'a Path>,
}

fn optimizer(model: &EfficientNet, c: &TrainConfig) -> Result<Box<dyn Optimizer>, TrainError> {
    let (p, lr, weight_decay) = (model.params(), c.lr.lr, c.weight_decay);
    Ok(match c.optimizer {
        OptimizerKind::Rmsprop => Box::new(RmsProp::new(
            p,
            RmsPropConfig {
                lr,
                weight_decay,
                ..RmsPropConfig::default()
            },
        )?),
        OptimizerKind::Sgd => Box::new(Sgd::new(
            p,
            SgdConfig {
                lr,
                weight_decay,
                ..SgdConfig::default()
            },
        )?),
        OptimizerKind::AdamW => Box::new(AdamW::new(
            p,
            AdamWConfig {
                lr,
                weight_decay,
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
        self.run_until(self.config.epochs, observe)
    }

    /// Trains the config's schedule up to epoch `until` (of its `epochs`) and stops
    /// there, as if interrupted after that epoch's checkpoint: with a run directory
    /// and `resume`, a later call with a larger `until` continues exactly where this
    /// one stopped (the rungs of a successive-halving search).
    pub fn run_until(
        &self,
        until: usize,
        observe: &mut dyn FnMut(Event),
    ) -> Result<TrainReport, TrainError> {
        let c = self.config;
        c.validate()?;
        let mut session = Session::start(self, &self.fitted_spec()?)?;
        for epoch in session.state.epochs_done..until.min(c.epochs) {
            let pass = session.train_epoch(epoch, observe)?;
            if let Some((step, loss)) = pass.diverged {
                return session.diverged(epoch, step, loss, pass.wait);
            }
            let record = session.finish_epoch(epoch, &pass)?;
            observe(Event::EpochEnd(&record));
        }
        Ok(session.report(Outcome::Completed, 0.0))
    }

    /// The spec fitted to the data's classes and channels and, by the config's
    /// `small_images` rule, to the smallest image size it trains at; checked at
    /// every stage's size.
    fn fitted_spec(&self) -> Result<ArchSpec, TrainError> {
        let data = &self.splits.train;
        let schedule = &self.config.progressive;
        let spec = self
            .config
            .small_images
            .apply(self.spec, schedule.size[0])
            .with_classes(data.classes)
            .with_input_channels(data.channels);
        for settings in (0..schedule.stages).map(|i| schedule.at(i)) {
            spec.check_image_size("size", settings.size)
                .map_err(|source| TrainError::ImageSize {
                    stage: settings.stage,
                    source,
                })?;
        }
        Ok(spec)
    }
}

/// A run in progress: the network, its optimizer and EMA, and where it stands.
struct Session<'a> {
    trainer: &'a Trainer<'a>,
    model: EfficientNet,
    optimizer: Box<dyn Optimizer>,
    ema: Option<Ema>,
    stats: Vec<(f32, f32)>,
    train: Arc<Dataset>,
    steps_per_epoch: usize,
    state: RunState,
    started: Instant,
    /// Training time of earlier processes of a resumed run, seconds.
    elapsed_before: f64,
    images_seen: usize,
    train_seconds: f64,
    wait_total: f64,
    /// Validation loss and accuracy after the last epoch.
    val: (f64, f64),
}

/// What one epoch's training pass did.
struct EpochPass {
    stage: StageSettings,
    loss_sum: f64,
    hits: usize,
    seen: usize,
    /// Seconds the network waited for batches.
    wait: f64,
    /// The learning rate of the last step.
    lr: f64,
    seconds: f64,
    /// The step and loss at which the loss stopped being finite.
    diverged: Option<(u64, f64)>,
}

impl<'a> Session<'a> {
    /// Builds the network from `spec` and, when resuming, restores the last
    /// checkpoint (and trims metrics written after it).
    fn start(trainer: &'a Trainer<'a>, spec: &ArchSpec) -> Result<Session<'a>, TrainError> {
        let c = trainer.config;
        let data = &trainer.splits.train;
        let mut model = EfficientNet::new(spec, c.seed, trainer.device)?;
        model.set_ops(trainer.ops);
        let restoring = trainer.resume && trainer.run.and_then(checkpoint::latest).is_some();
        if let (Some(weights), false) = (trainer.init_from, restoring) {
            models::load_timm_weights(&model, weights, true)?;
        }
        let mut optimizer = optimizer(&model, c)?;
        let mut ema = match c.ema_decay {
            Some(d) => Some(Ema::new(&model, d)?),
            None => None,
        };
        let mut state = RunState::start();
        if let Some(run) = trainer.run {
            if trainer.resume {
                if let Some(dir) = checkpoint::latest(run) {
                    state = checkpoint::load_state(&dir)?;
                    models::load_weights(&model, &dir.join("model.safetensors"))?;
                    optimizer.load_state(checkpoint::load_optimizer(&dir, trainer.device)?)?;
                    if let Some(ema) = &mut ema {
                        models::load_weights(&ema.model, &dir.join("ema.safetensors"))?;
                        ema.set_updates(state.ema_updates);
                    }
                }
                run.trim_metrics(state.epochs_done)?;
            } else {
                run.clear_metrics()?;
            }
        }
        Ok(Session {
            trainer,
            model,
            optimizer,
            ema,
            stats: data.channel_stats(),
            train: Arc::new(data.clone()),
            steps_per_epoch: data.len().div_ceil(c.batch),
            elapsed_before: state.elapsed_s,
            state,
            started: Instant::now(),
            images_seen: 0,
            train_seconds: 0.0,
            wait_total: 0.0,
            val: (f64::NAN, f64::NAN),
        })
    }

    /// One pass over the training data at the epoch's stage of the schedule; stops
    /// at the first loss that is not finite.
    fn train_epoch(
        &mut self,
        epoch: usize,
        observe: &mut dyn FnMut(Event),
    ) -> Result<EpochPass, TrainError> {
        let (c, device) = (self.trainer.config, self.trainer.device);
        let classes = self.train.classes;
        let stage = c.progressive.at(c.progressive.stage_of(epoch, c.epochs));
        self.model.set_dropout(stage.dropout);
        self.model.reseed(epoch_seed(c.seed, epoch));
        let augment = Augment {
            size: stage.size,
            crop_pad: c.crop_pad,
            flip: c.flip,
            randaug_ops: c.randaug_ops,
            randaug_magnitude: stage.randaug,
            mixup_alpha: stage.mixup,
            cutmix_alpha: c.cutmix_alpha,
        };
        let steps = self.steps_per_epoch;
        observe(Event::EpochStart {
            epoch,
            epochs: c.epochs,
            stage,
            steps,
        });
        let batches = spawn_batches(
            self.train.clone(),
            epoch_order(self.train.len(), Some((c.seed, epoch as u64))),
            c.batch,
            augment,
            self.stats.clone(),
            [c.seed, epoch as u64],
            2,
        );
        let start = Instant::now();
        let mut pass = EpochPass {
            stage,
            loss_sum: 0.0,
            hits: 0,
            seen: 0,
            wait: 0.0,
            lr: 0.0,
            seconds: 0.0,
            diverged: None,
        };
        for i in 0..steps {
            let waited = Instant::now();
            let Ok(b) = batches.recv() else { break };
            pass.wait += waited.elapsed().as_secs_f64();
            pass.lr =
                c.lr.at(self.state.steps_done as f64 / steps as f64, c.epochs as f64);
            self.optimizer.set_learning_rate(pass.lr);
            let n = b.labels.len();
            let x = Tensor::from_vec(b.images, (n, b.channels, b.size, b.size), device)?;
            let t = Tensor::from_vec(b.targets, (n, classes), device)?;
            let logits = self.model.forward_t(&x, true)?;
            let loss = soft_cross_entropy(&logits, &t, c.label_smoothing)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                pass.diverged = Some((self.state.steps_done, value));
                return Ok(pass);
            }
            self.optimizer.step(&self.model.backward(&loss)?)?;
            if let Some(ema) = &mut self.ema {
                ema.update(&self.model)?;
            }
            self.state.steps_done += 1;
            pass.loss_sum += value * n as f64;
            pass.hits += correct(&logits, &b.labels)?;
            pass.seen += n;
            observe(Event::Step {
                step: i + 1,
                steps,
                loss: pass.loss_sum / pass.seen as f64,
                acc: pass.hits as f64 / pass.seen as f64,
                images_per_s: pass.seen as f64 / start.elapsed().as_secs_f64(),
            });
            if let Some(run) = self.trainer.run
                && c.log_every > 0
                && self.state.steps_done % c.log_every as u64 == 0
            {
                run.append_metric(&MetricLine::Step {
                    epoch: epoch + 1,
                    step: self.state.steps_done,
                    loss: value,
                    lr: pass.lr,
                    size: stage.size,
                })?;
            }
        }
        pass.seconds = start.elapsed().as_secs_f64();
        Ok(pass)
    }

    /// Evaluates after a pass, records the epoch and saves the checkpoint.
    fn finish_epoch(&mut self, epoch: usize, pass: &EpochPass) -> Result<EpochRecord, TrainError> {
        let (c, val) = (self.trainer.config, &self.trainer.splits.val);
        self.train_seconds += pass.seconds;
        self.images_seen += pass.seen;
        self.wait_total += pass.wait;

        // Always at the final size: accuracies of all epochs compare.
        let size = c.progressive.at(c.progressive.stages - 1).size;
        let (raw_loss, raw_acc) = evaluate(&self.model, val, size, &self.stats, c.batch)?;
        let (raw_val_acc, (val_loss, val_acc)) = match &self.ema {
            Some(ema) => (
                Some(raw_acc),
                evaluate(&ema.model, val, size, &self.stats, c.batch)?,
            ),
            None => (None, (raw_loss, raw_acc)),
        };
        self.val = (val_loss, val_acc);
        self.state.epochs_done = epoch + 1;
        self.state.ema_updates = self.ema.as_ref().map_or(0, |e| e.updates());
        self.state.best_val_acc = self.state.best_val_acc.max(val_acc);
        self.state.elapsed_s = self.elapsed();
        let record = EpochRecord {
            epoch: epoch + 1,
            stage: pass.stage,
            lr: pass.lr,
            train_loss: pass.loss_sum / pass.seen.max(1) as f64,
            train_acc: pass.hits as f64 / pass.seen.max(1) as f64,
            val_loss,
            val_acc,
            raw_val_acc,
            images_per_s: pass.seen as f64 / pass.seconds,
            epoch_s: pass.seconds,
            data_wait_s: pass.wait,
            wall_s: self.state.elapsed_s,
        };
        if let Some(run) = self.trainer.run {
            let ema = self.ema.as_ref().map(|e| &e.model);
            checkpoint::save(run, &self.model, ema, self.optimizer.state()?, &self.state)?;
            run.append_metric(&MetricLine::Epoch(record.clone()))?;
        }
        Ok(record)
    }

    /// Records a divergence in `epoch` and ends the run there.
    fn diverged(
        &self,
        epoch: usize,
        step: u64,
        loss: f64,
        wait: f64,
    ) -> Result<TrainReport, TrainError> {
        if let Some(run) = self.trainer.run {
            run.append_metric(&MetricLine::Diverged {
                epoch: epoch + 1,
                step,
            })?;
        }
        Ok(self.report(Outcome::Diverged { epoch, step, loss }, wait))
    }

    /// Training time across resumes, seconds.
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// The report of the run as it stands; `wait` is data wait not yet counted.
    fn report(&self, outcome: Outcome, wait: f64) -> TrainReport {
        TrainReport {
            outcome,
            epochs_done: self.state.epochs_done,
            val_acc: self.val.1,
            val_loss: self.val.0,
            best_val_acc: self.state.best_val_acc,
            elapsed_s: self.elapsed(),
            images_per_s: self.images_seen as f64 / self.train_seconds.max(1e-9),
            data_wait_s: self.wait_total + wait,
        }
    }
}

/// The seed of epoch `epoch`'s stochastic depth and dropout masks.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    use rand::Rng;
    rng_for(&[seed, epoch as u64, 0xD809]).random()
}
