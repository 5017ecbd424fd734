#!/usr/bin/python3
# Reference values for the reducer's statistics, from Debian's scikit-learn, SciPy and NumPy (not from
# anything written in this project): AUROC and Youden thresholds (sklearn.metrics), standardise + PCA +
# logistic regression out-of-fold probabilities (sklearn.pipeline), Fisher exact p-values
# (scipy.stats.fisher_exact), Holm adjusted p-values (computed from the definition by scanning levels),
# percentiles (numpy), a percentile bootstrap (scipy.stats.bootstrap), and the random within-prefix
# variance (scipy.stats.binom). Writes OUT/reduce_reference.json; tests/test_reduce_reference.cpp reads it.
# Usage: /usr/bin/python3 reduce_reference.py OUTDIR
import json
import os
import sys

import numpy as np
import scipy.stats
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(20260518)
out = {}


def youden(y, s):
    fpr, tpr, thr = roc_curve(y, s)
    return thr[int(np.argmax(tpr - fpr))]


# --- AUROC and Youden: many ties ---------------------------------------------------------------------
auroc_cases = []
for n, levels, p in [(1000, 6, 0.3), (200, 2, 0.5), (5000, 11, 0.1), (50, 1000, 0.5), (30, 1, 0.4)]:
    y = (rng.random(n) < p).astype(int)
    s = rng.integers(0, levels, n) + 0.7 * y * rng.integers(0, 2, n)  # tied levels, some shifted for positives
    s = np.round(s / 3.0, 1)
    case = {"scores": s.tolist(), "labels": y.tolist(), "auroc": roc_auc_score(y, s)}
    t = youden(y, s)
    if np.isfinite(t) and t <= s.max():  # sklearn 1.2 starts at max+1 (nothing positive); ours at +inf
        case["youden"] = float(t)
        case["bacc_at_youden"] = balanced_accuracy_score(y, (s >= t).astype(int))
    auroc_cases.append(case)
out["auroc"] = auroc_cases

# --- Fisher exact, two-sided -------------------------------------------------------------------------
tables = [[0, 0, 0, 0], [5, 0, 0, 5], [3, 1, 1, 3], [50, 50, 50, 50], [100, 0, 95, 5], [8, 2, 1, 5],
          [0, 100, 3, 97], [20, 80, 20, 80], [1, 9, 11, 3], [0, 5, 0, 7], [1000, 2000, 1500, 1700]]
for _ in range(300):
    k1, k2 = rng.integers(1, 120, 2)
    q1, q2 = rng.random(2)
    a = rng.binomial(k1, q1)
    c = rng.binomial(k2, q2)
    tables.append([int(a), int(k1 - a), int(c), int(k2 - c)])
for _ in range(50):  # equal rows: mirror-image tables with equal probabilities
    k = int(rng.integers(1, 101))
    a = int(rng.integers(0, k + 1))
    c = int(rng.integers(0, k + 1))
    tables.append([a, k - a, c, k - c])
out["fisher"] = [{"table": t, "p": float(scipy.stats.fisher_exact([[t[0], t[1]], [t[2], t[3]]])[1])}
                 for t in tables]


# --- Holm: from the definition -----------------------------------------------------------------------
def holm_by_levels(p):
    # Adjusted p of hypothesis i = the smallest level alpha at which Holm's step-down procedure (reject the
    # j-th smallest while p_(j) <= alpha / (m - j)) rejects it. Candidate levels are (m-j) p_(j) and 1.
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    levels = sorted(set([min(1.0, (m - j) * p[order[j]]) for j in range(m)] + [1.0]))
    adj = [1.0] * m
    for i in range(m):
        for alpha in levels:
            rejected = set()
            for j in range(m):
                if p[order[j]] * (m - j) <= alpha:
                    rejected.add(order[j])
                else:
                    break
            if i in rejected:
                adj[i] = alpha
                break
    return adj


