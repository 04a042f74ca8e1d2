//! How a stage reads from JSON: its object form, or an official block string
//! (`"r4_k3_s2_e4_i24_o48_c1"`), so specs can be written the way the paper's code
//! writes them. (Stages are written as objects.)

use serde::{Deserialize, Deserializer};

use crate::block::{BlockKind, StageSpec};
use crate::notation::parse_block;

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
                parse_block(v).map_err(E::custom)
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
