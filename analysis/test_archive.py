#!/usr/bin/python3
"""Reads a thinkprobe archive with h5py alone, as a user without thinkprobe would, and checks the contract
of schemas/archive.md: attributes, metadata groups, one /samples row per sample with equal-length columns,
/branches rows (protocol answers) whose rollouts carry their samples' seeds,
activation shapes [rows, layers, hidden] with row -> sample and layer lists that agree with /samples.

usage: test_archive.py ARCHIVE.h5 [PACKED.h5]
With two files, also checks that the packed file holds the same data with no virtual datasets.
Exit status 0 when every check passes; each failure is printed."""
import json
import sys

import h5py
import numpy as np

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def check_judges(f, path, s, cols, resolved):
    """Votes, labels and judge metadata (schema 1.1): every judge's vote, truncation flag and raw output per
    sample; refused = the tie rule on the votes, soft_label = their valid mean; /judges/<id> per judge."""
    n = cols["unit"].shape[0]
    judges = [j.decode() if isinstance(j, bytes) else j for j in s.attrs["judges"]]
    spec = resolved["judge"]["judges"]
    check(judges == [j["id"] for j in spec], f"{path}: judges attribute {judges} vs the job's {[j['id'] for j in spec]}")
    kinds = [k.decode() if isinstance(k, bytes) else k for k in s.attrs.get("judge_kinds", [])]
    check(kinds == [j["kind"] for j in spec], f"{path}: judge_kinds attribute {kinds}")
    votes, trunc = cols["votes"], cols["judge_truncated"]
    check(votes.shape == (n, len(judges)) and trunc.shape == (n, len(judges)), f"{path}: votes {votes.shape} / judge_truncated {trunc.shape}")
    check(set(np.unique(votes)) <= {-1, 0, 1} and set(np.unique(trunc)) <= {0, 1}, f"{path}: vote or truncation values")
    tie = resolved["reduce"]["tie_min_votes"]
    valid = (votes >= 0).sum(axis=1)
    refusals = (votes == 1).sum(axis=1)
    majority = np.where(valid == 0, -1, (refusals >= np.minimum(tie, valid)).astype(np.int8))
    check(np.array_equal(cols["refused"], majority), f"{path}: refused is not the tie rule (>= min({tie}, valid)) on the votes")
    with np.errstate(invalid="ignore", divide="ignore"):
        soft = refusals / valid
    check(np.allclose(cols["soft_label"], soft, equal_nan=True, rtol=0, atol=1e-6), f"{path}: soft_label is not the mean of the valid votes")
    outputs = [json.loads(x) for x in cols["judge_outputs"]]
    check(all(isinstance(o, list) and len(o) == len(judges) and all(isinstance(t, str) for t in o) for o in outputs),
          f"{path}: judge_outputs is not a JSON list of one string per judge")
    for k, j in enumerate(spec):
        if j["kind"] == "rule":
            check(all((o[k] != "") == (v == 1) for o, v in zip(outputs, votes[:, k])),
                  f"{path}: rule judge {j['id']}: a refusal without the matched pattern")
        g = f.get(f"judges/{j['id']}")
        check(g is not None, f"{path}: no /judges/{j['id']}")
        if g is None:
            continue
        check(g.attrs["kind"] == j["kind"] and json.loads(g["settings_json"][()].decode()) == j, f"{path}: /judges/{j['id']} kind or settings")
        if j["kind"] != "rule":
            sha = [x.decode() for x in g["sha256"][:]]
            check(len(sha) == len(g["files"]) and all(len(h) == 64 for h in sha), f"{path}: /judges/{j['id']} sha256")


