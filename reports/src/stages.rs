//! Two architectures side by side, stage by stage, in the terms of the paper's
//! Table 4: operator (op, expansion, kernel, SE), stride, channels, layers.

use space::{ArchSpec, StageSpec};

/// The header of [`compare_stages`]' rows, the two networks called `a` and `b`.
pub fn comparison_header(a: &str, b: &str) -> Vec<String> {
    let mut header = vec!["stage".to_string()];
    for name in [a, b] {
        for column in ["operator", "stride", "channels", "layers"] {
            header.push(format!("{name} {column}"));
        }
    }
    header.push("same".into());
    header
}

fn cells(stage: Option<&StageSpec>) -> [String; 4] {
    match stage {
        Some(s) => [
            s.operator(),
            s.stride.to_string(),
            s.out_channels.to_string(),
            s.repeats.to_string(),
        ],
        None => ["-".into(), "-".into(), "-".into(), "-".into()],
    }
}

/// Which of op, expansion, kernel, SE and layers two stages share.
fn agreement(a: Option<&StageSpec>, b: Option<&StageSpec>) -> String {
    let (Some(a), Some(b)) = (a, b) else {
        return "-".into();
    };
    let same: Vec<&str> = [
        ("op", a.kind == b.kind),
        ("expansion", a.expand_ratio == b.expand_ratio),
        ("kernel", a.kernel == b.kernel),
        ("SE", a.se_ratio.is_some() == b.se_ratio.is_some()),
        ("layers", a.repeats == b.repeats),
    ]
    .into_iter()
    .filter(|(_, same)| *same)
    .map(|(what, _)| what)
    .collect();
    if same.is_empty() {
        "nothing".into()
    } else {
        same.join(", ")
    }
}

/// One row per stage (as many as the longer network has): both stages' cells
/// and what they agree on.
pub fn compare_stages(a: &ArchSpec, b: &ArchSpec) -> Vec<Vec<String>> {
    (0..a.stages.len().max(b.stages.len()))
        .map(|i| {
            let (sa, sb) = (a.stages.get(i), b.stages.get(i));
            let mut row = vec![(i + 1).to_string()];
            row.extend(cells(sa));
            row.extend(cells(sb));
            row.push(agreement(sa, sb));
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::preset;

    #[test]
    fn v2_s_against_b0_stage_by_stage() {
        let v2s = preset("efficientnetv2-s").unwrap();
        let b0 = preset("efficientnet-b0").unwrap();
        let rows = compare_stages(&v2s, &b0);
        assert_eq!(rows.len(), 7); // V2-S has 6 stages, B0 7
        assert_eq!(comparison_header("V2-S", "B0").len(), rows[0].len());
        assert_eq!(rows[0][1], "Fused-MBConv1, k3x3");
        assert_eq!(rows[0][4], "2"); // V2-S stage 1: two layers
        assert_eq!(rows[0][5], "MBConv1, k3x3, SE0.25");
        assert_eq!(rows[0][9], "expansion, kernel"); // fused vs MBConv, SE vs none, 2 vs 1 layer
        assert_eq!(rows[6][1], "-");
        assert_eq!(rows[6][9], "-");
        let same = compare_stages(&v2s, &v2s);
        assert!(
            same.iter()
                .all(|r| r.last().unwrap() == "op, expansion, kernel, SE, layers")
        );
    }
}
