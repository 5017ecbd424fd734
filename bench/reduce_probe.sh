#!/bin/bash
# Probe benchmark: thinkprobe's probe suite vs the same suite in scikit-learn, on one synthetic HDF5 file,
# in the same run, on the same cores. Usage: bench/reduce_probe.sh BUILD_DIR N D LAYERS [threads] [auto|full]
# (build first: ninja -C BUILD_DIR reduce_probe_bench). Prints both sides' JSON lines and the ratio.
set -euo pipefail
build=$1 n=$2 d=$3 layers=$4 threads=${5:-2} solver=${6:-auto}
here=$(cd "$(dirname "$0")" && pwd)
# Both sides use the same OpenBLAS. Its 0.3.21 autodetection falls back to the slow Prescott kernels on
# CPUs it does not know (this VM's "Intel Xeon Processor"), so pick the kernels from the CPU flags unless
# the caller already did. Both sides get the same setting.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto} threads=$threads n=$n d=$d layers=$layers"
data=$(mktemp -d)/acts.h5
/usr/bin/python3 "$here/reduce_probe_data.py" "$data" "$n" "$d" "$layers"
OMP_NUM_THREADS=$threads "$build/reduce_probe_bench" "$data" "$threads" | tee "$data.tp.jsonl"
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 "$here/reduce_probe_sklearn.py" "$data" "$solver" | tee "$data.sk.jsonl"
/usr/bin/python3 - "$data.tp.jsonl" "$data.sk.jsonl" <<'PY'
import json, sys
tp = [json.loads(l) for l in open(sys.argv[1])]
sk = [json.loads(l) for l in open(sys.argv[2])]
worst = max(abs(a[g]["auroc"] - b[g]["auroc"]) for a, b in zip(tp[:-1], sk[:-1]) for g in ("harmful", "benign", "pooled"))
print(f"speedup {sk[-1]['seconds'] / tp[-1]['seconds']:.2f}x wall, {sk[-1]['cpu_seconds'] / tp[-1]['cpu_seconds']:.2f}x CPU "
      f"(thinkprobe {tp[-1]['seconds']} s, {tp[-1]['cpu_seconds']} s CPU, "
      f"{tp[-1]['peak_rss_mb']} MB peak; sklearn {sk[-1]['seconds']} s, {sk[-1]['cpu_seconds']} s CPU, {sk[-1]['peak_rss_mb']} MB peak); "
      f"largest AUROC difference {worst:.2e}")
# Layers after the first cost the same (streamed, nothing carried over): with two or more layers, the
# per-layer CPU cost beyond the first layer, and the totals projected to the issue's 36 layers from it.
if len(tp) > 2:
    step = lambda r: (r[-2]["cpu_seconds"] - r[0]["cpu_seconds"]) / (len(r) - 2)
    proj = lambda r: r[0]["cpu_seconds"] + 35 * step(r) + (r[-1]["cpu_seconds"] - r[-2]["cpu_seconds"])
    print(f"per further layer: thinkprobe {step(tp):.2f} s CPU, sklearn {step(sk):.2f} s CPU, {step(sk) / step(tp):.2f}x; "
          f"36 layers projected: thinkprobe {proj(tp):.0f} s, sklearn {proj(sk):.0f} s CPU, {proj(sk) / proj(tp):.2f}x")
PY
rm -rf "$(dirname "$data")"
