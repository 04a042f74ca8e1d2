//! Our operations on a device held to a reference on the CPU: each convolution kernel
//! (forward and both gradients) on awkward shapes, then one whole training pass of a
//! network (loss and every parameter's gradient). The reference runs our CPU kernels in
//! f64, which the test suite holds to candle's and to finite differences; the device
//! runs in f32, the type training uses. This is how a CUDA build is checked on its GPU
//! (`search check-ops --device cuda:0`).

use candle_core::{DType, Device, Result, Tensor, Var};
use space::ArchSpec;

use crate::network::EfficientNet;
use crate::ops::{self, OpSet};

/// One checked computation and its errors, each the largest difference relative to
/// the reference's largest magnitude.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    /// `(what, error)`: the output, then each input's gradient.
    pub errors: Vec<(String, f64)>,
}

impl Check {
    /// The largest error; a NaN counts as infinite.
    pub fn worst(&self) -> f64 {
        self.errors
            .iter()
            .map(|&(_, e)| if e.is_nan() { f64::INFINITY } else { e })
            .fold(0.0, f64::max)
    }
}

/// `[batch, channels, height, width]`, kernel, stride: odd and even sides, stride 2 on
/// both parities, a 1×1 map, kernels 1, 3 and 5, channel counts past a warp.
const CASES: [([usize; 4], usize, usize); 8] = [
    ([2, 3, 17, 19], 3, 1),
    ([2, 8, 16, 15], 3, 2),
    ([1, 5, 9, 8], 5, 2),
    ([3, 40, 7, 7], 5, 1),
    ([2, 4, 1, 1], 3, 1),
    ([2, 70, 6, 6], 1, 1),
    ([2, 6, 10, 6], 1, 2),
    ([4, 33, 12, 12], 3, 2),
];

/// Checks depthwise and dense convolution on `device` against the CPU.
pub fn check_convolutions(device: &Device, seed: u64) -> Result<Vec<Check>> {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut checks = Vec::new();
    for (shape, kernel, stride) in CASES {
        let channels = shape[1];
        let x = random(&shape, &mut rng)?;
        let depthwise = random(&[channels, 1, kernel, kernel], &mut rng)?;
        let depthwise_op = |t: &[Tensor]| ops::depthwise_conv2d(&t[0], &t[1], stride);
        checks.push(compare(
            format!("depthwise {shape:?} k{kernel} s{stride}"),
            (&depthwise_op, &depthwise_op),
            &[x.clone(), depthwise],
            device,
        )?);
        let out = channels + 3;
        let dense = random(&[out, channels, kernel, kernel], &mut rng)?;
        // The GPU's formulation on every device (on a GPU it is what `ops::conv2d`
        // runs), against the fused CPU op.
        checks.push(compare(
            format!("conv {shape:?} → {out} k{kernel} s{stride}"),
            (
                &|t: &[Tensor]| ops::conv2d_unfolded(&t[0], &t[1], stride),
                &|t: &[Tensor]| ops::conv2d(&t[0], &t[1], stride),
            ),
            &[x, dense],
            device,
        )?);
    }
    Ok(checks)
}

/// Checks one training pass of `spec` (batch statistics, stochastic depth and dropout
/// drawn alike on both sides): the loss and every trainable parameter's gradient.
/// Images must leave the last stages at least 2×2: BatchNorm over a 1×1 map and a
/// batch of two divides by the difference of two values, and amplifies f32 rounding
/// into errors of order one (seen at 32 px).
pub fn check_network(spec: &ArchSpec, batch: usize, size: usize, device: &Device) -> Result<Check> {
    let run = |device: &Device, dtype: DType| -> Result<(f64, Vec<(String, Tensor)>)> {
        let mut model =
            EfficientNet::with_dtype(spec, 7, device, dtype).map_err(candle_core::Error::wrap)?;
        model.set_ops(OpSet::Fast);
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(11);
        let images = random(&[batch, spec.input_channels, size, size], &mut rng)?
            .to_device(device)?
            .to_dtype(dtype)?;
        let labels: Vec<u32> = (0..batch as u32).map(|i| i % spec.classes as u32).collect();
        let labels = Tensor::from_vec(labels, batch, device)?;
        let logits = model.forward_t(&images, true)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let grads = model.backward(&loss)?;
        let mut out = Vec::new();
        for p in model.params().trainable() {
            let g = grads
                .get(p.var.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg(format!("{} got no gradient", p.name)))?;
            out.push((p.name.clone(), g.to_device(&Device::Cpu)?));
        }
        Ok((loss.to_dtype(DType::F64)?.to_scalar::<f64>()?, out))
    };
    let (loss, grads) = run(device, DType::F32)?;
    let (reference_loss, reference_grads) = run(&Device::Cpu, DType::F64)?;
    let mut errors = vec![(
        "loss".to_string(),
        (loss - reference_loss).abs() / reference_loss.abs().max(1e-12),
    )];
    // Some gradients are zero but for rounding (the shift of a BatchNorm that feeds a
    // convolution and another BatchNorm, which removes it again): they are judged
    // against a small fraction of the largest gradient, not against their own size.
    let mut largest = 0f64;
    for (_, r) in &reference_grads {
        largest = largest.max(
            r.abs()?
                .max_all()?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?,
        );
    }
    for ((name, g), (_, r)) in grads.iter().zip(&reference_grads) {
        errors.push((format!("∂{name}"), scaled_error(g, r, 1e-3 * largest)?));
    }
    Ok(Check {
        name: format!("{} training pass, batch {batch}, {size} px", spec.name),
        errors,
    })
}

