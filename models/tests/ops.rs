//! Our kernels against candle's own implementation (forward and gradients, within
//! 1e-4 relative) on awkward shapes, and against finite differences in f64.

use candle_core::{DType, Device, Tensor, Var};
use models::ops::{
    ParamGrads, Stage, batch_norm_eval, batch_norm_train, block_train, conv2d, conv2d_unfolded,
    depthwise_conv2d,
};

const CPU: Device = Device::Cpu;

fn randn(shape: &[usize], dtype: DType) -> Tensor {
    Tensor::randn(0f32, 1.0, shape, &CPU)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// Largest difference relative to the largest reference magnitude.
fn relative_error(ours: &Tensor, reference: &Tensor) -> f64 {
    assert_eq!(ours.dims(), reference.dims());
    let ours: Vec<f64> = ours
        .to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let reference: Vec<f64> = reference
        .to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let scale = reference.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    ours.iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / scale
}

thread_local! {
    /// Where whole-block ops under test hand their parameters' gradients, for
    /// [`run`] to collect.
    static GRADS: ParamGrads = ParamGrads::new().unwrap();
}

/// Output and input gradients of `f` under the loss Σ f(inputs)·probe.
fn run(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    probe: &Tensor,
) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&tensors);
    let loss = (&y * probe).unwrap().sum_all().unwrap();
    let grads = GRADS.with(|g| g.backward(&loss)).unwrap();
    let g = tensors
        .iter()
        .map(|t| grads.get(t).expect("every input gets a gradient").clone())
        .collect();
    (y, g)
}

fn compare(
    name: &str,
    ours: &dyn Fn(&[Tensor]) -> Tensor,
    stock: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
) {
    let y = stock(inputs);
    let probe = randn(y.dims(), y.dtype());
    let (y_ours, g_ours) = run(ours, inputs, &probe);
    let (y_stock, g_stock) = run(stock, inputs, &probe);
    let e = relative_error(&y_ours, &y_stock);
    assert!(e < 1e-4, "{name}: forward off by {e:e}");
    for (i, (a, b)) in g_ours.iter().zip(&g_stock).enumerate() {
        let e = relative_error(a, b);
        assert!(e < 1e-4, "{name}: gradient of input {i} off by {e:e}");
    }
}

