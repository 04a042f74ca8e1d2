//! A trained network as one ONNX file for inference (opset 17): BatchNorm folded
//! into the convolution before it, SiLU as x·sigmoid(x), squeeze-excitation as
//! global pooling, two 1×1 convolutions and a gate, the classifier as Gemm;
//! batch, height and width left free. The protobuf messages are declared here,
//! field numbers as in onnx.proto, and encoded by prost.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use prost::Message;
use space::Layer;

use crate::error::ModelError;
use crate::layers::BN_EPS;
use crate::network::EfficientNet;

/// ONNX's protobuf messages, the fields an inference graph needs.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        #[prost(string, tag = "2")]
        pub producer_name: String,
        #[prost(string, tag = "3")]
        pub producer_version: String,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetIdProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetIdProto {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(int64, tag = "2")]
        pub version: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfoProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }

    /// `type`: 2 for an int, 7 for a list of ints.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int64, tag = "3")]
        pub i: i64,
        #[prost(int64, repeated, tag = "8")]
        pub ints: Vec<i64>,
        #[prost(int32, tag = "20")]
        pub r#type: i32,
    }

    /// `data_type` 1 is float; the values are little-endian bytes in `raw_data`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<TypeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProto {
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TensorTypeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorTypeProto {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShapeProto {
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(int64, optional, tag = "1")]
        pub dim_value: Option<i64>,
        #[prost(string, optional, tag = "2")]
        pub dim_param: Option<String>,
    }
}

use proto::*;

const FLOAT: i32 = 1;
/// The IR version that goes with opset 17.
const IR_VERSION: i64 = 8;
pub const OPSET: i64 = 17;

/// The graph being written: nodes, weights, and a counter for fresh names.
struct Graph<'a> {
    tensors: HashMap<&'a str, &'a Tensor>,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    count: usize,
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        r#type: 2,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: values.to_vec(),
        r#type: 7,
        ..Default::default()
    }
}

