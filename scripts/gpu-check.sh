#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: checks a CUDA build of `search` against the CPU, then
# times it beside PyTorch + timm on the same GPU and prints the ratios.
#
#   scripts/gpu-check.sh [SEARCH_BINARY] [OUT_DIR]
#
# SEARCH_BINARY: a CUDA build (default target/release/search), made on any machine with
#   scripts/cuda-toolchain.sh cargo build --release --features cuda
#   or that build stripped and xz-compressed (`.xz`: 13 MB instead of 78 MB stripped),
#   to carry it to the GPU machine; it is unpacked into OUT_DIR.
# OUT_DIR: where the logs and JSON go (default $OUT, else gpu-check/).
# PYTHON: a Python with torch and timm (default /opt/torch/.venv/bin/python where it
#   exists, else python3); its NVIDIA wheels (cuBLAS, cuRAND, NVRTC, cudart) are the CUDA
#   libraries the binary loads; the driver gives libcuda.
# TIMM_STEP: path to timm_step.py (default ../shared/peer/timm_step.py, else
#   .device/peer/timm_step.py, where a copy can travel with the working tree).
#
# Steps: (1) `search check-ops` on cuda:0 (convolutions forward and backward, and an
# efficientnetv2-s training pass, against f64 on the CPU); (2) efficientnetv2-s training
# steps at batch 64 / 224 px and batch 16 / 128 px, ours and timm's; (3) one depthwise and
# one dense convolution op, ours, candle's stock op and PyTorch's. PyTorch convolves in
# TF32 by default (cudnn.allow_tf32) and we in full f32, so timm's steps are timed both
# ways (NVIDIA_TF32_OVERRIDE=0 turns TF32 off in cuDNN and cuBLAS). Exit status 1 when a
# check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/release/search}"
out="${2:-${OUT:-gpu-check}}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    python=python3
    [ -x /opt/torch/.venv/bin/python ] && python=/opt/torch/.venv/bin/python
fi
timm="${TIMM_STEP:-}"
if [ -z "$timm" ]; then
    for candidate in ../shared/peer/timm_step.py .device/peer/timm_step.py; do
        [ -f "$candidate" ] && timm="$candidate" && break
    done
fi
[ -f "$bin" ] || { echo "gpu-check: no binary at $bin" >&2; exit 2; }
[ -n "$timm" ] || { echo "gpu-check: timm_step.py not found (set TIMM_STEP)" >&2; exit 2; }
mkdir -p "$out"
if [[ "$bin" == *.xz ]]; then
    xz -dc "$bin" >"$out/search" && chmod +x "$out/search"
    bin="$out/search"
fi

# The CUDA libraries of the Python environment's NVIDIA wheels, found by file name.
libdirs="$("$python" - <<'EOF'
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
names = ["libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudart.so.13", "libnvrtc.so.13"]
dirs = {os.path.dirname(f) for r in roots for n in names
        for f in glob.glob(os.path.join(r, "nvidia", "**", n), recursive=True)}
print(":".join(sorted(dirs)))
EOF
)"
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$bin" >"$out/ldd.txt"
if grep "not found" "$out/ldd.txt" >&2; then
    echo "gpu-check: the libraries above were not found for $bin (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)" >&2
    exit 1
fi
have_timm=1
"$python" -c "import torch, timm" 2>/dev/null || { have_timm=0; echo "gpu-check: $python lacks torch or timm: timing effnas alone" >&2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

echo "== 1. our ops on cuda:0 against the CPU"
status=0
"$bin" check-ops --device cuda:0 --arch efficientnetv2-s --batch 4 --size 64 2>&1 |
    tee "$out/check-ops.txt" || status=1

echo "== 2. efficientnetv2-s training steps: effnas and timm on the same GPU"
for config in "64 224" "16 128"; do
    read -r batch size <<<"$config"
    "$bin" bench-step --arch efficientnetv2-s --batch "$batch" --size "$size" --steps 10 \
        --warmup 3 --device cuda:0 --json >"$out/effnas-step-b$batch-$size.json" 2>"$out/effnas-step-b$batch-$size.log" || status=1
    [ "$have_timm" = 1 ] || continue
    for tf32 in default off; do
        log="$out/timm-step-b$batch-$size-tf32-$tf32"
        if [ "$tf32" = off ]; then export NVIDIA_TF32_OVERRIDE=0; else unset NVIDIA_TF32_OVERRIDE; fi
        "$python" "$timm" --model efficientnetv2_s --batch "$batch" --size "$size" --steps 10 \
            --warmup 3 --device cuda:0 >"$log.log" 2>&1 || status=1
        tail -n 1 "$log.log" >"$log.json"
    done
    unset NVIDIA_TF32_OVERRIDE
done

echo "== 3. single ops, forward and backward: ours, candle's stock op, PyTorch's"
ops=("dwconv --batch 64 --channels 96 --size 56 --kernel 3 --stride 1"
     "conv --batch 64 --channels 48 --out-channels 192 --size 56 --kernel 3 --stride 1")
for i in "${!ops[@]}"; do
    # shellcheck disable=SC2086
    "$bin" bench-op --op ${ops[$i]} --steps 20 --device cuda:0 --json >"$out/effnas-op$i.json" || status=1
    # shellcheck disable=SC2086
    "$bin" bench-op --op ${ops[$i]} --steps 3 --device cuda:0 --ops stock --json >"$out/stock-op$i.json" || status=1
    [ "$have_timm" = 1 ] || continue
    # shellcheck disable=SC2086
    NVIDIA_TF32_OVERRIDE=0 "$python" "$timm" --op ${ops[$i]} --steps 20 --device cuda:0 \
        >"$out/timm-op$i.log" 2>&1 || status=1
    tail -n 1 "$out/timm-op$i.log" >"$out/timm-op$i.json"
done

echo "== summary (medians; ratio = effnas / timm, below 1 is faster)"
"$python" - "$out" <<'EOF' | tee "$out/summary.txt"
import json, os, sys
out = sys.argv[1]
def median(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)["step_ms_median"]
    except (OSError, ValueError, KeyError):
        return None
def row(label, ours, theirs, stock=None):
    if ours is None or theirs is None:
        print(f"{label:<44} missing (see the logs in {out})")
        return
    extra = f"   candle stock {stock:9.2f} ms" if stock is not None else ""
    print(f"{label:<44} effnas {ours:9.2f} ms   timm {theirs:9.2f} ms   ratio {ours / theirs:5.2f}{extra}")
for batch, size in [(64, 224), (16, 128)]:
    ours = median(f"effnas-step-b{batch}-{size}.json")
    row(f"efficientnetv2-s step, b{batch} {size} px (timm f32)", ours,
        median(f"timm-step-b{batch}-{size}-tf32-off.json"))
    row(f"efficientnetv2-s step, b{batch} {size} px (timm TF32)", ours,
        median(f"timm-step-b{batch}-{size}-tf32-default.json"))
for i, label in enumerate(["depthwise 3x3, 64x96x56x56 (f32)", "conv 3x3 48->192, 64x48x56x56 (f32)"]):
    row(label, median(f"effnas-op{i}.json"), median(f"timm-op{i}.json"), median(f"stock-op{i}.json"))
EOF
exit $status
