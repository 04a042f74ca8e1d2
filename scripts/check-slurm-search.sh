#!/usr/bin/env bash
# A shared search worked on by the Slurm recipe users run, on a real (single-node)
# Slurm cluster: starts a search in PostgreSQL, submits deploy/slurm/effnas-workers.sbatch
# unchanged as a job array of CPU workers (the device by EFFNAS_DEVICE, the CPU count
# on sbatch's command line; the GPU request stays and is met by the test cluster's
# pretend GPUs), cancels one task while it holds a trial and requeues another, and
# then checks that the budget is done, that every trial was recorded once and the two
# interrupted ones retried, that sacct shows the tasks, and that the report is written.
# With EFFNAS_TEST_POSTGRES_DIR (the server's directory from scripts/test-postgres.sh),
# it also restarts the database server while the tasks train: they must reconnect and
# go on, with nothing lost and nothing evaluated twice.
#
#   SLURM_CONF=$(scripts/test-slurm.sh start) EFFNAS_TEST_POSTGRES=postgres://… \
#       [EFFNAS_TEST_POSTGRES_DIR=/tmp/effnas-pg] scripts/check-slurm-search.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLURM_CONF:?start a cluster with scripts/test-slurm.sh start and export SLURM_CONF}"
: "${EFFNAS_TEST_POSTGRES:?start a server with scripts/test-postgres.sh start and export EFFNAS_TEST_POSTGRES}"
export SLURM_CONF
bin="$(realpath "${1:-target/release/search}")"
url="$EFFNAS_TEST_POSTGRES"
name="slurm-check-$$"
budget=8
work="$(mktemp -d "${TMPDIR:-/tmp}/effnas-slurm-check-XXXX")"
fixtures="$PWD/tests/fixtures"
job=""
creator=""

