#!/usr/bin/env bash
# Successive halving against plain evolution at the same wall clock: the main
# job's settings (the `paper` space, the embedded data), one search of each per
# seed, each stopped after SECONDS. Prints a Markdown table.
#
#   scripts/halving-vs-plain.sh [--paired] [--judge EPOCHS] [--out DIR] [SECONDS] [SEEDS…]
#                                                  # defaults: 360 s, seeds 1 2 3
#
# By default the two searches of a seed run one after the other, each on every core.
# With --paired they run at the same time, each pinned to one core (taskset, one
# rayon thread): a shared machine's slow minutes then fall on both searches alike,
# and the comparison costs half the wall clock. The cores swap from seed to seed.
#
# The two searches score candidates with different proxies (halving's promoted
# candidates train one epoch at 24 px, then one at 32; plain evolution's two at 32),
# so their best rewards do not compare directly. --judge EPOCHS trains each search's
# best network once more, the same way for all (the proxy's recipe, EPOCHS epochs at
# 32 px on the embedded data, seed 0), and reports that accuracy, and the reward with
# it in place of the proxy's. With --out, searches already in DIR are kept, so a
# finished comparison can be judged afterwards.
set -euo pipefail
paired=0 judge=0 out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --paired) paired=1; shift ;;
    --judge) judge=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) break ;;
    esac
done
seconds=${1:-360}
shift || true
seeds=${*:-1 2 3}
bin=target/release/search
[ -x "$bin" ] || cargo build --release -q -p search
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/effnas-halving-XXXX"); fi
mkdir -p "$out"
echo "runs in $out" >&2

# One search: rungs, seed, and (paired) the core it is pinned to.
search() {
    local rungs=$1 seed=$2 core=${3:-}
    local run="$out/rungs$rungs-seed$seed" pin=()
    [ -f "$run.wall" ] && return 0
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
# The judge: each search's best network trained again, the same way for all.
if [ "$judge" -gt 0 ]; then
    for wall in "$out"/*.wall; do
        run="${wall%.wall}"
        [ -s "$run.judge.json" ] && continue
        rm -rf "$run.best.json" "$run.judge"   # what an interrupted judging left
        "$bin" export "$run" best --out "$run.best.json"
        "$bin" train --arch "$run.best.json" --data embedded --epochs "$judge" --batch 64 \
            --size 32 --optimizer adamw --decay cosine --no-ema --dropout 0.2 --strides keep \
            --seed 0 --out "$run.judge" --json > "$run.judge.json" 2> "$run.judge.log"
        echo "judged: $(basename "$run")" >&2
    done
fi

python3 - "$out" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
rows = {1: [], 2: []}
for wall in sorted(out.glob("*.wall")):
    w = json.loads(wall.read_text())
    s = json.loads(wall.with_suffix(".json").read_text())
    best = s["best"] or {}
    row = {
        "seed": w["seed"], "wall_s": w["wall_s"], "candidates": s["trials"],
        "per_hour": s["trials"] / w["wall_s"] * 3600,
        "best": best.get("reward"), "hv": s["hypervolume"],
        "reached": s["rungs"]["reached"], "judged": None, "judged_reward": None,
    }
    judge = wall.with_suffix(".judge.json")
    if judge.exists() and judge.stat().st_size:
        acc = json.loads(judge.read_text())["report"]["val_acc"]
        # reward = accuracy x (step time and size factor): the factor stays.
        row["judged"] = acc
        row["judged_reward"] = acc * best["reward"] / best["accuracy"]
    rows[w["rungs"]].append(row)
judged = any(r["judged"] is not None for rs in rows.values() for r in rs)
fmt = lambda x, f: "–" if x is None else f.format(x)
extra = " judged accuracy | judged reward |" if judged else ""
print(f"runs in {out}\n")
print("| search | seed | wall s | candidates | per hour | rungs reached | best reward | hypervolume |" + extra)
print("|---|---|---|---|---|---|---|---|" + ("---|---|" if judged else ""))
for rungs, name in [(1, "evolution"), (2, "evolution + halving")]:
    for r in rows[rungs]:
        tail = f" {fmt(r['judged'], '{:.2%}')} | {fmt(r['judged_reward'], '{:.4f}')} |" if judged else ""
        print(f"| {name} | {r['seed']} | {r['wall_s']:.0f} | {r['candidates']} | {r['per_hour']:.0f} | "
              f"{' / '.join(map(str, r['reached']))} | {r['best']:.4f} | {100 * r['hv']:.2f}% |" + tail)
for rungs, name in [(1, "evolution"), (2, "evolution + halving")]:
    rs = rows[rungs]
    if rs:
        med = lambda k: statistics.median(r[k] for r in rs)
        tail = ""
        if judged and all(r["judged"] is not None for r in rs):
            tail = f" {med('judged'):.2%} | {med('judged_reward'):.4f} |"
        elif judged:
            tail = " | |"
        print(f"| **{name}, median** | | {med('wall_s'):.0f} | {med('candidates')} | {med('per_hour'):.0f} | | "
              f"{med('best'):.4f} | {100 * med('hv'):.2f}% |" + tail)
PY
