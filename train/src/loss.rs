//! Cross-entropy against soft targets (Mixup/CutMix mix them) with label
//! smoothing, and accuracy.

use candle_core::{D, Result, Tensor};

/// `mean_b −Σ_k t'_bk · log softmax(logits)_bk`, `t' = (1 − ε)·t + ε/K`.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor, smoothing: f64) -> Result<Tensor> {
    let classes = logits.dim(D::Minus1)? as f64;
    let targets = ((targets * (1.0 - smoothing))? + smoothing / classes)?;
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    (log_probs * targets)?.sum(D::Minus1)?.mean_all()?.neg()
}

/// How many rows of `logits` have their largest value at the label.
pub fn correct(logits: &Tensor, labels: &[u32]) -> Result<usize> {
    let predicted: Vec<u32> = logits.argmax(D::Minus1)?.to_vec1()?;
    Ok(predicted.iter().zip(labels).filter(|(p, l)| p == l).count())
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn matches_hard_cross_entropy_and_smoothing() {
        let logits = Tensor::new(&[[2.0f32, 0.5, -1.0], [0.1, 0.2, 3.0]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[[1.0f32, 0.0, 0.0], [0.0, 0.0, 1.0]], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0u32, 2], &Device::Cpu).unwrap();
        let ours = soft_cross_entropy(&logits, &targets, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let hard = candle_nn::loss::cross_entropy(&logits, &labels)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((ours - hard).abs() < 1e-6);
        // Smoothing moves ε of the mass to the uniform distribution.
        let smoothed = soft_cross_entropy(&logits, &targets, 0.3)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let uniform = soft_cross_entropy(
            &logits,
            &Tensor::full(1.0f32 / 3.0, (2, 3), &Device::Cpu).unwrap(),
            0.0,
        )
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert!((smoothed - (0.7 * hard + 0.3 * uniform)).abs() < 1e-5);
        assert_eq!(correct(&logits, &[0, 2]).unwrap(), 2);
        assert_eq!(correct(&logits, &[1, 2]).unwrap(), 1);
    }
}
