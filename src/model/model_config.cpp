// config.json -> ModelConfig (see model_config.h). Reads both the transformers v4 layout (rope_theta and
// rope_scaling at the top level) and the v5 one (rope_parameters), and "rope_type" or legacy "type".
#include "model/model_config.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/check.h"
#include "util/text.h"

namespace tp {

using json = nlohmann::json;

const char* arch_hf_name(Arch a) {
  switch (a) {
    case Arch::QWEN3: return "Qwen3ForCausalLM";
    case Arch::QWEN2: return "Qwen2ForCausalLM";
    case Arch::LLAMA: return "LlamaForCausalLM";
  }
  return "?";
}

static int64_t get_int(const json& j, const char* key, const std::string& where, int64_t def, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(fmt::format("{}: missing key '{}'", where, key));
    return def;
  }
  if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0)
    throw Error(fmt::format("{}: '{}' must be a non-negative integer (got {})", where, key, j[key].dump()));
  return j[key].get<int64_t>();
}

static double get_num(const json& j, const char* key, const std::string& where, double def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) throw Error(fmt::format("{}: '{}' must be a number (got {})", where, key, j[key].dump()));
  return j[key].get<double>();
}

static bool get_bool(const json& j, const char* key, const std::string& where, bool def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) throw Error(fmt::format("{}: '{}' must be true or false (got {})", where, key, j[key].dump()));
  return j[key].get<bool>();
}

static RopeScaling parse_rope_scaling(const json& r, const std::string& where) {
  RopeScaling s;
  std::string type = r.contains("rope_type") ? r["rope_type"].get<std::string>()
                     : r.contains("type")    ? r["type"].get<std::string>() : "default";
  std::string w = where + ": rope_scaling";
  if (type == "default") return s;
  if (type == "llama3") s.type = RopeType::LLAMA3;
  else if (type == "yarn") s.type = RopeType::YARN;
  else
    throw Error(fmt::format("{}: rope type '{}' is not supported", w, type), "supported rope types: default, llama3, yarn");
  s.factor = get_num(r, "factor", w, 0);
  if (!(s.factor >= 1.0)) throw Error(fmt::format("{}: 'factor' must be >= 1 (got {})", w, s.factor));
  s.original_max_pos = get_int(r, "original_max_position_embeddings", w, 0, s.type == RopeType::LLAMA3);
  s.low_freq_factor = get_num(r, "low_freq_factor", w, 1.0);
  s.high_freq_factor = get_num(r, "high_freq_factor", w, 4.0);
  if (s.type == RopeType::LLAMA3 && !(s.high_freq_factor > s.low_freq_factor))
    throw Error(fmt::format("{}: high_freq_factor must exceed low_freq_factor", w));
  s.beta_fast = get_num(r, "beta_fast", w, 32.0);
  s.beta_slow = get_num(r, "beta_slow", w, 1.0);
  s.attention_factor = get_num(r, "attention_factor", w, 0.0);
  s.mscale = get_num(r, "mscale", w, 0.0);
  s.mscale_all_dim = get_num(r, "mscale_all_dim", w, 0.0);
  s.truncate = get_bool(r, "truncate", w, true);
  return s;
}