holm_cases = [[0.01, 0.04, 0.03, 0.005], [0.5], [], [0.02, 0.02, 0.02], [1e-8, 0.9, 0.3, 0.3, 0.04]]
for m in [7, 20, 40]:
    v = rng.random(m) ** 3
    v[: m // 4] = v[m // 4]  # ties
    holm_cases.append([float(x) for x in rng.permutation(v)])
out["holm"] = [{"p": c, "adjusted": holm_by_levels(c)} for c in holm_cases]

# --- Percentiles ---------------------------------------------------------------------------------------
pct = []
for n in [1, 2, 7, 500]:
    v = rng.normal(size=n)
    if n > 2:
        v[1] = np.nan
    for q in [0, 2.5, 33.3, 50, 97.5, 100]:
        pct.append({"values": [None if np.isnan(x) else float(x) for x in v], "q": q,
                    "expected": float(np.nanpercentile(v, q))})
out["percentile"] = pct

# --- Bootstrap of a rate (Monte Carlo: compared with a tolerance) --------------------------------------
flags = (rng.random(400) < 0.3).astype(float)
res = scipy.stats.bootstrap((flags,), np.mean, n_resamples=20000, method="percentile",
                            confidence_level=0.95, random_state=1)
out["bootstrap_rate"] = {"flags": flags.astype(int).tolist(), "n_boot": 20000,
                         "lo": res.confidence_interval.low, "hi": res.confidence_interval.high}

# --- Within-prefix variance: E[4 q(1-q)] for q = Binomial(N, p) / N ------------------------------------
wpv = []
for n_cont, p in [(8, 0.5), (8, 0.2), (100, 0.5), (2, 0.9)]:
    j = np.arange(n_cont + 1)
    expected = float(np.sum(scipy.stats.binom.pmf(j, n_cont, p) * 4 * (j / n_cont) * (1 - j / n_cont)))
    wpv.append({"n": n_cont, "p": p, "expected": expected})
out["within_prefix_random"] = wpv

# --- Norm-Fisher (numpy, the paper's formula) --------------------------------------------------------
x = rng.normal(size=(300, 12)).astype(np.float32)
y = (rng.random(300) < 0.4).astype(int)
x[y == 1, :3] += 0.8
x[:, 5] = 2.0  # a constant column: dropped
xd = x.astype(np.float64)
keep = xd.std(axis=0) > 0
z = (xd[:, keep] - xd[:, keep].mean(0)) / xd[:, keep].std(0)
num = np.sum((z[y == 1].mean(0) - z[y == 0].mean(0)) ** 2)
den = np.trace(np.cov(z[y == 1].T, ddof=0)) + np.trace(np.cov(z[y == 0].T, ddof=0))
out["norm_fisher"] = {"x": x.ravel().tolist(), "n": 300, "d": 12, "labels": y.tolist(), "expected": num / den}


# --- Probe: sklearn pipeline, out-of-fold, on given folds ------------------------------------------------
# The same objective as the authors' LogisticRegression(C, class_weight, lbfgs), solved to the optimum:
# lbfgs stops on a relative function change of 64 eps (and the authors ran it at tol=1e-4), which leaves
# probabilities ~1e-4 from the optimum; newton-cholesky at tol=1e-12 reaches it, so the comparison
# measures thinkprobe's error rather than the reference's.
def probe_case(n, d, n_prompts, k, c, class_weight, seed, rank=4):
    r = np.random.default_rng(seed)
    prompt = r.integers(0, n_prompts, n)
    latent = r.normal(size=n_prompts)[prompt] + 0.5 * r.normal(size=n)
    y = (latent + 0.3 * r.normal(size=n) > 0.6).astype(int)
    mix = r.normal(size=(rank, d)) * r.uniform(0.2, 3.0, d) / np.sqrt(np.arange(1, rank + 1))[:, None]
    x = (np.outer(latent, mix[0]) + r.normal(size=(n, rank)) @ mix + r.normal(size=(n, d)) * r.uniform(0.1, 2, d)
         + r.normal(5, 3, d)).astype(np.float32)  # correlated columns, offset means, unequal scales
    folds = np.zeros(n, dtype=int)
    for f, (_, te) in enumerate(StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(x, y, prompt)):
        folds[te] = f
    xd = x.astype(np.float64)
    oof = np.zeros(n)
    thr_fit = np.zeros(5)
    for f in range(5):
        tr, te = folds != f, folds == f
        steps = [StandardScaler()]
        if k > 0:
            steps.append(PCA(k, svd_solver="full"))
        steps.append(LogisticRegression(C=c, class_weight=class_weight, solver="newton-cholesky", tol=1e-12, max_iter=1000))
        pipe = make_pipeline(*steps).fit(xd[tr], y[tr])
        oof[te] = pipe.predict_proba(xd[te])[:, 1]
        thr_fit[f] = youden(y[tr], pipe.predict_proba(xd[tr])[:, 1])  # in-sample on the training folds
    # Youden balanced accuracy, per fold: threshold on the other folds' out-of-fold scores.
    pred = np.zeros(n, dtype=int)
    for f in range(5):
        tr, te = folds != f, folds == f
        pred[te] = oof[te] >= youden(y[tr], oof[tr])
    pred_fit = np.zeros(n, dtype=int)
    for f in range(5):
        pred_fit[folds == f] = oof[folds == f] >= thr_fit[f]
    return {"bacc_youden_fit": balanced_accuracy_score(y, pred_fit), "n": n, "d": d, "k": k, "c": c, "balanced": class_weight == "balanced", "x": x.ravel().tolist(),
            "labels": y.tolist(), "folds": folds.tolist(), "prompt": prompt.tolist(), "oof": oof.tolist(),
            "auroc": roc_auc_score(y, oof), "bacc_youden": balanced_accuracy_score(y, pred)}


out["probe"] = [probe_case(600, 40, 150, 10, 0.03, "balanced", 1),
                probe_case(400, 25, 400, 0, 0.03, "balanced", 2),
                probe_case(500, 30, 100, 20, 1.0, None, 3),
                probe_case(1200, 560, 300, 20, 0.03, "balanced", 4, rank=60)]  # d > 512: subspace iteration


# --- Group metrics: benign macro over sources (dropping sources with < 20 refusals), pooled ------------
def group_case(seed):
    r = np.random.default_rng(seed)
    n = 900
    source = r.integers(0, 3, n)
    y = (r.random(n) < np.array([0.3, 0.15, 0.015])[source]).astype(int)  # source 2: ~4 refusals, dropped
    prob = np.round(np.clip(0.3 * y + r.normal(0.4, 0.2, n), 0, 1), 2)  # ties
    dom = prob + r.normal(0, 0.3, n)
    folds = r.integers(0, 5, n)
    used = [s for s in range(3) if y[source == s].sum() >= 20]

    def bacc(idx):
        pred = np.zeros(len(idx), dtype=int)
        for f in range(5):
            tr, te = folds[idx] != f, folds[idx] == f
            pred[te] = prob[idx][te] >= youden(y[idx][tr], prob[idx][tr])
        return balanced_accuracy_score(y[idx], pred)

    units = [np.where(source == s)[0] for s in used]
    return {"prob": prob.tolist(), "dom": dom.tolist(), "labels": y.tolist(), "folds": folds.tolist(),
            "source": source.tolist(), "used": used,
            "macro_auroc": float(np.mean([roc_auc_score(y[u], prob[u]) for u in units])),
            "macro_bacc": float(np.mean([bacc(u) for u in units])),
            "macro_dom_auroc": float(np.mean([roc_auc_score(y[u], dom[u]) for u in units])),
            "pooled_auroc": roc_auc_score(y, prob), "pooled_bacc": bacc(np.arange(n))}


out["group"] = [group_case(11), group_case(12)]

os.makedirs(sys.argv[1], exist_ok=True)
with open(os.path.join(sys.argv[1], "reduce_reference.json"), "w") as fh:
    json.dump(out, fh)
