//! Checkpoints: the weights as safetensors, the spec as JSON beside them
//! (`net.safetensors` + `net.json`), so a checkpoint says what it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use space::ArchSpec;

use crate::error::ModelError;
use crate::network::EfficientNet;

/// Where the spec of the checkpoint at `weights` lives.
pub fn spec_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

/// Writes `model`'s tensors (running statistics included) to `weights` and its spec
/// beside them. Each file is written to a temporary name and renamed into place, so
/// an interrupted save leaves the previous checkpoint intact.
pub fn save_checkpoint(model: &EfficientNet, weights: &Path) -> Result<(), ModelError> {
    let tensors: HashMap<String, Tensor> = model
        .params()
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.var.as_tensor().clone()))
        .collect();
    let temporary = weights.with_extension("safetensors.partial");
    candle_core::safetensors::save(&tensors, &temporary)?;
    let spec = spec_path(weights);
    let spec_temporary = spec.with_extension("json.partial");
    std::fs::write(&spec_temporary, model.spec().to_json() + "\n")
        .map_err(|e| ModelError::checkpoint(&spec, e))?;
    std::fs::rename(&temporary, weights).map_err(|e| ModelError::checkpoint(weights, e))?;
    std::fs::rename(&spec_temporary, &spec).map_err(|e| ModelError::checkpoint(&spec, e))?;
    Ok(())
}

/// Reads the spec saved beside `weights`.
pub fn read_spec(weights: &Path) -> Result<ArchSpec, ModelError> {
    let path = spec_path(weights);
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::checkpoint(&path, e))?;
    let spec = ArchSpec::from_json(&text).map_err(|e| ModelError::checkpoint(&path, e))?;
    spec.validate()
        .map_err(|e| ModelError::checkpoint(&path, e))?;
    Ok(spec)
}

/// Builds the network a checkpoint was saved from and loads its weights.
pub fn load_checkpoint(weights: &Path, device: &Device) -> Result<EfficientNet, ModelError> {
    let spec = read_spec(weights)?;
    let model = EfficientNet::new(&spec, 0, device)?;
    load_weights(&model, weights)?;
    Ok(model)
}

/// Loads a checkpoint into an existing network, which must have the same structure.
pub fn load_weights(model: &EfficientNet, weights: &Path) -> Result<(), ModelError> {
    let saved = read_spec(weights)?;
    if saved.canonical_key() != model.spec().canonical_key() {
        return Err(ModelError::checkpoint(
            weights,
            format!(
                "saved from `{}` ({}), which is not the structure of `{}` ({})",
                saved.name,
                saved.blocks().join(" "),
                model.spec().name,
                model.spec().blocks().join(" ")
            ),
        ));
    }
    let mut tensors = candle_core::safetensors::load(weights, model.device())
        .map_err(|e| ModelError::checkpoint(weights, e))?;
    for p in model.params().params() {
        let tensor = tensors.remove(&p.name).ok_or_else(|| {
            ModelError::checkpoint(weights, format!("tensor `{}` is missing", p.name))
        })?;
        if tensor.dims() != p.var.dims() {
            return Err(ModelError::checkpoint(
                weights,
                format!(
                    "tensor `{}` has shape {:?}, expected {:?}",
                    p.name,
                    tensor.dims(),
                    p.var.dims()
                ),
            ));
        }
        p.var.set(&tensor.to_dtype(p.var.dtype())?)?;
    }
    if let Some(extra) = tensors.keys().next() {
        return Err(ModelError::checkpoint(
            weights,
            format!(
                "unexpected tensor `{extra}` ({} unexpected in all)",
                tensors.len()
            ),
        ));
    }
    Ok(())
}
