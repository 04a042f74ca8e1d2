//! One full training step (forward, cross-entropy, backward, RMSProp update) of
//! EfficientNetV2-S and EfficientNetV2-B0, batch 16 at 128 px, with our kernels.
//! `cargo bench --bench step`. For the comparison with PyTorch, see
//! `scripts/bench_vs_timm.sh`.

use candle_core::{Device, Tensor};
use candle_nn::loss::cross_entropy;
use criterion::{Criterion, criterion_group, criterion_main};
use effnas::models::{EfficientNet, Optimizer, RmsProp, RmsPropConfig};
use effnas::space::preset;

fn training_step(c: &mut Criterion) {
    effnas::models::runtime::tune_for_training();
    let mut group = c.benchmark_group("training step b16 128px");
    group.sample_size(10);
    for name in ["efficientnetv2-b0", "efficientnetv2-s"] {
        let spec = preset(name).unwrap();
        let model = EfficientNet::new(&spec, 0, &Device::Cpu).unwrap();
        let mut opt = RmsProp::new(model.params(), RmsPropConfig::default()).unwrap();
        let x = Tensor::randn(0f32, 1.0, (16, 3, 128, 128), &Device::Cpu).unwrap();
        let y = Tensor::from_vec((0..16u32).collect::<Vec<_>>(), 16, &Device::Cpu).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
                opt.step(&model.backward(&loss).unwrap()).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, training_step);
criterion_main!(benches);
