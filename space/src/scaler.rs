//! Non-uniform compound scaling (paper §3.4): grow a base network in width, depth
//! and resolution, giving the extra layers preferentially to later stages and
//! capping the image size, to make an S/M/L family from one searched base.
//!
//! The rule, for a base with stages `i = 0 … n-1` of `r_i` layers:
//! - **width**: every stage's and the stem's channels are `round_filters(c, width)`
//!   (multiples of 8); the head keeps its width, as in the official V2-M/L.
//! - **depth**: the scaled network has `T = ceil(depth · Σ r_i)` layers. An optional
//!   *tail* stage (stride 1, the last stage's block, `channel_ratio` times its
//!   channels, as the official V2-M/L add) takes `round(tail.depth_share · T)` of
//!   them. The other `T − Σ r_i − tail` extra layers are shared among the base
//!   stages in proportion to `r_i · (1 + later_bias · i / (n − 1))`, by largest
//!   remainder (ties to the later stage).
//! - **resolution**: sizes are multiplied by `resolution` and rounded to a multiple
//!   of the network's total stride (resolution 1 keeps them as they are); the
//!   evaluation size is capped at `max_size`, and the training size at the same
//!   fraction of the cap as in the base (rounded the same way).

use serde::{Deserialize, Serialize};

use crate::arch::ArchSpec;
use crate::block::StageSpec;
use crate::error::SpecError;
use crate::rounding::{Rounding, round_filters};

/// A stride-1 stage appended after the last one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailStage {
    /// Its channels relative to the (scaled) last stage's.
    pub channel_ratio: f64,
    /// Its share of the scaled network's layers.
    pub depth_share: f64,
}

/// How to scale a base network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleConfig {
    pub width: f64,
    pub depth: f64,
    pub resolution: f64,
    /// 0 shares extra layers in proportion to each stage's depth; larger values
    /// favour later stages more.
    #[serde(default = "default_later_bias")]
    pub later_bias: f64,
    /// Cap on the evaluation image size (the paper's 480).
    #[serde(default = "default_max_size")]
    pub max_size: usize,
    #[serde(default)]
    pub tail: Option<TailStage>,
    /// Dropout of the scaled network; the base's when `None`.
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Name of the scaled network; derived from the base's when `None`.
    #[serde(default)]
    pub name: Option<String>,
}

fn default_later_bias() -> f64 {
    DEFAULT_LATER_BIAS
}

fn default_max_size() -> usize {
    DEFAULT_MAX_SIZE
}

pub const DEFAULT_LATER_BIAS: f64 = 0.0;
pub const DEFAULT_MAX_SIZE: usize = 480;

