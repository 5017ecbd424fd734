#!/bin/bash
# Decode-time defenses and a LoRA adapter through the real engine and the sweep (one process): a tiny random
# Qwen3 checkpoint whose prompt opens the thinking and whose </think> row of lm_head is a copy of a likely
# token's (so thinking ends by itself),
# a LoRA adapter written and merged by hand with numpy (the reference: thinkprobe's merge must give the
# logits of the numpy-merged checkpoint), and a job of none / extended_thinking / saferemind / psr. The
# archive must pass the contract check, and each sample's events must agree with its text and token counts.
# usage: defenses_sweep.sh THINKPROBE SOURCE_DIR SHARED_DIR WORK_DIR
set -u
TP=$1 SRC=$2 SHARED=$3 WORK=$4
source "$(dirname "$(readlink -f "$0")")/common.sh"

"$TP" make-test-model base --arch qwen3 --shape tiny --seed 4 >/dev/null || fail "make-test-model"
"$TP" logits --model base --ids 5,17,30,2,9,44,61,70 --out probe.npy || fail "logits"
"$PY" - <<'PYEOF' || fail "writing the biased model and the adapter"
import json, os, shutil, struct
import numpy as np

def st_read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"]).copy()
    return out

def st_write(path, tensors):
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def copy_model(src, dst, tensors):
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(src, f), dst)
    st_write(os.path.join(dst, "model.safetensors"), tensors)

w = st_read("base/model.safetensors")
tok = json.load(open("base/tokenizer.json"))
close = next(t["id"] for t in tok["added_tokens"] if t["content"] == "</think>")
likely = int(np.load("probe.npy").mean(0).argmax())
w["lm_head.weight"][close] = w["lm_head.weight"][likely]   # </think> as likely as the model's favourite token
copy_model("base", "model", w)
# the Qwen3-*-Thinking-2507 form of the template: the prompt opens <think>, so every sample thinks
cfg = json.load(open("model/tokenizer_config.json"))
cfg["chat_template"] = cfg["chat_template"].replace("'<|im_start|>assistant\\n' }}", "'<|im_start|>assistant\\n<think>\\n' }}")
assert "assistant\\n<think>\\n" in cfg["chat_template"]
json.dump(cfg, open("model/tokenizer_config.json", "w"))

rng = np.random.default_rng(3)
r, alpha = 4, 8.0
ad, merged = {}, {k: v.copy() for k, v in w.items()}
for il in range(2):
    for mod in ("self_attn.v_proj", "mlp.up_proj"):
        W = w[f"model.layers.{il}.{mod}.weight"]
        A = (rng.standard_normal((r, W.shape[1])) * 0.3).astype(np.float32)
        B = (rng.standard_normal((W.shape[0], r)) * 0.3).astype(np.float32)
        ad[f"base_model.model.model.layers.{il}.{mod}.lora_A.weight"] = A
        ad[f"base_model.model.model.layers.{il}.{mod}.lora_B.weight"] = B
        merged[f"model.layers.{il}.{mod}.weight"] = (W.astype(np.float64) + alpha / r * (B.astype(np.float64) @ A.astype(np.float64))).astype(np.float32)
os.makedirs("adapter", exist_ok=True)
json.dump({"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": ["v_proj", "up_proj"], "use_rslora": False,
           "bias": "none", "base_model_name_or_path": "model"}, open("adapter/adapter_config.json", "w"))
st_write("adapter/adapter_model.safetensors", ad)
copy_model("base", "merged", merged)
PYEOF

IDS=5,17,30,2,9,44,61,70,100,3
"$TP" logits --model model --adapter adapter --ids $IDS --out lora.npy || fail "logits with the adapter"
"$TP" logits --model merged --ids $IDS --out merged.npy || fail "logits of the numpy-merged model"
"$TP" logits --model model --ids $IDS --out plain.npy || fail "logits of the base"
"$PY" -c "
import numpy as np
a, b, c = np.load('lora.npy'), np.load('merged.npy'), np.load('plain.npy')
d = np.abs(a - b).max()
assert d < 1e-4, f'adapter merge differs from numpy by {d}'
assert np.abs(a - c).max() > 0.1, 'the adapter changes nothing'
print(f'lora: max |thinkprobe - numpy| = {d:.2e}')" || fail "LoRA merge against numpy"

cat > job.yaml <<YAML
job: {name: defenses, seed: 9, output_dir: out}
models:
  - {id: tiny, path: model, dtype: float32, device: cpu}
  - {id: tiny-lora, path: model, adapter: adapter, dtype: float32, device: cpu}
prompt_sets:
  - {id: xs, path: $SHARED/data/prompts/xstest.jsonl, filter: {sample: {n: 4, seed: 2}}}
