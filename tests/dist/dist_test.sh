#!/bin/bash
# Process-level tests of the distributed sweep, run by ctest (tests/dist_mpi.cmake) with real mpirun
# processes and the dry engine: usage dist_test.sh CASE THINKPROBE SOURCE_DIR SHARED_DIR WORK_DIR.
# Each case builds a small job (2 stub model folders, 2 prompt sets, 2 interventions: 36 units of 6
# samples; a rule and a guard judge, whose votes the dry engine simulates) in its own folder and checks
# outcomes against a reference: the archive of a clean run with another rank count, the plan (thinkprobe
# plan --units), the journal.
set -u
CASE=$1 TP=$2 SRC=$3 SHARED=$4 WORK=$5
export THINKPROBE_PROGRESS_SECONDS=1000
source "$(dirname "$(readlink -f "$0")")/../common.sh"

for m in m1 m2; do
  mkdir -p models/$m
  echo '{"num_hidden_layers": 4}' > models/$m/config.json
  echo '{}' > models/$m/tokenizer.json
  echo "stub weights $m" > models/$m/model.safetensors
done
cat > job.yaml <<YAML
job: {name: dist-test, seed: 7, output_dir: out}
models:
  - {id: m1, path: models/m1}
  - {id: m2, path: models/m2}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {limit: 12}}
  - {id: adv, path: $SHARED/data/prompts/advbench.jsonl, filter: {limit: 6}}
interventions:
  - {id: base, type: none}
  - {id: again, type: none}
sampling: {samples_per_prompt: 3}
capture: {layers: [0, last], positions: [prompt_end, think_first, think_span], span_points: 4, dtype: float16}
run: {prompts_per_unit: 2, max_retries: 1}
judge:
  judges:
    - {id: rule, kind: rule}
    - {id: guard, kind: qwen3guard_gen, path: models/m2}
YAML
N_UNITS=36 N_SAMPLES=216

run() {  # run NP OUTDIR [args...]: prints the output, returns the exit status
  local np=$1 out=$2; shift 2
  if [ "$np" = 0 ]; then "$TP" run job.yaml job.output_dir=$out --dry-engine "$@"
  else mpirun -np "$np" "$TP" run job.yaml job.output_dir=$out --dry-engine "$@"; fi
}

# Every unit of the plan exactly once in the archive, the journal and the shards agreeing.
check_once() {
  local out=$1
  "$PY" - "$out" "$N_UNITS" "$N_SAMPLES" <<'PYEOF' || fail "exactly-once check of $1"
import json, sys, collections, h5py, numpy as np
out, n_units, n_samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = collections.Counter()
lost = set()
rows = {}
for line in open(f"{out}/journal.jsonl"):
    e = json.loads(line)
    if e["event"] == "done":
        done[e["unit"]] += 1; rows[e["unit"]] = e
    if e["event"] == "lost":
        done[e["unit"]] -= 1
assert sorted(set(done.values())) == [1], f"journal: units done more than once or lost: {[u for u, c in done.items() if c != 1]}"
assert len(done) == n_units, f"journal has {len(done)} units, the plan {n_units}"
a = h5py.File(f"{out}/archive.h5", "r")
units = a["samples/unit"][:].astype(str)
assert len(units) == n_samples, f"archive has {len(units)} samples, expected {n_samples}"
c = collections.Counter(units)
assert len(c) == n_units and all(v == n_samples // n_units for v in c.values()), "archive: a unit's rows missing or repeated"
# the journal and the shards agree: each unit's journaled rows in its shard are that unit's rows
for u, e in rows.items():
    s = h5py.File(f"{out}/{e['shard']}", "r")
    got = s["samples/unit"][e["sample_begin"]:e["sample_begin"] + e["n_samples"]].astype(str)
    assert list(got) == [u] * e["n_samples"], f"shard {e['shard']} rows {e['sample_begin']}+{e['n_samples']} are not unit {u}"
print(f"{out}: {n_units} units once each, {n_samples} samples, journal and shards agree")
PYEOF
}

wait_journal() {  # wait_journal OUTDIR N: until N units are journaled done (10 s at most)
  for i in $(seq 1 200); do
    n=$(grep -c '"event":"done"' "$1/journal.jsonl" 2>/dev/null); n=${n:-0}
    [ "$n" -ge "$2" ] && return; sleep 0.05
  done
}

case $CASE in
np1|np2|np4)
  np=${CASE#np}; [ "$np" = 1 ] && np=0   # np1: no mpirun at all, a plain single process
  run $np out || fail "run exited $?"
  check_once out
  "$PY" "$SRC/analysis/test_archive.py" out/archive.h5 || fail "archive contract"
  ;;
equal)
  # Reference: the single-process run. 2, 3 and 5 ranks must give identical samples and activations.
  for np in 0 2 3 5; do run $np out$np > log$np 2>&1 || { cat log$np; fail "run with $np ranks exited"; }; done
  "$PY" "$SRC/tests/dist/compare_archives.py" out0/archive.h5 out2/archive.h5 out3/archive.h5 out5/archive.h5 || fail "archives differ across rank counts"
  "$TP" archive pack out3 || fail "pack"
  "$PY" "$SRC/analysis/test_archive.py" out3/archive.h5 out3/archive-packed.h5 || fail "archive contract (packed)"
  "$PY" "$SRC/tests/dist/compare_archives.py" out0/archive.h5 out3/archive-packed.h5 || fail "packed file differs"
  ;;