fail() {
    echo "check-slurm-search: FAILED: $*" >&2
    echo "--- logs in $work" >&2
    tail -n 20 "$work"/*.log >&2 || true
    exit 1
}
cleanup() {
    [ -n "$job" ] && scancel "$job" 2>/dev/null || true
    [ -n "$creator" ] && kill "$creator" 2>/dev/null || true
}
trap cleanup EXIT

sql() { psql "$url" -qtAX -c "$1"; }
trials_where() {
    sql "SELECT t.id FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
         WHERE r.name = '$name' AND $1 ORDER BY t.id"
}
# Waits up to $1 seconds for `$2…` to print something; prints its first line.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs)) out
    while [ $SECONDS -lt $deadline ]; do
        out="$("$@" 2>/dev/null | head -n 1)"
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.1
    done
    fail "$what (after ${secs}s)"
}

# The search: the test fixtures' tiny space, trials of a few seconds, and a short
# grace so that an interrupted trial is soon retried (and long enough that a database
# restart does not pass for a lost worker).
"$bin" --store "$url" --run "$name" --budget "$budget" \
    --space "$fixtures/tiny-space.json" --reference "$fixtures/tiny-reference.json" \
    --references "$fixtures/tiny-reference.json" --proxy-epochs 1 --proxy-batch 32 \
    --proxy-size 32 --step-batch 2 --step-size 16 --step-steps 1 --seed 5 \
    --heartbeat 0.5 --grace 8 2>"$work/creator.log" &
creator=$!
wait_for 120 "the search was never created" sql "SELECT 1 FROM effnas_runs WHERE name = '$name'" >/dev/null

# The recipe, as users submit it; the log per task appended to across requeues.
job="$(EFFNAS_STORE="$url" EFFNAS_RUN="$name" EFFNAS_BIN="$bin" EFFNAS_DEVICE=cpu \
    sbatch --parsable --array=0-2 --cpus-per-task=1 --open-mode=append \
    --output="$work/worker-%A_%a.log" deploy/slurm/effnas-workers.sbatch)"
echo "submitted job array $job (search $name, budget $budget)" >&2

# Cancel the task that first holds a trial, then requeue the next one that does.
held_by() {
    sql "SELECT t.id || ' ' || t.worker FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
         WHERE r.name = '$name' AND t.state = 'running' AND t.worker LIKE 'slurm-$job-%'
         $1 ORDER BY t.id LIMIT 1"
}
read -r cancelled cancelled_worker <<<"$(wait_for 120 "no Slurm task ever held a trial" held_by "")"
scancel "${job}_${cancelled_worker##*-}"
echo "cancelled task ${cancelled_worker##*-} while it held trial #$cancelled" >&2
read -r requeued requeued_worker <<<"$(wait_for 120 "no other Slurm task held a trial" \
    held_by "AND t.worker <> '$cancelled_worker'")"
scontrol requeue "${job}_${requeued_worker##*-}"
echo "requeued task ${requeued_worker##*-} while it held trial #$requeued" >&2
restarted=""
if [ -n "${EFFNAS_TEST_POSTGRES_DIR:-}" ]; then
    wait_for 120 "no Slurm task held a trial to restart under" \
        held_by "AND t.id NOT IN ($cancelled, $requeued)" >/dev/null
    # Down for 3 s: long enough for several refused reconnections, within the grace.
    port="$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$url")"
    started=$(date +%s%N)
    scripts/test-postgres.sh restart "$EFFNAS_TEST_POSTGRES_DIR" "$port" 3
    restarted=", the database restarted under them ($((($(date +%s%N) - started) / 1000000)) ms down)"
    echo "restarted the database server while a task trained" >&2
fi

wait "$creator" || fail "the search that started it failed"
creator=""
# The workers leave when the budget is done; a requeued task may start again first.
deadline=$((SECONDS + 300))
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || fail "the job array did not finish: $(squeue -j "$job")"
    sleep 1
done
done_job="$job"
job=""

# Every trial done, once; the two interrupted ones at their second attempt.
rows="$(sql "SELECT t.id || ' ' || t.state || ' ' || t.attempts FROM effnas_trials t
             JOIN effnas_runs r ON r.id = t.run_id WHERE r.name = '$name' ORDER BY t.id")"
[ "$(wc -l <<<"$rows")" = "$budget" ] || fail "expected $budget trials, found: $rows"
while read -r id state attempts; do
    [ "$state" = done ] || fail "trial #$id is $state"
    want=1
    if [ "$id" = "$cancelled" ] || [ "$id" = "$requeued" ]; then want=2; fi
    [ "$attempts" = "$want" ] || fail "trial #$id was claimed $attempts times, expected $want"
done <<<"$rows"
# Each claim is one evaluation started, in some process's log: nothing else ran.
starts="$(cat "$work"/*.log | grep -c "evaluating #" || true)"
[ "$starts" = $((budget + 2)) ] || fail "$starts evaluations started, expected $((budget + 2))"
grep -hq "evaluating #$cancelled .*(attempt 2)" "$work"/*.log || fail "trial #$cancelled was not retried"
grep -hq "evaluating #$requeued .*(attempt 2)" "$work"/*.log || fail "trial #$requeued was not retried"
slurm_done="$(trials_where "t.worker LIKE 'slurm-$done_job-%'" | wc -l)"
[ "$slurm_done" -ge 1 ] || fail "no trial was finished by a Slurm task"

# Slurm's accounting saw the tasks: the cancelled one, the requeue, the rest completed.
acct="$(sacct -j "$done_job" -D -X -n -P --format=JobID,State)"
echo "$acct" | sed 's/^/  sacct: /' >&2
grep -q "^${done_job}_${cancelled_worker##*-}|CANCELLED" <<<"$acct" || fail "sacct does not show the cancelled task"
grep -q "^${done_job}_${requeued_worker##*-}|REQUEUED" <<<"$acct" || fail "sacct does not show the requeue"
grep -q "|COMPLETED" <<<"$acct" || fail "sacct shows no completed task"

# The search's report, from the database.
"$bin" pull --store "$url" --run "$name" --out "$work/pulled" 2>>"$work/pull.log"
"$bin" report "$work/pulled" 2>>"$work/pull.log" >/dev/null
[ -s "$work/pulled/report/index.html" ] || fail "no report"
ids="$(python3 -c 'import json,sys; ids=[json.loads(l)["id"] for l in open(sys.argv[1])]; print(len(set(ids)))' "$work/pulled/trials.jsonl")"
[ "$ids" = "$budget" ] || fail "the pulled run holds $ids trials"

echo "check-slurm-search: the Slurm job array finished the search: $budget trials" \
    "($slurm_done by Slurm tasks), #$cancelled retried after scancel, #$requeued after" \
    "requeue, each recorded once$restarted; sacct shows the tasks; report written" >&2
rm -rf "$work"
