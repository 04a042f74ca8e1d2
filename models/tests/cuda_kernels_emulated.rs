//! The CUDA kernels' arithmetic, checked without a GPU: `cuda_emulation/harness.cpp`
//! compiles `src/ops/cuda/kernels.cu` as C++ (threads run one after another) and
//! compares every kernel with loops that spell out its definition. This runs in every
//! build, with or without the `cuda` feature; the GPU itself is checked by
//! `search check-ops --device cuda:0` (scripts/gpu-check.sh).

use std::path::Path;
use std::process::Command;

#[test]
fn the_cuda_kernels_compute_their_definitions_when_emulated_on_the_cpu() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let harness = here.join("tests/cuda_emulation/harness.cpp");
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cuda-emulation-harness");
    let compiler = std::env::var("CXX").unwrap_or_else(|_| "c++".to_string());
    let compiled = Command::new(&compiler)
        .args(["-O1", "-std=c++17", "-Wall", "-Werror", "-o"])
        .arg(&binary)
        .arg(&harness)
        .output()
        .unwrap_or_else(|e| panic!("running the C++ compiler `{compiler}` (set CXX): {e}"));
    assert!(
        compiled.status.success(),
        "the kernels do not compile as C++:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = Command::new(&binary).output().expect("running the harness");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "kernels disagree with their definitions:\n{stdout}"
    );
    assert!(
        stdout.contains("27 kernel configurations checked, 0 failures"),
        "{stdout}"
    );
}
