//! One stage of a network: `repeats` identical blocks, the first of which may change
//! the resolution and the channel count.

use serde::{Deserialize, Deserializer, Serialize};

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

/// The object form of a stage, as written in JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFields {
    kind: BlockKind,
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand_ratio: usize,
    in_channels: usize,
    out_channels: usize,
    #[serde(default)]
    se_ratio: Option<f64>,
}

/// A stage reads from either its object form or an official block string
/// (`"r4_k3_s2_e4_i24_o48_c1"`), so specs can be written the way the paper's code
/// writes them.
impl<'de> Deserialize<'de> for StageSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StageVisitor;
        impl<'de> serde::de::Visitor<'de> for StageVisitor {
            type Value = StageSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a stage object or a block string such as \"r4_k3_s2_e4_i24_o48_c1\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StageSpec, E> {
                crate::notation::parse_block(v).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<StageSpec, A::Error> {
                let f =
                    StageFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(StageSpec {
                    kind: f.kind,
                    repeats: f.repeats,
                    kernel: f.kernel,
                    stride: f.stride,
                    expand_ratio: f.expand_ratio,
                    in_channels: f.in_channels,
                    out_channels: f.out_channels,
                    se_ratio: f.se_ratio,
                })
            }
        }
        deserializer.deserialize_any(StageVisitor)
    }
}
