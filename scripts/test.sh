#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs every test: Catch2 unit tests, MPI process tests, and the checks
# against references (Python: NumPy, scikit-learn, SciPy, h5py, jsonschema; Node: Hugging Face tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unset OPENBLAS_CORETYPE   # let OpenBLAS pick its AVX-512 kernels (2x faster here than a forced Haswell)
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
