# ASR / ORR from four judges' votes under two tie rules, against h5py + numpy (tests/reduce/votes_test.sh).
add_test(NAME reduce_votes
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/reduce/votes_test.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/reduce-votes)
set_tests_properties(reduce_votes PROPERTIES TIMEOUT 300)
