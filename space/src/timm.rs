//! A network in timm's notation (`timm.models.efficientnet.EfficientNet`): the
//! `arch_def` block strings, one per stage, and a short Python file that builds
//! the network with timm, so a network found here trains or deploys with the
//! tools users already have.
//!
//! The notation maps stage by stage: MBConv with expansion 1 is timm's `ds`
//! (depthwise-separable), with more `ir` (inverted residual); Fused-MBConv with
//! expansion 1 is `cn` (conv-BN-act, `_skip` for its residual), with more `er`
//! (edge residual). Channels are written as effnas rounded them and timm is told
//! not to round again. A single-conv Fused-MBConv with squeeze-excitation (SE on
//! its input, before the conv, as the official EfficientNetV2 places it) has no
//! timm block string: the Python file builds it as `cn` and puts timm's own
//! `SqueezeExcite` in front of that block's conv. What timm cannot build the same
//! way is refused, naming the stage: expanded widths that timm would round to a
//! multiple of 8, and SE widths that are not whole numbers (timm rounds them,
//! effnas floors them).

use crate::arch::ArchSpec;
use crate::block::BlockKind;
use crate::plan::BlockSpec;

/// A network timm cannot build as effnas does.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{network}` cannot be written for timm: stage {stage}: {problem}")]
pub struct NotInTimm {
    pub network: String,
    pub stage: usize,
    pub problem: String,
}

/// timm's `make_divisible(v, 8)`: the nearest multiple of 8, not below 90% of `v`.
fn timm_divisible(v: usize) -> usize {
    let rounded = ((v + 4) / 8 * 8).max(8);
    if (rounded as f64) < 0.9 * v as f64 {
        rounded + 8
    } else {
        rounded
    }
}

/// Checks that timm builds `block` (of a stage with SE ratio `se_ratio`) with
/// effnas's widths.
fn check_block(block: &BlockSpec, se_ratio: Option<f64>) -> Result<(), String> {
    if block.expand_ratio > 1 && timm_divisible(block.expanded()) != block.expanded() {
        return Err(format!(
            "{} expanded channels would be rounded to {} by timm",
            block.expanded(),
            timm_divisible(block.expanded())
        ));
    }
    if let Some(ratio) = se_ratio
        && !single_conv(block.kind, block.expand_ratio)
    {
        let exact = block.in_channels as f64 * ratio;
        if exact.fract() != 0.0 {
            return Err(format!(
                "squeeze-excitation to {exact} channels: timm would round, effnas floors"
            ));
        }
    }
    Ok(())
}

/// timm's block type for a block of `kind` with `expand_ratio`: `ds`, `ir`, `cn`
/// or `er`.
pub fn block_type(kind: BlockKind, expand_ratio: usize) -> &'static str {
    match (kind, expand_ratio) {
        (BlockKind::MbConv, 1) => "ds",
        (BlockKind::MbConv, _) => "ir",
        (BlockKind::FusedMbConv, 1) => "cn",
        (BlockKind::FusedMbConv, _) => "er",
    }
}

/// A Fused-MBConv without expansion: one k×k conv, timm's `cn`.
fn single_conv(kind: BlockKind, expand_ratio: usize) -> bool {
    kind == BlockKind::FusedMbConv && expand_ratio == 1
}

/// The blocks timm's `cn` builds without their SE, as (stage, block in the
/// stage, input channels, squeezed channels).
pub fn se_before_conv(spec: &ArchSpec) -> Vec<(usize, usize, usize, usize)> {
    let mut patches = Vec::new();
    let mut index = 0;
    for (stage, s) in spec.stages.iter().enumerate() {
        for repeat in 0..s.repeats {
            let block = spec.block(stage, repeat, index);
            index += 1;
            if let (true, Some(squeeze)) = (single_conv(s.kind, s.expand_ratio), block.se_channels)
            {
                patches.push((stage, repeat, block.in_channels, squeeze));
            }
        }
    }
    patches
}

/// One string per stage, in timm's notation (`ir_r6_k3_s2_e4_c128_se0.25`); a
/// `cn` stage's SE is not in its string (see [`se_before_conv`]).
pub fn arch_def(spec: &ArchSpec) -> Result<Vec<String>, NotInTimm> {
    let mut index = 0;
    let mut stages = Vec::with_capacity(spec.stages.len());
    for (stage, s) in spec.stages.iter().enumerate() {
        for repeat in 0..s.repeats {
            let block = spec.block(stage, repeat, index);
            index += 1;
            check_block(&block, s.se_ratio).map_err(|problem| NotInTimm {
                network: spec.name.clone(),
                stage,
                problem,
            })?;
        }
        let kind = block_type(s.kind, s.expand_ratio);
        let mut text = format!("{kind}_r{}_k{}_s{}", s.repeats, s.kernel, s.stride);
        if kind != "ds" {
            text += &format!("_e{}", s.expand_ratio);
        }
        text += &format!("_c{}", s.out_channels);
        if let Some(ratio) = s.se_ratio.filter(|_| kind != "cn") {
            text += &format!("_se{ratio}");
        }
        if kind == "cn" {
            text += "_skip";
        }
        stages.push(text);
    }
    Ok(stages)
}

