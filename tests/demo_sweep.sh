#!/bin/bash
# Acceptance test of the demo model (tests/demo.cmake): trains it with the quick start's defaults (kept in
# WORK_DIR/model between runs: demo-model skips a folder that holds the same fingerprint), runs the quick-start
# sweep (jobs/quickstart.yaml) with 3 MPI ranks, reduces it with `thinkprobe reduce`, and checks with
# analysis/demo_check.py that the pipeline recovers the planted ground truth of docs/demo.md (the reference:
# the model's ground_truth.json): every per-cell refusal rate (4 interventions x 3 request kinds) within 0.10
# of the planted one, the over-refusal shift of both safety interventions with a CI excluding zero, the
# think_first probe AUROC >= 0.80 on held-out prompts, the lock-in early in the thinking.
# usage: demo_sweep.sh THINKPROBE SOURCE_DIR WORK_DIR [demo-model options...]
set -u
TP=$1 SRC=$2 WORK=$3
shift 3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$WORK/out" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$TP" demo-model model "$@" || fail "demo-model"
sed -e "s#\.\./models/demo#model#g" -e "s#\.\./out/quickstart#out#" "$SRC/jobs/quickstart.yaml" > job.yaml
mpirun -np 3 "$TP" run job.yaml > run.log 2>&1 || { tail -30 run.log; fail "sweep"; }
"$TP" reduce out > reduce.log 2>&1 || { tail -30 reduce.log; fail "reduce"; }
/usr/bin/python3 "$SRC/analysis/demo_check.py" out model || fail "planted ground truth not recovered"
