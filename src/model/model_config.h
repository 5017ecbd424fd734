// Model hyper-parameters read from a Hugging Face config.json, for the three decoder families the engine
// runs: Qwen3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM. Family differences are fields here
// (qk_norm, qkv_bias, rope scaling), not classes. Anything else is a tp::Error listing what is supported.
// Called by model/weights.cpp (shape checks), model/transformer.cpp, make-test-model and the CLI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tp {

enum class Arch { QWEN3, QWEN2, LLAMA };
enum class RopeType { DEFAULT, LLAMA3, YARN };

struct RopeScaling {
  RopeType type = RopeType::DEFAULT;
  double factor = 1.0;
  int64_t original_max_pos = 0;     // original_max_position_embeddings (0 = max_position_embeddings)
  double low_freq_factor = 1.0;     // llama3
  double high_freq_factor = 4.0;    // llama3
  double beta_fast = 32.0;          // yarn
  double beta_slow = 1.0;           // yarn
  double attention_factor = 0.0;    // yarn: multiplies cos and sin; 0 = from factor (and mscale)
  double mscale = 0.0, mscale_all_dim = 0.0;  // yarn (DeepSeek style), 0 = absent
  bool truncate = true;             // yarn
};

struct ModelConfig {
  Arch arch = Arch::QWEN3;
  std::string arch_name;      // architectures[0] as written
  int64_t n_vocab = 0;        // vocab_size
  int64_t n_embd = 0;         // hidden_size
  int64_t n_layer = 0;        // num_hidden_layers
  int64_t n_head = 0;         // num_attention_heads
  int64_t n_head_kv = 0;      // num_key_value_heads (default n_head)
  int64_t d_head = 0;         // head_dim (default n_embd / n_head)
  int64_t n_ff = 0;           // intermediate_size
  int64_t max_pos = 0;        // max_position_embeddings
  double rms_eps = 1e-6;      // rms_norm_eps
  double rope_theta = 10000;  // rope_theta (or rope_parameters.rope_theta)
  RopeScaling rope;
  bool qk_norm = false;       // Qwen3: per-head RMSNorm on q and k before RoPE
  bool qkv_bias = false;      // Qwen2: always; Llama/Qwen3: attention_bias
  bool o_bias = false;        // Llama/Qwen3 attention_bias also puts a bias on o_proj
  bool mlp_bias = false;      // Llama mlp_bias
  bool tie_embeddings = false;  // tie_word_embeddings (class default false for all three)
  std::string torch_dtype;    // "bfloat16", "float32", "float16" as written ("" if absent)
  std::vector<int64_t> eos_ids;  // eos_token_id (int or list) from config.json
  int64_t bos_id = -1;
};

const char* arch_hf_name(Arch a);  // "Qwen3ForCausalLM", ...
// Parses config.json text; `where` names the file in errors.
ModelConfig model_config_parse(const std::string& json_text, const std::string& where);
// Reads DIR/config.json.
ModelConfig model_config_load(const std::string& dir);
// The inverse, used by make-test-model: config.json text as Hugging Face writes it.
std::string model_config_to_json(const ModelConfig& c);

}  // namespace tp
