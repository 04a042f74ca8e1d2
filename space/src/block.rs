//! One stage of a network: `repeats` identical blocks, the first of which may change
//! the resolution and the channel count.

use serde::{Deserialize, Serialize};

/// The two block types of EfficientNetV2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BlockKind {
    /// 1×1 expand → k×k depthwise → SE → 1×1 project.
    #[serde(rename = "mbconv")]
    MbConv,
    /// k×k full conv (expand and spatial in one) → SE → 1×1 project; with expand
    /// ratio 1 a single k×k conv.
    #[serde(rename = "fused_mbconv", alias = "fused")]
    FusedMbConv,
}

impl BlockKind {
    pub const ALL: [BlockKind; 2] = [BlockKind::MbConv, BlockKind::FusedMbConv];

    /// Short name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::MbConv => "mbconv",
            BlockKind::FusedMbConv => "fused_mbconv",
        }
    }

    /// The paper's name for tables: `MBConv` / `Fused-MBConv`.
    pub fn paper_name(self) -> &'static str {
        match self {
            BlockKind::MbConv => "MBConv",
            BlockKind::FusedMbConv => "Fused-MBConv",
        }
    }
}

/// One stage: `repeats` blocks of the same kind. Only the first block uses `stride`
/// and `in_channels`; the rest run at stride 1 from `out_channels` to `out_channels`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageSpec {
    pub kind: BlockKind,
    pub repeats: usize,
    pub kernel: usize,
    pub stride: usize,
    pub expand_ratio: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Squeeze-and-excitation ratio relative to the block's input channels; `None`
    /// for no SE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub se_ratio: Option<f64>,
}

impl StageSpec {
    /// The stage the way the paper's tables name it: `Fused-MBConv4, k3x3`,
    /// `MBConv6, k3x3, SE0.25`.
    pub fn operator(&self) -> String {
        let mut op = format!(
            "{}{}, k{}x{}",
            self.kind.paper_name(),
            self.expand_ratio,
            self.kernel,
            self.kernel
        );
        if let Some(r) = self.se_ratio {
            op.push_str(&format!(", SE{r}"));
        }
        op
    }
}
