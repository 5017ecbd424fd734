#!/usr/bin/env bash
# The quick start on a fresh Debian 12 machine: install and build (scripts/setup.sh), make a tiny test
# checkpoint, run the debug sweep with mpirun on 3 processes, and summarise the archive.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
[ -f models/tiny-qwen3/config.json ] || build/thinkprobe make-test-model models/tiny-qwen3 --arch qwen3 --shape tiny
build/thinkprobe validate jobs/debug.yaml
build/thinkprobe plan jobs/debug.yaml
mpirun -np 3 build/thinkprobe run jobs/debug.yaml
build/thinkprobe inspect out/debug
