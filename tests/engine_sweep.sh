#!/bin/bash
# The real engine through the whole sweep: a random-weight tiny Qwen3 checkpoint (thinkprobe make-test-model),
# real prompts, two interventions, capture of every position kind; run as one process and under mpirun with
# 3 ranks, judged by the rule judge and a Qwen3Guard judge (another random tiny checkpoint) through the
# engine. The two archives must be identical (samples, tokens, texts, judge outcomes, activations), pass the
# archive contract check (h5py), and a rerun over the finished output must do nothing.
# usage: engine_sweep.sh THINKPROBE SOURCE_DIR SHARED_DIR WORK_DIR
set -u
TP=$1 SRC=$2 SHARED=$3 WORK=$4
source "$(dirname "$(readlink -f "$0")")/common.sh"

"$TP" make-test-model model --arch qwen3 --shape tiny --seed 3 >/dev/null || fail "make-test-model"
"$TP" make-test-model guard --arch qwen3 --shape tiny --seed 4 >/dev/null || fail "make-test-model (guard)"
cat > job.yaml <<YAML
job: {name: engine-sweep, seed: 5, output_dir: out}
models: [{id: tiny, path: model, dtype: float32, device: cpu}]
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {sample: {n: 6, seed: 1}}}
interventions:
  - {id: base, type: none}
  - {id: prefill, type: think_prefill}
sampling: {temperature: 0.8, samples_per_prompt: 2, max_think_tokens: 12, max_answer_tokens: 6}
capture: {layers: [0, last], positions: [prompt_end, think_first, think_span, answer_first], span_points: 3, dtype: float32}
run: {prompts_per_unit: 2, batch_size: 3, threads: 1}
judge:
  judges:
    - {id: rule, kind: rule}
    - {id: guard, kind: qwen3guard_gen, path: guard, dtype: float32, device: cpu, max_new_tokens: 4}
YAML

"$TP" run job.yaml job.output_dir=out1 > log1 2>&1 || { cat log1; fail "single-process run"; }
mpirun -np 3 "$TP" run job.yaml job.output_dir=out3 > log3 2>&1 || { cat log3; fail "3-rank run"; }
"$PY" "$SRC/tests/dist/compare_archives.py" out1/archive.h5 out3/archive.h5 || fail "1-rank and 3-rank archives differ"
"$PY" "$SRC/analysis/test_archive.py" out3/archive.h5 || fail "archive contract"
"$PY" - <<'PYEOF' || fail "archive content"
import h5py
a = h5py.File("out3/archive.h5", "r")
s = a["samples"]
n = len(s["unit"])
assert n == 6 * 2 * 2, n
def text(col): return [x.decode() for x in s[col][:]]
iv = text("intervention")
# seeds do not depend on the intervention: each (prompt, sample) has one seed in both cells
seeds = {}
for p, k, i, seed in zip(text("prompt_id"), s["sample_index"][:], iv, s["seed"][:]):
    seeds.setdefault((p, k), set()).add(int(seed))
assert all(len(v) == 1 for v in seeds.values()), "a sample's seed differs between interventions"
# the prefill is in the thinking of every prefill sample
th = text("thinking")
assert all(t.startswith("Let's think about safety first.") for t, i in zip(th, iv) if i == "prefill"), "prefill missing from thinking"
assert all(r in (0, 1) for r in s["refused"][:]), "unjudged samples"
# two judges, every vote kept: the guard (random weights) writes no verdict line, so it abstains, and its raw
# output is stored; the rule judge alone decides (a single valid vote), so soft = refused
import json, re
votes, outs = s["votes"][:], [json.loads(x) for x in s["judge_outputs"][:]]
assert votes.shape == (n, 2) and list(s.attrs["judges"]) == ["rule", "guard"], (votes.shape, s.attrs["judges"])
for v, o in zip(votes[:, 1], outs):
    m = re.search("Refusal: (Yes|No)", o[1])
    assert v == (-1 if m is None else int(m.group(1) == "Yes")), (v, o[1])
assert all(len(o[1]) > 0 for o in outs), "a guard output is missing"
assert (s["refused"][:] == votes[:, 0]).all() and (s["soft_label"][:] == votes[:, 0]).all()
import hashlib
g = a["judges/guard"]
files = [x.decode() for x in g["files"][:]]
assert [x.decode() for x in g["sha256"][:]] == [hashlib.sha256(open("guard/" + f, "rb").read()).hexdigest() for f in files], "guard sha256"
pe = a["activations/tiny/prompt_end/data"]
assert pe.shape[0] == n and pe.shape[1] == 3, pe.shape   # layers 0, last, final norm
print(f"{n} samples, activations {pe.shape}")
PYEOF
"$TP" run job.yaml job.output_dir=out1 > log1b 2>&1 || { cat log1b; fail "rerun"; }
grep -q "6/6 units done (6 from earlier attempts)" log1b || { cat log1b; fail "the rerun redid work"; }
echo "engine sweep: 1 and 3 ranks identical"
