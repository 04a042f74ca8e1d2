#!/usr/bin/env bash
# Times effnas and PyTorch + timm on the same work, one after the other in the same
# run, and prints a Markdown table: op or model, ours, PyTorch, ratio. Ratios are
# the figure: this machine is shared, absolute times drift.
#
#   scripts/bench_vs_timm.sh            # the EfficientNetV2-S step and single ops
#   STOCK=1 scripts/bench_vs_timm.sh    # also candle's stock layers (slow: minutes)
#   STEPS=9 scripts/bench_vs_timm.sh    # more timed repetitions (default 5)
#   ROUNDS=5 scripts/bench_vs_timm.sh   # alternate the step comparison more (default 3)
#   PROXY_SPEC=spec.json scripts/bench_vs_timm.sh   # another network for the proxy-scale row
#   AVX2=1 scripts/bench_vs_timm.sh     # both sides on AVX2 kernels only, on an AVX-512 machine
#   SHAPES="8x192 32x96" scripts/bench_vs_timm.sh   # V2-S steps at more batch x image sizes
#   NO_OPS=1 scripts/bench_vs_timm.sh   # the step rows only, not the single ops or blocks
#   NO_BLOCKS=1 scripts/bench_vs_timm.sh   # no whole-block rows
set -euo pipefail
cd "$(dirname "$0")/.."
peer_dir="${PEER_DIR:-../shared/peer}"
steps="${STEPS:-5}"
rounds="${ROUNDS:-3}"

python="$("$peer_dir/setup.sh")"
if [ -n "${AVX2:-}" ]; then
  # Ours without the `avx512` feature; PyTorch's own kernels, oneDNN's and MKL's held
  # to AVX2 by their documented switches.
  cargo build --release -q -p search --no-default-features
  export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
else
  cargo build --release -q -p search
fi
ours=target/release/search

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# The whole training step (forward, cross-entropy, backward, RMSProp update),
# alternating effnas (whole-block ops, then per-layer ops) and PyTorch for several
# rounds: the medians of the rounds and the median of the per-round ratios are
# reported, which a noisy neighbour on the machine disturbs less than one pair of
# runs. `step_rows LABEL TIMM_COMMAND -- BENCH_STEP_ARGS`.
mid() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
step_rows() {
  local label="$1" timm_cmd="$2"; shift 3
  local o p t oms=() pms=() tms=() ratios=() per_op_ratios=()
  for _ in $(seq "$rounds"); do
    o=$("$ours" bench-step "$@" --steps "$steps" --json 2>/dev/null)
    p=$("$ours" bench-step "$@" --steps "$steps" --ops per-op --json 2>/dev/null)
    t=$($timm_cmd --steps "$steps" | tail -n 1)
    oms+=("$(field "$o" step_ms_median)"); pms+=("$(field "$p" step_ms_median)"); tms+=("$(field "$t" step_ms_median)")
    ratios+=("$(python3 -c "print(${oms[-1]} / ${tms[-1]})")")
    per_op_ratios+=("$(python3 -c "print(${pms[-1]} / ${tms[-1]})")")
  done
  local tm; tm=$(mid "${tms[@]}")
  row "$label ($rounds rounds)" "$(printf '%.0f ms' "$(mid "${oms[@]}")")" "$(printf '%.0f ms' "$tm")" "$(printf '%.2fx' "$(mid "${ratios[@]}")")"
  row "  same, per-layer ops (\`--ops per-op\`)" "$(printf '%.0f ms' "$(mid "${pms[@]}")")" "$(printf '%.0f ms' "$tm")" "$(printf '%.2fx' "$(mid "${per_op_ratios[@]}")")"
  local opeak tpeak
  opeak=$(python3 -c "print(round($(field "$o" peak_rss_bytes) / 2**20))"); tpeak=$(field "$t" peak_rss_mb)
  row "  peak memory of that process" "$opeak MiB" "${tpeak%.*} MiB" "$(ratio "$opeak" "$tpeak")"
  if [ -n "${STOCK:-}" ]; then
    local s sm
    s=$("$ours" bench-step "$@" --ops stock --steps "$steps" --json 2>/dev/null)
    sm=$(field "$s" step_ms_median)
    row "  same, candle's stock layers" "$(printf '%.0f ms' "$sm")" "$(printf '%.0f ms' "$tm")" "$(ratio "$sm" "$tm")"
  fi
}
step_rows "EfficientNetV2-S train step, b16 128 px" \
  "$python $peer_dir/timm_step.py --model efficientnetv2_s --batch 16 --size 128" \
  -- --arch efficientnetv2-s --batch 16 --size 128