/// A Python file that builds `spec` with timm and, run as a script, prints its
/// parameter count beside effnas's (`params`).
pub fn python(spec: &ArchSpec, params: u64) -> Result<String, NotInTimm> {
    let stages = arch_def(spec)?
        .iter()
        .map(|s| format!("    [\"{s}\"],\n"))
        .collect::<String>();
    let stem_stride = if spec.stem_stride == 2 {
        String::new()
    } else {
        format!(
            "    # effnas's stem strides {0}; timm's always 2 (same padding either way).\n    \
             model.conv_stem.stride = ({0}, {0})\n",
            spec.stem_stride
        )
    };
    Ok(format!(
        r#""""`{name}`, exported by effnas for timm (`search export --format timm`).

Build it with `build()`; run this file to build it and print its parameters.
"""
from functools import partial

import torch.nn as nn
from timm.models._efficientnet_blocks import SqueezeExcite
from timm.models._efficientnet_builder import decode_arch_def
from timm.models.efficientnet import EfficientNet

# One string per stage, in timm's notation; channels as effnas rounded them.
ARCH_DEF = [
{stages}]
# Single-conv blocks (`cn`) with squeeze-excitation on their input, before the
# conv (EfficientNetV2's placement; timm's `cn` has none): (stage, block, channels,
# squeezed channels).
SE_BEFORE_CONV = [{patches}]
# Trainable parameters as effnas counts them.
PARAMS = {params}


def build(num_classes={classes}, drop_rate={dropout}, drop_path_rate={drop_path}):
    model = EfficientNet(
        block_args=decode_arch_def(ARCH_DEF),
        num_classes=num_classes,
        in_chans={input_channels},
        stem_size={stem},
        fix_stem=True,
        num_features={head},
        # The channels above are final: no second rounding.
        round_chs_fn=lambda channels: channels,
        act_layer=nn.SiLU,
        norm_layer=partial(nn.BatchNorm2d, eps=1e-3, momentum=0.1),
        drop_rate=drop_rate,
        drop_path_rate=drop_path_rate,
    )
    for stage, block, channels, squeezed in SE_BEFORE_CONV:
        cell = model.blocks[stage][block]
        se = SqueezeExcite(channels, rd_channels=squeezed, act_layer=nn.SiLU)
        cell.conv = nn.Sequential(se, cell.conv)
{stem_stride}    return model


if __name__ == "__main__":
    model = build()
    params = sum(p.numel() for p in model.parameters())
    print(f"{{params}} parameters (effnas: {{PARAMS}})")
"#,
        name = spec.name,
        patches = se_before_conv(spec)
            .iter()
            .map(|(stage, block, c, sq)| format!("({stage}, {block}, {c}, {sq})"))
            .collect::<Vec<_>>()
            .join(", "),
        classes = spec.classes,
        dropout = spec.dropout,
        // 1 − 0.8 is 0.19999999999999996 in binary; six decimals read as written.
        drop_path = ((1.0 - spec.survival_prob) * 1e6).round() / 1e6,
        input_channels = spec.input_channels,
        stem = spec.stem_channels,
        head = spec.head_channels,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset;

    #[test]
    fn efficientnetv2_s_reads_as_timm_writes_it() {
        // timm's own `_gen_efficientnetv2_s` arch_def (timm 1.0).
        let timm = [
            "cn_r2_k3_s1_e1_c24_skip",
            "er_r4_k3_s2_e4_c48",
            "er_r4_k3_s2_e4_c64",
            "ir_r6_k3_s2_e4_c128_se0.25",
            "ir_r9_k3_s1_e6_c160_se0.25",
            "ir_r15_k3_s2_e6_c256_se0.25",
        ];
        assert_eq!(
            arch_def(&preset("efficientnetv2-s").unwrap()).unwrap(),
            timm
        );
        let b0 = arch_def(&preset("efficientnet-b0").unwrap()).unwrap();
        assert_eq!(b0[0], "ds_r1_k3_s1_c16_se0.25");
        assert_eq!(b0[1], "ir_r2_k3_s2_e6_c24_se0.25");
    }

    #[test]
    fn what_timm_would_build_otherwise_is_refused() {
        let mut spec = preset("efficientnetv2-s").unwrap();
        spec.stages[3].se_ratio = Some(0.1);
        assert!(arch_def(&spec).unwrap_err().problem.contains("round"));
        assert_eq!(timm_divisible(36), 40);
        assert_eq!(timm_divisible(96), 96);
        assert_eq!(timm_divisible(4), 8);
    }

    #[test]
    fn the_python_file_holds_the_arch_def_and_the_fixed_parts() {
        let spec = preset("efficientnetv2-s").unwrap();
        let text = python(&spec, 21_458_488).unwrap();
        assert!(text.contains("    [\"ir_r15_k3_s2_e6_c256_se0.25\"],\n"));
        assert!(text.contains("stem_size=24,") && text.contains("num_features=1280,"));
        assert!(text.contains("PARAMS = 21458488"));
        assert!(!text.contains("conv_stem.stride"));
        assert!(text.contains("SE_BEFORE_CONV = []"));
        assert!(
            text.contains("drop_rate=0.2, drop_path_rate=0.2)"),
            "{text}"
        );
    }

    #[test]
    fn a_single_conv_block_with_se_gets_timm_s_se_before_its_conv() {
        let mut spec = preset("efficientnetv2-s").unwrap();
        spec.stages[0].se_ratio = Some(0.25);
        assert_eq!(arch_def(&spec).unwrap()[0], "cn_r2_k3_s1_e1_c24_skip");
        // Both blocks of the stage read 24 channels (the stem's, then their own).
        assert_eq!(se_before_conv(&spec), [(0, 0, 24, 6), (0, 1, 24, 6)]);
        let text = python(&spec, 0).unwrap();
        assert!(text.contains("SE_BEFORE_CONV = [(0, 0, 24, 6), (0, 1, 24, 6)]"));
    }
}
