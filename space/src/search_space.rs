//! A stage-based, factorised search space (paper §3.3) as data: per stage, the
//! allowed ops, kernels, expansion ratios, SE ratios, layer counts and widths. A
//! point in the space is a vector of choice indices, which is what strategies
//! sample, mutate and learn over; [`SearchSpace::decode`] turns it into an
//! [`ArchSpec`].

use serde::{Deserialize, Serialize};

use crate::arch::ArchSpec;
use crate::block::{BlockKind, StageSpec};
use crate::choice_space::ChoiceSpace;
use crate::error::SpaceError;
use crate::rounding::{Rounding, round_filters};
use crate::validate::{MAX_CHANNELS, MAX_REPEATS, SUPPORTED_KERNELS, SUPPORTED_STRIDES};

/// The choices of one stage. Channels come from the backbone (`out_channels`),
/// optionally scaled by one of `width_multipliers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageChoices {
    pub out_channels: usize,
    /// Stride of the stage's first block; fixed, so the resolution schedule is the
    /// backbone's.
    pub stride: usize,
    pub ops: Vec<BlockKind>,
    pub kernels: Vec<usize>,
    pub expand_ratios: Vec<usize>,
    /// `null` stands for "no SE".
    pub se_ratios: Vec<Option<f64>>,
    /// Inclusive range `[min, max]` of layers; 0 removes the stage.
    pub repeats: [usize; 2],
    #[serde(default = "default_widths")]
    pub width_multipliers: Vec<f64>,
}

fn default_widths() -> Vec<f64> {
    vec![1.0]
}

/// The choice dimensions of every stage, in the order they appear in [`Choices`].
pub const STAGE_DIMENSIONS: [&str; 6] = [
    "ops",
    "kernels",
    "expand_ratios",
    "se_ratios",
    "repeats",
    "width_multipliers",
];
const REPEATS_DIM: usize = 4;

impl StageChoices {
    /// Number of options per dimension, in [`STAGE_DIMENSIONS`] order.
    pub fn options(&self) -> [usize; 6] {
        [
            self.ops.len(),
            self.kernels.len(),
            self.expand_ratios.len(),
            self.se_ratios.len(),
            self.repeats[1].saturating_sub(self.repeats[0]) + 1,
            self.width_multipliers.len(),
        ]
    }

    fn out_channels_for(&self, width: f64) -> usize {
        round_filters(self.out_channels, width, Rounding::V2)
    }

    /// Checks that every option of the stage is buildable; a problem comes with the
    /// field it is in.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, n) in STAGE_DIMENSIONS.iter().zip(self.options()) {
            if n == 0 {
                return Err((field, "needs at least one option".into()));
            }
        }
        let [low, high] = self.repeats;
        if low > high {
            return Err(("repeats", format!("min {low} is above max {high}")));
        }
        if high > MAX_REPEATS {
            return Err(("repeats", format!("max {high} is above {MAX_REPEATS}")));
        }
        if !SUPPORTED_STRIDES.contains(&self.stride) {
            let why = format!("stride {} is not supported (use 1 or 2)", self.stride);
            return Err(("stride", why));
        }
        if let Some(k) = self.kernels.iter().find(|k| !SUPPORTED_KERNELS.contains(k)) {
            let why = format!("kernel {k} is not supported (use 1, 3, 5 or 7)");
            return Err(("kernels", why));
        }
        if self.expand_ratios.contains(&0) {
            let why = "expansion ratios must be at least 1".into();
            return Err(("expand_ratios", why));
        }
        let in_range = |r: &&f64| **r > 0.0 && **r <= 1.0;
        if let Some(r) = self.se_ratios.iter().flatten().find(|r| !in_range(r)) {
            let why = format!("{r} is outside (0, 1]; use null for no SE");
            return Err(("se_ratios", why));
        }
        let positive = |w: &&f64| w.is_finite() && **w > 0.0;
        if let Some(w) = self.width_multipliers.iter().find(|w| !positive(w)) {
            let why = format!("{w} is not a positive number");
            return Err(("width_multipliers", why));
        }
        let widest = self
            .width_multipliers
            .iter()
            .map(|&w| self.out_channels_for(w))
            .max();
        if self.out_channels == 0 || widest.unwrap_or(0) > MAX_CHANNELS {
            let why = format!(
                "{} must be in 1..={MAX_CHANNELS} after scaling",
                self.out_channels
            );
            return Err(("out_channels", why));
        }
        if has_duplicates(&self.ops)
            || has_duplicates(&self.kernels)
            || has_duplicates(&self.expand_ratios)
            || has_duplicates(&self.se_ratios)
            || has_duplicates(&self.width_multipliers)
        {
            return Err(("options", "an option is listed twice".into()));
        }
        Ok(())
    }
}

