//! The network trains: gradients reach every parameter, are correct, and a few
//! optimizer steps fit a small batch.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::loss::cross_entropy;
use common::{deterministic_tiny_spec, tiny_spec};
use models::{EfficientNet, Optimizer, RmsProp, RmsPropConfig, Role, Sgd, SgdConfig};

fn batch(n: usize, dtype: DType) -> (Tensor, Tensor) {
    let x = Tensor::randn(0f32, 1.0, (n, 1, 12, 12), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let y = Tensor::from_vec(
        (0..n as u32).map(|i| i % 5).collect::<Vec<_>>(),
        n,
        &Device::Cpu,
    )
    .unwrap();
    (x, y)
}

#[test]
fn every_parameter_gets_a_finite_gradient() {
    let model = EfficientNet::new(&tiny_spec(), 3, &Device::Cpu).unwrap();
    let (x, y) = batch(6, DType::F32);
    let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
    let grads = model.backward(&loss).unwrap();
    let mut nonzero = 0;
    let trainable: Vec<_> = model.params().trainable().collect();
    for p in &trainable {
        let g = grads
            .get(p.var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {}", p.name));
        let values: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{}", p.name);
        nonzero += values.iter().any(|v| *v != 0.0) as usize;
    }
    // Buffers are not trained; every trained tensor moves.
    assert!(
        model
            .params()
            .params()
            .iter()
            .any(|p| p.role == Role::Buffer)
    );
    assert_eq!(nonzero, trainable.len());
}

/// Whole-block ops hand their parameters' gradients to the network, not to
/// candle's graph: `loss.backward()` alone misses them, `EfficientNet::backward`
/// has them, and what a plain backward pass handed over is dropped by the next
/// forward pass instead of being added to the next step's gradients.
#[test]
fn gradients_of_whole_blocks_come_from_the_networks_backward() {
    let (x, y) = batch(6, DType::F32);
    fn gradients(
        model: &EfficientNet,
        grads: &candle_core::backprop::GradStore,
    ) -> Vec<Option<Vec<f32>>> {
        model
            .params()
            .trainable()
            .map(|p| {
                grads
                    .get(p.var.as_tensor())
                    .map(|g| g.flatten_all().unwrap().to_vec1().unwrap())
            })
            .collect()
    }
    let model = EfficientNet::new(&tiny_spec(), 3, &Device::Cpu).unwrap();
    // Stochastic depth draws masks per pass: the same seed for every pass.
    model.reseed(9);
    let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
    let plain = gradients(&model, &loss.backward().unwrap());
    let missing = plain.iter().filter(|g| g.is_none()).count();
    assert!(missing > 0, "no parameter in a whole block: nothing tested");
    model.reseed(9);
    let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
    let full = gradients(&model, &model.backward(&loss).unwrap());
    assert!(full.iter().all(Option::is_some));
    for (a, b) in plain.iter().zip(&full) {
        if let Some(a) = a {
            assert_eq!(Some(a), b.as_ref(), "candle's own gradients unchanged");
        }
    }
    // A twin that never ran a plain backward pass: nothing left over was added.
    let twin = EfficientNet::new(&tiny_spec(), 3, &Device::Cpu).unwrap();
    twin.reseed(9);
    let loss = cross_entropy(&twin.forward_t(&x, true).unwrap(), &y).unwrap();
    assert_eq!(full, gradients(&twin, &twin.backward(&loss).unwrap()));
}

/// Central differences in f64 against backprop, for every tensor of the network
/// (a few entries each) and for the input.
#[test]
fn gradients_match_finite_differences() {
    let model =
        EfficientNet::with_dtype(&deterministic_tiny_spec(), 5, &Device::Cpu, DType::F64).unwrap();
    let (x, _) = batch(3, DType::F64);
    let probe = Tensor::randn(0f64, 1.0, (3, 5), &Device::Cpu).unwrap();
    let loss_of = |input: &Tensor| -> f64 {
        let out = model.forward_t(input, true).unwrap();
        (out * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };

    let x_var = candle_core::Var::from_tensor(&x).unwrap();
    let out = model.forward_t(x_var.as_tensor(), true).unwrap();
    let grads = model
        .backward(&(out * &probe).unwrap().sum_all().unwrap())
        .unwrap();

    let h = 1e-6;
    let check = |name: &str, analytic: f64, numeric: f64| {
        let scale = analytic.abs().max(numeric.abs()).max(1e-3);
        assert!(
            (analytic - numeric).abs() / scale < 1e-4,
            "{name}: backprop {analytic:e}, finite difference {numeric:e}"
        );
    };
    let mut checked = 0;
    for p in model.params().trainable() {
        let grad: Vec<f64> = grads
            .get(p.var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let original = p.var.as_tensor().copy().unwrap();
        let values: Vec<f64> = original.flatten_all().unwrap().to_vec1().unwrap();
        for &i in [0, values.len() / 2, values.len() - 1].iter() {
            let shifted = |delta: f64| {
                let mut v = values.clone();
                v[i] += delta;
                p.var
                    .set(&Tensor::from_vec(v, original.shape(), &Device::Cpu).unwrap())
                    .unwrap();
                loss_of(&x)
            };
            let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
            p.var.set(&original).unwrap();
            check(&format!("{}[{i}]", p.name), grad[i], numeric);
            checked += 1;
        }
    }
    let grad_x: Vec<f64> = grads
        .get(x_var.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let values: Vec<f64> = x.flatten_all().unwrap().to_vec1().unwrap();
    for i in (0..values.len()).step_by(37) {
        let at = |delta: f64| {
            let mut v = values.clone();
            v[i] += delta;
            loss_of(&Tensor::from_vec(v, x.shape(), &Device::Cpu).unwrap())
        };
        check(
            &format!("input[{i}]"),
            grad_x[i],
            (at(h) - at(-h)) / (2.0 * h),
        );
        checked += 1;
    }
    assert!(checked > 150, "{checked}");
}

fn fit(optimizer: &mut dyn Optimizer, model: &EfficientNet, steps: usize) -> (f32, f32) {
    let (x, y) = batch(10, DType::F32);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
        losses.push(loss.to_scalar::<f32>().unwrap());
        optimizer.step(&model.backward(&loss).unwrap()).unwrap();
    }
    (losses[0], *losses.last().unwrap())
}

#[test]
fn rmsprop_overfits_a_small_batch() {
    let model = EfficientNet::new(&deterministic_tiny_spec(), 7, &Device::Cpu).unwrap();
    let config = RmsPropConfig {
        lr: 0.01,
        ..RmsPropConfig::default()
    };
    let mut opt = RmsProp::new(model.params(), config).unwrap();
    let (first, last) = fit(&mut opt, &model, 40);
    assert!(last < first / 10.0, "loss {first} -> {last}");
}

#[test]
fn sgd_overfits_a_small_batch() {
    let model = EfficientNet::new(&deterministic_tiny_spec(), 7, &Device::Cpu).unwrap();
    let mut opt = Sgd::new(
        model.params(),
        SgdConfig {
            lr: 0.05,
            ..SgdConfig::default()
        },
    )
    .unwrap();
    let (first, last) = fit(&mut opt, &model, 40);
    assert!(last < first / 10.0, "loss {first} -> {last}");
}

#[test]
fn the_same_seed_builds_and_trains_the_same_network() {
    let (x, _) = batch(4, DType::F32);
    // Training mode draws stochastic-depth and dropout masks from the seed too.
    let out = |seed| -> Vec<f32> {
        let model = EfficientNet::new(&tiny_spec(), seed, &Device::Cpu).unwrap();
        model
            .forward_t(&x, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    assert_eq!(out(11), out(11));
    assert_ne!(out(11), out(12));
}

/// The whole network with two op sets: same logits, same gradients, same running
/// statistics.
fn op_sets_agree(spec: &space::ArchSpec, ours: models::ops::OpSet, reference: models::ops::OpSet) {
    use models::ops::OpSet;
    let (x, y) = batch(6, DType::F32);
    let run = |ops: OpSet| {
        let mut model = EfficientNet::new(spec, 21, &Device::Cpu).unwrap();
        model.set_ops(ops);
        let logits = model.forward_t(&x, true).unwrap();
        let grads = model
            .backward(&cross_entropy(&logits, &y).unwrap())
            .unwrap();
        let eval = model.forward_t(&x, false).unwrap();
        let tensors: Vec<Tensor> = model
            .params()
            .params()
            .iter()
            .map(|p| match grads.get(p.var.as_tensor()) {
                Some(g) => g.clone(),
                None => p.var.as_tensor().clone(), // buffers: the running statistics
            })
            .collect();
        (logits, eval, tensors)
    };
    let (fast, stock) = (run(ours), run(reference));
    let close = |a: &Tensor, b: &Tensor, what: &str| {
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // Some gradients are zero in exact arithmetic (a shift that a later
        // BatchNorm removes); there the floor of 1e-3 makes the bound absolute, 1e-7.
        let scale = b
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            .max(1e-3);
        assert!(
            diff / scale < 1e-4,
            "{ours} against {reference}: {what}: {diff} of {scale}"
        );
    };
    close(&fast.0, &stock.0, "training logits");
    close(&fast.1, &stock.1, "evaluation logits");
    for (i, (a, b)) in fast.2.iter().zip(&stock.2).enumerate() {
        close(a, b, &format!("tensor {i}"));
    }
}

/// Our kernels against candle's stock layers (no randomness: candle's layers draw
/// no masks of ours).
#[test]
fn fast_and_stock_ops_agree_on_the_whole_network() {
    use models::ops::OpSet;
    op_sets_agree(&deterministic_tiny_spec(), OpSet::Fast, OpSet::Stock);
    op_sets_agree(&deterministic_tiny_spec(), OpSet::PerOp, OpSet::Stock);
}

/// Whole-block ops against our per-layer ops, with stochastic depth and dropout:
/// both draw the same masks from the network's generator, so they must agree.
#[test]
fn whole_block_and_per_op_agree_with_stochastic_depth() {
    use models::ops::OpSet;
    let spec = space::ArchSpec {
        survival_prob: 0.5,
        ..tiny_spec()
    };
    op_sets_agree(&spec, OpSet::Fast, OpSet::PerOp);
}
