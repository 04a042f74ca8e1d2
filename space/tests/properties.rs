//! Property tests over seeded random inputs: round trips hold for every generated
//! value, and no input — however malformed — makes the parsers or analytics panic.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use space::spaces::{SPACE_NAMES, builtin_space};
use space::{
    ArchSpec, BlockKind, ChoiceSpace, Choices, SearchSpace, StageChoices, StageSpec, analyze,
    estimate_training_memory, format_block, format_blocks, parse_block, parse_blocks, preset,
};

const CASES: u64 = 2_000;

fn random_se(rng: &mut StdRng) -> Option<f64> {
    match rng.random_range(0..4) {
        0 => None,
        1 => Some([0.25, 0.125, 0.5, 1.0][rng.random_range(0..4)]),
        2 => Some(rng.random::<f64>()),
        // Any non-negative finite f64, from its bits.
        _ => Some(loop {
            let x = f64::from_bits(rng.random::<u64>()).abs();
            if x.is_finite() {
                break x;
            }
        }),
    }
}

fn random_stage(rng: &mut StdRng) -> StageSpec {
    let mut n = |max: usize| {
        if rng.random_bool(0.1) {
            rng.random_range(0..usize::MAX)
        } else {
            rng.random_range(0..max)
        }
    };
    let (repeats, kernel, expand_ratio, in_channels, out_channels) =
        (n(30), n(9), n(10), n(2048), n(2048));
    StageSpec {
        kind: if rng.random() {
            BlockKind::MbConv
        } else {
            BlockKind::FusedMbConv
        },
        repeats,
        kernel,
        // Strides are written with one digit (the V1 form `s22` doubles it).
        stride: rng.random_range(0..10),
        expand_ratio,
        in_channels,
        out_channels,
        se_ratio: random_se(rng),
    }
}

fn random_arch(rng: &mut StdRng) -> ArchSpec {
    let stages = (0..rng.random_range(0..8))
        .map(|_| random_stage(rng))
        .collect();
    let finite = |rng: &mut StdRng| loop {
        let x = f64::from_bits(rng.random::<u64>());
        if x.is_finite() {
            break x;
        }
    };
    ArchSpec {
        name: (0..rng.random_range(0..12))
            .map(|_| rng.random_range(' '..='~'))
            .collect(),
        input_channels: rng.random_range(0..5),
        stem_channels: rng.random_range(0..64),
        stem_stride: rng.random_range(0..4),
        stages,
        head_channels: rng.random_range(0..2048),
        classes: rng.random_range(0..2000),
        dropout: if rng.random() {
            rng.random()
        } else {
            finite(rng)
        },
        survival_prob: if rng.random() {
            rng.random()
        } else {
            finite(rng)
        },
        train_size: rng.random_range(0..600),
        eval_size: rng.random_range(0..600),
    }
}

#[test]
fn block_notation_round_trips() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..CASES {
        let stage = random_stage(&mut rng);
        let text = format_block(&stage);
        assert_eq!(parse_block(&text).unwrap(), stage, "{text}");
        // Canonical strings survive the other way round too.
        assert_eq!(format_block(&parse_block(&text).unwrap()), text);
    }
    let spec = preset("efficientnet-b3").unwrap();
    assert_eq!(
        parse_blocks(&format_blocks(&spec.stages)).unwrap(),
        spec.stages
    );
}

#[test]
fn json_round_trips() {
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..CASES {
        let spec = random_arch(&mut rng);
        let back = ArchSpec::from_json(&spec.to_json()).unwrap();
        assert_eq!(back, spec);
        // Dropout and survival survive bit for bit, not just approximately.
        assert_eq!(back.dropout.to_bits(), spec.dropout.to_bits());
    }
}

