//! What makes a spec buildable. Every rule names the stage and field it checks.

use crate::arch::ArchSpec;
use crate::error::{Problem, SpecError};

pub const SUPPORTED_KERNELS: [usize; 4] = [1, 3, 5, 7];
pub const SUPPORTED_STRIDES: [usize; 2] = [1, 2];

/// Generous ceilings that keep the analytics' integer arithmetic far from overflow
/// and turn absurd specs into errors instead of hours of work.
pub const MAX_CHANNELS: usize = 1 << 16;
pub const MAX_REPEATS: usize = 1 << 10;
pub const MAX_EXPAND: usize = 64;
pub const MAX_CLASSES: usize = 1 << 24;
pub const MAX_IMAGE_SIZE: usize = 1 << 13;

fn count(value: usize, max: usize) -> Option<Problem> {
    if value == 0 {
        Some(Problem::Zero)
    } else if value > max {
        Some(Problem::TooLarge { value, max })
    } else {
        None
    }
}

fn unit_interval(value: f64, open_at_zero: bool) -> Option<Problem> {
    let ok = if open_at_zero {
        value > 0.0 && value <= 1.0
    } else {
        (0.0..1.0).contains(&value)
    };
    (!ok).then_some(Problem::OutOfRange {
        value,
        allowed: if open_at_zero { "(0, 1]" } else { "[0, 1)" },
    })
}

impl ArchSpec {
    /// Checks the structure and both image sizes; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SpecError> {
        let field = |name, problem: Option<Problem>| match problem {
            Some(p) => Err(SpecError::field(name, p)),
            None => Ok(()),
        };
        field("input_channels", count(self.input_channels, MAX_CHANNELS))?;
        field("stem_channels", count(self.stem_channels, MAX_CHANNELS))?;
        field(
            "stem_stride",
            (!SUPPORTED_STRIDES.contains(&self.stem_stride))
                .then_some(Problem::UnsupportedStride(self.stem_stride)),
        )?;
        field(
            "stages",
            self.stages.is_empty().then_some(Problem::NoStages),
        )?;

        let mut previous_out = self.stem_channels;
        for (i, s) in self.stages.iter().enumerate() {
            let stage = |name, problem: Option<Problem>| match problem {
                Some(p) => Err(SpecError::stage(i, name, p)),
                None => Ok(()),
            };
            stage("repeats", count(s.repeats, MAX_REPEATS))?;
            stage(
                "kernel",
                (!SUPPORTED_KERNELS.contains(&s.kernel))
                    .then_some(Problem::UnsupportedKernel(s.kernel)),
            )?;
            stage(
                "stride",
                (!SUPPORTED_STRIDES.contains(&s.stride))
                    .then_some(Problem::UnsupportedStride(s.stride)),
            )?;
            stage("expand_ratio", count(s.expand_ratio, MAX_EXPAND))?;
            stage("in_channels", count(s.in_channels, MAX_CHANNELS))?;
            stage("out_channels", count(s.out_channels, MAX_CHANNELS))?;
            stage(
                "in_channels",
                (s.in_channels != previous_out).then_some(Problem::ChannelMismatch {
                    expected: previous_out,
                    found: s.in_channels,
                }),
            )?;
            if let Some(ratio) = s.se_ratio {
                stage(
                    "se_ratio",
                    unit_interval(ratio, true).map(|_| Problem::SeRatioOutOfRange(ratio)),
                )?;
            }
            previous_out = s.out_channels;
        }

        field("head_channels", count(self.head_channels, MAX_CHANNELS))?;
        field("classes", count(self.classes, MAX_CLASSES))?;
        field("dropout", unit_interval(self.dropout, false))?;
        field("survival_prob", unit_interval(self.survival_prob, true))?;
        self.check_image_size("train_size", self.train_size)?;
        self.check_image_size("eval_size", self.eval_size)?;
        Ok(())
    }

    /// The smallest square image this network can take: every stride-2 layer must
    /// see at least 2×2 pixels, or downsampling there is meaningless.
    pub fn min_image_size(&self) -> usize {
        let halvings = std::iter::once(self.stem_stride)
            .chain(self.stages.iter().map(|s| s.stride))
            .filter(|&s| s == 2)
            .count();
        match halvings {
            0 => 1,
            // With "same" padding a side of s becomes ceil(s / 2); the last stride-2
            // layer sees ceil(s / 2^(n-1)), which is ≥ 2 exactly when s > 2^(n-1).
            n => 1usize
                .checked_shl((n - 1) as u32)
                .map_or(usize::MAX, |m| m.saturating_add(1)),
        }
    }

    /// Checks one image size against this network; `field` names it in the error.
    pub fn check_image_size(&self, field: &'static str, size: usize) -> Result<(), SpecError> {
        if size > MAX_IMAGE_SIZE {
            return Err(SpecError::field(
                field,
                Problem::TooLarge {
                    value: size,
                    max: MAX_IMAGE_SIZE,
                },
            ));
        }
        let min = self.min_image_size();
        if size < min {
            return Err(SpecError::field(
                field,
                Problem::ImageTooSmall {
                    size,
                    min,
                    total_stride: self.total_stride(),
                },
            ));
        }
        Ok(())
    }
}