/// A point in a [`SearchSpace`]: one option index per dimension, stage by stage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Choices(pub Vec<usize>);

/// Everything outside the stages is fixed: stem, head, classes and training sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpace {
    pub name: String,
    #[serde(default = "default_input_channels")]
    pub input_channels: usize,
    pub stem_channels: usize,
    #[serde(default = "default_stem_stride")]
    pub stem_stride: usize,
    pub head_channels: usize,
    pub classes: usize,
    pub dropout: f64,
    pub survival_prob: f64,
    pub train_size: usize,
    pub eval_size: usize,
    pub stages: Vec<StageChoices>,
}

fn default_input_channels() -> usize {
    3
}

fn default_stem_stride() -> usize {
    2
}

impl SearchSpace {
    /// Reads and validates a space from JSON text.
    pub fn from_json(text: &str) -> Result<SearchSpace, SpaceError> {
        let space: SearchSpace = serde_json::from_str(text).map_err(|e| SpaceError::Field {
            field: "(json)",
            problem: e.to_string(),
        })?;
        space.validate()?;
        Ok(space)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a SearchSpace always serialises")
    }

    /// Checks that every option is buildable and every point decodes to a valid
    /// network: after this, [`SearchSpace::decode`] fails only on malformed choices.
    pub fn validate(&self) -> Result<(), SpaceError> {
        if self.stages.is_empty() {
            return Err(SpaceError::Field {
                field: "stages",
                problem: "a space needs at least one stage".into(),
            });
        }
        for (stage, s) in self.stages.iter().enumerate() {
            s.validate().map_err(|(field, problem)| SpaceError::Stage {
                stage,
                field,
                problem,
            })?;
        }
        if self.stages.iter().all(|s| s.repeats[0] == 0) {
            return Err(SpaceError::Field {
                field: "stages",
                problem: "at least one stage needs a minimum of 1 repeat, or a point could \
                          decode to a network without blocks"
                    .into(),
            });
        }
        // The network with every stage present downsamples most; if it is valid, so
        // is every other point.
        let fullest = Choices(
            self.stages
                .iter()
                .flat_map(|s| {
                    let mut dims = [0; 6];
                    dims[REPEATS_DIM] = s.options()[REPEATS_DIM] - 1;
                    dims
                })
                .collect(),
        );
        self.decode(&fullest).map(|_| ())
    }

    /// Number of choice dimensions (six per stage).
    pub fn dimensions(&self) -> usize {
        self.stages.len() * STAGE_DIMENSIONS.len()
    }

    /// How many choice vectors the space holds (saturating at `u128::MAX`).
    pub fn cardinality(&self) -> u128 {
        self.options()
            .iter()
            .fold(1u128, |acc, &n| acc.saturating_mul(n as u128))
    }

    /// The network a point stands for.
    pub fn decode(&self, choices: &Choices) -> Result<ArchSpec, SpaceError> {
        let options = self.options();
        if choices.0.len() != options.len() {
            return Err(SpaceError::ChoiceLength {
                expected: options.len(),
                found: choices.0.len(),
            });
        }
        for (position, (&index, &n)) in choices.0.iter().zip(&options).enumerate() {
            if index >= n {
                let per = STAGE_DIMENSIONS.len();
                return Err(SpaceError::ChoiceIndex {
                    position,
                    stage: position / per,
                    field: STAGE_DIMENSIONS[position % per],
                    index,
                    options: n,
                });
            }
        }

        let mut stages = Vec::new();
        let mut channels = self.stem_channels;
        for (i, s) in self.stages.iter().enumerate() {
            let c = &choices.0[stage_dim(i, 0)..stage_dim(i + 1, 0)];
            let repeats = s.repeats[0] + c[REPEATS_DIM];
            if repeats == 0 {
                continue;
            }
            let out_channels = s.out_channels_for(s.width_multipliers[c[5]]);
            stages.push(StageSpec {
                kind: s.ops[c[0]],
                repeats,
                kernel: s.kernels[c[1]],
                stride: s.stride,
                expand_ratio: s.expand_ratios[c[2]],
                in_channels: channels,
                out_channels,
                se_ratio: s.se_ratios[c[3]],
            });
            channels = out_channels;
        }
        if stages.is_empty() {
            return Err(SpaceError::NoBlocks);
        }
        let mut spec = ArchSpec {
            name: String::new(),
            input_channels: self.input_channels,
            stem_channels: self.stem_channels,
            stem_stride: self.stem_stride,
            stages,
            head_channels: self.head_channels,
            classes: self.classes,
            dropout: self.dropout,
            survival_prob: self.survival_prob,
            train_size: self.train_size,
            eval_size: self.eval_size,
        };
        spec.name = format!(
            "{}-{:016x}",
            self.name,
            fnv1a(spec.canonical_key().as_bytes())
        );
        spec.validate()?;
        Ok(spec)
    }

