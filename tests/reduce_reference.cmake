# Reducer statistics against scikit-learn / SciPy / NumPy (Debian's, at /usr/bin/python3): the Python
# script writes references into the build tree (fixture setup), then the hidden Catch2 cases tagged
# [reduce_reference] in test_reduce_reference.cpp compare thinkprobe's functions with them.
add_test(NAME reduce_reference_generate
         COMMAND ${TP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/reduce_reference.py ${CMAKE_BINARY_DIR}/reference)
set_tests_properties(reduce_reference_generate PROPERTIES FIXTURES_SETUP reduce_reference TIMEOUT 300)
add_test(NAME reduce_reference COMMAND thinkprobe_tests "[reduce_reference]")
set_tests_properties(reduce_reference PROPERTIES FIXTURES_REQUIRED reduce_reference TIMEOUT 300)

# The results.json schema is a valid JSON Schema and accepts the example (jsonschema, Debian's).
add_test(NAME results_schema_example
         COMMAND ${TP_PYTHON} -c "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); jsonschema.Draft202012Validator.check_schema(s); jsonschema.validate(json.load(open(sys.argv[2])), s); print('ok')"
                 ${CMAKE_SOURCE_DIR}/schemas/results.schema.json ${CMAKE_CURRENT_SOURCE_DIR}/reference/results_example.json)
