#!/bin/bash
# Acceptance test of the demo model: trains it (fewer steps than the quick start's), runs a reduced quick-start
# sweep with 3 MPI ranks, and checks with analysis/demo_check.py (h5py + scikit-learn) that the pipeline
# recovers the planted ground truth of docs/demo.md: refusal rates per intervention and kind within a
# tolerance, the over-refusal shift of the safety prefill with a bootstrap CI above zero, the think_first
# probe AUROC >= 0.80 on held-out prompts, and the outcome settled early in the thinking.
# usage: demo_sweep.sh THINKPROBE SOURCE_DIR WORK_DIR STEPS SAMPLES
set -u
TP=$1 SRC=$2 WORK=$3 STEPS=$4 SAMPLES=$5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$WORK/out" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# the model is kept between runs of the test (demo-model skips a folder that holds the same fingerprint)
"$TP" demo-model model --steps "$STEPS" --lr 6e-3 --threads 1 || fail "demo-model"
sed -e "s#\.\./models/demo#model#g" -e "s#\.\./out/quickstart#out#" -e "s#samples_per_prompt: .*#samples_per_prompt: $SAMPLES#" \
    "$SRC/jobs/quickstart.yaml" > job.yaml
mpirun -np 3 "$TP" run job.yaml > run.log 2>&1 || { tail -30 run.log; fail "sweep"; }
/usr/bin/python3 "$SRC/analysis/demo_check.py" out model || fail "planted ground truth not recovered"
