#!/bin/bash
# Slurm end to end, against real daemons (slurm_up.sh: munge, slurmctld, slurmd on localhost):
#  1. `thinkprobe submit` renders the sbatch script of the quick-start job (jobs/quickstart.yaml, on a demo
#     model trained for a few steps), sbatch runs it (srun --mpi=pmix, 3 ranks, the real engine); the archive
#     is complete and `thinkprobe status` shows the job.
#  2. the same job is submitted again and requeued mid-run with `scontrol requeue`: the job comes back,
#     resumes, and completes every unit exactly once over two attempts, equal to the clean run.
#  3. `submit --array`: one independent job per model (array tasks), each complete in OUTDIR/<model id>.
# usage: slurm_e2e.sh THINKPROBE SOURCE_DIR SHARED_DIR WORK_DIR
set -u
TP=$1 SRC=$2 SHARED=$3 WORK=$4
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; tail -n 30 out*/slurm/*.out 2>/dev/null; exit 1; }

export TP_SLURM_DIR=$WORK/cluster
bash "$SRC/tests/slurm/slurm_up.sh" || fail "slurm_up"
trap 'bash "$SRC/tests/slurm/slurm_down.sh"' EXIT
export SLURM_CONF=$TP_SLURM_DIR/slurm.conf

# The quick-start job (jobs/quickstart.yaml) on a quickly trained demo model (20 steps: the sweep's numbers do
# not matter here, its units do), with resources for this one-node CPU cluster given as overrides.
"$TP" demo-model model --steps 20 --threads 1 > demo.log 2>&1 || { cat demo.log; fail "demo-model"; }
sed -e "s#\.\./models/demo#$WORK/model#g" -e "s#\.\./out/quickstart#out1#" "$SRC/jobs/quickstart.yaml" > job.yaml
SLURM_CPU=(slurm.gpus_per_node=0 slurm.tasks_per_node=2 slurm.cpus_per_task=1 slurm.time=00:15:00 'slurm.extra_sbatch=[--overcommit]' slurm.signal_seconds=30)
N_UNITS=$("$TP" plan --json job.yaml | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"]["units"])')
N_SAMPLES=$("$TP" plan --json job.yaml | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"]["samples"])')

wait_gone() {  # wait_gone JOBID SECONDS: until the job has left the queue
  for i in $(seq 1 $(($2 * 5))); do [ -z "$(squeue -h -j "$1" -o %T 2>/dev/null)" ] && return 0; sleep 0.2; done
  return 1
}
journal_done() { local n; n=$(grep -c '"event":"done"' "$1/journal.jsonl" 2>/dev/null); echo "${n:-0}"; }
check_once() {  # check_once OUTDIR N_UNITS N_SAMPLES
  "$PY" - "$@" <<'PYEOF' || fail "exactly-once check of $1"
import collections, json, sys, h5py
out, n_units, n_samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = collections.Counter(json.loads(l)["unit"] for l in open(f"{out}/journal.jsonl") if json.loads(l)["event"] == "done")
assert len(done) == n_units and set(done.values()) == {1}, f"journal: {len(done)} units, counts {set(done.values())}"
units = h5py.File(f"{out}/archive.h5", "r")["samples/unit"][:]
assert len(units) == n_samples, f"archive: {len(units)} samples, expected {n_samples}"
print(f"{out}: {n_units} units once each, {n_samples} samples")
PYEOF
}

# 1. submit, run to completion
"$TP" submit job.yaml "${SLURM_CPU[@]}" > submit1.log 2>&1 || { cat submit1.log; fail "submit"; }
J1=$(sed -n 's/^submitted batch job //p' submit1.log)
[ -n "$J1" ] || fail "no job id in submit output"
grep -q "^#SBATCH --ntasks=3$" out1/slurm/*.sbatch || fail "rendered script lacks --ntasks=3"
wait_gone "$J1" 240 || fail "job $J1 did not finish"
grep -q "$N_UNITS/$N_UNITS units done" out1/slurm/*.out || fail "job $J1 did not complete its units"
check_once out1 $N_UNITS $N_SAMPLES
"$TP" status out1 > status1.log || fail "status"
grep -q "$N_UNITS/$N_UNITS units done" status1.log && grep -q "slurm job $J1: COMPLETED" status1.log || { cat status1.log; fail "status output"; }

# 2. the same job again, requeued mid-run: stopped (SIGTERM: running units finish), requeued, resumed
"$TP" submit job.yaml job.output_dir=out2 "${SLURM_CPU[@]}" > submit2.log 2>&1 || { cat submit2.log; fail "submit 2"; }
J2=$(sed -n 's/^submitted batch job //p' submit2.log)
for i in $(seq 1 600); do [ "$(journal_done out2)" -ge 2 ] && break; sleep 0.1; done
[ "$(journal_done out2)" -ge 2 ] || fail "job $J2 made no progress"
scontrol requeue "$J2" || fail "scontrol requeue"
for i in $(seq 1 900); do scontrol show job "$J2" 2>/dev/null | grep -q "Restarts=1" && break; sleep 0.2; done
scontrol show job "$J2" | grep -q "Restarts=1" || fail "job $J2 was not requeued"
wait_gone "$J2" 300 || fail "requeued job $J2 did not finish"
check_once out2 $N_UNITS $N_SAMPLES
attempts=$(grep -c '"event":"attempt"' out2/journal.jsonl)
[ "$attempts" -ge 2 ] || fail "expected 2 attempts in the journal, found $attempts"
"$TP" status out2 | grep -q "$N_UNITS/$N_UNITS units done" || fail "status after requeue"
"$PY" "$SRC/tests/dist/compare_archives.py" out1/archive.h5 out2/archive.h5 || fail "the requeued run differs from the clean one"

# 3. --array: one independent job per model, each into OUTDIR/<model id> (a small two-model job, dry engine)
"$TP" make-test-model tiny >/dev/null && cp -r tiny tiny2 || fail "make-test-model"
cat > job2.yaml <<YAML
job: {name: slurm-array, seed: 9, output_dir: out3}
models: [{id: tiny, path: tiny}, {id: tiny2, path: tiny2}]
prompt_sets: [{id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {sample: {n: 12, seed: 1}}}]
sampling: {samples_per_prompt: 2}
run: {prompts_per_unit: 1}
slurm: {gpus_per_node: 0, tasks_per_node: 2, cpus_per_task: 1, time: "00:10:00", extra_sbatch: [--overcommit]}
YAML
"$TP" submit job2.yaml --array --dry-engine > submit3.log 2>&1 || { cat submit3.log; fail "submit --array"; }
J3=$(sed -n 's/^submitted batch job //p' submit3.log)
grep -q "^#SBATCH --array=0-1$" out3/slurm/*.sbatch || fail "rendered script lacks --array=0-1"
wait_gone "$J3" 240 || fail "array job $J3 did not finish"
check_once out3/tiny 12 24
check_once out3/tiny2 12 24
echo "PASS slurm: submit + complete, requeue + resume (every unit once over $attempts attempts), per-model array"