/// Central differences in f64 for a sample of each input's entries.
fn finite_differences(name: &str, f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    let inputs: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_dtype(DType::F64).unwrap())
        .collect();
    let probe = randn(f(&inputs).dims(), DType::F64);
    let (_, grads) = run(f, &inputs, &probe);
    let loss = |inputs: &[Tensor]| -> f64 {
        (f(inputs) * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    // Small enough for truncation error, large enough that rounding of the summed
    // loss (~1e-12) divided by the step stays below the tolerance.
    let h = 1e-5;
    for (i, input) in inputs.iter().enumerate() {
        let values: Vec<f64> = input.flatten_all().unwrap().to_vec1().unwrap();
        let grad: Vec<f64> = grads[i].flatten_all().unwrap().to_vec1().unwrap();
        let step = (values.len() / 7).max(1);
        for j in (0..values.len()).step_by(step) {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[j] += delta;
                let mut moved = inputs.clone();
                moved[i] = Tensor::from_vec(v, input.shape(), &CPU).unwrap();
                loss(&moved)
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            // Below 1e-2 the rounding of a loss summed over thousands of terms,
            // divided by h, is what differs: an absolute floor of 1e-7.
            let scale = numeric.abs().max(grad[j].abs()).max(1e-2);
            assert!(
                (numeric - grad[j]).abs() / scale < 1e-5,
                "{name}: input {i}[{j}] backprop {} vs finite difference {numeric}",
                grad[j]
            );
        }
    }
}

/// candle 0.11.1's own conv backward computes the output padding from the height
/// alone, so with stride 2 and height and width of different parity its input
/// gradient has the wrong width and it fails. There, only finite differences judge.
fn candle_can_differentiate(shape: &[usize; 4], stride: usize) -> bool {
    stride == 1 || shape[2] % 2 == shape[3] % 2
}

/// (batch, channels, height, width): one channel, batch 1, odd and even sizes, many channels.
/// Output widths of 16 and more take the dense convolution's row-by-row unfolding,
/// smaller ones the unfolding by a table of tap pixels; all of them the depthwise
/// flat path (stride 2 through its four phases).
const SHAPES: [[usize; 4]; 11] = [
    [2, 3, 17, 19],
    [1, 2, 7, 35],
    [1, 2, 20, 16],
    [1, 1, 5, 7],
    [2, 3, 9, 8],
    [2, 3, 10, 6],
    [3, 16, 13, 11],
    [2, 64, 6, 6],
    [1, 5, 1, 3],
    [2, 4, 1, 1],
    [2, 3, 2, 2],
];

#[test]
fn depthwise_matches_candle_and_finite_differences() {
    for shape in SHAPES {
        for (kernel, stride) in [(3, 1), (3, 2), (5, 1), (5, 2), (1, 1), (7, 2)] {
            let c = shape[1];
            let x = randn(&shape, DType::F32);
            let w = randn(&[c, 1, kernel, kernel], DType::F32);
            let name = format!("depthwise {shape:?} k{kernel} s{stride}");
            let ours = |t: &[Tensor]| depthwise_conv2d(&t[0], &t[1], stride).unwrap();
            let stock = |t: &[Tensor]| t[0].conv2d(&t[1], kernel / 2, stride, 1, c).unwrap();
            if candle_can_differentiate(&shape, stride) {
                compare(&name, &ours, &stock, &[x.clone(), w.clone()]);
            }
            if shape[1] <= 16 {
                finite_differences(&name, &ours, &[x, w]);
            }
        }
    }
    // Batches that small maps split into several runs of planes, the last one
    // short, and maps too large for runs (row by row at both strides).
    for shape in [
        [100, 3, 3, 3],
        [40, 2, 4, 4],
        [70, 2, 5, 6],
        [2, 2, 130, 130],
    ] {
        for (kernel, stride) in [(3, 1), (5, 1), (3, 2), (5, 2)] {
            let c = shape[1];
            let x = randn(&shape, DType::F32);
            let w = randn(&[c, 1, kernel, kernel], DType::F32);
            let name = format!("depthwise {shape:?} k{kernel} s{stride}");
            let ours = |t: &[Tensor]| depthwise_conv2d(&t[0], &t[1], stride).unwrap();
            let stock = |t: &[Tensor]| t[0].conv2d(&t[1], kernel / 2, stride, 1, c).unwrap();
            if candle_can_differentiate(&shape, stride) {
                compare(&name, &ours, &stock, &[x, w]);
            }
        }
    }
}

#[test]
fn dense_conv_matches_candle_and_finite_differences() {
    for shape in SHAPES {
        for (out, kernel, stride) in [(4, 3, 1), (6, 3, 2), (3, 1, 1), (5, 1, 2), (2, 5, 2)] {
            let x = randn(&shape, DType::F32);
            let w = randn(&[out, shape[1], kernel, kernel], DType::F32);
            let name = format!("conv {shape:?} -> {out} k{kernel} s{stride}");
            let ours = |t: &[Tensor]| conv2d(&t[0], &t[1], stride).unwrap();
            let stock = |t: &[Tensor]| t[0].conv2d(&t[1], kernel / 2, stride, 1, 1).unwrap();
            if candle_can_differentiate(&shape, stride) {
                compare(&name, &ours, &stock, &[x.clone(), w.clone()]);
            }
            if shape[1] <= 16 {
                finite_differences(&name, &ours, &[x, w]);
            }
        }
    }
    // Small maps and several images: images go side by side into one product,
    // in groups that need not divide the batch.
    for shape in [[16, 3, 4, 4], [7, 5, 5, 3], [9, 4, 2, 2], [12, 6, 1, 1]] {
        for (out, kernel, stride) in [(4, 3, 1), (6, 3, 2), (3, 1, 1), (5, 1, 2)] {
            let x = randn(&shape, DType::F32);
            let w = randn(&[out, shape[1], kernel, kernel], DType::F32);
            let name = format!("grouped conv {shape:?} -> {out} k{kernel} s{stride}");
            let ours = |t: &[Tensor]| conv2d(&t[0], &t[1], stride).unwrap();
            let stock = |t: &[Tensor]| t[0].conv2d(&t[1], kernel / 2, stride, 1, 1).unwrap();
            if candle_can_differentiate(&shape, stride) {
                compare(&name, &ours, &stock, &[x.clone(), w.clone()]);
            }
            finite_differences(&name, &ours, &[x, w]);
        }
    }
    // Big enough that images run one at a time on all threads (the other schedule).
    let x = randn(&[2, 32, 40, 40], DType::F32);
    let w = randn(&[96, 32, 3, 3], DType::F32);
    let ours = |t: &[Tensor]| conv2d(&t[0], &t[1], 1).unwrap();
    let stock = |t: &[Tensor]| t[0].conv2d(&t[1], 1, 1, 1, 1).unwrap();
    compare("conv 32->96 at 40x40", &ours, &stock, &[x, w]);
}

/// The GPU's dense convolution (unfold, then a batched product) run on the CPU: the
/// unfolding, its fold-back gradient and the matmul wiring against the fused op.
#[test]
fn unfolded_conv_matches_the_fused_op_and_finite_differences() {
    for shape in SHAPES {
        for (out, kernel, stride) in [(4, 3, 1), (6, 3, 2), (3, 1, 1), (5, 1, 2), (2, 5, 2)] {
            let x = randn(&shape, DType::F32);
            let w = randn(&[out, shape[1], kernel, kernel], DType::F32);
            let name = format!("unfolded conv {shape:?} -> {out} k{kernel} s{stride}");
            let unfolded = |t: &[Tensor]| conv2d_unfolded(&t[0], &t[1], stride).unwrap();
            let fused = |t: &[Tensor]| conv2d(&t[0], &t[1], stride).unwrap();
            compare(&name, &unfolded, &fused, &[x.clone(), w.clone()]);
            if shape[1] <= 4 {
                finite_differences(&name, &unfolded, &[x, w]);
            }
        }
    }
}

/// BatchNorm with batch statistics, then optionally SiLU, from candle's tensor ops.
fn stock_batch_norm(t: &[Tensor], silu: bool) -> Tensor {
    let (x, gamma, beta) = (&t[0], &t[1], &t[2]);
    let c = x.dim(1).unwrap();
    let mean = x.mean_keepdim((0, 2, 3)).unwrap();
    let centred = x.broadcast_sub(&mean).unwrap();
    let var = centred.sqr().unwrap().mean_keepdim((0, 2, 3)).unwrap();
    let z = centred
        .broadcast_div(&(var + 1e-3).unwrap().sqrt().unwrap())
        .unwrap()
        .broadcast_mul(&gamma.reshape((1, c, 1, 1)).unwrap())
        .unwrap()
        .broadcast_add(&beta.reshape((1, c, 1, 1)).unwrap())
        .unwrap();
    if silu { z.silu().unwrap() } else { z }
}

#[test]
fn batch_norm_matches_candle_and_finite_differences() {
    for shape in SHAPES {
        if shape[0] * shape[2] * shape[3] < 2 {
            continue;
        }
        for silu in [false, true] {
            let c = shape[1];
            // Off-centre inputs check the variance's numerical care.
            let x = (randn(&shape, DType::F32) * 3.0)
                .unwrap()
                .affine(1.0, 5.0)
                .unwrap();
            let gamma = randn(&[c], DType::F32);
            let beta = randn(&[c], DType::F32);
            let name = format!("batch norm {shape:?} silu={silu}");
            let ours = |t: &[Tensor]| batch_norm_train(&t[0], &t[1], &t[2], 1e-3, silu).unwrap().0;
            let stock = |t: &[Tensor]| stock_batch_norm(t, silu);
            // With a handful of values per channel the input gradient is a small
            // difference of large terms: f32 rounding in either implementation
            // shows at 1e-4, so such shapes are compared in f64.
            let inputs = [x.clone(), gamma.clone(), beta.clone()];
            if shape[0] * shape[2] * shape[3] < 16 {
                let wide: Vec<Tensor> = inputs
                    .iter()
                    .map(|t| t.to_dtype(DType::F64).unwrap())
                    .collect();
                compare(&name, &ours, &stock, &wide);
            } else {
                compare(&name, &ours, &stock, &inputs);
            }
            if c <= 16 {
                finite_differences(&name, &ours, &[x.clone(), gamma.clone(), beta.clone()]);
            }
            let (_, stats) = batch_norm_train(&x, &gamma, &beta, 1e-3, silu).unwrap();
            let mean: Vec<f32> = x
                .mean_keepdim((0, 2, 3))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (a, b) in stats.mean.iter().zip(mean) {
                assert!((a - b as f64).abs() < 1e-4, "{name}: saved mean");
            }
        }
    }
}

#[test]
fn batch_norm_eval_uses_the_given_statistics() {
    let x = randn(&[2, 4, 5, 5], DType::F32);
    let gamma = randn(&[4], DType::F32);
    let beta = randn(&[4], DType::F32);
    let mean = randn(&[4], DType::F32);
    let var = randn(&[4], DType::F32).abs().unwrap();
    for silu in [false, true] {
        let ours = batch_norm_eval(&x, &gamma, &beta, &mean, &var, 1e-3, silu).unwrap();
        let per = |t: &Tensor| t.reshape((1, 4, 1, 1)).unwrap();
        let z = x
            .broadcast_sub(&per(&mean))
            .unwrap()
            .broadcast_div(&per(&(&var + 1e-3).unwrap().sqrt().unwrap()))
            .unwrap()
            .broadcast_mul(&per(&gamma))
            .unwrap()
            .broadcast_add(&per(&beta))
            .unwrap();
        let reference = if silu { z.silu().unwrap() } else { z };
        assert!(relative_error(&ours, &reference) < 1e-5);
    }
}

#[test]
fn fast_exp_is_accurate() {
    let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.04).collect();
    for x in xs {
        let (ours, exact) = (models::ops::exp_f32(x) as f64, (x as f64).exp());
        assert!(
            (ours - exact).abs() / exact < 3e-7,
            "exp({x}) = {ours}, not {exact}"
        );
    }
}

