#!/bin/bash
# Process test of `thinkprobe reduce` (ctest reduce_cli): a dry-engine run of 1 stub model x 2
# interventions x 30 prompts x 3 samples (the dry engine refuses harmful prompts with p 0.8, benign with
# p 0.1, and its activations are uniform noise), then reduce. References: counts and ASR/ORR recomputed
# from /samples with h5py; every probe AUROC recomputed with scikit-learn on the archive's activations
# with the fold assignment results.json exports; on noise the AUROCs sit near 0.5. Also: the report embeds
# its plots, a missing Python skips the report without failing, a mistyped override is refused.
# usage: reduce_test.sh THINKPROBE SOURCE_DIR SHARED_DIR WORK_DIR
set -u
TP=$1 SRC=$2 SHARED=$3 WORK=$4
source "$(dirname "$(readlink -f "$0")")/../common.sh"
stub_model models/m1
cat > job.yaml <<YAML
job: {name: reduce-test, seed: 11, output_dir: out}
models:
  - {id: m1, path: models/m1}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {limit: 20}}
  - {id: adv, path: $SHARED/data/prompts/advbench.jsonl, filter: {limit: 10}}
interventions:
  - {id: base, type: none}
  - {id: again, type: none}
sampling: {samples_per_prompt: 3}
capture: {layers: [0, 2, last], positions: [prompt_end, think_first, think_span], span_points: 4, dtype: float16}
run: {prompts_per_unit: 5, threads: 1}
reduce: {bootstrap: 200, behaviour_bootstrap: 200, min_source_refusals: 2}
YAML
"$TP" run job.yaml --dry-engine > run.log 2>&1 || { cat run.log; fail "thinkprobe run"; }

"$TP" reduce out reduce.folds=4 > reduce.log 2>&1 || { cat reduce.log; fail "thinkprobe reduce"; }
cat reduce.log
grep -q "report: .*report.html" reduce.log || fail "no report line"
[ "$(grep -o 'data:image/png;base64' out/reduce/report.html | wc -l)" -ge 5 ] || fail "report.html embeds fewer than 5 images"

"$PY" - "$SRC/schemas/results.schema.json" out/reduce/results.json out/archive.h5 out/reduce/directions.safetensors <<'PYEOF' || fail "results.json check"
import json, sys, collections
import h5py, jsonschema, numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

schema, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
raw = open(sys.argv[4], "rb").read()  # safetensors: u64 header size, JSON header, data
hlen = int.from_bytes(raw[:8], "little")
header = json.loads(raw[8:8 + hlen])
def tensor(name):
    t = header[name]
    assert t["dtype"] == "F32", t
    a, b = t["data_offsets"]
    return np.frombuffer(raw[8 + hlen + a:8 + hlen + b], dtype="<f4").reshape(t["shape"])
