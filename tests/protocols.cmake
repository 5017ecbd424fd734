# The cut-and-resample protocols end to end (tests/protocols/protocols_test.sh): a random-weight tiny
# checkpoint with nested branching and cut replay on, 1 and 3 ranks, the dry engine too, then reduce, with the
# lock-in numbers recomputed from the archive by h5py + SciPy.
add_test(NAME protocols_e2e
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/protocols/protocols_test.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/protocols-e2e)
set_tests_properties(protocols_e2e PROPERTIES LABELS "mpi" TIMEOUT 600 PROCESSORS 2)
