//! Every tensor a network owns, by name and role, created from a seeded generator
//! so that the same seed builds the same network (candle cannot seed its CPU RNG).

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a tensor is to training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A trained weight that weight decay applies to (conv and FC kernels).
    Weight,
    /// Trained, but exempt from weight decay (BatchNorm scale and shift, biases).
    NoDecay,
    /// Not trained: BatchNorm's running statistics.
    Buffer,
}

/// One named tensor of a network.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
    pub role: Role,
}

/// A network's tensors, in creation order.
pub struct ParamStore {
    params: Vec<Param>,
    rng: StdRng,
    device: Device,
    dtype: DType,
}

impl ParamStore {
    pub fn new(seed: u64, device: &Device, dtype: DType) -> ParamStore {
        ParamStore {
            params: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            device: device.clone(),
            dtype,
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    fn add(
        &mut self,
        name: String,
        values: impl Iterator<Item = f64>,
        shape: Shape,
        role: Role,
    ) -> Result<Var> {
        // Straight to the storage type: no f64 copy of a 200M-parameter network.
        let tensor = match self.dtype {
            DType::F64 => Tensor::from_vec(values.collect::<Vec<f64>>(), shape, &self.device)?,
            _ => Tensor::from_vec(
                values.map(|v| v as f32).collect::<Vec<f32>>(),
                shape,
                &self.device,
            )?
            .to_dtype(self.dtype)?,
        };
        let var = Var::from_tensor(&tensor)?;
        self.params.push(Param {
            name,
            var: var.clone(),
            role,
        });
        Ok(var)
    }

    /// A conv kernel from N(0, √(2 / fan_out)), fan_out = k·k·out / groups, as the
    /// official EfficientNet initialiser.
    pub fn conv_weight(&mut self, name: String, shape: &[usize; 4], groups: usize) -> Result<Var> {
        let [out, _, kh, kw] = *shape;
        let fan_out = (kh * kw * out / groups).max(1) as f64;
        let std = (2.0 / fan_out).sqrt();
        let n: usize = shape.iter().product();
        let mut rng = self.fork_rng();
        let values = (0..n).map(move |_| std * standard_normal(&mut rng));
        self.add(name, values, Shape::from(shape.to_vec()), Role::Weight)
    }

    /// A fully connected kernel from U(−1/√out, 1/√out), as the official initialiser.
    pub fn linear_weight(&mut self, name: String, out: usize, inputs: usize) -> Result<Var> {
        let range = 1.0 / (out as f64).sqrt();
        let mut rng = self.fork_rng();
        let values = (0..out * inputs).map(move |_| rng.random_range(-range..range));
        self.add(name, values, Shape::from((out, inputs)), Role::Weight)
    }

    /// A tensor of one value: biases and BatchNorm parameters and statistics.
    pub fn constant(&mut self, name: String, len: usize, value: f64, role: Role) -> Result<Var> {
        self.add(
            name,
            std::iter::repeat_n(value, len),
            Shape::from(len),
            role,
        )
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The tensors an optimizer updates.
    pub fn trainable(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.role != Role::Buffer)
    }

    /// Number of trained values.
    pub fn trainable_count(&self) -> usize {
        self.trainable().map(|p| p.var.elem_count()).sum()
    }

    /// A draw from the store's generator, for masks and other seeded randomness.
    pub fn fork_rng(&mut self) -> StdRng {
        StdRng::seed_from_u64(self.rng.random())
    }
}

/// Box–Muller: one N(0, 1) sample from two uniforms.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1], so ln is finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