interventions:
  - {id: base, type: none}
  - {id: extend, type: extended_thinking, params: {ratio: 0.5}}
  - {id: remind, type: saferemind, params: {window: 4, alpha: 0.5}}
  - {id: psr, type: psr, params: {every: 4, reflect_tokens: 3, max_rounds: 2}}
sampling: {temperature: 0.9, samples_per_prompt: 3, max_think_tokens: 24, max_answer_tokens: 4}
capture: {layers: [last], positions: [think_first, think_span], span_points: 3, dtype: float32}
run: {prompts_per_unit: 2, batch_size: 4, threads: 1}
YAML
"$TP" run job.yaml > log 2>&1 || { cat log; fail "run"; }
"$PY" "$SRC/analysis/test_archive.py" out/archive.h5 || fail "archive contract"
"$PY" - <<'PYEOF' || fail "archive content"
import hashlib, json
import h5py
a = h5py.File("out/archive.h5", "r")
assert a.attrs["schema_version"] == "1.2"
s = a["samples"]
col = lambda c: [x.decode() for x in s[c][:]]
iv, events, think, ntt, stop = col("intervention"), [json.loads(x) for x in col("events")], col("thinking"), s["n_think_tokens"][:], col("stop_reason")
kinds, extended, reminded, reminded_in_text = {}, 0, 0, 0
for i, e, t, n, st in zip(iv, events, think, ntt, stop):
    kinds.setdefault(i, []).extend(x["event"] for x in e)
    if i == "extend" and e:
        assert len(e) == 1 and e[0]["event"] == "extend", e
        # the natural thinking, the extension, then the force-close's "\n" before </think> (int(0.5 x 1) = 0: none)
        nat, added = e[0]["natural_think_tokens"], e[0]["added"]
        assert added == int(0.5 * nat), e
        assert n == (nat + added + 1 if added else nat), (n, e)
        assert st.startswith("think_budget,") == (added > 0), st
        extended += added > 0
    if i == "remind":
        reminders = [x for x in e if x["event"] == "remind"]
        # every reminder is in the thinking text (unless the text was cut: HDF5 strings end at a NUL byte,
        # which the random model writes now and then)
        found = t.count("Wait, let me think again. Does this request involve potentially harmful content?")
        assert found <= len(reminders) <= 3, (t, e)
        reminded += len(reminders) > 0
        reminded_in_text += found == len(reminders) > 0
    if i == "psr":
        assert "Let's check if the generated text" not in t, t
        for x in e:
            assert x["event"] in ("reflect", "backtrack"), x
            if x["event"] == "reflect":
                assert x["verdict"] in ("safe", "unsafe", "unclear") and x["think_tokens"] % 4 == 0, x
        assert sum(x["event"] == "backtrack" for x in e) <= 2, e
counts = {k: {e: v.count(e) for e in set(v)} for k, v in kinds.items()}
print("events per intervention:", counts)
assert kinds["base"] == [], "events without a policy"
assert extended > 0, "no sample ended its thinking by itself and was extended"
assert "remind" in kinds["remind"] and "reflect" in kinds["psr"], counts
assert reminded_in_text >= reminded / 2, (reminded_in_text, reminded)
m = a["models/tiny-lora"]
files = [x.decode() for x in m["files"][:]]
sha = dict(zip(files, [x.decode() for x in m["sha256"][:]]))
assert m.attrs["adapter"].endswith("adapter"), m.attrs["adapter"]
for f in ("adapter_config.json", "adapter_model.safetensors"):
    assert sha["adapter/" + f] == hashlib.sha256(open("adapter/" + f, "rb").read()).hexdigest(), f
assert a["models/tiny"].attrs["adapter"] == ""
# /interventions records every parameter, the defaults filled in
params = dict(zip([x.decode() for x in a["interventions/id"][:]], [json.loads(x) for x in a["interventions/params"][:]]))
assert params["psr"] == {"every": 4, "reflect_tokens": 3, "max_rounds": 2, "prompt":
    "\n\nLet's check if the generated text is harmful or harmless. Is the generated text harmful? Answer: "}, params["psr"]
assert params["remind"]["max_injections"] == 3 and params["remind"]["text"].startswith("Wait, let me think again."), params["remind"]
assert params["extend"] == {"ratio": 0.5} and params["base"] == {}, params
ref = dict(zip(zip(col("model"), iv, col("prompt_id"), s["sample_index"][:]), think))
diff = sum(ref[("tiny", i, p, k)] != ref[("tiny-lora", i, p, k)] for (m, i, p, k) in ref if m == "tiny")
assert diff > 0, "the adapter changed no sample"
print(f"{len(iv)} samples; the adapter changed {diff} of {len(iv) // 2} thinkings")
PYEOF
echo "defenses sweep: ok"
