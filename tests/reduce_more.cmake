# `thinkprobe reduce` under mpirun (identical to one rank) and its saved directions used by a steering job
# (tests/reduce/reduce_more_test.sh).
foreach(case mpi steer)
  add_test(NAME reduce_${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/reduce/reduce_more_test.sh ${case} $<TARGET_FILE:thinkprobe>
                   ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/reduce-${case})
  set_tests_properties(reduce_${case} PROPERTIES TIMEOUT 300 PROCESSORS 2)
endforeach()
set_tests_properties(reduce_mpi PROPERTIES LABELS "mpi")