/// A block's stages composed from candle's own operations, the reference for the
/// whole-block op: `t` is the input, then the stages' parameters in order.
fn stock_block(t: &[Tensor], stages: &[Stage], keep: Option<&[f64]>) -> Tensor {
    let mut h = t[0].clone();
    let mut p = t[1..].iter();
    for stage in stages {
        h = match *stage {
            Stage::Conv { kernel, stride, .. } => h
                .conv2d(p.next().unwrap(), kernel / 2, stride, 1, 1)
                .unwrap(),
            Stage::Depthwise { kernel, stride } => {
                let c = h.dim(1).unwrap();
                h.conv2d(p.next().unwrap(), kernel / 2, stride, 1, c)
                    .unwrap()
            }
            Stage::BatchNorm { silu } => {
                let (gamma, beta) = (p.next().unwrap(), p.next().unwrap());
                stock_batch_norm(&[h, gamma.clone(), beta.clone()], silu)
            }
            Stage::SqueezeExcite { .. } => {
                let (b, c, _, _) = h.dims4().unwrap();
                let (rw, rb, ew, eb) = (
                    p.next().unwrap(),
                    p.next().unwrap(),
                    p.next().unwrap(),
                    p.next().unwrap(),
                );
                let pooled = h.mean((2, 3)).unwrap();
                let hidden = pooled
                    .matmul(&rw.t().unwrap())
                    .unwrap()
                    .broadcast_add(rb)
                    .unwrap()
                    .silu()
                    .unwrap();
                let gate = candle_nn::ops::sigmoid(
                    &hidden
                        .matmul(&ew.t().unwrap())
                        .unwrap()
                        .broadcast_add(eb)
                        .unwrap(),
                )
                .unwrap();
                h.broadcast_mul(&gate.reshape((b, c, 1, 1)).unwrap())
                    .unwrap()
            }
        };
    }
    match keep {
        Some(keep) => {
            let b = keep.len();
            let mask = Tensor::from_vec(keep.to_vec(), (b, 1, 1, 1), &CPU)
                .unwrap()
                .to_dtype(h.dtype())
                .unwrap();
            (&t[0] + h.broadcast_mul(&mask).unwrap()).unwrap()
        }
        None => h,
    }
}

