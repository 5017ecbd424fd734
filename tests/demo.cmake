# The demo model recovers its planted ground truth through the whole pipeline (tests/demo_sweep.sh):
# train (400 steps), sweep on 3 MPI ranks (4 samples per held-out prompt, 4 interventions), check with
# h5py + scikit-learn. The reference is the planted numbers in the model's ground_truth.json.
add_test(NAME demo_planted_truth
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/demo_sweep.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/test-tmp/demo 400 6)
set_tests_properties(demo_planted_truth PROPERTIES LABELS "mpi" TIMEOUT 600 PROCESSORS 2)