/// Random edits of a valid text: deletions, insertions of syntax characters and
/// digits, and replaced numbers.
fn mangle(text: &str, rng: &mut StdRng) -> String {
    const PIECES: [&str; 16] = [
        "_", "0", "9", "-", ".", "e", "se", "c1", "\"", "{", "}", "[", "]", ",", ":", "1e999",
    ];
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..6) {
        let at = rng.random_range(0..=chars.len());
        match rng.random_range(0..4) {
            0 if !chars.is_empty() => {
                let end = (at + rng.random_range(1..8)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.random_range(0..PIECES.len())];
                chars.splice(at..at, piece.chars());
            }
            2 => {
                let number = ["0", "99999999999999999999999", "-3", "0.5", "7", "null"]
                    [rng.random_range(0..6)];
                chars.splice(at..at, number.chars());
            }
            _ => chars.insert(at, rng.random_range(' '..='~')),
        }
    }
    chars.into_iter().collect()
}

#[test]
fn parsing_never_panics() {
    let mut rng = StdRng::seed_from_u64(3);
    let blocks = preset("efficientnetv2-m").unwrap().blocks();
    for _ in 0..CASES * 5 {
        let input = if rng.random_bool(0.2) {
            (0..rng.random_range(0..30))
                .map(|_| rng.random::<char>())
                .collect()
        } else {
            mangle(&blocks[rng.random_range(0..blocks.len())], &mut rng)
        };
        if let Ok(stage) = parse_block(&input) {
            assert_eq!(
                parse_block(&format_block(&stage)).unwrap(),
                stage,
                "{input:?}"
            );
        }
    }
}

#[test]
fn arbitrary_spec_json_never_panics_anywhere_downstream() {
    let mut rng = StdRng::seed_from_u64(4);
    let texts: Vec<String> = ["efficientnetv2-s", "efficientnet-b0"]
        .iter()
        .map(|p| preset(p).unwrap().to_json())
        .collect();
    let mut valid = 0;
    for _ in 0..CASES * 2 {
        let text = mangle(&texts[rng.random_range(0..texts.len())], &mut rng);
        let Ok(spec) = ArchSpec::from_json(&text) else {
            continue;
        };
        if spec.validate().is_ok() {
            valid += 1;
            let size = rng.random_range(0..1024);
            let _ = analyze(&spec, size);
            let _ = estimate_training_memory(&spec, rng.random_range(0..512), size);
        }
    }
    // The mangler leaves some specs valid; they went through the whole pipeline.
    assert!(valid > 50, "only {valid} mangled specs stayed valid");
    // Random specs, valid or not, never panic the analytics either.
    for _ in 0..CASES {
        let spec = random_arch(&mut rng);
        let _ = analyze(&spec, rng.random_range(0..2048));
        let _ = spec.param_count();
        let _ = spec.total_stride();
        let _ = spec.min_image_size();
    }
}

#[test]
fn arbitrary_space_json_never_panics() {
    let mut rng = StdRng::seed_from_u64(5);
    let text = builtin_space("paper").unwrap().to_json();
    for _ in 0..CASES {
        let mangled = mangle(&text, &mut rng);
        if let Ok(space) = SearchSpace::from_json(&mangled) {
            let choices = space.sample(&mut rng);
            space
                .decode(&choices)
                .expect("validated spaces decode every sample");
        }
    }
}

fn random_space(rng: &mut StdRng) -> SearchSpace {
    fn subset<T: Clone>(items: &[T], rng: &mut StdRng) -> Vec<T> {
        let mut picked: Vec<T> = items
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .cloned()
            .collect();
        if picked.is_empty() {
            picked.push(items[rng.random_range(0..items.len())].clone());
        }
        picked
    }
    let stages: Vec<StageChoices> = (0..rng.random_range(1..6))
        .map(|_| {
            let min = rng.random_range(0..3);
            StageChoices {
                out_channels: rng.random_range(1..160),
                stride: rng.random_range(1..=2),
                ops: subset(&BlockKind::ALL, rng),
                kernels: subset(&[1, 3, 5, 7], rng),
                expand_ratios: subset(&[1, 2, 4, 6], rng),
                se_ratios: subset(&[None, Some(0.25), Some(0.5)], rng),
                repeats: [min, min + rng.random_range(0..4)],
                width_multipliers: subset(&[0.5, 1.0, 1.25, 2.0], rng),
            }
        })
        .collect();
    let mut space = SearchSpace {
        name: "random".into(),
        input_channels: rng.random_range(1..4),
        stem_channels: 8 * rng.random_range(1..5),
        stem_stride: rng.random_range(1..=2),
        head_channels: rng.random_range(8..300),
        classes: rng.random_range(1..20),
        dropout: 0.1,
        survival_prob: 0.8,
        train_size: 64,
        eval_size: 96,
        stages,
    };
    space.stages[0].repeats[0] = space.stages[0].repeats[0].max(1);
    space.stages[0].repeats[1] = space.stages[0].repeats[1].max(1);
    space
}

