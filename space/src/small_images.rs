//! Networks designed for large images, fitted to small ones. A search space's
//! networks are designed for its own image size (224 px for the paper's space); a
//! proxy trains them on far smaller images (Fashion-MNIST's 28 px, resized to 32).
//! At 32 px a network with total stride 32 ends in 1×1 feature maps, so its last
//! stages train on single pixels and say nothing about what they would learn at
//! their design size. The proxy therefore trains an adapted copy: strides set to 1
//! — the stem's first, then the stride-2 stages in order — until the last stage
//! sees at least `min_side` × `min_side`. Keeping the later strides keeps the
//! network's shape (which stages see larger maps than others), and the stem first
//! scales every stage's maps alike. Step time is still measured on the network as
//! designed, at the size it will train at.

use serde::{Deserialize, Serialize};

use crate::arch::ArchSpec;

/// How a proxy trains a network on images smaller than its design size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum SmallImages {
    /// As designed, whatever its last feature maps shrink to.
    Unchanged,
    /// Strides set to 1, stem first, until the last stage's maps are at least
    /// `min_side` pixels wide.
    AdaptStrides { min_side: usize },
}

impl SmallImages {
    /// The rule a proxy uses unless told otherwise: last maps of at least 2×2.
    pub const DEFAULT: SmallImages = SmallImages::AdaptStrides { min_side: 2 };

    /// `spec` as a proxy trains it on `size`-pixel images.
    pub fn apply(self, spec: &ArchSpec, size: usize) -> ArchSpec {
        match self {
            SmallImages::Unchanged => spec.clone(),
            SmallImages::AdaptStrides { min_side } => adapt_strides(spec, size, min_side),
        }
    }
}

impl ArchSpec {
    /// The side of the last stage's feature maps for square `size`-pixel images
    /// ("same" padding: a stride-2 layer takes a side of s to ceil(s / 2)).
    pub fn final_side(&self, size: usize) -> usize {
        std::iter::once(self.stem_stride)
            .chain(self.stages.iter().map(|s| s.stride))
            .fold(size, |side, stride| side.div_ceil(stride.max(1)))
    }
}

/// `spec` with strides set to 1, the stem's first and then the stages' in order,
/// until its last feature maps at `size` pixels are at least `min_side` wide (or
/// no stride is left to remove). A network that already reaches `min_side` is
/// returned unchanged.
pub fn adapt_strides(spec: &ArchSpec, size: usize, min_side: usize) -> ArchSpec {
    let mut adapted = spec.clone();
    while adapted.final_side(size) < min_side {
        if adapted.stem_stride > 1 {
            adapted.stem_stride = 1;
        } else if let Some(stage) = adapted.stages.iter_mut().find(|s| s.stride > 1) {
            stage.stride = 1;
        } else {
            break;
        }
    }
    adapted
}

/// The words the command line uses: `adapt` (the default rule) and `keep`.
impl std::str::FromStr for SmallImages {
    type Err = UnknownRule;
    fn from_str(word: &str) -> Result<SmallImages, UnknownRule> {
        match word {
            "adapt" => Ok(SmallImages::DEFAULT),
            "keep" => Ok(SmallImages::Unchanged),
            other => Err(UnknownRule(other.to_string())),
        }
    }
}

impl std::fmt::Display for SmallImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SmallImages::Unchanged => "keep",
            SmallImages::AdaptStrides { .. } => "adapt",
        })
    }
}

/// A word that names no rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither `adapt` nor `keep`")]
pub struct UnknownRule(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    #[test]
    fn the_stem_goes_first_then_the_first_stride_2_stages() {
        let b0 = preset("efficientnet-b0").unwrap();
        // Strides: stem 2, then 1, 2, 2, 2, 1, 2, 1 — total 32.
        assert_eq!((b0.final_side(224), b0.final_side(32)), (7, 1));
        let at32 = adapt_strides(&b0, 32, 2);
        assert_eq!(at32.stem_stride, 1);
        assert_eq!(at32.stages, b0.stages, "one stride was enough");
        assert_eq!(at32.final_side(32), 2);
        let at8 = adapt_strides(&b0, 8, 2);
        let strides: Vec<usize> = at8.stages.iter().map(|s| s.stride).collect();
        assert_eq!((at8.stem_stride, strides), (1, vec![1, 1, 1, 2, 1, 2, 1]));
        assert_eq!(at8.final_side(8), 2);
        // Large enough already: unchanged; nothing left to remove: all ones.
        assert_eq!(adapt_strides(&b0, 224, 2), b0);
        let all = adapt_strides(&b0, 1, 2);
        assert!(all.stem_stride == 1 && all.stages.iter().all(|s| s.stride == 1));
        assert_eq!(SmallImages::Unchanged.apply(&b0, 32), b0);
        assert_eq!(SmallImages::DEFAULT.apply(&b0, 32), at32);
    }

    #[test]
    fn the_rule_is_written_with_its_setting() {
        let text = serde_json::to_string(&SmallImages::DEFAULT).unwrap();
        assert_eq!(text, r#"{"rule":"adapt_strides","min_side":2}"#);
        let unchanged: SmallImages = serde_json::from_str(r#"{"rule":"unchanged"}"#).unwrap();
        assert_eq!(unchanged, SmallImages::Unchanged);
        for rule in [SmallImages::DEFAULT, SmallImages::Unchanged] {
            assert_eq!(rule.to_string().parse::<SmallImages>(), Ok(rule));
        }
        assert!("shrink".parse::<SmallImages>().is_err());
    }
}
