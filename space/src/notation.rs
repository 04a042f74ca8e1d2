//! The official block-string notation of google/automl's EfficientNet code:
//! `r2_k3_s1_e1_i24_o24_c1` is 2 repeats, kernel 3, stride 1, expand 1, 24 → 24
//! channels, Fused-MBConv (`c1`; `c0` or nothing is MBConv); `se0.25` adds SE.
//! EfficientNet (V1) strings write strides twice (`s22`); both forms are read.

use crate::block::{BlockKind, StageSpec};
use crate::error::{NotationError, NotationProblem};

/// Reads one block string.
pub fn parse_block(block: &str) -> Result<StageSpec, NotationError> {
    let fail = |problem| NotationError {
        block: block.to_string(),
        problem,
    };
    let trimmed = block.trim();
    if trimmed.is_empty() {
        return Err(fail(NotationProblem::Empty));
    }

    let mut fields: [Option<usize>; 6] = [None; 6];
    const KEYS: [&str; 6] = ["r", "k", "s", "e", "i", "o"];
    let mut se_ratio = None;
    let mut kind = None;

    for token in trimmed.split('_') {
        // As in the official decoder, the key is everything before the first digit.
        let split = token
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(token.len());
        let (key, value) = token.split_at(split);
        let bad = |expected| {
            fail(NotationProblem::BadValue {
                token: token.to_string(),
                value: value.to_string(),
                expected,
            })
        };
        let duplicate = || fail(NotationProblem::Duplicate(key.to_string()));
        match key {
            "se" => {
                if se_ratio.is_some() {
                    return Err(duplicate());
                }
                let ratio: f64 = value.parse().map_err(|_| bad("number"))?;
                if !ratio.is_finite() {
                    return Err(bad("finite number"));
                }
                se_ratio = Some(ratio);
            }
            "c" => {
                if kind.is_some() {
                    return Err(duplicate());
                }
                kind = Some(match value {
                    "0" => BlockKind::MbConv,
                    "1" => BlockKind::FusedMbConv,
                    _ => return Err(fail(NotationProblem::ConvType(value.to_string()))),
                });
            }
            "s" => {
                if fields[2].is_some() {
                    return Err(duplicate());
                }
                fields[2] = Some(parse_stride(value).map_err(|p| match p {
                    Some(p) => fail(p),
                    None => bad("stride (one digit, or two equal digits as in `s22`)"),
                })?);
            }
            _ => {
                let Some(slot) = KEYS.iter().position(|k| *k == key) else {
                    return Err(fail(NotationProblem::Unknown(token.to_string())));
                };
                if fields[slot].is_some() {
                    return Err(duplicate());
                }
                fields[slot] = Some(parse_count(value).ok_or_else(|| bad("whole number"))?);
            }
        }
    }

    let mut values = [0usize; 6];
    for (slot, key) in KEYS.iter().enumerate() {
        values[slot] = fields[slot].ok_or_else(|| fail(NotationProblem::Missing(key)))?;
    }
    let [
        repeats,
        kernel,
        stride,
        expand_ratio,
        in_channels,
        out_channels,
    ] = values;
    Ok(StageSpec {
        kind: kind.unwrap_or(BlockKind::MbConv),
        repeats,
        kernel,
        stride,
        expand_ratio,
        in_channels,
        out_channels,
        se_ratio,
    })
}

/// Plain decimal digits only: no sign, no spaces, no overflow.
fn parse_count(value: &str) -> Option<usize> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// `s2` or the V1 form `s22` (one digit per spatial axis, which must agree).
/// `Err(None)` means "not a stride at all".
fn parse_stride(value: &str) -> Result<usize, Option<NotationProblem>> {
    let digits = value.as_bytes();
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(None);
    }
    match digits {
        [d] | [d, _] if digits.iter().all(|x| x == d) => Ok((d - b'0') as usize),
        [_, _] => Err(Some(NotationProblem::AsymmetricStride(value.to_string()))),
        _ => Err(None),
    }
}

/// Writes one stage in the official notation. `parse_block(&format_block(s)) == s`
/// for every stride the notation can hold (0–9; networks use 1 and 2).
pub fn format_block(stage: &StageSpec) -> String {
    let mut out = format!(
        "r{}_k{}_s{}_e{}_i{}_o{}",
        stage.repeats,
        stage.kernel,
        stage.stride,
        stage.expand_ratio,
        stage.in_channels,
        stage.out_channels
    );
    if let Some(ratio) = stage.se_ratio {
        // `{}` prints the shortest string that parses back to the same f64.
        out.push_str(&format!("_se{ratio}"));
    }
    if stage.kind == BlockKind::FusedMbConv {
        out.push_str("_c1");
    }
    out
}

/// Reads a whole network body, one block string per stage.
pub fn parse_blocks<S: AsRef<str>>(blocks: &[S]) -> Result<Vec<StageSpec>, NotationError> {
    blocks.iter().map(|b| parse_block(b.as_ref())).collect()
}

/// Writes a whole network body, one block string per stage.
pub fn format_blocks(stages: &[StageSpec]) -> Vec<String> {
    stages.iter().map(format_block).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_official_v2_strings() {
        let s = parse_block("r4_k3_s2_e4_i24_o48_c1").unwrap();
        assert_eq!(s.kind, BlockKind::FusedMbConv);
        assert_eq!(
            (s.repeats, s.kernel, s.stride, s.expand_ratio),
            (4, 3, 2, 4)
        );
        assert_eq!((s.in_channels, s.out_channels, s.se_ratio), (24, 48, None));

        let s = parse_block("r6_k3_s2_e4_i64_o128_se0.25").unwrap();
        assert_eq!(s.kind, BlockKind::MbConv);
        assert_eq!(s.se_ratio, Some(0.25));
        assert_eq!(format_block(&s), "r6_k3_s2_e4_i64_o128_se0.25");
    }

    #[test]
    fn reads_v1_double_strides() {
        let s = parse_block("r2_k5_s22_e6_i24_o40_se0.25").unwrap();
        assert_eq!(s.stride, 2);
        assert_eq!(format_block(&s), "r2_k5_s2_e6_i24_o40_se0.25");
        let err = parse_block("r2_k5_s12_e6_i24_o40").unwrap_err();
        assert!(matches!(err.problem, NotationProblem::AsymmetricStride(_)));
    }

    #[test]
    fn rejects_malformed_strings_with_the_reason() {
        let cases = [
            ("", "empty"),
            ("r4_k3_s2_e4_i24", "missing `o`"),
            ("r4_k3_s2_e4_i24_o48_x1", "unknown option"),
            ("r4_r5_k3_s2_e4_i24_o48", "twice"),
            ("r-4_k3_s2_e4_i24_o48", "unknown option"),
            ("r4_k3_s2_e4_i24_o48_se", "not a number"),
            ("r4_k3_s2_e4_i24_o48_senan", "unknown option"),
            ("r4_k3_s2_e4_i24_o48_se1e999", "not a finite number"),
            ("r4_k3_s2_e4_i24_o48_c2", "conv type"),
            (
                "r99999999999999999999999_k3_s2_e4_i24_o48",
                "not a whole number",
            ),
            ("r4_k3.5_s2_e4_i24_o48", "not a whole number"),
            ("r4_k3_s010_e4_i24_o48", "not a stride"),
            ("r4_k3_s_e4_i24_o48", "not a stride"),
        ];
        for (input, expected) in cases {
            let err = parse_block(input).unwrap_err().to_string();
            assert!(err.contains(expected), "{input:?}: {err}");
        }
    }
}