kill)
  # A worker killed with SIGKILL mid-run takes the job down; the rerun completes with every unit once,
  # and the result equals a clean run's.
  run 0 ref > /dev/null 2>&1 || fail "reference run"
  THINKPROBE_DRY_ENGINE_DELAY_MS=60 run 3 out > log1 2>&1 &
  launcher=$!
  wait_journal out 8
  victim=""
  for p in $(pgrep -f "thinkprobe run job.yaml job.output_dir=out "); do
    r=$(tr '\0' '\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    [ "$r" = 1 ] && [ "$(readlink /proc/$p/cwd)" = "$(pwd -P)" ] && victim=$p
  done
  [ -n "$victim" ] || fail "no worker of rank 1 to kill"
  kill -9 "$victim"
  wait $launcher && fail "the killed run exited 0"
  "$TP" inspect out | grep -q "not finished" || fail "inspect does not show the killed attempt as unfinished"
  run 2 out > log2 2>&1 || { cat log2; fail "rerun exited"; }
  # the units the first attempt journaled (a line torn by the kill is cut off by the rerun) are resumed
  done_before=$(grep '"event":"done"' out/journal.jsonl | grep -c '"attempt":1,')
  [ "$done_before" -ge 1 ] && [ "$done_before" -lt $N_UNITS ] || fail "the kill did not hit the run mid-way ($done_before units done)"
  grep -q "($done_before from earlier attempts)" log2 || { cat log2; fail "the rerun did not resume the $done_before journaled units"; }
  check_once out
  "$PY" "$SRC/tests/dist/compare_archives.py" ref/archive.h5 out/archive.h5 || fail "resumed archive differs from a clean run"
  ;;
signal)
  # SIGTERM to every rank (what slurmstepd does on scancel, preemption or scontrol requeue): running units
  # finish, no new ones start, exit 3; the rerun completes with every unit once, equal to a clean run.
  run 0 ref > /dev/null 2>&1 || fail "reference run"
  THINKPROBE_DRY_ENGINE_DELAY_MS=60 run 3 out > log1 2>&1 &
  launcher=$!
  wait_journal out 6
  pkill -TERM -f "^$TP run job.yaml job.output_dir=out " || fail "no ranks to signal"
  wait $launcher; rc=$?
  [ "$rc" = 3 ] || { cat log1; fail "exit $rc after SIGTERM, expected 3 (stopped early, resumable)"; }
  grep -q "stopped early by a signal" log1 || { cat log1; fail "no stop message"; }
  done_before=$(grep -c '"event":"done"' out/journal.jsonl)
  [ "$done_before" -lt $N_UNITS ] || fail "the run finished before the signal"
  run 2 out > log2 2>&1 || { cat log2; fail "rerun exited"; }
  grep -q "($done_before from earlier attempts)" log2 || { cat log2; fail "the rerun did not resume $done_before units"; }
  check_once out
  "$PY" "$SRC/tests/dist/compare_archives.py" ref/archive.h5 out/archive.h5 || fail "resumed archive differs from a clean run"
  ;;