for shape in ${SHAPES:-}; do
  b="${shape%x*}" px="${shape#*x}"
  step_rows "EfficientNetV2-S train step, b$b $px px" \
    "$python $peer_dir/timm_step.py --model efficientnetv2_s --batch $b --size $px" \
    -- --arch efficientnetv2-s --batch "$b" --size "$px"
done

# A network the search found, at the proxy's scale: grey 32 px images, 10 classes,
# batch 64. Its spec is a search's best (PROXY_SPEC), given one input channel and
# 10 classes; timm builds it from `search export --format timm`.
proxy_spec="${PROXY_SPEC:-docs/results/halving-30min/rungs1-seed2.best.json}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d.update(input_channels=1, classes=10); json.dump(d, open(sys.argv[2], 'w'))" "$proxy_spec" "$work/proxy.json"
"$ours" export --arch "$work/proxy.json" --format timm --out "$work/proxy.py"
proxy_params=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['params'] / 1e6, 1))" "$("$ours" arch show "$work/proxy.json" --json)")
step_rows "searched network ($proxy_params M params) at proxy scale, b64 32 px, 1 channel" \
  "$python scripts/timm_export_step.py $work/proxy.py --batch 64 --size 32" \
  -- --arch "$work/proxy.json" --batch 64 --size 32

