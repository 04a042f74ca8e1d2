//! With the `cuda` feature, compiles `src/ops/cuda/kernels.cu` to PTX with nvcc, for the
//! same GPU generation as candle's own kernels (`CUDA_COMPUTE_CAP`). Without it, does
//! nothing: the default build needs no CUDA toolchain.

use std::path::PathBuf;
use std::process::Command;

const KERNELS: &str = "src/ops/cuda/kernels.cu";

fn main() {
    println!("cargo::rerun-if-changed={KERNELS}");
    println!("cargo::rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo::rerun-if-env-changed=NVCC");
    println!("cargo::rerun-if-env-changed=CUDA_ROOT");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let nvcc = std::env::var("NVCC")
        .ok()
        .or_else(|| {
            let root = std::env::var("CUDA_ROOT").ok()?;
            Some(format!("{root}/bin/nvcc"))
        })
        .unwrap_or_else(|| "nvcc".to_string());
    let mut command = Command::new(&nvcc);
    command.args(["-ptx", "-O3", "-std=c++17", "-o"]);
    command.arg(out.join("kernels.ptx")).arg(KERNELS);
    if let Ok(cap) = std::env::var("CUDA_COMPUTE_CAP") {
        command.arg(format!("--gpu-architecture=compute_{cap}"));
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{nvcc}` to build the CUDA kernels ({e}); \
             scripts/cuda-toolchain.sh installs a CUDA toolchain"
        )
    });
    assert!(
        output.status.success(),
        "nvcc failed on {KERNELS}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
