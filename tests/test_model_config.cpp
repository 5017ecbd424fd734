// config.json parsing: the three supported classes, their defaults (head_dim, tie_word_embeddings, Qwen2
// q/k/v bias), rope scaling variants, and clear errors for anything unsupported. Reference: the
// transformers configuration classes as summarised in research/models.md 1.2-1.6.
#include <catch2/catch.hpp>

#include "model/model_config.h"
#include "model/test_model.h"
#include "util/check.h"

using namespace tp;

static const char* kQwen3_8B = R"({"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"head_dim":128,
 "hidden_size":4096,"intermediate_size":12288,"max_position_embeddings":40960,"num_attention_heads":32,
 "num_hidden_layers":36,"num_key_value_heads":8,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000,
 "tie_word_embeddings":false,"torch_dtype":"bfloat16","vocab_size":151936,"eos_token_id":151645,"bos_token_id":151643})";

TEST_CASE("model config: Qwen3-8B config.json", "[model_config]") {
  ModelConfig c = model_config_parse(kQwen3_8B, "config.json");
  CHECK(c.arch == Arch::QWEN3);
  CHECK(c.d_head == 128);
  CHECK(c.n_head_kv == 8);
  CHECK(c.qk_norm);
  CHECK_FALSE(c.qkv_bias);
  CHECK_FALSE(c.tie_embeddings);
  CHECK(c.rope_theta == 1e6);
  CHECK(c.rope.type == RopeType::DEFAULT);
  CHECK(c.eos_ids == std::vector<int64_t>{151645});
}

TEST_CASE("model config: Qwen2 has q/k/v bias, defaults for head_dim and tie", "[model_config]") {
  ModelConfig c = model_config_parse(R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":1536,"intermediate_size":8960,
    "num_attention_heads":12,"num_hidden_layers":28,"num_key_value_heads":2,"vocab_size":151936,"rms_norm_eps":1e-6,
    "rope_theta":10000,"eos_token_id":[151643, 151645]})", "q2");
  CHECK(c.qkv_bias);
  CHECK_FALSE(c.o_bias);
  CHECK(c.d_head == 128);  // 1536 / 12
  CHECK_FALSE(c.tie_embeddings);
  CHECK(c.eos_ids.size() == 2);
}

TEST_CASE("model config: llama3 and yarn rope scaling, v5 rope_parameters", "[model_config]") {
  ModelConfig c = model_config_parse(R"({"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
    "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":128256,"rope_theta":500000,
    "rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})", "l");
  CHECK(c.rope.type == RopeType::LLAMA3);
  CHECK(c.rope.original_max_pos == 8192);
  ModelConfig y = model_config_parse(R"({"architectures":["Qwen3ForCausalLM"],"hidden_size":64,"intermediate_size":128,
    "num_attention_heads":4,"num_hidden_layers":2,"vocab_size":300,
    "rope_parameters":{"rope_theta":5000,"rope_type":"yarn","factor":4,"original_max_position_embeddings":32768}})", "y");
  CHECK(y.rope.type == RopeType::YARN);
  CHECK(y.rope_theta == 5000);
  CHECK(y.rope.factor == 4);
}

TEST_CASE("model config: unsupported things are errors that say what is supported", "[model_config]") {
  auto err = [](const std::string& j) {
    try {
      model_config_parse(j, "cfg.json");
    } catch (const Error& e) {
      return std::string(e.what()) + " " + e.hint;
    }
    return std::string();
  };
  std::string e = err(R"({"architectures":["GptOssForCausalLM"]})");
  CHECK(e.find("GptOssForCausalLM") != std::string::npos);
  CHECK(e.find("Qwen3ForCausalLM") != std::string::npos);
  e = err(R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_attention_heads":4,
    "num_hidden_layers":2,"vocab_size":300,"rope_scaling":{"rope_type":"longrope","factor":2}})");
  CHECK(e.find("longrope") != std::string::npos);
  CHECK(e.find("yarn") != std::string::npos);
  CHECK(err(R"({"architectures":["LlamaForCausalLM"],"hidden_size":64})").find("missing key") != std::string::npos);
  CHECK(err("{").find("cfg.json") != std::string::npos);
}

TEST_CASE("model config: to_json round trip of the test configs", "[model_config]") {
  for (const char* arch : {"qwen3", "qwen2", "llama"})
    for (const char* rope : {"default", "llama3", "yarn"}) {
      TestModelOptions o;
      o.arch = arch, o.rope = rope;
      ModelConfig c = test_model_config(o);
      ModelConfig r = model_config_parse(model_config_to_json(c), "x");
      CHECK(r.arch == c.arch);
      CHECK(r.d_head == c.d_head);
      CHECK(r.rope.type == c.rope.type);
      CHECK(r.rope.factor == c.rope.factor);
      CHECK(r.qkv_bias == c.qkv_bias);
      CHECK(r.tie_embeddings == c.tie_embeddings);
    }
}
