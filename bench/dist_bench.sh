#!/bin/bash
# Distributed sweep and archive benchmarks (program bench/dist_bench.cpp; results in bench/RESULTS.md,
# "## Distributed sweep and archive"). Usage: bench/dist_bench.sh BUILD_DIR [WRITE_DIR]
# (build first: ninja -C BUILD_DIR dist_bench). WRITE_DIR must be on the disk to measure (default /tmp).
set -euo pipefail
build=$1 dir=${2:-/tmp}/dist_bench_write
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for k in 1 8; do mpirun -np 3 "$build/dist_bench" dispatch 100000 $k 2>&1 | grep -v '^\['; done
mpirun -np 16 "$build/dist_bench" efficiency 2000 5 100 2>&1 | grep -v '^\['
mpirun -np 16 "$build/dist_bench" efficiency 3000 2 40 2>&1 | grep -v '^\['
for gzip in 0 1; do "$build/dist_bench" write "$dir" 30 $gzip "$here/../../shared/data/prompts/advbench.jsonl"; done
rm -rf "$dir"
