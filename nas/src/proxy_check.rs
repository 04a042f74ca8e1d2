//! How good is a proxy? A proxy check samples networks from a space, spread over
//! their parameters and MACs, trains each under one or more cheap proxy settings
//! and under a much longer target setting, and records everything in a run
//! directory (`records::ProxyCheckDir`), so that the reports can say how well each
//! proxy ranks the networks the way the target does (Kendall τ, Spearman ρ, the
//! top 3) and at what cost. A check cut off anywhere resumes without training
//! anything twice.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use candle_core::Device;
use models::ops::OpSet;
use rand::Rng;
use records::{CheckedNetwork, ProxyCheckDir, RecordsError, SettingRun, TrialStatus};
use serde::{Deserialize, Serialize};
use space::{ArchSpec, ChoiceSpace, SearchSpace, SmallImages, analyze};
use train::config::{PROXY_BATCH, PROXY_EPOCHS, PROXY_SIZE, PROXY_STRIDES};
use train::{DataError, Outcome, Splits, TrainConfig, Trainer, rng_for};

use crate::evaluator::{Reward, Timing, guarded};
use crate::proposal::{check_seed, sampling_rng};

/// One way to train the networks: a proxy, or the target the proxies are held to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProxySetting {
    pub name: String,
    /// `embedded`, `fashion-mnist` or a directory, as `--data` takes it.
    pub data: String,
    /// This many training images, spread over the set (`None`: all).
    pub images: Option<usize>,
    pub epochs: usize,
    pub batch: usize,
    /// Image side.
    pub size: usize,
    pub strides: SmallImages,
    /// Salts each network's training seed (0: the network's own seed). A setting
    /// that differs from another only here measures how far the training seed
    /// alone moves the ranking: the most any proxy can be trusted.
    #[serde(default)]
    pub seed: u64,
}

/// A proxy setting that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("`{text}`: {problem}")]
pub struct SettingSyntax {
    pub text: String,
    pub problem: String,
}

impl ProxySetting {
    /// The search's default proxy, named `name`.
    pub fn search_default(name: &str) -> ProxySetting {
        ProxySetting {
            name: name.to_string(),
            data: "embedded".into(),
            images: None,
            epochs: PROXY_EPOCHS,
            batch: PROXY_BATCH,
            size: PROXY_SIZE,
            strides: PROXY_STRIDES,
            seed: 0,
        }
    }

    /// Reads `key=value,…` (keys `data`, `images`, `epochs`, `batch`, `size`,
    /// `strides` = `adapt` or `keep`, `seed`) over the search's default proxy.
    pub fn parse(name: &str, text: &str) -> Result<ProxySetting, SettingSyntax> {
        let fail = |problem: String| SettingSyntax {
            text: text.to_string(),
            problem,
        };
        let mut setting = ProxySetting::search_default(name);
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| fail(format!("`{part}` is not key=value")))?;
            let number = || {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| fail(format!("{key} must be a positive whole number")))
            };
            match key {
                "data" => setting.data = value.to_string(),
                "images" => setting.images = Some(number()?),
                "epochs" => setting.epochs = number()?,
                "batch" => setting.batch = number()?,
                "size" => setting.size = number()?,
                "strides" => {
                    setting.strides = value.parse().map_err(|e| fail(format!("strides: {e}")))?
                }
                "seed" => {
                    setting.seed = value
                        .parse()
                        .map_err(|_| fail("seed must be a whole number".into()))?
                }
                _ => {
                    return Err(fail(format!(
                        "unknown key `{key}` (use data, images, epochs, batch, size, strides, seed)"
                    )));
                }
            }
        }
        Ok(setting)
    }

    /// The seed this setting trains a network with, from the network's own.
    pub fn training_seed(&self, network_seed: u64) -> u64 {
        match self.seed {
            0 => network_seed,
            salt => rng_for(&[network_seed, salt]).random(),
        }
    }

    /// How the search trains its candidates under this setting.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig::proxy(self.epochs, self.batch, self.size, self.strides)
    }

    /// The setting's data, cut to its images.
    pub fn load_data(&self) -> Result<Splits, DataError> {
        Ok(train::load_data(Some(&self.data))?.with_train_images(self.images))
    }

    /// The `search` flags that make this setting the search's proxy.
    pub fn search_flags(&self) -> Vec<String> {
        let mut flags = vec!["--data".to_string(), self.data.clone()];
        if let Some(n) = self.images {
            flags.extend(["--proxy-images".into(), n.to_string()]);
        }
        flags.extend([
            "--proxy-epochs".into(),
            self.epochs.to_string(),
            "--proxy-batch".into(),
            self.batch.to_string(),
            "--proxy-size".into(),
            self.size.to_string(),
            "--proxy-strides".into(),
            self.strides.to_string(),
        ]);
        flags
    }

    /// Forward multiply-accumulates of training `networks` under this setting
    /// (`images` training images an epoch): what it costs, in the units the target
    /// and the proxies are compared in.
    pub fn compute(&self, networks: &[ArchSpec], images: usize) -> f64 {
        networks
            .iter()
            .map(|spec| self.compute_of(spec, images))
            .sum()
    }

    /// [`Self::compute`] of one network.
    pub fn compute_of(&self, spec: &ArchSpec, images: usize) -> f64 {
        let trained = self.strides.apply(spec, self.size);
        let macs = analyze(&trained, self.size).map_or(0, |a| a.macs);
        macs as f64 * images as f64 * self.epochs as f64
    }
}

