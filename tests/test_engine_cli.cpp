// The engine's CLI end to end: make-test-model (sharded), logits, generate, and the errors a user sees
// for a truncated checkpoint or a bad id (exit status 2, one line naming the file and the tensor).
#include <catch2/catch.hpp>

#include <filesystem>

#include "helpers.h"
#include "model/test_model.h"
#include "tokenizer/tokenizer.h"
#include "util/text.h"

using namespace tp;

TEST_CASE("engine cli: make-test-model, logits, generate", "[engine_cli]") {
  std::string dir = test::temp_dir("cli_engine");
  auto r = test::run_cmd(test::cli() + " make-test-model " + dir + "/m --arch qwen2 --shards 2");
  REQUIRE(r.status == 0);
  CHECK(std::filesystem::exists(dir + "/m/model.safetensors.index.json"));
  CHECK(std::filesystem::exists(dir + "/m/model-00002-of-00002.safetensors"));
  CHECK(std::filesystem::exists(dir + "/m/tokenizer.json"));
  r = test::run_cmd(test::cli() + " logits --model " + dir + "/m --ids 1,2,3 --out " + dir + "/l.npy");
  REQUIRE(r.status == 0);
  std::string npy = read_file(dir + "/l.npy");
  CHECK(npy.substr(1, 5) == "NUMPY");
  CHECK(npy.find("'shape': (3,320)") != std::string::npos);
  CHECK(npy.size() % 64 == (3 * 320 * 4) % 64);
  r = test::run_cmd(test::cli() + " generate --model " + dir + "/m --prompt-ids 5,6,7 --prompt-opens-think --think-close-id 300 "
                    "--force-close-ids 198,300 --max-think 4 --max-answer 3 --temperature 0");
  REQUIRE(r.status == 0);
  CHECK(r.output.find("thinking: [") != std::string::npos);
  CHECK(r.output.find("(force-closed at the budget)") != std::string::npos);
  CHECK(r.output.find("stop: answer_budget") != std::string::npos);
  r = test::run_cmd(test::cli() + " logits --model " + dir + "/m --ids 1,2,320 --out " + dir + "/x.npy");
  CHECK(r.status == 2);
  CHECK(r.output.find("320 is outside the vocabulary") != std::string::npos);
}

TEST_CASE("engine cli: a truncated checkpoint is one clear error", "[engine_cli]") {
  std::string dir = test::temp_dir("cli_truncated");
  REQUIRE(test::run_cmd(test::cli() + " make-test-model " + dir + " --arch llama").status == 0);
  std::string st = dir + "/model.safetensors";
  std::filesystem::resize_file(st, std::filesystem::file_size(st) - 100);
  auto r = test::run_cmd(test::cli() + " logits --model " + dir + " --ids 1,2 --out " + dir + "/l.npy");
  CHECK(r.status == 2);
  CHECK(r.output.find(st) != std::string::npos);
  CHECK(r.output.find("tensor '") != std::string::npos);
  CHECK(r.output.find("out of range") != std::string::npos);
  CHECK(r.output.find("HINT") != std::string::npos);
  // a config the engine does not run
  std::string cfg = read_file(dir + "/config.json");
  cfg.replace(cfg.find("LlamaForCausalLM"), 16, "MistralForCausalLM");
  test::write_text(dir + "/config.json", cfg);
  r = test::run_cmd(test::cli() + " logits --model " + dir + " --ids 1,2 --out " + dir + "/l.npy");
  CHECK(r.status == 2);
  CHECK(r.output.find("MistralForCausalLM") != std::string::npos);
  CHECK(r.output.find("Qwen3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM") != std::string::npos);
}

TEST_CASE("test checkpoints carry the tokenizer module's tiny BPE, added tokens at test_token_ids", "[engine]") {
  std::string dir = test::temp_dir("test_model_tokenizer");
  make_test_model(dir, TestModelOptions{});
  Tokenizer tok = tokenizer_load(dir);
  TestTokenIds ids = test_token_ids();
  CHECK(token_id(tok, "<|endoftext|>") == ids.endoftext);
  CHECK(token_id(tok, "<|im_start|>") == ids.im_start);
  CHECK(token_id(tok, "<|im_end|>") == ids.im_end);
  CHECK(token_id(tok, "<think>") == ids.think);
  CHECK(token_id(tok, "</think>") == ids.think_close);
  CHECK(decode(tok, encode(tok, "the answer is here")) == "the answer is here");
}