# Single ops and whole blocks, forward + backward, at the shapes of the fast-ops
# issue, of V2-S and of the proxy; short, so more repetitions and the same
# alternating rounds. Blocks (`--op mbconv|fused_mbconv`) are timm's own blocks on
# its side (scripts/timm_block_step.py), and get a row for our per-layer ops too.
op_steps=$((steps * 4))
op() {
  local label="$1"; shift
  local timm_cmd=("$python" "$peer_dir/timm_step.py" "$@") per_layer=""
  case "$2" in
    mbconv|fused_mbconv) timm_cmd=("$python" scripts/timm_block_step.py --block "$2" "${@:3}"); per_layer=1 ;;
  esac
  local o p t oms=() pms=() tms=() ratios=() per_op_ratios=()
  for _ in $(seq "$rounds"); do
    o=$("$ours" bench-op "$@" --steps "$op_steps" --json)
    t=$("${timm_cmd[@]}" --steps "$op_steps" | tail -n 1)
    oms+=("$(field "$o" step_ms_median)"); tms+=("$(field "$t" step_ms_median)")
    ratios+=("$(python3 -c "print(${oms[-1]} / ${tms[-1]})")")
    if [ -n "$per_layer" ]; then
      p=$("$ours" bench-op "$@" --steps "$op_steps" --ops per-op --json)
      pms+=("$(field "$p" step_ms_median)")
      per_op_ratios+=("$(python3 -c "print(${pms[-1]} / ${tms[-1]})")")
    fi
  done
  local tm; tm=$(mid "${tms[@]}")
  if [ -n "$per_layer" ] && [ "$(field "$o" params)" != "$(field "$t" params)" ]; then
    echo "bench_vs_timm: $label: $(field "$o" params) parameters here, $(field "$t" params) in timm's block" >&2
    exit 1
  fi
  row "$label" "$(printf '%.1f ms' "$(mid "${oms[@]}")")" "$(printf '%.1f ms' "$tm")" "$(printf '%.2fx' "$(mid "${ratios[@]}")")"
  if [ -n "$per_layer" ]; then
    row "  same, per-layer ops (\`--ops per-op\`)" "$(printf '%.1f ms' "$(mid "${pms[@]}")")" "$(printf '%.1f ms' "$tm")" "$(printf '%.2fx' "$(mid "${per_op_ratios[@]}")")"
  fi
  if [ -n "${STOCK:-}" ]; then
    local s sm
    s=$("$ours" bench-op "$@" --steps 3 --ops stock --json); sm=$(field "$s" step_ms_median)
    row "  same, candle's stock op" "$(printf '%.1f ms' "$sm")" "$(printf '%.1f ms' "$tm")" "$(ratio "$sm" "$tm")"
  fi
}
if [ -z "${NO_OPS:-}" ]; then
  op "depthwise 3x3, 32x96x28x28" --op dwconv --batch 32 --channels 96 --size 28 --kernel 3
  op "depthwise 3x3 s2, 16x256x16x16 (V2-S stage 4)" --op dwconv --batch 16 --channels 256 --size 16 --kernel 3 --stride 2
  op "conv 3x3 96->96, 32x28x28" --op conv --batch 32 --channels 96 --size 28 --kernel 3
  op "conv 3x3 48->192, 16x32x32 (V2-S stage 2)" --op conv --batch 16 --channels 48 --out-channels 192 --size 32 --kernel 3
  op "conv 1x1 96->96, 32x28x28" --op conv1x1 --batch 32 --channels 96 --size 28
  op "BatchNorm+SiLU, 16x192x32x32" --op bn_silu --batch 16 --channels 192 --size 32
  # The small maps of a proxy network's late stages.
  op "depthwise 3x3, 64x480x4x4 (proxy scale)" --op dwconv --batch 64 --channels 480 --size 4 --kernel 3
  op "depthwise 3x3, 64x1152x2x2 (proxy scale)" --op dwconv --batch 64 --channels 1152 --size 2 --kernel 3
  op "BatchNorm+SiLU, 32x960x3x3 (V2-S at 96 px)" --op bn_silu --batch 32 --channels 960 --size 3
  op "BatchNorm+SiLU, 64x1152x1x1 (proxy scale)" --op bn_silu --batch 64 --channels 1152 --size 1
fi
if [ -z "${NO_OPS:-}${NO_BLOCKS:-}" ]; then
  # Whole blocks: V2-S's at b16 128 px (stages 2, 4 and 6, repeats with the
  # shortcut), and an MBConv on the proxy's 2x2 maps.
  op "Fused-MBConv 48, k3 e4, 16x48x32x32 (V2-S stage 2)" --op fused_mbconv --batch 16 --channels 48 --size 32 --kernel 3 --expand 4
  op "MBConv 128, k3 e4 SE, 16x128x8x8 (V2-S stage 4)" --op mbconv --batch 16 --channels 128 --size 8 --kernel 3 --expand 4
  op "MBConv 256, k3 e6 SE, 16x256x4x4 (V2-S stage 6)" --op mbconv --batch 16 --channels 256 --size 4 --kernel 3 --expand 6
  op "MBConv 80, k5 e4 SE, 64x80x2x2 (proxy scale)" --op mbconv --batch 64 --channels 80 --size 2 --kernel 5 --expand 4
fi

kernels=$(field "$("$ours" bench-op --op bn_silu --batch 1 --channels 1 --size 1 --steps 1 --warmup 0 --json)" cpu_kernels)
torch_isa=$("$python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())')
echo "effnas ($kernels kernels) vs PyTorch $("$python" -c 'import torch; print(torch.__version__)') + timm ($torch_isa), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u +%F); medians of $steps steps$([ -n "${NO_OPS:-}" ] || echo " ($op_steps for ops)") per round, $rounds alternating rounds, median ratio of the rounds"
echo
echo "| op or model | effnas | PyTorch | ratio (effnas / PyTorch) |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