/// What a check trains: saved as `proxy-check.json` when it starts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProxyCheckPlan {
    pub space: SearchSpace,
    /// Networks sampled from the space (references come on top).
    pub k: usize,
    /// The samples' cap on MACs at the timing size, if any.
    #[serde(default)]
    pub max_macs: Option<u64>,
    pub seed: u64,
    pub proxies: Vec<ProxySetting>,
    pub target: ProxySetting,
    /// Step time, measured as the search measures it (for the reward).
    pub timing: Timing,
    /// The search's reward, normalised by the space's backbone.
    pub reward: Reward,
    /// The networks to train: the sampled ones, then the references.
    pub networks: Vec<PlannedNetwork>,
}

/// A network the plan trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedNetwork {
    pub spec: ArchSpec,
    pub choices: space::Choices,
    /// The network's name when it is a reference.
    pub reference: Option<String>,
}

/// Why a check cannot be planned as asked (bad input).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--k {0}: a rank correlation needs at least 3 networks")]
    TooFew(usize),
    #[error(
        "the space `{space}` produced only {found} distinct networks (within the MACs cap) in {draws} draws; --k {k} needs {k}"
    )]
    SpaceTooSmall {
        space: String,
        k: usize,
        found: usize,
        draws: usize,
    },
    #[error(
        "the target ({target:.3e} MACs of training) is no more expensive than the proxy `{proxy}` ({cost:.3e}): give it more epochs or images"
    )]
    TargetTooCheap {
        target: f64,
        proxy: String,
        cost: f64,
    },
    #[error("the setting name `{0}` is used twice: each proxy needs a name of its own")]
    DuplicateName(String),
}

/// `k` distinct networks from `space`, spread over parameters and MACs at
/// `size`: a pool of random samples (of at most `max_macs` MACs at `size`), from
/// which the one with the fewest parameters is taken first, then each time the one
/// farthest (in log parameters and log MACs, scaled to the pool's range) from those
/// already taken.
pub fn sample_spread(
    space: &SearchSpace,
    k: usize,
    size: usize,
    max_macs: Option<u64>,
    seed: u64,
) -> Result<Vec<PlannedNetwork>, PlanError> {
    let draws = 40 * k.max(3);
    let mut rng = sampling_rng(seed);
    let mut seen = HashSet::new();
    let mut pool = Vec::new();
    for _ in 0..draws {
        let choices = space.sample(&mut rng);
        let Ok(spec) = space.decode(&choices) else {
            continue;
        };
        let Ok(analysis) = analyze(&spec, size) else {
            continue;
        };
        if max_macs.is_some_and(|cap| analysis.macs > cap) {
            continue;
        }
        if seen.insert(spec.canonical_key()) {
            let point = [
                (analysis.params.max(1) as f64).ln(),
                (analysis.macs.max(1) as f64).ln(),
            ];
            pool.push((
                point,
                PlannedNetwork {
                    spec,
                    choices,
                    reference: None,
                },
            ));
        }
    }
    if pool.len() < k {
        return Err(PlanError::SpaceTooSmall {
            space: space.name.clone(),
            k,
            found: pool.len(),
            draws,
        });
    }
    let scale: Vec<f64> = (0..2)
        .map(|d| {
            let (lo, hi) = pool.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (p, _)| {
                (lo.min(p[d]), hi.max(p[d]))
            });
            (hi - lo).max(1e-9)
        })
        .collect();
    let distance = |a: &[f64; 2], b: &[f64; 2]| {
        (0..2)
            .map(|d| ((a[d] - b[d]) / scale[d]).powi(2))
            .sum::<f64>()
    };
    let first = (0..pool.len())
        .min_by(|&a, &b| pool[a].0[0].total_cmp(&pool[b].0[0]))
        .expect("the pool holds k ≥ 1 networks");
    let mut chosen = vec![first];
    while chosen.len() < k {
        let next = (0..pool.len())
            .filter(|i| !chosen.contains(i))
            .max_by(|&a, &b| {
                let near = |i: usize| {
                    chosen
                        .iter()
                        .map(|&c| distance(&pool[i].0, &pool[c].0))
                        .fold(f64::MAX, f64::min)
                };
                near(a).total_cmp(&near(b))
            })
            .expect("the pool holds more than the chosen");
        chosen.push(next);
    }
    Ok(chosen.into_iter().map(|i| pool[i].1.clone()).collect())
}