ModelConfig model_config_parse(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
  if (!j.is_object()) throw Error(fmt::format("{}: not a JSON object", where));
  const std::string supported = "supported architectures: Qwen3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM";
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw Error(fmt::format("{}: missing 'architectures'", where), supported);
  ModelConfig c;
  c.arch_name = j["architectures"][0].get<std::string>();
  if (c.arch_name == "Qwen3ForCausalLM") c.arch = Arch::QWEN3;
  else if (c.arch_name == "Qwen2ForCausalLM") c.arch = Arch::QWEN2;
  else if (c.arch_name == "LlamaForCausalLM") c.arch = Arch::LLAMA;
  else throw Error(fmt::format("{}: architecture '{}' is not supported", where, c.arch_name), supported);

  c.n_vocab = get_int(j, "vocab_size", where, 0, true);
  c.n_embd = get_int(j, "hidden_size", where, 0, true);
  c.n_layer = get_int(j, "num_hidden_layers", where, 0, true);
  c.n_head = get_int(j, "num_attention_heads", where, 0, true);
  c.n_head_kv = get_int(j, "num_key_value_heads", where, c.n_head, false);
  c.n_ff = get_int(j, "intermediate_size", where, 0, true);
  c.max_pos = get_int(j, "max_position_embeddings", where, 32768, false);
  if (c.n_head == 0 || c.n_embd == 0 || c.n_layer == 0 || c.n_vocab == 0 || c.n_ff == 0)
    throw Error(fmt::format("{}: sizes must be positive (vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size)", where));
  c.d_head = get_int(j, "head_dim", where, c.n_embd / c.n_head, false);
  if (c.n_head_kv == 0 || c.n_head % c.n_head_kv != 0)
    throw Error(fmt::format("{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})", where, c.n_head, c.n_head_kv));
  if (c.d_head == 0 || c.d_head % 2 != 0) throw Error(fmt::format("{}: head_dim must be even and positive (got {})", where, c.d_head));
  c.rms_eps = get_num(j, "rms_norm_eps", where, 1e-6);

  const json* rope_params = j.contains("rope_parameters") && j["rope_parameters"].is_object() ? &j["rope_parameters"] : nullptr;
  c.rope_theta = get_num(j, "rope_theta", where, rope_params ? get_num(*rope_params, "rope_theta", where, 10000.0) : 10000.0);
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) c.rope = parse_rope_scaling(j["rope_scaling"], where);
  else if (rope_params) c.rope = parse_rope_scaling(*rope_params, where);
  if (get_num(j, "partial_rotary_factor", where, 1.0) != 1.0)
    throw Error(fmt::format("{}: partial_rotary_factor != 1 is not supported", where));

  bool attention_bias = get_bool(j, "attention_bias", where, false);
  c.qk_norm = c.arch == Arch::QWEN3;
  c.qkv_bias = c.arch == Arch::QWEN2 || attention_bias;  // Qwen2 hard-codes q,k,v bias
  c.o_bias = c.arch != Arch::QWEN2 && attention_bias;
  c.mlp_bias = c.arch == Arch::LLAMA && get_bool(j, "mlp_bias", where, false);
  c.tie_embeddings = get_bool(j, "tie_word_embeddings", where, false);  // class default false for all three
  if (get_bool(j, "use_sliding_window", where, false))
    throw Error(fmt::format("{}: use_sliding_window is not supported", where));
  if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) c.torch_dtype = j["torch_dtype"].get<std::string>();
  else if (j.contains("dtype") && j["dtype"].is_string()) c.torch_dtype = j["dtype"].get<std::string>();
  if (j.contains("eos_token_id")) {
    const json& e = j["eos_token_id"];
    if (e.is_number_integer()) c.eos_ids.push_back(e.get<int64_t>());
    else if (e.is_array())
      for (auto& x : e)
        if (x.is_number_integer()) c.eos_ids.push_back(x.get<int64_t>());
  }
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_id = j["bos_token_id"].get<int64_t>();
  return c;
}

ModelConfig model_config_load(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "config.json").string();
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: not found", path), "point --model at a Hugging Face checkpoint folder");
  return model_config_parse(read_file(path), path);
}

std::string model_config_to_json(const ModelConfig& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {arch_hf_name(c.arch)};
  j["model_type"] = c.arch == Arch::QWEN3 ? "qwen3" : c.arch == Arch::QWEN2 ? "qwen2" : "llama";
  j["vocab_size"] = c.n_vocab;
  j["hidden_size"] = c.n_embd;
  j["intermediate_size"] = c.n_ff;
  j["num_hidden_layers"] = c.n_layer;
  j["num_attention_heads"] = c.n_head;
  j["num_key_value_heads"] = c.n_head_kv;
  j["head_dim"] = c.d_head;
  j["max_position_embeddings"] = c.max_pos;
  j["rms_norm_eps"] = c.rms_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope.type == RopeType::LLAMA3)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", c.rope.factor}, {"low_freq_factor", c.rope.low_freq_factor},
                         {"high_freq_factor", c.rope.high_freq_factor}, {"original_max_position_embeddings", c.rope.original_max_pos}};
  else if (c.rope.type == RopeType::YARN) {
    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", c.rope.factor}, {"beta_fast", c.rope.beta_fast}, {"beta_slow", c.rope.beta_slow}};
    if (c.rope.original_max_pos) j["rope_scaling"]["original_max_position_embeddings"] = c.rope.original_max_pos;
    if (c.rope.attention_factor != 0) j["rope_scaling"]["attention_factor"] = c.rope.attention_factor;
  } else
    j["rope_scaling"] = nullptr;
  if (c.arch != Arch::QWEN2) j["attention_bias"] = c.qkv_bias;
  if (c.arch == Arch::LLAMA) j["mlp_bias"] = c.mlp_bias;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_embeddings;
  j["torch_dtype"] = c.torch_dtype.empty() ? "float32" : c.torch_dtype;
  if (c.bos_id >= 0) j["bos_token_id"] = c.bos_id;
  if (c.eos_ids.size() == 1) j["eos_token_id"] = c.eos_ids[0];
  else if (!c.eos_ids.empty()) j["eos_token_id"] = c.eos_ids;
  if (c.arch != Arch::LLAMA) j["use_sliding_window"] = false;
  return j.dump(2) + "\n";
}

}  // namespace tp
