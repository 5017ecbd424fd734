# Every shipped job file validates against schemas/job.schema.json (python3-jsonschema) and the parser.
add_test(NAME jobs_validate
         COMMAND ${TP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_jobs.py $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR})
