#!/usr/bin/env bash
# Times one training step of the same network with effnas (`search bench-step`) and
# with PyTorch + timm (../shared/peer/timm_step.py), one after the other in the same
# run, and prints both and their ratio. Ratios are the figure: absolute times drift.
#
# Usage: scripts/bench_vs_timm.sh [ARCH] [BATCH] [SIZE] [STEPS]
#   ARCH is an effnas preset; its timm name is derived (efficientnetv2-s → efficientnetv2_s).
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:-efficientnetv2-s}"
batch="${2:-16}"
size="${3:-128}"
steps="${4:-5}"
peer_dir="${PEER_DIR:-../shared/peer}"
timm_model="${TIMM_MODEL:-${arch//-/_}}"

python="$("$peer_dir/setup.sh")"
cargo build --release -q -p search

ours="$(target/release/search bench-step --arch "$arch" --batch "$batch" --size "$size" --steps "$steps" --json)"
theirs="$("$python" "$peer_dir/timm_step.py" --model "$timm_model" --batch "$batch" --size "$size" --steps "$steps" | tail -n 1)"

python3 - "$ours" "$theirs" "$arch" "$batch" "$size" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
arch, batch, size = sys.argv[3:6]
key = next(k for k in ("step_ms_median", "median_ms", "ms_median") if k in theirs)
o, t = ours["step_ms_median"], theirs[key]
print(f"| {arch} b{batch} {size}px train step | effnas {o:.1f} ms | PyTorch {t:.1f} ms | ratio {o / t:.2f}x |")
print(json.dumps({"effnas": ours, "pytorch": theirs}))
PY
