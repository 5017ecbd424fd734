# Process-level tests of the distributed sweep and the archive (tests/dist/dist_test.sh): real mpirun
# processes (oversubscribed, as root) with the dry engine, checked with h5py (Debian's /usr/bin/python3).
foreach(case np1 np2 np4 equal kill truncate refuse failures usr1 signal)
  add_test(NAME dist_${case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/dist_test.sh ${case} $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/dist-${case})
  set_tests_properties(dist_${case} PROPERTIES LABELS "mpi" TIMEOUT 120 PROCESSORS 2)
endforeach()
