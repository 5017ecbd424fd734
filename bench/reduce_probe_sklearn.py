#!/usr/bin/python3
# Probe-suite benchmark, reference side: the authors' pipeline in scikit-learn (StandardScaler -> PCA(100)
# -> LogisticRegression(C=0.03, class_weight="balanced", max_iter=3000), their settings; PCA's default
# solver, which is randomized at these sizes, seeded), out-of-fold on the file's folds (PredefinedSplit),
# numpy difference of means, and per group sklearn AUROC, Youden balanced accuracy and 500 bootstrap
# resamples of roc_auc_score. Reads acts[layer] one layer at a time with h5py, like the C++ side.
# Usage: /usr/bin/python3 reduce_probe_sklearn.py FILE.h5 [auto|full]   (PCA svd_solver; auto is sklearn's
# default and randomized here, full is the exact PCA that thinkprobe computes)
import json
import resource
import sys
import time

import h5py
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score, roc_curve
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

t0 = time.time()
h5 = h5py.File(sys.argv[1], "r")
label, pool, fold = h5["label"][:], h5["pool"][:], h5["fold"][:]
n_layer, n, d = h5["acts"].shape
solver = sys.argv[2] if len(sys.argv) > 2 else "auto"
groups = {"harmful": np.where(pool == 0)[0], "benign": np.where(pool == 1)[0], "pooled": np.arange(n)}


def youden_bacc(y, s, f):
    pred = np.zeros(len(y), dtype=int)
    for k in range(5):
        tr, te = f != k, f == k
        fpr, tpr, thr = roc_curve(y[tr], s[tr])
        pred[te] = s[te] >= thr[np.argmax(tpr - fpr)]
    return balanced_accuracy_score(y, pred)


for il in range(n_layer):
    x = h5["acts"][il]
    pipe = make_pipeline(StandardScaler(), PCA(100, svd_solver=solver, random_state=0),
                         LogisticRegression(C=0.03, class_weight="balanced", max_iter=3000))
    prob = cross_val_predict(pipe, x, label, cv=PredefinedSplit(fold), method="predict_proba")[:, 1]
    dom = np.zeros(n)
    for k in range(5):
        tr, te = fold != k, fold == k
        dom[te] = x[te] @ (x[tr & (label == 1)].mean(0) - x[tr & (label == 0)].mean(0))
    row = {"layer": il}
    for name, idx in groups.items():
        y, s = label[idx], prob[idx]
        rng = np.random.default_rng(42)
        boots = []
        for _ in range(500):
            r = rng.integers(0, len(idx), len(idx))
            if 0 < y[r].sum() < len(r):
                boots.append(roc_auc_score(y[r], s[r]))
        lo, hi = np.percentile(boots, [2.5, 97.5])
        row[name] = {"auroc": roc_auc_score(y, s), "lo": lo, "hi": hi, "bacc": youden_bacc(y, s, fold[idx]),
                     "dom_auroc": roc_auc_score(y, dom[idx])}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    row["cpu_seconds"] = round(ru.ru_utime + ru.ru_stime, 2)  # cumulative, since the process started
    print(json.dumps(row), flush=True)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"summary": "sklearn", "svd_solver": solver, "seconds": round(time.time() - t0, 2),
                  "cpu_seconds": round(ru.ru_utime + ru.ru_stime, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "n": int(n), "d": int(d), "layers": int(n_layer)}))
