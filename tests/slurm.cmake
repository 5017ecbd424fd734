# Slurm end to end against real slurmctld/slurmd/munge on localhost (tests/slurm/slurm_e2e.sh); needs root.
add_test(NAME slurm_e2e
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/slurm_e2e.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/slurm-e2e)
set_tests_properties(slurm_e2e PROPERTIES LABELS "slurm" TIMEOUT 600 PROCESSORS 2 RUN_SERIAL TRUE)
