#!/usr/bin/env python3
"""Every jobs/*.yaml must pass both checks that exist for job files:
  1. the JSON Schema (schemas/job.schema.json) that editors use, through python3-jsonschema (Debian);
  2. thinkprobe's own parser (`thinkprobe validate`), with each model path (and LoRA adapter) and guard judge path pointed at a stub checkpoint
     folder, since the real checkpoints are not on this machine (and a prompt file that a model folder
     provides, like the demo's, pointed at a stub prompt file).
And a broken copy of each job (an unknown key, a value out of range) must fail both, so the check can fail.
usage: check_jobs.py THINKPROBE REPO_ROOT"""
import copy, glob, json, os, subprocess, sys, tempfile

import jsonschema
import yaml

cli, root = sys.argv[1], sys.argv[2]
schema = json.load(open(os.path.join(root, "schemas", "job.schema.json")))
validator = jsonschema.Draft202012Validator(schema)
jsonschema.Draft202012Validator.check_schema(schema)

stub = tempfile.mkdtemp(prefix="tp-stub-model-")
for name, text in [("config.json", "{}"), ("tokenizer.json", "{}"), ("model.safetensors", "")]:
    open(os.path.join(stub, name), "w").write(text)

def schema_errors(doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]

stub_prompts = os.path.join(stub, "prompts.jsonl")
open(stub_prompts, "w").write('{"id": "a", "prompt": "hi", "label": "benign"}\n')

def parser_result(path, doc):
    overrides = [f"models[{i}].path={stub}" for i in range(len(doc.get("models", [])))]
    overrides += [f"models[{i}].adapter={stub}" for i, m in enumerate(doc.get("models", [])) if m.get("adapter")]
    overrides += [f"judge.judges[{i}].path={stub}" for i, j in enumerate(doc.get("judge", {}).get("judges", [])) if "path" in j]
    for i, ps in enumerate(doc.get("prompt_sets", [])):
        if not os.path.exists(os.path.join(os.path.dirname(path), ps.get("path", ""))):
            overrides.append(f"prompt_sets[{i}].path={stub_prompts}")
    return subprocess.run([cli, "validate", path, *overrides], capture_output=True, text=True)

failures = 0
jobs = sorted(glob.glob(os.path.join(root, "jobs", "*.yaml")))
assert jobs, "no jobs/*.yaml found"
for path in jobs:
    doc = yaml.safe_load(open(path))
    errs = schema_errors(doc)
    res = parser_result(path, doc)
    ok = not errs and res.returncode == 0
    print(f"{'ok  ' if ok else 'FAIL'} {os.path.relpath(path, root)}: schema {len(errs)} errors, parser exit {res.returncode}")
    for e in errs:
        print("   schema:", e)
    if res.returncode:
        print("   parser:", res.stderr.strip().replace("\n", "\n   parser: "))
    failures += not ok

    # The same job broken two ways must be rejected by both checkers.
    for what, mutate in [("unknown key", lambda d: d["sampling" if "sampling" in d else "job"].update({"tempreature": 1})),
                         ("out of range", lambda d: d.setdefault("run", {}).update({"batch_size": 0}))]:
        bad = copy.deepcopy(doc)
        mutate(bad)
        bad_path = os.path.join(os.path.dirname(path), f".broken-{os.path.basename(path)}")
        try:
            yaml.safe_dump(bad, open(bad_path, "w"))
            s_rejects = bool(schema_errors(bad))
            p_rejects = parser_result(bad_path, bad).returncode != 0
        finally:
            os.remove(bad_path)
        if not (s_rejects and p_rejects):
            print(f"FAIL {os.path.relpath(path, root)} with an {what}: schema rejects {s_rejects}, parser rejects {p_rejects}")
            failures += 1

print(f"{len(jobs) - failures if failures <= len(jobs) else 0} passed, {failures} failed")
sys.exit(1 if failures else 0)
