#!/usr/bin/env bash
# The CUDA toolchain for `cargo build --features cuda`, on a machine without a GPU or a
# system CUDA install.
#
#   scripts/cuda-toolchain.sh cargo build --release --features cuda   # run a command in it
#   source scripts/cuda-toolchain.sh                                  # or set up this shell
#
# The first use installs NVIDIA's PyPI wheels (nvcc, headers, runtime, cuBLAS, cuRAND,
# NVRTC) into $EFFNAS_CUDA (default: .cuda-toolchain/ in the repository, ignored by git)
# and builds a stub libcuda.so, then exports what candle's build scripts read: CUDA_ROOT,
# PATH (nvcc), CUDA_COMPUTE_CAP, and the link path.
#
# Why wheels pinned to 13.0: the GPU machines we target run driver 580 (CUDA 13.0), and
# PTX from a newer nvcc is rejected by an older driver's ptxas. Why a stub libcuda: the
# driver library ships with the driver, not in any wheel; the link only needs its symbols,
# and at run time the GPU machine's real driver is loaded (as with CUDA's lib/stubs).
#
# Environment: EFFNAS_CUDA (install folder), CUDA_COMPUTE_CAP (default 90: H100/H200),
# PYTHON (default python3).

_effnas_cuda_main() {
    local repo
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local prefix="${EFFNAS_CUDA:-$repo/.cuda-toolchain}"
    local python="${PYTHON:-python3}"
    local root="$prefix/site/nvidia/cu13"
    local cublas_root="$prefix/site/nvidia"

    # One version of CUDA for every wheel; cuBLAS and cuRAND carry their own numbers.
    local wheels=(
        nvidia-cuda-nvcc==13.0.88
        nvidia-nvvm==13.0.88
        nvidia-cuda-crt==13.0.88
        nvidia-cuda-runtime==13.0.96
        nvidia-cuda-cccl==13.0.85
        nvidia-cuda-nvrtc==13.0.88
        nvidia-cublas==13.0.2.14
        nvidia-curand==10.4.0.35
    )

    if [ ! -f "$prefix/.complete" ]; then
        echo "cuda-toolchain: installing CUDA 13.0 wheels into $prefix" >&2
        mkdir -p "$prefix"
        "$python" -m pip install --quiet --no-deps --no-compile --target "$prefix/site" \
            "${wheels[@]}" >&2 || { echo "cuda-toolchain: pip install failed" >&2; return 1; }
        _effnas_cuda_links "$prefix" "$cublas_root" || return 1
        _effnas_cuda_stub "$prefix" "$repo" || return 1
        touch "$prefix/.complete"
    fi

    [ -x "$root/bin/nvcc" ] || { echo "cuda-toolchain: no nvcc under $root/bin" >&2; return 1; }
    export CUDA_ROOT="$root"
    export CUDA_HOME="$root"
    export CUDA_PATH="$root"
    export PATH="$root/bin:$PATH"
    export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
    export CUDARC_CUDA_VERSION=13000
    # gcc reads LIBRARY_PATH for `-l`; cudarc's and candle's build scripts add their own
    # search paths, which need not hold the unversioned names.
    export LIBRARY_PATH="$prefix/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
}

# Unversioned names (libcublas.so → libcublas.so.13) in one folder on the link path: the
# wheels ship only the versioned files the loader asks for at run time.
_effnas_cuda_links() {
    local prefix="$1" nvidia="$2"
    mkdir -p "$prefix/lib"
    local lib found
    for lib in cudart cublas cublasLt curand nvrtc; do
        found="$(find "$nvidia" -name "lib$lib.so.*" -not -name "*.alt.*" | sort | head -1)"
        [ -n "$found" ] || { echo "cuda-toolchain: lib$lib.so.* not found in the wheels" >&2; return 1; }
        ln -sf "$found" "$prefix/lib/lib$lib.so"
    done
}

# A libcuda.so (SONAME libcuda.so.1) that defines every driver function cudarc declares.
# Calling one is never meant to happen: at run time the real driver replaces it.
_effnas_cuda_stub() {
    local prefix="$1" repo="$2"
    local cudarc
    cudarc="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'cudarc-*' | sort -V | tail -1)"
    if [ -z "$cudarc" ]; then
        (cd "$repo" && cargo fetch --quiet) || return 1
        cudarc="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'cudarc-*' | sort -V | tail -1)"
    fi
    [ -n "$cudarc" ] || { echo "cuda-toolchain: cudarc's source not found (run cargo fetch)" >&2; return 1; }
    grep -rhoE 'pub (unsafe )?fn cu[A-Za-z0-9_]+\(' "$cudarc/src/driver/sys" |
        sed -E 's/pub (unsafe )?fn (cu[A-Za-z0-9_]+)\(/\2/' | sort -u |
        awk '{ print "int " $1 "(void) { return 999; }" }' >"$prefix/libcuda_stub.c"
    [ -s "$prefix/libcuda_stub.c" ] || { echo "cuda-toolchain: no driver symbols found in $cudarc" >&2; return 1; }
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$prefix/lib/libcuda.so" "$prefix/libcuda_stub.c" ||
        { echo "cuda-toolchain: building the stub libcuda.so failed" >&2; return 1; }
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: set up the calling shell.
    _effnas_cuda_main
else
    set -euo pipefail
    _effnas_cuda_main
    if [ $# -gt 0 ]; then
        exec "$@"
    fi
    echo "export CUDA_ROOT=$CUDA_ROOT CUDA_HOME=$CUDA_HOME CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP CUDARC_CUDA_VERSION=$CUDARC_CUDA_VERSION"
    echo "export PATH=$CUDA_ROOT/bin:\$PATH LIBRARY_PATH=$LIBRARY_PATH"
fi