fn random(shape: &[usize], rng: &mut rand::rngs::StdRng) -> Result<Tensor> {
    let n = shape.iter().product();
    let values: Vec<f64> = (0..n)
        .map(|_| crate::params::standard_normal(rng))
        .collect();
    Tensor::from_vec(values, shape, &Device::Cpu)
}

type Op<'a> = &'a dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Runs `candidate` on `inputs` in f32 on `device` and `reference` in f64 on the CPU,
/// under the loss Σ f(inputs)·probe, and compares outputs and input gradients.
fn compare(
    name: String,
    (candidate, reference): (Op, Op),
    inputs: &[Tensor],
    device: &Device,
) -> Result<Check> {
    let run = |f: Op,
               device: &Device,
               dtype: DType,
               probe: Option<&Tensor>|
     -> Result<(Tensor, Vec<Tensor>)> {
        let vars = inputs
            .iter()
            .map(|t| Var::from_tensor(&t.to_device(device)?.to_dtype(dtype)?))
            .collect::<Result<Vec<_>>>()?;
        let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let y = f(&tensors)?;
        let probe = match probe {
            Some(p) => p.to_device(device)?.to_dtype(dtype)?,
            None => y.ones_like()?,
        };
        let grads = (&y * &probe)?.sum_all()?.backward()?;
        let mut gradients = Vec::new();
        for t in &tensors {
            let g = grads
                .get(t)
                .ok_or_else(|| candle_core::Error::Msg("an input got no gradient".into()))?;
            gradients.push(g.to_device(&Device::Cpu)?);
        }
        Ok((y.to_device(&Device::Cpu)?, gradients))
    };
    let (shape_probe, _) = run(reference, &Device::Cpu, DType::F64, None)?;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
    let probe = random(shape_probe.dims(), &mut rng)?;
    let (y, grads) = run(candidate, device, DType::F32, Some(&probe))?;
    let (reference, reference_grads) = run(reference, &Device::Cpu, DType::F64, Some(&probe))?;
    let mut errors = vec![("output".to_string(), relative_error(&y, &reference)?)];
    for (i, (g, r)) in grads.iter().zip(&reference_grads).enumerate() {
        let what = if i == 0 { "∂input" } else { "∂weight" };
        errors.push((what.to_string(), relative_error(g, r)?));
    }
    Ok(Check { name, errors })
}

/// Largest difference relative to the reference's largest magnitude.
fn relative_error(ours: &Tensor, reference: &Tensor) -> Result<f64> {
    scaled_error(ours, reference, 1e-12)
}

/// Largest difference relative to the reference's largest magnitude or `floor`,
/// whichever is larger.
fn scaled_error(ours: &Tensor, reference: &Tensor, floor: f64) -> Result<f64> {
    if ours.dims() != reference.dims() {
        candle_core::bail!(
            "shape {:?} differs from the reference's {:?}",
            ours.dims(),
            reference.dims()
        );
    }
    let ours: Vec<f64> = ours.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let reference: Vec<f64> = reference.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let scale = reference.iter().fold(floor, |m, v| m.max(v.abs()));
    let worst = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(
            0.0,
            |m: f64, d| if d.is_nan() { f64::INFINITY } else { m.max(d) },
        );
    Ok(worst / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the CPU the check compares f32 with f64 and the GPU's formulation of dense
    /// convolution (unfold + matmul) with the fused one: all within f32 rounding.
    #[test]
    fn the_cpu_passes_its_own_check_and_a_wrong_kernel_would_not() {
        let checks = check_convolutions(&Device::Cpu, 0).unwrap();
        assert_eq!(checks.len(), 2 * CASES.len());
        for c in &checks {
            assert_eq!(c.errors.len(), 3, "{}", c.name);
            assert!(c.worst() < 1e-5, "{}: {:?}", c.name, c.errors);
        }
        let x = Tensor::new(&[1.0f64, 2.0, 3.0], &Device::Cpu).unwrap();
        let off = Tensor::new(&[1.0f64, 2.0, 3.3], &Device::Cpu).unwrap();
        assert!((relative_error(&off, &x).unwrap() - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_network_training_pass_matches_in_f32_and_f64() {
        let spec = space::presets::preset("efficientnetv2-b0").unwrap();
        let check = check_network(&spec, 2, 64, &Device::Cpu).unwrap();
        assert_eq!(
            check.errors.len(),
            1 + EfficientNet::new(&spec, 0, &Device::Cpu)
                .unwrap()
                .params()
                .trainable()
                .count()
        );
        assert!(check.worst() < 1e-3, "{:?}", check.errors);
    }
}
