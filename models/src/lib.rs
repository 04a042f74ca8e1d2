//! Candle networks built from `space` specs: the layers, the network, how its
//! parameters are created and saved (also under timm's names, [`timm`]), and the
//! optimizers that train them.
//!
//! A network is built from the same layer plan the analytics count
//! ([`space::BlockSpec::layers`]), so its parameter count equals the analytic one
//! by construction, and a test holds it to that.

pub mod check;
pub mod checkpoint;
pub mod device;
pub mod ema;
pub mod error;
pub mod layers;
pub mod network;
pub mod onnx;
pub mod ops;
pub mod optim;
pub mod params;
pub mod runtime;
pub mod timm;

pub use checkpoint::{load_checkpoint, load_weights, save_checkpoint};
pub use device::{open_for_workers, parse_device};
pub use error::ModelError;
pub use network::EfficientNet;
pub use onnx::save_onnx;
pub use optim::{AdamW, AdamWConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig};
pub use params::{ParamStore, Role};
pub use timm::{load_timm_weights, save_timm_weights};
