# Decode-time defenses and a LoRA adapter through the engine and the sweep (tests/defenses_sweep.sh).
add_test(NAME defenses_sweep
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/defenses_sweep.sh $<TARGET_FILE:thinkprobe> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/../shared ${CMAKE_BINARY_DIR}/test-tmp/defenses-sweep)
set_tests_properties(defenses_sweep PROPERTIES TIMEOUT 300)