/// Checks a check's settings: distinct names, and a target that costs more than
/// every proxy on the check's own `networks` (`images` gives each setting's
/// training images).
pub fn check_settings(
    proxies: &[ProxySetting],
    target: &ProxySetting,
    networks: &[PlannedNetwork],
    images: &dyn Fn(&ProxySetting) -> usize,
) -> Result<(), PlanError> {
    let mut names = HashSet::new();
    for s in proxies.iter().chain([target]) {
        if !names.insert(s.name.as_str()) {
            return Err(PlanError::DuplicateName(s.name.clone()));
        }
    }
    let specs: Vec<ArchSpec> = networks.iter().map(|n| n.spec.clone()).collect();
    let target_cost = target.compute(&specs, images(target));
    for proxy in proxies {
        let cost = proxy.compute(&specs, images(proxy));
        if target_cost <= cost {
            return Err(PlanError::TargetTooCheap {
                target: target_cost,
                proxy: proxy.name.clone(),
                cost,
            });
        }
    }
    Ok(())
}

impl ProxyCheckPlan {
    /// Every setting: the proxies, then the target.
    pub fn settings(&self) -> impl Iterator<Item = &ProxySetting> {
        self.proxies.iter().chain([&self.target])
    }

    pub fn load(dir: &ProxyCheckDir) -> Result<Option<ProxyCheckPlan>, RecordsError> {
        records::read_json(&dir.plan())
    }

    pub fn save(&self, dir: &ProxyCheckDir) -> Result<(), RecordsError> {
        records::write_json_atomically(&dir.plan(), self)
    }
}

/// What a check tells an observer as it goes.
pub enum CheckEvent<'a> {
    /// Network `index`'s step time is being measured.
    Timing {
        index: usize,
        name: &'a str,
    },
    /// `setting` starts training network `index`; `done` of `total` trainings are
    /// finished.
    Training {
        index: usize,
        name: &'a str,
        setting: &'a str,
        done: usize,
        total: usize,
    },
    Trained(&'a SettingRun),
}

/// What stops a check (a network that fails to train does not: it is recorded).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Files(#[from] RecordsError),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Runs what `dir` does not hold yet: the networks' step times, then each
/// network's trainings under every setting, each recorded as it finishes.
pub fn run_proxy_check(
    plan: &ProxyCheckPlan,
    dir: &ProxyCheckDir,
    device: &Device,
    ops: OpSet,
    observe: &mut dyn FnMut(CheckEvent),
) -> Result<(), CheckError> {
    dir.repair()?;
    record_networks(plan, dir, device, ops, observe)?;
    let networks = dir.networks()?;
    let done: HashSet<(usize, String)> = dir
        .trainings()?
        .into_iter()
        .map(|r| (r.network, r.setting))
        .collect();
    let total = networks.len() * (plan.proxies.len() + 1);
    let mut finished = done.len();
    let mut data: HashMap<(String, Option<usize>), Splits> = HashMap::new();
    // Network by network: a check cut off early still ranks the networks it has.
    for network in &networks {
        for setting in plan.settings() {
            if done.contains(&(network.index, setting.name.clone())) {
                continue;
            }
            let key = (setting.data.clone(), setting.images);
            if !data.contains_key(&key) {
                data.insert(key.clone(), setting.load_data()?);
            }
            observe(CheckEvent::Training {
                index: network.index,
                name: &network.spec.name,
                setting: &setting.name,
                done: finished,
                total,
            });
            let seed = setting.training_seed(check_seed(plan.seed, network.index));
            let run = train_one(network, setting, &data[&key], seed, device, ops);
            dir.append_training(&run)?;
            finished += 1;
            observe(CheckEvent::Trained(&run));
        }
    }
    Ok(())
}

/// Measures and records the planned networks `dir` does not hold yet.
fn record_networks(
    plan: &ProxyCheckPlan,
    dir: &ProxyCheckDir,
    device: &Device,
    ops: OpSet,
    observe: &mut dyn FnMut(CheckEvent),
) -> Result<(), RecordsError> {
    let recorded = dir.networks()?.len();
    for (index, planned) in plan.networks.iter().enumerate().skip(recorded) {
        let spec = &planned.spec;
        observe(CheckEvent::Timing {
            index,
            name: &spec.name,
        });
        let seed = check_seed(plan.seed, index);
        let step_ms = guarded(|| plan.timing.measure(spec, seed, device, ops)).ok();
        dir.append_network(&CheckedNetwork {
            index,
            key: spec.canonical_key(),
            choices: planned.choices.clone(),
            reference: planned.reference.clone(),
            params: spec.param_count(),
            macs: analyze(spec, plan.timing.size).map_or(0, |a| a.macs),
            step_ms,
            spec: spec.clone(),
        })?;
    }
    Ok(())
}