impl Graph<'_> {
    fn fresh(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}_{}", self.count)
    }

    fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        let output = self.fresh(&op.to_lowercase());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op.into(),
            attribute: attributes,
        });
        output
    }

    fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| ModelError::Export(format!("the network has no tensor `{name}`")))?;
        Ok(t.to_dtype(DType::F32)?)
    }

    fn initializer(&mut self, name: String, tensor: &Tensor) -> Result<String, ModelError> {
        let values = tensor.flatten_all()?.to_vec1::<f32>()?;
        self.initializers.push(TensorProto {
            dims: tensor.dims().iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.clone(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        Ok(name)
    }

    fn silu(&mut self, x: &str) -> String {
        let gate = self.node("Sigmoid", &[x], vec![]);
        self.node("Mul", &[x, &gate], vec![])
    }

    /// `prefix.i` (a conv) followed by the BatchNorm `prefix.{i+1}`, folded.
    fn conv_bn(
        &mut self,
        x: &str,
        conv: &str,
        bn: &str,
        stride: usize,
        groups: usize,
    ) -> Result<String, ModelError> {
        let w = self.tensor(&format!("{conv}.weight"))?;
        let (gamma, beta) = (
            self.tensor(&format!("{bn}.weight"))?,
            self.tensor(&format!("{bn}.bias"))?,
        );
        let (mean, var) = (
            self.tensor(&format!("{bn}.running_mean"))?,
            self.tensor(&format!("{bn}.running_var"))?,
        );
        let scale = (gamma / (var + BN_EPS)?.sqrt()?)?;
        let folded_w = w.broadcast_mul(&scale.reshape((scale.dim(0)?, 1, 1, 1))?)?;
        let folded_b = (beta - (mean * &scale)?)?;
        let kernel = w.dim(2)? as i64;
        let w_name = self.initializer(format!("{conv}.weight"), &folded_w)?;
        let b_name = self.initializer(format!("{conv}.bias"), &folded_b)?;
        let pad = kernel / 2;
        Ok(self.node(
            "Conv",
            &[x, &w_name, &b_name],
            vec![
                ints("kernel_shape", &[kernel, kernel]),
                ints("strides", &[stride as i64, stride as i64]),
                ints("pads", &[pad, pad, pad, pad]),
                int("group", groups as i64),
            ],
        ))
    }

    fn squeeze_excite(&mut self, x: &str, prefix: &str) -> Result<String, ModelError> {
        let pooled = self.node("GlobalAveragePool", &[x], vec![]);
        let mut h = pooled;
        for (i, part) in ["reduce", "expand"].into_iter().enumerate() {
            let w = self.tensor(&format!("{prefix}.{part}.weight"))?;
            let b = self.tensor(&format!("{prefix}.{part}.bias"))?;
            let w = self.initializer(format!("{prefix}.{part}.weight"), &w)?;
            let b = self.initializer(format!("{prefix}.{part}.bias"), &b)?;
            h = self.node("Conv", &[&h, &w, &b], vec![ints("kernel_shape", &[1, 1])]);
            h = if i == 0 {
                self.silu(&h)
            } else {
                self.node("Sigmoid", &[&h], vec![])
            };
        }
        Ok(self.node("Mul", &[x, &h], vec![]))
    }

    /// The layers of one part of the plan (`stem`, `blocks.3`, `head`, …).
    fn layers(&mut self, x: &str, plan: &[Layer], prefix: &str) -> Result<String, ModelError> {
        let mut h = x.to_string();
        let mut i = 0;
        while i < plan.len() {
            let at = format!("{prefix}.{i}");
            match (&plan[i], plan.get(i + 1)) {
                (Layer::Conv { stride, groups, .. }, Some(Layer::BatchNorm { .. })) => {
                    h = self.conv_bn(&h, &at, &format!("{prefix}.{}", i + 1), *stride, *groups)?;
                    i += 2;
                    continue;
                }
                (Layer::Silu { .. }, _) => h = self.silu(&h),
                (Layer::SqueezeExcite { .. }, _) => h = self.squeeze_excite(&h, &at)?,
                (Layer::Residual { .. }, _) => h = self.node("Add", &[&h, x], vec![]),
                (Layer::GlobalPool { .. }, _) => {
                    let pooled = self.node("GlobalAveragePool", &[&h], vec![]);
                    h = self.node("Flatten", &[&pooled], vec![int("axis", 1)]);
                }
                (Layer::Dropout { .. }, _) => {}
                (Layer::Linear { .. }, _) => {
                    let w = self.tensor(&format!("{at}.weight"))?;
                    let b = self.tensor(&format!("{at}.bias"))?;
                    let w = self.initializer(format!("{at}.weight"), &w)?;
                    let b = self.initializer(format!("{at}.bias"), &b)?;
                    h = self.node("Gemm", &[&h, &w, &b], vec![int("transB", 1)]);
                }
                (layer, _) => {
                    return Err(ModelError::Export(format!(
                        "{at}: {layer:?} has no ONNX form here (a conv without BatchNorm?)"
                    )));
                }
            }
            i += 1;
        }
        Ok(h)
    }
}

fn value_info(name: &str, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| match d {
                            Ok(v) => Dimension {
                                dim_value: Some(*v),
                                dim_param: None,
                            },
                            Err(p) => Dimension {
                                dim_value: None,
                                dim_param: Some(p.to_string()),
                            },
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// The network as ONNX bytes: input `images` (batch × channels × height × width,
/// any batch and size), output `logits` (batch × classes), inference only.
pub fn onnx_bytes(model: &EfficientNet) -> Result<Vec<u8>, ModelError> {
    let spec = model.spec();
    let mut graph = Graph {
        tensors: model
            .params()
            .params()
            .iter()
            .map(|p| (p.name.as_str(), p.var.as_tensor()))
            .collect(),
        nodes: Vec::new(),
        initializers: Vec::new(),
        count: 0,
    };
    let mut h = graph.layers("images", &spec.stem_layers(), "stem")?;
    for block in spec.block_specs() {
        h = graph.layers(&h, &block.layers(), &format!("blocks.{}", block.index))?;
    }
    h = graph.layers(&h, &spec.head_layers(), "head")?;
    h = graph.layers(&h, &spec.classifier_layers(), "classifier")?;
    // The last node's output is the graph's.
    if let Some(last) = graph.nodes.last_mut() {
        last.output = vec!["logits".into()];
    }
    let _ = h;
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "effnas".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: spec.name.clone(),
            initializer: graph.initializers,
            input: vec![value_info(
                "images",
                &[
                    Err("batch"),
                    Ok(spec.input_channels as i64),
                    Err("height"),
                    Err("width"),
                ],
            )],
            output: vec![value_info(
                "logits",
                &[Err("batch"), Ok(spec.classes as i64)],
            )],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    };
    Ok(model.encode_to_vec())
}

/// Writes [`onnx_bytes`] to `path` (through a temporary file).
pub fn save_onnx(model: &EfficientNet, path: &Path) -> Result<(), ModelError> {
    let bytes = onnx_bytes(model)?;
    let temporary = path.with_extension("onnx.partial");
    std::fs::write(&temporary, bytes).map_err(|e| ModelError::checkpoint(path, e))?;
    std::fs::rename(&temporary, path).map_err(|e| ModelError::checkpoint(path, e))?;
    Ok(())
}
