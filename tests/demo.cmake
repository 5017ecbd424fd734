# The demo model recovers its planted ground truth through the whole pipeline (tests/demo_sweep.sh):
# train (280 steps, about 4 CPU-minutes), sweep on 3 MPI ranks (8 samples per held-out prompt, 4
# interventions, 30 s), check with h5py + scikit-learn. The reference is the planted numbers in the model's
# ground_truth.json (docs/demo.md).
# DISABLED for now: at this training budget the over-refusal shift and the early stance are recovered but
# the think_first probe (0.73) and the per-cell rates are not yet (docs/demo.md, "status"). Enable it once
# the demo model trains to the planted numbers.
add_test(NAME demo_planted_truth
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/demo_sweep.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/test-tmp/demo 280 8)
set_tests_properties(demo_planted_truth PROPERTIES LABELS "mpi" TIMEOUT 900 PROCESSORS 2 DISABLED TRUE)
