# `thinkprobe reduce` end to end (tests/reduce/reduce_test.sh): a small dry-engine run, reduced, and its
# results.json checked with jsonschema, h5py and scikit-learn (Debian's /usr/bin/python3).
add_test(NAME reduce_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/reduce/reduce_test.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/reduce-cli)
set_tests_properties(reduce_cli PROPERTIES TIMEOUT 300)
