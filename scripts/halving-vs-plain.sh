#!/usr/bin/env bash
# Successive halving against plain evolution at the same wall clock: the main
# job's settings (the `paper` space, the embedded data), one search of each per
# seed, each stopped after SECONDS. Prints a Markdown table.
#
#   scripts/halving-vs-plain.sh [--paired] [SECONDS] [SEEDS…]   # defaults: 360, seeds 1 2 3
#
# By default the two searches of a seed run one after the other, each on every core.
# With --paired they run at the same time, each pinned to one core (taskset, one
# rayon thread): a shared machine's slow minutes then fall on both searches alike,
# and the comparison costs half the wall clock. The cores swap from seed to seed.
set -euo pipefail
paired=0
if [ "${1:-}" = "--paired" ]; then
    paired=1
    shift
fi
seconds=${1:-360}
shift || true
seeds=${*:-1 2 3}
bin=target/release/search
[ -x "$bin" ] || cargo build --release -q -p search
out=$(mktemp -d "${TMPDIR:-/tmp}/effnas-halving-XXXX")
echo "runs in $out" >&2

# One search: rungs, seed, and (paired) the core it is pinned to.
search() {
    local rungs=$1 seed=$2 core=${3:-}
    local run="$out/rungs$rungs-seed$seed" pin=()
    if [ -n "$core" ]; then
        pin=(env RAYON_NUM_THREADS=1 taskset -c "$core")
    fi
    local start end
    start=$(date +%s.%N)
    "${pin[@]}" "$bin" --budget 1000 --time-budget "$seconds" --seed "$seed" --rungs "$rungs" \
        --out "$run" --json > "$run.json" 2> "$run.log"
    end=$(date +%s.%N)
    echo "{\"rungs\": $rungs, \"seed\": $seed, \"wall_s\": $(echo "$end - $start" | bc), \"core\": \"${core:-all}\"}" > "$run.wall"
    echo "done: rungs $rungs, seed $seed" >&2
}

for seed in $seeds; do
    if [ "$paired" = 1 ]; then
        swap=$((seed % 2))
        search 1 "$seed" "$swap" &
        search 2 "$seed" "$((1 - swap))" &
        wait
    else
        search 1 "$seed"
        search 2 "$seed"
    fi
done
python3 - "$out" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
rows = {1: [], 2: []}
for wall in sorted(out.glob("*.wall")):
    w = json.loads(wall.read_text())
    s = json.loads(wall.with_suffix(".json").read_text())
    full = [json.loads(l) for l in (out / wall.stem / "trials.jsonl").read_text().splitlines()]
    rows[w["rungs"]].append({
        "seed": w["seed"], "wall_s": w["wall_s"], "candidates": s["trials"],
        "per_hour": s["trials"] / w["wall_s"] * 3600,
        "best": (s["best"] or {}).get("reward"), "hv": s["hypervolume"],
        "reached": s["rungs"]["reached"],
    })
print(f"runs in {out}\n")
print("| search | seed | wall s | candidates | per hour | rungs reached | best reward | hypervolume |")
print("|---|---|---|---|---|---|---|---|")
for rungs, name in [(1, "evolution"), (2, "evolution + halving")]:
    for r in rows[rungs]:
        print(f"| {name} | {r['seed']} | {r['wall_s']:.0f} | {r['candidates']} | {r['per_hour']:.0f} | "
              f"{' / '.join(map(str, r['reached']))} | {r['best']:.4f} | {100 * r['hv']:.2f}% |")
for rungs, name in [(1, "evolution"), (2, "evolution + halving")]:
    rs = rows[rungs]
    if rs:
        med = lambda k: statistics.median(r[k] for r in rs)
        print(f"| **{name}, median** | | {med('wall_s'):.0f} | {med('candidates')} | {med('per_hour'):.0f} | | "
              f"{med('best'):.4f} | {100 * med('hv'):.2f}% |")
PY
