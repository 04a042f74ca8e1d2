//! Weights under timm's state-dict names, out and in: a network trained here
//! continues in PyTorch + timm (built by `search export --format timm`), and one
//! initialised or pretrained in timm is fine-tuned here. The layouts are the
//! same (convolutions OIHW, linear weights out × in), so only the names change;
//! timm's BatchNorm also keeps `num_batches_tracked`, written as 0 and ignored
//! when read.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use space::{ArchSpec, Layer};

use crate::error::ModelError;
use crate::network::EfficientNet;

/// A layer's tensors: its prefix in our naming and in timm's, and each tensor's
/// suffix in both.
struct LayerNames {
    ours: String,
    timm: String,
    suffixes: Vec<(&'static str, &'static str)>,
}

/// Every layer with tensors, in the network's order.
fn layer_names(spec: &ArchSpec) -> Vec<LayerNames> {
    let conv = vec![("weight", "weight")];
    let bn = vec![
        ("weight", "weight"),
        ("bias", "bias"),
        ("running_mean", "running_mean"),
        ("running_var", "running_var"),
    ];
    let se = vec![
        ("reduce.weight", "conv_reduce.weight"),
        ("reduce.bias", "conv_reduce.bias"),
        ("expand.weight", "conv_expand.weight"),
        ("expand.bias", "conv_expand.bias"),
    ];
    let linear = vec![("weight", "weight"), ("bias", "bias")];
    let suffixes = |layer: &Layer| match layer {
        Layer::Conv { .. } => Some(conv.clone()),
        Layer::BatchNorm { .. } => Some(bn.clone()),
        Layer::SqueezeExcite { .. } => Some(se.clone()),
        Layer::Linear { .. } => Some(linear.clone()),
        _ => None,
    };
    let mut names = Vec::new();
    let mut part = |ours: &str, plan: &[Layer], timm: &[&str]| {
        let mut timm = timm.iter();
        for (i, layer) in plan.iter().enumerate() {
            if let Some(s) = suffixes(layer) {
                let t = timm
                    .next()
                    .expect("a timm name for every layer with tensors");
                names.push(LayerNames {
                    ours: format!("{ours}.{i}"),
                    timm: t.to_string(),
                    suffixes: s,
                });
            }
        }
    };
    part("stem", &spec.stem_layers(), &["conv_stem", "bn1"]);
    let blocks = spec.block_specs();
    let mut first_of_stage = 0;
    for block in &blocks {
        if block.index > 0 && block.stage != blocks[block.index - 1].stage {
            first_of_stage = block.index;
        }
        let at = format!("blocks.{}.{}", block.stage, block.index - first_of_stage);
        let se = block.se_channels.is_some();
        let local: Vec<&str> = match space::timm::block_type(block.kind, block.expand_ratio) {
            "ds" if se => vec!["conv_dw", "bn1", "se", "conv_pw", "bn2"],
            "ds" => vec!["conv_dw", "bn1", "conv_pw", "bn2"],
            "ir" if se => vec!["conv_pw", "bn1", "conv_dw", "bn2", "se", "conv_pwl", "bn3"],
            "ir" => vec!["conv_pw", "bn1", "conv_dw", "bn2", "conv_pwl", "bn3"],
            "er" if se => vec!["conv_exp", "bn1", "se", "conv_pwl", "bn2"],
            "er" => vec!["conv_exp", "bn1", "conv_pwl", "bn2"],
            // The export puts timm's SE in front of the block's conv.
            _ if se => vec!["conv.0", "conv.1", "bn1"],
            _ => vec!["conv", "bn1"],
        };
        let timm: Vec<String> = local.iter().map(|n| format!("{at}.{n}")).collect();
        let timm: Vec<&str> = timm.iter().map(String::as_str).collect();
        part(&format!("blocks.{}", block.index), &block.layers(), &timm);
    }
    part("head", &spec.head_layers(), &["conv_head", "bn2"]);
    part("classifier", &spec.classifier_layers(), &["classifier"]);
    names
}

