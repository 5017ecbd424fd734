#!/usr/bin/env bash
# Installs what thinkprobe needs from Debian 12 packages (only what is missing; non-interactive), then
# configures and builds it in build/. Safe to run again: a second run installs nothing and rebuilds only
# what changed. Arguments go to `cmake --build` (scripts/quickstart.sh builds `--target thinkprobe` only).
# Used by scripts/quickstart.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake g++ ninja-build pkg-config ccache git
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev     # MPI ranks, parallel HDF5 (openmpi flavour)
  libtorch-dev libopenblas0-openmp                   # libtorch; OpenBLAS (without it: reference BLAS, 30x slower)
  libyaml-cpp-dev libspdlog-dev catch2 nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev
  slurmctld slurmd slurm-client munge                # the Slurm tests run a real one-node cluster
  python3-numpy python3-scipy python3-sklearn python3-h5py python3-matplotlib python3-jsonschema python3-yaml
)
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)   # tokenizer reference tests

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" "$@"