impl ScaleConfig {
    /// Scaling by the three multipliers with every other setting at its default.
    pub fn new(width: f64, depth: f64, resolution: f64) -> ScaleConfig {
        ScaleConfig {
            width,
            depth,
            resolution,
            later_bias: DEFAULT_LATER_BIAS,
            max_size: DEFAULT_MAX_SIZE,
            tail: None,
            dropout: None,
            name: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScaleError {
    #[error("{field}: {value} is not allowed ({allowed})")]
    Setting {
        field: &'static str,
        value: f64,
        allowed: &'static str,
    },
    #[error("base network is invalid: {0}")]
    Base(SpecError),
    #[error("scaled network is invalid: {0}")]
    Scaled(SpecError),
}

fn check(
    field: &'static str,
    value: f64,
    ok: bool,
    allowed: &'static str,
) -> Result<(), ScaleError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(ScaleError::Setting {
            field,
            value,
            allowed,
        })
    }
}

impl ScaleConfig {
    /// Checks every setting against its allowed range, naming the first one out of it.
    fn validate(&self) -> Result<(), ScaleError> {
        check("width", self.width, self.width > 0.0, "a positive number")?;
        check(
            "depth",
            self.depth,
            self.depth >= 1.0,
            "at least 1: the scaler adds layers",
        )?;
        check(
            "resolution",
            self.resolution,
            self.resolution > 0.0,
            "a positive number",
        )?;
        check(
            "later_bias",
            self.later_bias,
            self.later_bias >= 0.0,
            "0 or more",
        )?;
        check(
            "max_size",
            self.max_size as f64,
            self.max_size > 0,
            "a positive size in pixels",
        )?;
        if let Some(tail) = self.tail {
            check(
                "tail.channel_ratio",
                tail.channel_ratio,
                tail.channel_ratio > 0.0,
                "a positive number",
            )?;
            check(
                "tail.depth_share",
                tail.depth_share,
                tail.depth_share > 0.0 && tail.depth_share < 1.0,
                "between 0 and 1",
            )?;
        }
        if let Some(dropout) = self.dropout {
            check(
                "dropout",
                dropout,
                (0.0..1.0).contains(&dropout),
                "in [0, 1)",
            )?;
        }
        Ok(())
    }
}

/// Scales `base` by `config`; see the module documentation for the rule.
pub fn scale(base: &ArchSpec, config: &ScaleConfig) -> Result<ArchSpec, ScaleError> {
    base.validate().map_err(ScaleError::Base)?;
    config.validate()?;
    let filters = |c| round_filters(c, config.width, Rounding::V2);
    let base_layers = base.num_blocks();
    let total = (config.depth * base_layers as f64).ceil() as usize;
    let tail_layers = config.tail.map_or(0, |t| {
        ((t.depth_share * total as f64).round() as usize).max(1)
    });
    let extra = total.saturating_sub(base_layers + tail_layers);
    let repeats: Vec<usize> = base.stages.iter().map(|s| s.repeats).collect();
    let added = share_layers(&repeats, extra, config.later_bias);

    let mut stages: Vec<StageSpec> = base
        .stages
        .iter()
        .zip(&added)
        .map(|(s, &more)| StageSpec {
            repeats: s.repeats + more,
            in_channels: filters(s.in_channels),
            out_channels: filters(s.out_channels),
            ..s.clone()
        })
        .collect();
    if let Some(tail) = config.tail {
        let last = stages.last().expect("validated base has stages").clone();
        stages.push(StageSpec {
            repeats: tail_layers,
            stride: 1,
            in_channels: last.out_channels,
            out_channels: round_filters(last.out_channels, tail.channel_ratio, Rounding::V2),
            ..last
        });
    }

    let mut scaled = ArchSpec {
        name: config.name.clone().unwrap_or_else(|| {
            format!(
                "{}-w{}-d{}-r{}",
                base.name, config.width, config.depth, config.resolution
            )
        }),
        stem_channels: filters(base.stem_channels),
        stages,
        dropout: config.dropout.unwrap_or(base.dropout),
        ..base.clone()
    };
    let step = scaled.total_stride();
    let to_step = |px: f64| ((px / step as f64).round() as usize).max(1) * step;
    // Resolution 1 keeps the base's own sizes (V2-S trains at 300, not a multiple of 32).
    let resize = |px: usize| {
        if config.resolution == 1.0 {
            px
        } else {
            to_step(px as f64 * config.resolution)
        }
    };
    let cap = config.max_size;
    scaled.eval_size = resize(base.eval_size).min(cap);
    let train_cap = to_step(cap as f64 * base.train_size as f64 / base.eval_size as f64);
    scaled.train_size = resize(base.train_size).min(train_cap).min(scaled.eval_size);
    scaled.validate().map_err(ScaleError::Scaled)?;
    Ok(scaled)
}

/// Shares `extra` layers among stages in proportion to
/// `repeats_i · (1 + later_bias · i / (n − 1))`, by largest remainder.
pub fn share_layers(repeats: &[usize], extra: usize, later_bias: f64) -> Vec<usize> {
    let n = repeats.len();
    let weights: Vec<f64> = repeats
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let position = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            };
            r as f64 * (1.0 + later_bias * position)
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let quotas: Vec<f64> = weights.iter().map(|w| extra as f64 * w / sum).collect();
    let mut shares: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let mut order: Vec<usize> = (0..n).collect();
    // Largest fractional part first; among equals, the later stage.
    order.sort_by(|&a, &b| {
        let (fa, fb) = (quotas[a] - quotas[a].floor(), quotas[b] - quotas[b].floor());
        fb.total_cmp(&fa).then(b.cmp(&a))
    });
    let missing = extra - shares.iter().sum::<usize>();
    for &i in order.iter().take(missing) {
        shares[i] += 1;
    }
    shares
}

/// One member of a scaled family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyMember {
    /// `S`, `M` or `L`.
    pub label: String,
    /// `None` for the base itself.
    pub config: Option<ScaleConfig>,
    pub spec: ArchSpec,
}

/// The scalings that take a base to the M and L members of its family. The depth
/// multipliers are the official ratios of total layers (V2-M 57 / V2-S 40, V2-L
/// 79 / 40); the widths were chosen by comparing the results, from
/// efficientnetv2-s, with the official V2-M and V2-L (see `docs/scaling.md`).
pub fn family_configs() -> [(&'static str, ScaleConfig); 2] {
    let tail = Some(TailStage {
        channel_ratio: 5.0 / 3.0,
        depth_share: 0.09,
    });
    [
        (
            "M",
            ScaleConfig {
                tail,
                dropout: Some(0.3),
                ..ScaleConfig::new(1.15, 1.425, 1.25)
            },
        ),
        (
            "L",
            ScaleConfig {
                tail,
                dropout: Some(0.4),
                ..ScaleConfig::new(1.47, 1.975, 1.5)
            },
        ),
    ]
}

/// S (the base itself), M and L.
pub fn family(base: &ArchSpec) -> Result<Vec<FamilyMember>, ScaleError> {
    base.validate().map_err(ScaleError::Base)?;
    let mut members = vec![FamilyMember {
        label: "S".into(),
        config: None,
        spec: base.clone(),
    }];
    for (label, mut config) in family_configs() {
        config.name = Some(format!("{}-scaled-{}", base.name, label.to_lowercase()));
        let spec = scale(base, &config)?;
        members.push(FamilyMember {
            label: label.into(),
            config: Some(config),
            spec,
        });
    }
    Ok(members)
}
