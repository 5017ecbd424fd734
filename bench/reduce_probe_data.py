#!/usr/bin/python3
# Synthetic activations for the probe benchmark (bench/reduce_probe.sh): an HDF5 file shaped like a
# reducer's input, acts [layers, n, d] float32 chunked one layer-row block at a time, plus per-row label
# (refusal 0/1), prompt id, pool (0 harmful, 1 benign) and fold (StratifiedGroupKFold over prompts).
# Each layer: a low-rank signal (power-law spectrum, one direction tied to the prompt's refusal latent)
# plus noise and per-column offsets, so PCA and the probe face a realistic spectrum.
# Usage: /usr/bin/python3 reduce_probe_data.py OUT.h5 N D LAYERS
import sys

import h5py
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

path, n, d, n_layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(7)
n_prompts = n // 4  # 4 rollouts per prompt
prompt = np.repeat(np.arange(n_prompts), 4)[:n]
pool = (prompt % 2).astype(np.int8)
latent = rng.normal(size=n_prompts)[prompt] + 0.6 * rng.normal(size=n)
label = (latent + np.where(pool == 0, 0.3, -1.0) > 0).astype(np.int8)
folds = np.zeros(n, dtype=np.int32)
for f, (_, te) in enumerate(StratifiedGroupKFold(5, shuffle=True, random_state=42).split(np.zeros(n), label, prompt)):
    folds[te] = f
rank = 256
with h5py.File(path, "w") as h5:
    h5["label"], h5["prompt"], h5["pool"], h5["fold"] = label, prompt.astype(np.int64), pool, folds
    acts = h5.create_dataset("acts", (n_layers, n, d), dtype="f4", chunks=(1, min(n, 1024), d))
    for il in range(n_layers):
        basis = rng.normal(size=(rank, d)).astype(np.float32) / np.sqrt(np.arange(1, rank + 1, dtype=np.float32))[:, None]
        z = rng.normal(size=(n, rank)).astype(np.float32)
        z[:, 3] += (0.3 + 0.05 * il) * latent.astype(np.float32)
        x = z @ basis + rng.normal(size=(n, d)).astype(np.float32) * 0.5 + rng.normal(0, 2, d).astype(np.float32)
        acts[il] = x
