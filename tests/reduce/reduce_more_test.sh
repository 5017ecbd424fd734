#!/bin/bash
# Process tests of `thinkprobe reduce` beyond reduce_test.sh, run by ctest (tests/reduce_more.cmake):
#  mpi:   a dry-engine archive (1 model x 3 interventions) reduced by 1 process and by mpirun -np 2 and 3
#         (real Open MPI, oversubscribed): results.json and directions.safetensors are byte-identical.
#  steer: reduce a tiny random-weight checkpoint's run (make-test-model, real engine), then a second job
#         steers with a saved probe direction (params.file / tensor): the captured residual at the steered
#         layer moves by exactly alpha x v against the unsteered cell (reference: the vector in the file).
# usage: reduce_more_test.sh CASE THINKPROBE SHARED_DIR WORK_DIR
set -u
CASE=$1 TP=$2 SHARED=$3 WORK=$4
source "$(dirname "$(readlink -f "$0")")/../common.sh"

if [ "$CASE" = mpi ]; then
  stub_model models/m1
  cat > job.yaml <<YAML
job: {name: reduce-mpi, seed: 11, output_dir: out}
models:
  - {id: m1, path: models/m1}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {limit: 20}}
  - {id: adv, path: $SHARED/data/prompts/advbench.jsonl, filter: {limit: 10}}
interventions:
  - {id: base, type: none}
  - {id: again, type: none}
  - {id: third, type: none}
sampling: {samples_per_prompt: 3}
capture: {layers: [0, last], positions: [prompt_end, think_first], dtype: float32}
run: {prompts_per_unit: 5, threads: 1}
reduce: {folds: 4, bootstrap: 100, behaviour_bootstrap: 100, min_source_refusals: 2}
YAML
  "$TP" run job.yaml --dry-engine > run.log 2>&1 || { cat run.log; fail "thinkprobe run"; }
  "$TP" reduce out --out r1 > r1.log 2>&1 || { cat r1.log; fail "reduce, 1 process"; }
  for np in 2 3; do
    mpirun -np $np "$TP" reduce out --out r$np > r$np.log 2>&1 || { cat r$np.log; fail "mpirun -np $np reduce"; }
    cmp r1/results.json r$np/results.json || fail "results.json of $np ranks differs from 1 rank"
    cmp r1/directions.safetensors r$np/directions.safetensors || fail "directions of $np ranks differ from 1 rank"
  done
  "$PY" -c "import json,sys; r=json.load(open('r1/results.json')); assert [c['intervention'] for c in r['cells']]==['base','again','third'] and all(len(c['directions'])==2*3 for c in r['cells']), r['cells']" \
    || fail "cells or directions missing"
  echo "reduce mpi: 1, 2 and 3 ranks identical"
  exit 0
fi

[ "$CASE" = steer ] || fail "unknown case $CASE"
"$TP" make-test-model models/tiny > /dev/null || fail "make-test-model"
cat > a.yaml <<YAML
job: {name: dirs-a, seed: 5, output_dir: a}
models:
  - {id: tiny, path: models/tiny, dtype: float32, device: cpu}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {limit: 12}}
  - {id: adv, path: $SHARED/data/prompts/advbench.jsonl, filter: {limit: 8}}
interventions:
  - {id: base, type: none}
sampling: {samples_per_prompt: 2, max_think_tokens: 4, max_answer_tokens: 6}
judge: {judges: [{id: rule, kind: rule, refusal_patterns: ["e"]}]}   # random weights never refuse in words: any 'e' near the start labels a refusal
capture: {layers: [0, last], positions: [prompt_end], dtype: float32}
run: {prompts_per_unit: 10, threads: 1}
reduce: {folds: 3, bootstrap: 50, behaviour_bootstrap: 50, min_source_refusals: 1}
YAML
"$TP" run a.yaml > a.log 2>&1 || { cat a.log; fail "run a"; }
"$TP" reduce a > ra.log 2>&1 || { cat ra.log; fail "reduce a"; }
cat > b.yaml <<YAML
job: {name: dirs-b, seed: 6, output_dir: b}
models:
  - {id: tiny, path: models/tiny, dtype: float32, device: cpu}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {limit: 3}}
interventions:
  - {id: base, type: none}
  - {id: steer, type: steering, params: {file: a/reduce/directions.safetensors, tensor: tiny/base/prompt_end/1/probe, alpha: 3.0, layers: "1"}}
sampling: {samples_per_prompt: 1, max_think_tokens: 2, max_answer_tokens: 2}
capture: {layers: [0, last], positions: [prompt_end], dtype: float32}
run: {prompts_per_unit: 10, threads: 1}
YAML
"$TP" run b.yaml > b.log 2>&1 || { cat b.log; fail "run b (steering with the saved direction)"; }
"$PY" - <<'PYEOF' || fail "residual shift"
import h5py, json, numpy as np
r = json.load(open("a/reduce/results.json"))
d = [d for d in r["cells"][0]["directions"] if d["layer"] == 1][0]
assert d["probe"] == "tiny/base/prompt_end/1/probe", d
raw = open("a/reduce/directions.safetensors", "rb").read()
hl = int.from_bytes(raw[:8], "little")
t = json.loads(raw[8:8 + hl])[d["probe"]]
a, b = t["data_offsets"]
v = np.frombuffer(raw[8 + hl + a:8 + hl + b], "<f4").astype(np.float64)
assert t["shape"] == [64] and abs(np.linalg.norm(v) - 1) < 1e-6
f = h5py.File("b/archive.h5", "r")
g = f["activations/tiny/prompt_end"]
smp, li = g["sample"][()], list(g["layers"][()]).index(1)
x = g["data"][()][:, li, :].astype(np.float64)
iv = np.array([s.decode() for s in f["samples/intervention"][()]])
pid = np.array([s.decode() for s in f["samples/prompt_id"][()]])
for p in sorted(set(pid)):
    base = [r for r in range(len(smp)) if pid[smp[r]] == p and iv[smp[r]] == "base"][0]
    steer = [r for r in range(len(smp)) if pid[smp[r]] == p and iv[smp[r]] == "steer"][0]
    err = np.abs(x[steer] - x[base] - 3.0 * v).max()
    assert err < 1e-5, (p, err)
    print(p, "shift - 3 v:", err)
PYEOF
echo "reduce steer: the saved direction steers by alpha x v"
