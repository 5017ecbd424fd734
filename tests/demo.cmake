# The demo model recovers its planted ground truth through the whole pipeline (tests/demo_sweep.sh): train it
# with the quick start's defaults (about 3.5 CPU-minutes; kept in test-tmp/demo/model between runs), sweep the
# quick-start job on 3 MPI ranks, reduce, and check the reducer's numbers with analysis/demo_check.py. The
# reference is the planted numbers in the model's ground_truth.json (docs/demo.md); every check is asserted
# (listed in demo_sweep.sh).
add_test(NAME demo_planted_truth
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/demo_sweep.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/test-tmp/demo)
set_tests_properties(demo_planted_truth PROPERTIES LABELS "mpi" TIMEOUT 2400 PROCESSORS 2)  # 4 CPU-minutes of training can take 20 wall-minutes on a loaded 2-core machine