    /// The point that decodes to `spec`, with inactive choices at 0; an error when
    /// `spec` is not in this space.
    pub fn encode(&self, spec: &ArchSpec) -> Result<Choices, SpaceError> {
        let outside = |problem: String| SpaceError::Field {
            field: "spec",
            problem,
        };
        if (
            spec.input_channels,
            spec.stem_channels,
            spec.stem_stride,
            spec.head_channels,
            spec.classes,
        ) != (
            self.input_channels,
            self.stem_channels,
            self.stem_stride,
            self.head_channels,
            self.classes,
        ) {
            return Err(outside(
                "stem, head, input channels or classes differ from the space's".into(),
            ));
        }
        let mut choices = Vec::with_capacity(self.dimensions());
        if self.match_stages(0, &spec.stages, &mut choices) {
            Ok(Choices(choices))
        } else {
            Err(outside(format!(
                "`{}` does not fit the stages of space `{}`",
                spec.name, self.name
            )))
        }
    }

    /// Matches space stages from `from` on against `rest` of a spec's stages,
    /// backtracking where a stage that may be removed could also match.
    fn match_stages(&self, from: usize, rest: &[StageSpec], out: &mut Vec<usize>) -> bool {
        let Some(s) = self.stages.get(from) else {
            return rest.is_empty();
        };
        let mark = out.len();
        if let Some(stage) = rest.first()
            && let Some(dims) = stage_choice(s, stage)
        {
            out.extend(dims);
            if self.match_stages(from + 1, &rest[1..], out) {
                return true;
            }
            out.truncate(mark);
        }
        if s.repeats[0] == 0 {
            out.extend([0; 6]);
            if self.match_stages(from + 1, rest, out) {
                return true;
            }
            out.truncate(mark);
        }
        false
    }
}

impl ChoiceSpace for SearchSpace {
    /// Number of options of every dimension, in [`Choices`] order.
    fn options(&self) -> Vec<usize> {
        self.stages.iter().flat_map(|s| s.options()).collect()
    }

    fn key(&self, choices: &Choices) -> Option<String> {
        self.decode(choices).ok().map(|spec| spec.canonical_key())
    }

    /// Dimensions whose value changes the decoded network: a stage with 0 repeats
    /// has only its layer count active.
    fn active_dimensions(&self, choices: &Choices) -> Vec<usize> {
        let per = STAGE_DIMENSIONS.len();
        let options = self.options();
        (0..self.dimensions())
            .filter(|&d| {
                let stage = d / per;
                let chosen = choices
                    .0
                    .get(stage_dim(stage, REPEATS_DIM))
                    .copied()
                    .unwrap_or(0);
                let removed = self.stages[stage].repeats[0] + chosen == 0;
                options[d] > 1 && (!removed || d % per == REPEATS_DIM)
            })
            .collect()
    }
}

/// The choice indices of `stage` within `s`, if it is one of its options.
fn stage_choice(s: &StageChoices, stage: &StageSpec) -> Option<[usize; 6]> {
    let op = s.ops.iter().position(|&k| k == stage.kind);
    let kernel = s.kernels.iter().position(|&k| k == stage.kernel);
    let expand = s
        .expand_ratios
        .iter()
        .position(|&e| e == stage.expand_ratio);
    let se = s.se_ratios.iter().position(|&r| r == stage.se_ratio);
    let repeats = (stage.repeats >= s.repeats[0].max(1) && stage.repeats <= s.repeats[1])
        .then(|| stage.repeats - s.repeats[0]);
    let width = s
        .width_multipliers
        .iter()
        .position(|&w| s.out_channels_for(w) == stage.out_channels);
    if stage.stride != s.stride {
        return None;
    }
    Some([op?, kernel?, expand?, se?, repeats?, width?])
}

fn stage_dim(stage: usize, dim: usize) -> usize {
    stage * STAGE_DIMENSIONS.len() + dim
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[..i].contains(a))
}

/// 64-bit FNV-1a: a stable hash for short candidate names (std's hasher is not
/// stable across releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