/// Trains `network` under `setting`; a failure is a result.
fn train_one(
    network: &CheckedNetwork,
    setting: &ProxySetting,
    splits: &Splits,
    seed: u64,
    device: &Device,
    ops: OpSet,
) -> SettingRun {
    let start = Instant::now();
    let config = TrainConfig {
        seed,
        ..setting.train_config()
    };
    let trainer = Trainer {
        spec: &network.spec,
        splits,
        config: &config,
        device,
        ops,
        run: None,
        resume: false,
        init_from: None,
    };
    let outcome = guarded(|| trainer.run(&mut |_| {})).and_then(|report| match report.outcome {
        Outcome::Completed => Ok(report.val_acc),
        Outcome::Diverged { epoch, step, loss } => Err(format!(
            "diverged: loss {loss} at step {step} (epoch {})",
            epoch + 1
        )),
    });
    let (status, accuracy, error) = match outcome {
        Ok(a) => (TrialStatus::Done, Some(a), None),
        Err(e) => (TrialStatus::Failed, None, Some(e)),
    };
    SettingRun {
        network: network.index,
        setting: setting.name.clone(),
        status,
        accuracy,
        seconds: start.elapsed().as_secs_f64(),
        compute: setting.compute_of(&network.spec, splits.train.len()),
        seed,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::spaces::builtin_space;

    #[test]
    fn settings_read_over_the_search_default_and_give_its_flags() {
        let s = ProxySetting::parse(
            "p",
            "epochs=4, strides=adapt,images=12000,data=fashion-mnist",
        )
        .unwrap();
        assert_eq!(
            (s.epochs, s.images, s.size, s.strides),
            (4, Some(12000), PROXY_SIZE, SmallImages::DEFAULT)
        );
        assert_eq!(
            s.search_flags().join(" "),
            "--data fashion-mnist --proxy-images 12000 --proxy-epochs 4 --proxy-batch 64 \
             --proxy-size 32 --proxy-strides adapt"
        );
        assert_eq!(
            ProxySetting::parse("d", "").unwrap(),
            ProxySetting::search_default("d")
        );
        let salted = ProxySetting::parse("s", "seed=7").unwrap();
        assert_eq!(salted.seed, 7);
        assert_eq!(ProxySetting::search_default("d").training_seed(42), 42);
        assert_ne!(salted.training_seed(42), 42);
        assert_ne!(salted.training_seed(42), salted.training_seed(43));
        for bad in [
            "seed=-1",
            "epochs=0",
            "epochs",
            "strides=maybe",
            "colour=red",
            "size=-3",
        ] {
            assert!(ProxySetting::parse("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn samples_are_distinct_spread_and_repeat_under_the_seed() {
        let space = builtin_space("paper").unwrap();
        let a = sample_spread(&space, 6, 128, None, 1).unwrap();
        assert_eq!(a, sample_spread(&space, 6, 128, None, 1).unwrap());
        let keys: HashSet<String> = a.iter().map(|n| n.spec.canonical_key()).collect();
        assert_eq!(keys.len(), 6);
        // The first is the smallest of the pool; the spread reaches a much larger one.
        let params: Vec<u64> = a.iter().map(|n| n.spec.param_count()).collect();
        let largest = *params.iter().max().unwrap();
        assert!(params.iter().all(|&p| p >= params[0]));
        assert!(largest > 3 * params[0], "{params:?}");
        // A cap on MACs keeps every sample under it.
        let cap = 300_000_000;
        for n in sample_spread(&space, 6, 128, Some(cap), 1).unwrap() {
            assert!(analyze(&n.spec, 128).unwrap().macs <= cap);
        }
    }

    #[test]
    fn a_target_no_dearer_than_a_proxy_is_refused() {
        let space = builtin_space("paper").unwrap();
        let networks = sample_spread(&space, 3, 128, None, 0).unwrap();
        let mut proxies = vec![ProxySetting::search_default("default")];
        let mut target = ProxySetting::parse("target", "epochs=20").unwrap();
        let images = |_: &ProxySetting| 4000;
        check_settings(&proxies, &target, &networks, &images).unwrap();
        target.epochs = 2;
        assert!(matches!(
            check_settings(&proxies, &target, &networks, &images),
            Err(PlanError::TargetTooCheap { .. })
        ));
        target.epochs = 20;
        proxies.push(ProxySetting::search_default("default"));
        assert!(matches!(
            check_settings(&proxies, &target, &networks, &images),
            Err(PlanError::DuplicateName(_))
        ));
    }
}
