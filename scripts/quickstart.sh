#!/usr/bin/env bash
# The quick start, end to end on one CPU machine (fresh Debian 12): installs and builds (scripts/setup.sh),
# trains the demo model into models/demo (docs/demo.md; skipped when already there), runs the sweep of
# jobs/quickstart.yaml with 3 MPI processes (a coordinator and two workers), and summarises the archive
# against the demo's planted ground truth. The README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

build/thinkprobe demo-model models/demo

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun -np 3 build/thinkprobe run jobs/quickstart.yaml

build/thinkprobe inspect out/quickstart
build/thinkprobe reduce out/quickstart
echo
echo "Planted ground truth vs what the sweep measured (analysis/demo_check.py):"
/usr/bin/python3 analysis/demo_check.py out/quickstart models/demo || true
echo
echo "The archive (traces, judge outcomes, hidden states; schemas/archive.md): out/quickstart/archive.h5"
echo "The report: out/quickstart/reduce/report.html (numbers in out/quickstart/reduce/results.json)"
