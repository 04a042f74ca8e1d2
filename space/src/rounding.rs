//! The rounding rules of the official scaling code, kept exact so that scaled
//! presets have exactly the official channel and layer counts.

/// Channels are kept multiples of this (the official `depth_divisor`).
pub const CHANNEL_DIVISOR: usize = 8;

/// Which generation's channel rounding to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// EfficientNetV2: `max(8, int(f·w + 4) // 8 · 8)`.
    V2,
    /// EfficientNet: as V2, but a result below 90% of `f·w` is raised by 8.
    V1,
}

/// Scales a channel count by a width multiplier and rounds it to a multiple of 8.
pub fn round_filters(filters: usize, width: f64, rule: Rounding) -> usize {
    let divisor = CHANNEL_DIVISOR as f64;
    let scaled = filters as f64 * width;
    let mut rounded = CHANNEL_DIVISOR
        .max(((scaled + divisor / 2.0) / divisor).floor() as usize * CHANNEL_DIVISOR);
    if rule == Rounding::V1 && (rounded as f64) < 0.9 * scaled {
        rounded += CHANNEL_DIVISOR;
    }
    rounded
}

/// Scales a layer count by a depth multiplier, rounding up.
pub fn round_repeats(repeats: usize, depth: f64) -> usize {
    (depth * repeats as f64).ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_official_rule() {
        // EfficientNet-B4 (width 1.4): 32 → 48, 1280 → 1792, 112 → 160.
        assert_eq!(round_filters(32, 1.4, Rounding::V1), 48);
        assert_eq!(round_filters(1280, 1.4, Rounding::V1), 1792);
        assert_eq!(round_filters(112, 1.4, Rounding::V1), 160);
        // Never below the divisor.
        assert_eq!(round_filters(3, 1.0, Rounding::V2), 8);
        // B2 (width 1.1): 16·1.1 = 17.6 → 16, and 16 ≥ 0.9·17.6, so no bump.
        assert_eq!(round_filters(16, 1.1, Rounding::V1), 16);
        // 20·1.0 = 20 → int(24)//8·8 = 24 under both rules.
        assert_eq!(round_filters(20, 1.0, Rounding::V2), 24);
        // The 90% rule: 36·1.0 → 40 (no bump); 44·0.5 = 22 → 24; 52·0.25 = 13 → 16.
        assert_eq!(round_filters(36, 1.0, Rounding::V1), 40);
        assert_eq!(round_filters(9, 1.0, Rounding::V2), 8);
        assert_eq!(round_filters(10, 1.0, Rounding::V2), 8);
        // 10 → 8 is 80% of 10: V1 bumps it to 16.
        assert_eq!(round_filters(10, 1.0, Rounding::V1), 16);
        assert_eq!(round_repeats(3, 1.8), 6);
        assert_eq!(round_repeats(4, 3.1), 13);
        assert_eq!(round_repeats(1, 1.0), 1);
    }
}