def read_archive(path):
    f = h5py.File(path, "r")
    check(f.attrs["schema_version"].split(".")[0] == "1", f"{path}: schema_version {f.attrs['schema_version']}")
    check(f.attrs["kind"] in ("archive", "packed"), f"{path}: kind {f.attrs['kind']}")
    for g in ("meta", "models", "prompts", "interventions", "samples"):
        check(g in f, f"{path}: no /{g}")
    meta = f["meta"]
    for a in ("thinkprobe_version", "git_commit", "start_time", "end_time", "run_id"):
        check(a in meta.attrs and len(meta.attrs[a]) > 0, f"{path}: /meta has no {a}")
    job_yaml = meta["job_yaml"][()].decode()
    resolved = json.loads(meta["job_resolved"][()].decode())
    attempts = json.loads(meta["attempts"][()].decode())
    check("job:" in job_yaml, f"{path}: /meta/job_yaml is not the job file")
    check(resolved["job"]["name"] == f.attrs["job_name"], f"{path}: resolved job name")
    check(len(attempts) >= 1 and all("hosts" in a for a in attempts), f"{path}: /meta/attempts")
    model_ids = [m["id"] for m in resolved["models"]]
    check(sorted(f["models"].keys()) == sorted(model_ids), f"{path}: /models {list(f['models'])} vs job {model_ids}")
    for m in f["models"].values():
        json.loads(m["config_json"][()].decode())
        files = [x.decode() for x in m["files"][:]]
        sha = [x.decode() for x in m["sha256"][:]]
        check("tokenizer.json" in files and any(x.endswith(".safetensors") for x in files), f"{path}: {m.name} files {files}")
        check(all(len(h) == 64 for h in sha), f"{path}: {m.name} sha256")
        check(len(m.attrs["device_kind"]) > 0 and len(m.attrs["dtype"]) > 0, f"{path}: {m.name} device/dtype")
    iv = [x.decode() for x in f["interventions/id"][:]]
    check(sorted(iv) == sorted(i["id"] for i in resolved["interventions"]), f"{path}: /interventions")

    s = f["samples"]
    n = s["unit"].shape[0]
    check(n > 0, f"{path}: no samples")
    for name, d in s.items():
        check(d.shape[0] == n, f"{path}: /samples/{name} has {d.shape[0]} rows, unit has {n}")
        check("help" in d.attrs, f"{path}: /samples/{name} has no help attribute")
    check(s["votes"].shape == (n, len(s.attrs["judges"])), f"{path}: votes shape {s['votes'].shape}")
    cols = {k: s[k][:] for k in s.keys()}
    # every (unit, prompt, sample index) once; units appear in plan order
    keys = set(zip(cols["unit"], cols["prompt_set"], cols["prompt_id"], cols["sample_index"]))
    check(len(keys) == n, f"{path}: duplicate sample rows")
    check(np.all(np.diff(cols["unit_index"]) >= 0), f"{path}: units not in plan order")
    check(s.attrs["n_units"] == len(set(cols["unit"])), f"{path}: n_units attribute")
    prompts = set(zip(f["prompts/prompt_set"][:], f["prompts/id"][:]))
    check(set(zip(cols["prompt_set"], cols["prompt_id"])) <= prompts, f"{path}: samples name prompts not in /prompts")
    check(set(np.unique(cols["refused"])) <= {-1, 0, 1}, f"{path}: refused values")
    events = [json.loads(x) for x in cols["events"]]  # schema 1.1: what decode-time defenses did, per sample
    check(all(isinstance(e, list) and all(x.get("event") in ("extend", "remind", "reflect", "backtrack") for x in e) for e in events),
          f"{path}: /samples/events is not a JSON list of known events in every row")
    if "stance_labels" in cols:  # schema 1.2: the thinking's stance chunk labels, each labeller's raw output
        n_labellers = len(resolved["judge"]["stance"]["labellers"])
        for lab, out in zip(cols["stance_labels"], cols["stance_outputs"]):
            lab, out = json.loads(lab), json.loads(out)
            check(lab is None or (isinstance(lab, list) and all(x in (-1, 0, 1, None) for x in lab)),
                  f"{path}: /samples/stance_labels {lab} is not null or a list of -1, 0, 1, null")
            check(isinstance(out, list) and len(out) == n_labellers and all(isinstance(x, str) for x in out),
                  f"{path}: /samples/stance_outputs is not a JSON list of one string per stance labeller")

    # /branches (schema 1.1): one row per protocol answer; its rollout is a sample of the same seed
    if "branches" in f:
        b = f["branches"]
        nb = b["unit"].shape[0]
        for name, d in b.items():
            check(d.shape[0] == nb, f"{path}: /branches/{name} has {d.shape[0]} rows, unit has {nb}")
            check("help" in d.attrs, f"{path}: /branches/{name} has no help attribute")
        check(b["votes"].shape == (nb, len(s.attrs["judges"])), f"{path}: /branches votes shape {b['votes'].shape}")
        bc = {k: b[k][:] for k in b.keys()}
        check(set(np.unique(bc["protocol"])) <= {b"nested", b"replay"}, f"{path}: /branches protocol values")
        check(np.all(np.diff(bc["unit_index"]) >= 0), f"{path}: /branches units not in plan order")
        check(b.attrs["n_units"] >= len(set(bc["unit"])), f"{path}: /branches n_units attribute")
        check(set(np.unique(bc["refused"])) <= {-1, 0, 1}, f"{path}: /branches refused values")
        bkeys = set(zip(bc["unit"], bc["prompt_id"], bc["rollout"], bc["cut"], bc["transition"], bc["side"], bc["continuation"]))
        check(len(bkeys) == nb, f"{path}: duplicate /branches rows")
        check(set(zip(bc["prompt_set"], bc["prompt_id"])) <= prompts, f"{path}: /branches names prompts not in /prompts")
        seeds = {(ps, pid, k): sd for ps, pid, k, sd in zip(cols["prompt_set"], cols["prompt_id"], cols["sample_index"], cols["seed"])}
        for ps, pid, k, sd in zip(bc["prompt_set"], bc["prompt_id"], bc["rollout"], bc["rollout_seed"]):
            if (ps, pid, k) in seeds:
                check(seeds[(ps, pid, k)] == sd, f"{path}: /branches rollout seed of {pid}#{k} is not its sample's seed")
        nested = bc["protocol"] == b"nested"
        check(np.all((bc["cut"][nested] >= 1) & (bc["cut"][nested] <= 100) & (bc["transition"][nested] == -1)), f"{path}: nested cut / transition")
        check(np.all(bc["n_prefix_tokens"][nested] <= bc["n_rollout_think_tokens"][nested]), f"{path}: nested prefix longer than its rollout")
        check(set(bc["side"][~nested]) <= {b"pre", b"post"}, f"{path}: replay sides")

    check_judges(f, path, s, cols, resolved)

    acts = {}
    for model in f.get("activations", {}).values():
        for g in model.values():
            data, sample, point, layers = g["data"], g["sample"][:], g["point"][:], g["layers"][:]
            rows = data.shape[0]
            check(data.ndim == 3 and data.shape[1] == len(layers), f"{path}: {g.name} data {data.shape} vs layers {layers}")
            check(sample.shape == (rows,) and point.shape == (rows,), f"{path}: {g.name} sample/point lengths")
            check(np.all((sample >= 0) & (sample < n)), f"{path}: {g.name} sample out of range")
            model_id = g.name.split("/")[2]
            check(np.all(cols["model"][sample] == model_id.encode()), f"{path}: {g.name} rows point at another model's samples")
            n_model = int(np.sum(cols["model"] == model_id.encode()))
            pts = int(point.max()) + 1 if rows else 1
            # a sample has a row per point at every position it reached (no thinking: no think_first), never two
            check(rows <= n_model * pts, f"{path}: {g.name} has {rows} rows for {n_model} samples x {pts} points")
            check(len(set(zip(sample.tolist(), point.tolist()))) == rows, f"{path}: {g.name} repeats a (sample, point) row")
            x = data[:]
            check(np.all(np.isfinite(x.astype(np.float32))), f"{path}: {g.name} non-finite values")
            acts[g.name] = (x, sample, point, layers)
    return f, cols, acts


archive, cols, acts = read_archive(sys.argv[1])
print(f"{sys.argv[1]}: {cols['unit'].shape[0]} samples, {len(acts)} activation groups")
if len(sys.argv) > 2:
    packed, pcols, pacts = read_archive(sys.argv[2])
    check(packed.attrs["kind"] == "packed", "packed file kind")

    def no_virtual(name, obj):
        if isinstance(obj, h5py.Dataset):
            check(not obj.is_virtual, f"packed {name} is still virtual")
    packed.visititems(no_virtual)
    for k in cols:
        same = np.array_equal(cols[k], pcols[k], equal_nan=True) if cols[k].dtype.kind == "f" else np.array_equal(cols[k], pcols[k])
        check(same, f"packed /samples/{k} differs")
    for k in archive.get("branches", {}):
        x, y = archive["branches"][k][:], packed["branches"][k][:]
        check(np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y), f"packed /branches/{k} differs")
    check(sorted(acts) == sorted(pacts), "packed activation groups")
    for k in acts:
        for a, b in zip(acts[k], pacts[k]):
            check(np.array_equal(a, b), f"packed {k} differs")
    print(f"{sys.argv[2]}: same data, self-contained")
sys.exit(1 if failures else 0)
