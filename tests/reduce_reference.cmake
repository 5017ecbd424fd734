# Reducer statistics against scikit-learn / SciPy / NumPy (Debian's, at /usr/bin/python3): the Python
# script writes references into the build tree (fixture setup), then the hidden Catch2 cases tagged
# [reduce_reference] in test_reduce_reference.cpp compare thinkprobe's functions with them.
add_test(NAME reduce_reference_generate
         COMMAND ${TP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/reduce_reference.py ${CMAKE_BINARY_DIR}/reference)
set_tests_properties(reduce_reference_generate PROPERTIES FIXTURES_SETUP reduce_reference TIMEOUT 300)
add_test(NAME reduce_reference COMMAND thinkprobe_tests "[reduce_reference]")
set_tests_properties(reduce_reference PROPERTIES FIXTURES_REQUIRED reduce_reference TIMEOUT 300)
