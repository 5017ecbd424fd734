// `thinkprobe make-test-model DIR [--arch qwen3|qwen2|llama] [--shape tiny|qwen3-0.6b] ...`: writes a
// random-weight checkpoint in Hugging Face layout for tests and benchmarks (model/test_model.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "model/test_model.h"

namespace tp {

CommandRun add_make_test_model(CLI::App& app) {
  auto* cmd = app.add_subcommand("make-test-model", "write a random-weight checkpoint in Hugging Face layout");
  struct Opts {
    std::string dir;
    TestModelOptions m;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("dir", o->dir, "output folder")->required();
  cmd->add_option("--arch", o->m.arch, "qwen3, qwen2 or llama")->capture_default_str();
  cmd->add_option("--shape", o->m.shape, "tiny or qwen3-0.6b")->capture_default_str();
  cmd->add_option("--rope", o->m.rope, "rope scaling: default, llama3 or yarn")->capture_default_str();
  cmd->add_option("--dtype", o->m.dtype, "float32 or bfloat16")->capture_default_str();
  cmd->add_option("--shards", o->m.shards, "number of safetensors shards (1 = model.safetensors)")->capture_default_str();
  cmd->add_option("--tie", o->m.tie, "tie lm_head to the embedding: 1, 0, or -1 for the shape's default")->capture_default_str();
  cmd->add_option("--seed", o->m.seed, "seed of the random weights")->capture_default_str();
  return [o]() {
    make_test_model(o->dir, o->m);
    return 0;
  };
}

}  // namespace tp
