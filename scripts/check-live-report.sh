#!/usr/bin/env bash
# The live report in a real browser: starts a small search, takes a screenshot of
# its report/index.html with headless Chromium (Debian's package) while the search
# runs and another after it ended, and checks what each page says. The
# screenshots are left in the run directory to look at.
#
#   scripts/check-live-report.sh [OUT_DIR]      # needs: apt-get install chromium
set -euo pipefail
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/effnas-live-XXXX")}
bin=target/release/search
[ -x "$bin" ] || cargo build --release -q -p search
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
shot() {
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d)" --window-size=1200,1400 --hide-scrollbars \
        --screenshot="$1" "file://$out/run/report/index.html" >/dev/null 2>&1
}
"$bin" --budget 3 --space tests/fixtures/tiny-space.json --reference tests/fixtures/tiny-reference.json \
    --proxy-epochs 1 --proxy-batch 64 --proxy-size 16 --rungs 1 \
    --step-batch 8 --step-size 16 --step-steps 1 --out "$out/run" >"$out/search.out" 2>"$out/search.log" &
search=$!
until grep -qs "Live: this run is still going" "$out/run/report/index.html"; do
    kill -0 $search 2>/dev/null || { echo "the search ended before a live report was seen" >&2; exit 1; }
    sleep 0.2
done
shot "$out/live.png"
grep -q 'http-equiv="refresh"' "$out/run/report/index.html"
wait $search
shot "$out/ended.png"
grep -q "This run ended at" "$out/run/report/index.html"
! grep -q 'http-equiv="refresh"' "$out/run/report/index.html"
echo "live and ended reports as expected; screenshots: $out/live.png $out/ended.png"
