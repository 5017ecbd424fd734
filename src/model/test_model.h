// Random-weight checkpoints in exact Hugging Face layout (config.json, model.safetensors or shards with
// model.safetensors.index.json, tokenizer.json, tokenizer_config.json, generation_config.json), so tests
// and benchmarks never need a download. Shapes: "tiny" (hidden 64, 2 layers) or "qwen3-0.6b".
// Called by `thinkprobe make-test-model`, the tests and bench/. Weights are random, not trained.
#pragma once
#include <cstdint>
#include <string>

#include "model/model_config.h"

namespace tp {

struct TestModelOptions {
  std::string arch = "qwen3";     // qwen3 | qwen2 | llama
  std::string shape = "tiny";     // tiny | qwen3-0.6b
  std::string rope = "default";   // default | llama3 | yarn
  std::string dtype = "float32";  // float32 | bfloat16
  int64_t shards = 1;             // > 1: model-0000i-of-0000n.safetensors + index
  int tie = -1;                   // -1: the shape's default (tiny: untied, qwen3-0.6b: tied), 0/1 force
  uint64_t seed = 1;
};

// The config make_test_model writes for these options (tp::Error on unknown names).
ModelConfig test_model_config(const TestModelOptions& o);
void make_test_model(const std::string& dir, const TestModelOptions& o);

// Ids of the added tokens of the test checkpoints' tokenizer (tiny_bpe_tokenizer_json with 12 merges):
// endoftext, im_start, im_end, think, think_close.
struct TestTokenIds { int64_t endoftext, im_start, im_end, think, think_close; };
TestTokenIds test_token_ids();

}  // namespace tp
