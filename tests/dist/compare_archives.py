#!/usr/bin/python3
"""Compares two thinkprobe archives for the rank-count determinism test: every /samples column except the
wall times (seconds), every /branches column (protocol answers), and every activation group (data, sample, point, layers), must be identical.
The reference is the archive of the same job run with another number of ranks (or a clean run).
usage: compare_archives.py A.h5 B.h5 [...]   exit 0 when all equal B, C, ... equal A."""
import sys

import h5py
import numpy as np

NOT_REPRODUCIBLE = {"seconds"}


def load(path):
    f = h5py.File(path, "r")
    out = {f"samples/{k}": d[:] for k, d in f["samples"].items() if k not in NOT_REPRODUCIBLE}
    out.update({f"branches/{k}": d[:] for k, d in f.get("branches", {}).items()})
    for model in f.get("activations", {}).values():
        for g in model.values():
            for k, d in g.items():
                out[f"{g.name}/{k}"] = d[:]
    return out


ref = load(sys.argv[1])
bad = 0
for other in sys.argv[2:]:
    got = load(other)
    if sorted(got) != sorted(ref):
        print(f"{other}: datasets {sorted(set(got) ^ set(ref))} differ from {sys.argv[1]}")
        bad += 1
        continue
    for k in ref:
        if ref[k].shape != got[k].shape or not np.array_equal(ref[k], got[k]):
            print(f"{other}: {k} differs from {sys.argv[1]} (shapes {ref[k].shape} {got[k].shape})")
            bad += 1
    print(f"{other}: {len(ref)} datasets, {'equal' if not bad else 'DIFFERENT'}")
sys.exit(1 if bad else 0)
