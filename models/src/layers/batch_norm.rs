//! Batch normalisation over (batch, height, width), per channel.

use candle_core::{Result, Tensor, Var};

use crate::ops::{self, OpSet};
use crate::params::{ParamStore, Role};

/// The official EfficientNet settings: eps 1e-3, momentum 0.9 in Keras terms, which
/// is 0.1 in candle's and PyTorch's (the weight of the new batch statistic).
pub const BN_EPS: f64 = 1e-3;
pub const BN_MOMENTUM: f64 = 0.1;

pub struct BatchNorm {
    pub weight: Var,
    pub bias: Var,
    pub running_mean: Var,
    pub running_var: Var,
}

impl BatchNorm {
    pub fn new(prefix: &str, channels: usize, store: &mut ParamStore) -> Result<BatchNorm> {
        Ok(BatchNorm {
            weight: store.constant(format!("{prefix}.weight"), channels, 1.0, Role::NoDecay)?,
            bias: store.constant(format!("{prefix}.bias"), channels, 0.0, Role::NoDecay)?,
            running_mean: store.constant(
                format!("{prefix}.running_mean"),
                channels,
                0.0,
                Role::Buffer,
            )?,
            running_var: store.constant(
                format!("{prefix}.running_var"),
                channels,
                1.0,
                Role::Buffer,
            )?,
        })
    }

    /// In training, normalises with the batch's statistics and moves the running
    /// ones towards them; in evaluation, uses the running ones. `silu` applies SiLU
    /// to the result (fused into one pass by the fast kernels).
    pub fn forward(&self, x: &Tensor, train: bool, silu: bool, ops: OpSet) -> Result<Tensor> {
        if ops.fast_for(x.device(), x.dtype()) && x.device().is_cpu() {
            let (gamma, beta) = (self.weight.as_tensor(), self.bias.as_tensor());
            if !train {
                let (mean, var) = (self.running_mean.as_tensor(), self.running_var.as_tensor());
                return ops::batch_norm_eval(x, gamma, beta, mean, var, BN_EPS, silu);
            }
            let (y, stats) = ops::batch_norm_train(x, gamma, beta, BN_EPS, silu)?;
            self.record_batch(&stats)?;
            return Ok(y);
        }
        let y = self.stock_forward(x, train)?;
        if silu { y.silu() } else { Ok(y) }
    }

    /// BatchNorm from candle's tensor operations.
    fn stock_forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let channels = self.weight.dim(0)?;
        let per_channel = |t: &Tensor| t.reshape((1, channels, 1, 1));
        let (mean, var) = if train {
            let mean = x.mean_keepdim((0, 2, 3))?;
            let centred = x.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
            self.update_running(&mean, &var, x.elem_count() / channels)?;
            (mean, var)
        } else {
            (
                per_channel(&self.running_mean)?,
                per_channel(&self.running_var)?,
            )
        };
        let scale = per_channel(&self.weight)?.broadcast_div(&(var + BN_EPS)?.sqrt()?)?;
        x.broadcast_sub(&mean)?
            .broadcast_mul(&scale)?
            .broadcast_add(&per_channel(&self.bias)?)
    }

    /// Moves the running statistics towards a training batch's, computed by our
    /// kernels.
    pub(crate) fn record_batch(&self, stats: &ops::Stats) -> Result<()> {
        let like = self.running_mean.as_tensor();
        let as_tensor =
            |v: &[f64]| Tensor::from_slice(v, v.len(), like.device())?.to_dtype(like.dtype());
        self.update_running(
            &as_tensor(&stats.mean)?,
            &as_tensor(&stats.var)?,
            stats.count,
        )
    }

    /// Running statistics take the unbiased batch variance, as PyTorch's do.
    fn update_running(&self, mean: &Tensor, var: &Tensor, count: usize) -> Result<()> {
        let flat = |t: &Tensor| t.detach().flatten_all();
        let unbias = count as f64 / (count.max(2) - 1) as f64;
        let m = BN_MOMENTUM;
        let new_mean = ((self.running_mean.as_tensor() * (1.0 - m))? + (flat(mean)? * m)?)?;
        let new_var = ((self.running_var.as_tensor() * (1.0 - m))? + (flat(var)? * (m * unbias))?)?;
        self.running_mean.set(&new_mean)?;
        self.running_var.set(&new_var)
    }
}
