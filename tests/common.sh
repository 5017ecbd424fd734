# The shared preamble of the process-level test scripts (tests/*.sh, tests/*/*_test.sh), sourced once they
# have set WORK: Debian's Python (numpy, h5py, scikit-learn) as $PY, Open MPI allowed to run as root and
# to oversubscribe, WORK emptied and made the current directory, fail() to end a test with a message, and stub_model DIR for the dry engine's
# model directory (a 4-layer config and placeholder tokenizer and weights, never loaded).
# Not a test itself; the tests keep their own arguments and checks.
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }
stub_model() {
  mkdir -p "$1" || fail "mkdir $1"
  echo '{"num_hidden_layers": 4}' > "$1/config.json"
  echo '{}' > "$1/tokenizer.json"
  echo "stub weights" > "$1/model.safetensors"
}
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