truncate)
  run 2 out > log1 2>&1 || fail "first run"
  shard=$(ls out/shards/*.h5 | head -1)
  size=$(stat -c %s "$shard")
  truncate -s $((size / 2)) "$shard"
  run 2 out > log2 2>&1 && fail "a run over a truncated shard succeeded"
  grep -q "is corrupt or truncated" log2 || { cat log2; fail "no clear message about the truncated shard"; }
  grep -q "HINT: move the shard aside" log2 || { cat log2; fail "no hint"; }
  [ "$(grep -c 'is corrupt or truncated' log2)" = 1 ] || fail "the message is printed more than once"
  mv "$shard" "$shard.bad"
  run 0 out > log3 2>&1 || { cat log3; fail "rerun after moving the shard aside"; }
  grep -q "will be redone" log3 || fail "the lost units are not announced"
  check_once out
  ;;
refuse)
  run 0 out > /dev/null 2>&1 || fail "first run"
  run 2 out job.seed=8 > log2 2>&1 && fail "a different job over the same folder was accepted"
  grep -q "holds run .* of another job" log2 || { cat log2; fail "no clear refusal message"; }
  run 2 out job.seed=8 --force > log3 2>&1 || { cat log3; fail "--force"; }
  ls out/superseded/*/journal.jsonl > /dev/null || fail "the old run was not moved to superseded/"
  check_once out
  ;;
failures)
  # a unit that always throws: retried once on another worker, then failed; the sweep finishes, exit 4
  THINKPROBE_DRY_ENGINE_FAIL="m2/again/xs/xstest-0003" run 3 out > log1 2>&1; rc=$?
  [ $rc = 4 ] || { cat log1; fail "exit $rc, expected 4"; }
  grep -q "failed units" log1 && grep -q "m2/again/xs/xstest-0003+2/s0-3 after 2 tries: dry engine: injected failure" log1 || { cat log1; fail "summary"; }
  grep '"event":"failed"' out/journal.jsonl | grep -q '"tries":2' || fail "failure not journaled"
  grep -q "35/36 units done" log1 || fail "the other units did not finish"
  # a unit failing only on rank 1 succeeds on its retry elsewhere; the rerun also retries the failed unit
  THINKPROBE_DRY_ENGINE_FAIL="xstest-0003@1" run 3 out > log2 2>&1 || { cat log2; fail "rerun with a rank-1-only failure"; }
  check_once out
  ;;
usr1)
  # SIGUSR1 (Slurm's time-limit warning) to the launcher: no new units, running ones finish and are
  # journaled, exit 3; the rerun finishes the rest, every unit once, equal to a clean run
  run 0 ref > /dev/null 2>&1 || fail "reference run"
  THINKPROBE_DRY_ENGINE_DELAY_MS=60 mpirun -np 3 "$TP" run job.yaml job.output_dir=out --dry-engine > log1 2>&1 &
  launcher=$!  # mpirun itself, as $RUN in slurm/thinkprobe.sbatch
  wait_journal out 6
  kill -USR1 $launcher
  wait $launcher; rc=$?
  [ $rc = 3 ] || { cat log1; fail "exit $rc after USR1, expected 3"; }
  grep -q "stopped early by a signal with" log1 || { cat log1; fail "no stop message"; }
  grep -q '"event":"end"' out/journal.jsonl || fail "the stopped attempt did not end cleanly"
  run 2 out > log2 2>&1 || { cat log2; fail "rerun after USR1"; }
  check_once out
  "$PY" "$SRC/tests/dist/compare_archives.py" ref/archive.h5 out/archive.h5 || fail "archive after USR1 + rerun differs from a clean run"
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS $CASE"
