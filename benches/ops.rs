//! Each of our kernels, forward and backward (`f(x).sum().backward()`, as
//! `timm_step.py --op` times it), at the shapes of EfficientNetV2-S's stages for a
//! batch of 16 at 128 px, our kernels beside candle's stock ones.
//!
//! `cargo bench --bench ops` (add a filter such as `depthwise` to run fewer).

use candle_core::{DType, Device, Tensor, Var};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use effnas::models::layers::{BatchNorm, Conv2d};
use effnas::models::ops::OpSet;
use effnas::models::params::ParamStore;

fn input(shape: (usize, usize, usize, usize)) -> Var {
    Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()).unwrap()
}

fn fwd_bwd(y: Tensor) {
    y.sum_all().unwrap().backward().unwrap();
}

/// A convolution of V2-S at 128 px: name, batch, in, out, side, kernel, stride,
/// depthwise.
type ConvCase = (&'static str, usize, usize, usize, usize, usize, usize, bool);

const CONVS: [ConvCase; 7] = [
    ("stem 3x3 s2", 16, 3, 24, 128, 3, 2, false),
    ("stage1 fused 3x3 24->24", 16, 24, 24, 64, 3, 1, false),
    ("stage2 fused 3x3 48->192", 16, 48, 192, 32, 3, 1, false),
    ("stage2 project 1x1 192->48", 16, 192, 48, 32, 1, 1, false),
    ("stage4 depthwise 3x3 s2 256", 16, 256, 256, 16, 3, 2, true),
    ("stage5 depthwise 3x3 768", 16, 768, 768, 8, 3, 1, true),
    ("stage6 expand 1x1 256->1536", 16, 256, 1536, 4, 1, 1, false),
];

fn convolutions(c: &mut Criterion) {
    effnas::models::runtime::tune_for_training();
    let mut group = c.benchmark_group("conv fwd+bwd");
    group.sample_size(10);
    for (name, batch, cin, cout, side, kernel, stride, depthwise) in CONVS {
        let mut store = ParamStore::new(0, &Device::Cpu, DType::F32);
        let groups = if depthwise { cin } else { 1 };
        let conv = Conv2d::new("c", cin, cout, kernel, stride, groups, &mut store).unwrap();
        let x = input((batch, cin, side, side));
        for ops in [OpSet::Fast, OpSet::Stock] {
            group.bench_with_input(
                BenchmarkId::new(name, format!("{ops:?}")),
                &ops,
                |b, &ops| b.iter(|| fwd_bwd(conv.forward(x.as_tensor(), ops).unwrap())),
            );
        }
    }
    group.finish();
}

fn batch_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch norm + silu fwd+bwd");
    group.sample_size(10);
    for (name, channels, side) in [
        ("stage1 24@64", 24, 64),
        ("stage2 192@32", 192, 32),
        ("stage6 1536@4", 1536, 4),
    ] {
        let mut store = ParamStore::new(0, &Device::Cpu, DType::F32);
        let bn = BatchNorm::new("bn", channels, &mut store).unwrap();
        let x = input((16, channels, side, side));
        for ops in [OpSet::Fast, OpSet::Stock] {
            group.bench_with_input(
                BenchmarkId::new(name, format!("{ops:?}")),
                &ops,
                |b, &ops| b.iter(|| fwd_bwd(bn.forward(x.as_tensor(), true, true, ops).unwrap())),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, convolutions, batch_norm);
criterion_main!(benches);