#[test]
fn sample_encode_decode_round_trips() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut spaces: Vec<SearchSpace> = SPACE_NAMES
        .iter()
        .map(|n| builtin_space(n).unwrap())
        .collect();
    spaces.extend((0..50).map(|_| random_space(&mut rng)));
    for space in &spaces {
        space.validate().unwrap();
        let back = SearchSpace::from_json(&space.to_json()).unwrap();
        assert_eq!(&back, space);
        for _ in 0..100 {
            let choices = space.sample(&mut rng);
            let spec = space.decode(&choices).unwrap();
            let encoded = space.encode(&spec).unwrap();
            assert_eq!(space.decode(&encoded).unwrap(), spec);
            assert_eq!(space.key(&encoded).unwrap(), space.key(&choices).unwrap());
            assert_eq!(
                space.encode(&space.decode(&encoded).unwrap()).unwrap(),
                encoded
            );
        }
    }
}

#[test]
fn mutation_changes_exactly_one_choice_and_the_network() {
    let mut rng = StdRng::seed_from_u64(7);
    let space = builtin_space("paper").unwrap();
    for _ in 0..CASES {
        let choices = space.sample(&mut rng);
        let mutated = space.mutate(&choices, &mut rng);
        let changed = choices
            .0
            .iter()
            .zip(&mutated.0)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, 1);
        assert!(mutated.0.iter().zip(space.options()).all(|(&i, n)| i < n));
        assert_ne!(space.key(&mutated).unwrap(), space.key(&choices).unwrap());
    }
}

#[test]
fn sampling_is_seeded_and_covers_the_space() {
    let space = builtin_space("paper").unwrap();
    let draw = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..20)
            .map(|_| space.sample(&mut rng))
            .collect::<Vec<Choices>>()
    };
    assert_eq!(draw(11), draw(11));
    assert_ne!(draw(11), draw(12));

    // A tiny space, enumerated: uniform sampling reaches every point.
    let mut tiny = builtin_space("paper").unwrap();
    tiny.stages.truncate(2);
    for s in &mut tiny.stages {
        s.kernels = vec![3];
        s.se_ratios = vec![None];
        s.expand_ratios = vec![1, 4];
        s.repeats = [1, 2];
    }
    assert_eq!(tiny.cardinality(), (2 * 2 * 2) * (2 * 2 * 2));
    let mut rng = StdRng::seed_from_u64(13);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2_000 {
        seen.insert(tiny.sample(&mut rng));
    }
    assert_eq!(seen.len() as u128, tiny.cardinality());
    assert_eq!(
        builtin_space("paper").unwrap().cardinality(),
        24u128.pow(7) * 2 * 4 * 4 * 5 * 5 * 7 * 3
    );
}

#[test]
fn malformed_choices_are_errors() {
    let space = builtin_space("efficientnetv2-s").unwrap();
    let err = space.decode(&Choices(vec![0; 5])).unwrap_err().to_string();
    assert!(err.contains("needs 36"), "{err}");
    let mut choices = Choices(vec![0; 36]);
    choices.0[7] = 2;
    let err = space.decode(&choices).unwrap_err().to_string();
    assert!(
        err.contains("stages[1].kernels") && err.contains("only 2 options"),
        "{err}"
    );
    // A preset outside the space cannot be encoded.
    assert!(space.encode(&preset("efficientnet-b0").unwrap()).is_err());
}