jsonschema.validate(r, schema)
s = r["settings"]
assert s["folds"] == 4 and s["bootstrap"] == 200 and s["min_source_refusals"] == 2, s
f = h5py.File(sys.argv[3], "r")
S = {k: f["samples"][k][()] for k in ("model", "intervention", "label", "refused", "prompt_set", "prompt_id")}
dec = lambda a: np.array([x.decode() if isinstance(x, bytes) else x for x in a])
model, iv, pset, pid = dec(S["model"]), dec(S["intervention"]), dec(S["prompt_set"]), dec(S["prompt_id"])
label, refused = S["label"].astype(int), S["refused"].astype(int)
assert len(r["cells"]) == 2, [c["intervention"] for c in r["cells"]]
assert sum(c["n"]["samples"] for c in r["cells"]) == len(label)
aurocs, covered, checked = [], 0, 0
for c in r["cells"]:
    m = (model == c["model"]) & (iv == c["intervention"])
    h, b = m & (label == 1), m & (label == 0)
    assert c["n"] == {"samples": int(m.sum()), "harmful": int(h.sum()), "benign": int(b.sum()), "prompts": 30,
                      "judged": int((m & (refused >= 0)).sum()), "refusals": int((m & (refused == 1)).sum())}, c["n"]
    assert c["dropped_samples"]["rows"] == [int(i) for i in np.where(m & (refused < 0))[0]]
    beh = {(x["metric"], x["by"], x.get("key")): x for x in c["behaviour"]}
    asr, orr = beh[("asr", "all", None)]["majority"], beh[("orr", "all", None)]["majority"]
    assert asr["n"] == h.sum() and abs(asr["value"] - (refused[h] == 0).mean()) < 1e-12, asr
    assert orr["n"] == b.sum() and abs(orr["value"] - (refused[b] == 1).mean()) < 1e-12, orr
    assert asr["lo"] <= asr["value"] <= asr["hi"] and orr["lo"] <= orr["value"] <= orr["hi"]
    assert beh[("asr", "all", None)]["soft"]["value"] == asr["value"]  # one judge: soft = majority
    for fo in c["probe_folds"]:
        g = f[f"activations/{c['model']}/{fo['position']}"]
        rows, fold = np.array(fo["activation_rows"]), np.array(fo["fold"])
        smp = g["sample"][()][rows]
        y, harmful = refused[smp], label[smp] == 1
        assert (model[smp] == c["model"]).all() and (iv[smp] == c["intervention"]).all() and (g["point"][()][rows] == 0).all()
        assert set(fold) == set(range(4))
        pr = [p for p in c["probe_rows"] if p["position"] == fo["position"]][0]
        assert pr["n"] == len(rows) and pr["n_refusals"] == int(y.sum()) and pr["n_prompts"] == len(set(zip(pset[smp], pid[smp])))
        dirs = {d["layer"]: d for d in c["directions"] if d["position"] == fo["position"]}
        for li, layer in enumerate(g["layers"][()]):
            x = g["data"][rows, li, :].astype(np.float64)
            # Directions, against numpy's difference of means and sklearn's pipeline fitted on all rows.
            d = dirs[int(layer)]
            dom, probe = tensor(d["dom"]), tensor(d["probe"])
            assert dom.shape == (x.shape[1],) and abs(np.linalg.norm(probe) - 1) < 1e-5
            assert np.allclose(dom, x[y == 1].mean(0) - x[y == 0].mean(0), rtol=1e-5, atol=1e-6)
            full = Pipeline([("s", StandardScaler()), ("p", PCA(min(s["pca_components"], x.shape[1]), svd_solver="full")),
                             ("l", LogisticRegression(C=s["c"], class_weight="balanced", solver="newton-cholesky", tol=1e-12, max_iter=1000))])
            logit = full.fit(x, y).decision_function(x)
            mine = d["probe_logit_norm"] * (x @ probe.astype(np.float64)) + d["probe_bias"]
            assert np.abs(mine - logit).max() < 1e-4 * max(1, np.abs(logit).max()), np.abs(mine - logit).max()
            prob = np.full(len(y), np.nan)
            for k in range(4):
                tr, te = fold != k, fold == k
                pipe = Pipeline([("s", StandardScaler()), ("p", PCA(min(s["pca_components"], x.shape[1]), svd_solver="full")),
                                 ("l", LogisticRegression(C=s["c"], class_weight="balanced", solver="newton-cholesky", tol=1e-12, max_iter=1000))])
                prob[te] = pipe.fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
            for p in c["probes"]:
                if p["position"] != fo["position"] or p["layer"] != layer or p["group"] == "benign":
                    continue
                sel = np.ones(len(y), bool) if p["group"] == "pooled" else harmful
                ref = roc_auc_score(y[sel], prob[sel])
                a = p["auroc"]
                assert p["n"] == sel.sum() and abs(a["value"] - ref) < 1e-6, (p, ref)
                aurocs.append(a["value"]); checked += 1
                covered += a["lo"] <= 0.5 <= a["hi"]
    assert len(c["valley"]) == 2 * 4, c["valley"]  # harmful and benign at each of span_points = 4
print(f"sklearn agrees on {checked} probe AUROCs; mean {np.mean(aurocs):.3f}; 95% CI holds 0.5 in {covered}/{checked}")
n_layers = len(f["activations/m1/prompt_end/layers"])  # 0, 2, last and the final norm
assert checked == 2 * 2 * n_layers * 2, checked  # cells x positions x layers x (harmful, pooled)
assert abs(np.mean(aurocs) - 0.5) < 0.08 and covered >= 0.8 * checked  # noise activations: no signal
PYEOF

THINKPROBE_PYTHON=/nonexistent/python "$TP" reduce out --out out/reduce-nopy > nopy.log 2>&1 || { cat nopy.log; fail "reduce without python"; }
grep -q "report: skipped" nopy.log && [ -f out/reduce-nopy/results.json ] && [ ! -f out/reduce-nopy/report.html ] || { cat nopy.log; fail "missing python not reported as a skipped report"; }

# More folds than prompts: every position is a note with the reason, behaviour still measured.
"$TP" reduce out --out out/reduce-folds reduce.folds=50 > folds.log 2>&1 || { cat folds.log; fail "reduce with too many folds"; }
"$PY" - out/reduce-folds/results.json <<'PYEOF' || fail "too many folds: notes"
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["cells"]:
    assert c["probes"] == [] and len(c["notes"]) == 2 and all("than folds (50)" in n["why"] for n in c["notes"]), c["notes"]
    assert any(b["metric"] == "asr" and b["majority"]["value"] is not None for b in c["behaviour"])
PYEOF

"$TP" reduce out reduce.fold=3 > bad.log 2>&1 && fail "a mistyped override was accepted"
grep -q "did you mean 'folds'" bad.log || { cat bad.log; fail "mistyped override message"; }
echo "reduce_cli: ok"
