#!/usr/bin/env bash
# The quick start, end to end on one CPU machine (fresh Debian 12): installs and builds thinkprobe
# (scripts/setup.sh), trains the demo model into models/demo (docs/demo.md; skipped when already there),
# runs the sweep of jobs/quickstart.yaml with 3 MPI processes (a coordinator and two workers), reduces it,
# and says what was planted in the demo model and what the pipeline recovered. The README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
lap() { echo "quickstart: $1 done at $((SECONDS - t0)) s"; }
bash scripts/setup.sh --target thinkprobe
lap "setup and build"

build/thinkprobe demo-model models/demo
lap "demo model"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun -np 3 build/thinkprobe run jobs/quickstart.yaml
build/thinkprobe inspect out/quickstart
build/thinkprobe reduce out/quickstart
lap "sweep and reduce"
echo
/usr/bin/python3 analysis/demo_check.py out/quickstart models/demo || true
echo
echo "The archive (traces, judge outcomes, hidden states; schemas/archive.md): out/quickstart/archive.h5"
echo "The report: out/quickstart/reduce/report.html (numbers in out/quickstart/reduce/results.json)"
echo "What the demo model is and what was planted in it: docs/demo.md"
lap "quick start"