/// Our tensor name → timm's state-dict key, for every tensor of `spec`'s network.
pub fn timm_keys(spec: &ArchSpec) -> Vec<(String, String)> {
    layer_names(spec)
        .into_iter()
        .flat_map(|l| {
            l.suffixes
                .into_iter()
                .map(move |(a, b)| (format!("{}.{a}", l.ours), format!("{}.{b}", l.timm)))
        })
        .collect()
}

/// timm's BatchNorm counters: one `num_batches_tracked` per BatchNorm.
fn batch_counters(spec: &ArchSpec) -> Vec<String> {
    layer_names(spec)
        .into_iter()
        .filter(|l| l.suffixes.iter().any(|s| s.0 == "running_mean"))
        .map(|l| format!("{}.num_batches_tracked", l.timm))
        .collect()
}

/// Writes `model`'s tensors to `path` as a safetensors file under timm's names,
/// which timm's `load_state_dict` of the exported network accepts as it is.
pub fn save_timm_weights(model: &EfficientNet, path: &Path) -> Result<(), ModelError> {
    let ours: HashMap<&str, &Tensor> = model
        .params()
        .params()
        .iter()
        .map(|p| (p.name.as_str(), p.var.as_tensor()))
        .collect();
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, key) in timm_keys(model.spec()) {
        let tensor = ours.get(name.as_str()).ok_or_else(|| {
            ModelError::checkpoint(path, format!("the network has no tensor `{name}`"))
        })?;
        tensors.insert(key, tensor.to_dtype(DType::F32)?);
    }
    for key in batch_counters(model.spec()) {
        tensors.insert(key, Tensor::zeros((), DType::I64, model.device())?);
    }
    let temporary = path.with_extension("safetensors.partial");
    candle_core::safetensors::save(&tensors, &temporary)?;
    std::fs::rename(&temporary, path).map_err(|e| ModelError::checkpoint(path, e))?;
    Ok(())
}

/// How many mismatches a refused weights file lists.
const LISTED: usize = 5;

/// Loads a safetensors file under timm's names into `model`; every tensor the
/// network has must be there with its shape, and nothing else (but timm's
/// BatchNorm counters). With `refit_classifier`, a classifier of another shape
/// (pretrained for other classes) is left as initialised, for fine-tuning. A file
/// that does not fit names its first mismatches and changes nothing. Returns the
/// tensors left as initialised.
pub fn load_timm_weights(
    model: &EfficientNet,
    path: &Path,
    refit_classifier: bool,
) -> Result<Vec<String>, ModelError> {
    let mut tensors = candle_core::safetensors::load(path, model.device())
        .map_err(|e| ModelError::checkpoint(path, e))?;
    for key in batch_counters(model.spec()) {
        tensors.remove(&key);
    }
    let by_name: HashMap<&str, &crate::params::Param> = model
        .params()
        .params()
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let mut problems = Vec::new();
    let mut loads = Vec::new();
    let mut refit = Vec::new();
    for (name, key) in timm_keys(model.spec()) {
        let param = by_name[name.as_str()];
        match tensors.remove(&key) {
            Some(t)
                if refit_classifier
                    && key.starts_with("classifier.")
                    && t.dims() != param.var.dims() =>
            {
                refit.push(key)
            }
            None => problems.push(format!("`{key}` is missing")),
            Some(t) if t.dims() != param.var.dims() => problems.push(format!(
                "`{key}` has shape {:?}, the network {:?}",
                t.dims(),
                param.var.dims()
            )),
            Some(t) => loads.push((param, t)),
        }
    }
    let mut extra: Vec<&String> = tensors.keys().collect();
    extra.sort();
    problems.extend(extra.iter().map(|k| format!("`{k}` is not in the network")));
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(LISTED);
        let mut message = format!(
            "does not fit `{}`: {}",
            model.spec().name,
            problems[..problems.len().min(LISTED)].join("; ")
        );
        if more > 0 {
            message += &format!(" (and {more} more)");
        }
        return Err(ModelError::checkpoint(path, message));
    }
    for (param, tensor) in loads {
        param.var.set(&tensor.to_dtype(param.var.dtype())?)?;
    }
    Ok(refit)
}