/// The parameters of `stages` for an input of `channels`, drawn at random.
fn block_params(stages: &[Stage], mut channels: usize) -> Vec<Tensor> {
    let mut params = Vec::new();
    for stage in stages {
        match *stage {
            Stage::Conv {
                out_channels,
                kernel,
                ..
            } => {
                params.push(
                    (randn(&[out_channels, channels, kernel, kernel], DType::F32) * 0.5).unwrap(),
                );
                channels = out_channels;
            }
            Stage::Depthwise { kernel, .. } => {
                params.push((randn(&[channels, 1, kernel, kernel], DType::F32) * 0.5).unwrap())
            }
            Stage::BatchNorm { .. } => {
                params.push(randn(&[channels], DType::F32).affine(0.2, 1.0).unwrap());
                params.push(randn(&[channels], DType::F32));
            }
            Stage::SqueezeExcite { squeeze } => {
                params.push(randn(&[squeeze, channels], DType::F32));
                params.push(randn(&[squeeze], DType::F32));
                params.push(randn(&[channels, squeeze], DType::F32));
                params.push(randn(&[channels], DType::F32));
            }
        }
    }
    params
}

/// The whole-block op against the same stages from candle's operations (forward
/// and every gradient), against finite differences in f64, and its batch
/// statistics against the batch's: an MBConv with SE and a shortcut that drops one
/// image, a Fused-MBConv with stride 2 on an odd map, a stem, and SE before a
/// single conv.
#[test]
fn whole_block_op_matches_candle_and_finite_differences() {
    let mbconv = vec![
        Stage::Conv {
            out_channels: 12,
            kernel: 1,
            stride: 1,
        },
        Stage::BatchNorm { silu: true },
        Stage::Depthwise {
            kernel: 3,
            stride: 1,
        },
        Stage::BatchNorm { silu: true },
        Stage::SqueezeExcite { squeeze: 2 },
        Stage::Conv {
            out_channels: 3,
            kernel: 1,
            stride: 1,
        },
        Stage::BatchNorm { silu: false },
    ];
    let fused_s2 = vec![
        Stage::Conv {
            out_channels: 8,
            kernel: 3,
            stride: 2,
        },
        Stage::BatchNorm { silu: true },
        Stage::Conv {
            out_channels: 5,
            kernel: 1,
            stride: 1,
        },
        Stage::BatchNorm { silu: false },
    ];
    let stem = vec![
        Stage::Conv {
            out_channels: 4,
            kernel: 3,
            stride: 2,
        },
        Stage::BatchNorm { silu: true },
    ];
    let se_first = vec![
        Stage::SqueezeExcite { squeeze: 1 },
        Stage::Conv {
            out_channels: 4,
            kernel: 3,
            stride: 1,
        },
        Stage::BatchNorm { silu: true },
    ];
    /// Name, stages, input shape, the shortcut's per-image factors.
    type Case = (&'static str, Vec<Stage>, [usize; 4], Option<Vec<f64>>);
    let cases: [Case; 4] = [
        ("mbconv", mbconv, [3, 3, 5, 6], Some(vec![1.25, 0.0, 1.25])),
        ("fused stride 2", fused_s2, [2, 3, 7, 5], None),
        ("stem", stem, [2, 1, 8, 8], None),
        (
            "se before a conv",
            se_first,
            [2, 4, 4, 3],
            Some(vec![1.0, 1.0]),
        ),
    ];
    for (name, stages, shape, keep) in cases {
        let mut inputs = vec![randn(&shape, DType::F32)];
        inputs.extend(block_params(&stages, shape[1]));
        let ours = |t: &[Tensor]| {
            GRADS
                .with(|g| block_train(&t[0], &t[1..], &stages, keep.clone(), 1e-3, g))
                .unwrap()
                .0
        };
        let stock = |t: &[Tensor]| stock_block(t, &stages, keep.as_deref());
        // Few values per channel: compared in f64, as the BatchNorm test explains.
        let wide: Vec<Tensor> = inputs
            .iter()
            .map(|t| t.to_dtype(DType::F64).unwrap())
            .collect();
        compare(name, &ours, &stock, &wide);
        finite_differences(name, &ours, &inputs);
        let grads = ParamGrads::new().unwrap();
        let (_, stats) = block_train(
            &inputs[0],
            &inputs[1..],
            &stages,
            keep.clone(),
            1e-3,
            &grads,
        )
        .unwrap();
        let norms = stages
            .iter()
            .filter(|s| matches!(s, Stage::BatchNorm { .. }))
            .count();
        assert_eq!(stats.len(), norms, "{name}: one record per BatchNorm");
        let first = stages
            .iter()
            .position(|s| matches!(s, Stage::BatchNorm { .. }))
            .unwrap();
        let before = stock_block(&inputs[..], &stages[..first], None);
        let mean: Vec<f32> = before
            .mean_keepdim((0, 2, 3))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in stats[0].mean.iter().zip(mean) {
            assert!(
                (a - b as f64).abs() < 1e-4,
                "{name}: first BatchNorm's mean"
            );
        }
    }
}

/// A second backward pass through one forward pass is refused, not wrong.
#[test]
fn whole_block_op_refuses_a_second_backward() {
    let stages = [
        Stage::Conv {
            out_channels: 2,
            kernel: 1,
            stride: 1,
        },
        Stage::BatchNorm { silu: false },
    ];
    let x = Var::from_tensor(&randn(&[2, 2, 3, 3], DType::F32)).unwrap();
    let params = block_params(&stages, 2);
    let grads = ParamGrads::new().unwrap();
    let (y, _) = block_train(x.as_tensor(), &params, &stages, None, 1e-3, &grads).unwrap();
    let loss = y.sqr().unwrap().sum_all().unwrap();
    assert!(grads.backward(&loss).is_ok());
    let err = grads.backward(&loss).unwrap_err().to_string();
    assert!(err.contains("second backward"), "{err}");
}
