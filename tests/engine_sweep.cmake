# The real engine through the sweep, single process and 3 MPI ranks (tests/engine_sweep.sh).
add_test(NAME engine_sweep
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/engine_sweep.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/engine-sweep)
set_tests_properties(engine_sweep PROPERTIES LABELS "mpi" TIMEOUT 300 PROCESSORS 2)
