#!/usr/bin/env bash
# Successive halving against plain evolution at the same wall clock: the main
# job's settings (the `paper` space, the embedded data), one search of each per
# seed, alternating, each stopped after SECONDS. Prints a Markdown table.
#
#   scripts/halving-vs-plain.sh [SECONDS] [SEEDS…]     # defaults: 360, seeds 1 2 3
set -euo pipefail
seconds=${1:-360}
shift || true
seeds=${*:-1 2 3}
bin=target/release/search
[ -x "$bin" ] || cargo build --release -q -p search
out=$(mktemp -d "${TMPDIR:-/tmp}/effnas-halving-XXXX")
for seed in $seeds; do
    for rungs in 1 2; do
        run="$out/rungs$rungs-seed$seed"
        start=$(date +%s.%N)
        "$bin" --budget 1000 --time-budget "$seconds" --seed "$seed" --rungs "$rungs" \
            --out "$run" --json > "$run.json" 2> "$run.log"
        end=$(date +%s.%N)
        echo "{\"rungs\": $rungs, \"seed\": $seed, \"wall_s\": $(echo "$end - $start" | bc)}" > "$run.wall"
        echo "done: rungs $rungs, seed $seed" >&2
    done
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
