//! Stochastic depth and dropout, with masks drawn from the network's seeded
//! generator so that a seed reproduces a run.

use candle_core::{Result, Tensor};
use rand::Rng;
use rand::rngs::StdRng;

/// `n` draws that are `1/keep` with probability `keep`, else 0.
pub fn keep_scales(n: usize, keep: f64, rng: &mut StdRng) -> Vec<f32> {
    let scale = (1.0 / keep) as f32;
    (0..n)
        .map(|_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect()
}

/// A mask of `shape` whose entries are `1/keep` with probability `keep`, else 0, so
/// the expected output equals the input.
fn keep_mask(shape: &[usize], keep: f64, like: &Tensor, rng: &mut StdRng) -> Result<Tensor> {
    let values = keep_scales(shape.iter().product(), keep, rng);
    Tensor::from_vec(values, shape, like.device())?.to_dtype(like.dtype())
}

/// Drops whole samples of a residual branch with probability `1 − survival`.
pub fn drop_path(x: &Tensor, survival: f64, rng: &mut StdRng) -> Result<Tensor> {
    let batch = x.dim(0)?;
    let mut shape = vec![1; x.rank()];
    shape[0] = batch;
    x.broadcast_mul(&keep_mask(&shape, survival, x, rng)?)
}

/// Zeroes each value with probability `rate`.
pub fn dropout(x: &Tensor, rate: f64, rng: &mut StdRng) -> Result<Tensor> {
    x.mul(&keep_mask(x.dims(), 1.0 - rate, x, rng)?)
}
