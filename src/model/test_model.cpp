// make-test-model: random weights in Hugging Face layout (see test_model.h).
// Weights: embeddings ~ N(0,1), linear weights ~ N(0, 1/in_features), norm weights ~ 1 + N(0, 0.1^2),
// biases ~ N(0, 0.1^2): big enough that every term of the forward pass shows in the logits.
#include "model/test_model.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

// The test tokenizer: the tokenizer module's tiny byte-level BPE (Qwen3 format), trained on this text.
static const int kNumMerges = 12;
static const char* kTokenizerText = "the thinking model then answers: the request is fine, so the answer is here.\n\n"
                                    "The user asks about the weather; the assistant thinks and then responds.";

TestTokenIds test_token_ids() {
  int64_t b = 256 + kNumMerges;
  return {b, b + 1, b + 2, b + 3, b + 4};
}


ModelConfig test_model_config(const TestModelOptions& o) {
  ModelConfig c;
  if (o.arch == "qwen3") c.arch = Arch::QWEN3;
  else if (o.arch == "qwen2") c.arch = Arch::QWEN2;
  else if (o.arch == "llama") c.arch = Arch::LLAMA;
  else throw Error(fmt::format("make-test-model: unknown arch '{}'", o.arch), "use qwen3, qwen2 or llama");
  c.arch_name = arch_hf_name(c.arch);
  if (o.shape == "tiny") {
    c.n_vocab = 320, c.n_embd = 64, c.n_layer = 2, c.n_head = 4, c.n_head_kv = 2, c.n_ff = 128, c.max_pos = 4096;
    c.d_head = c.arch == Arch::QWEN3 ? 32 : 16;  // Qwen3: H*D != C, as in the real models
    c.tie_embeddings = false;
  } else if (o.shape == "qwen3-0.6b") {
    c.n_vocab = 151936, c.n_embd = 1024, c.n_layer = 28, c.n_head = 16, c.n_head_kv = 8, c.d_head = 128, c.n_ff = 3072;
    c.max_pos = 40960, c.tie_embeddings = true;
  } else
    throw Error(fmt::format("make-test-model: unknown shape '{}'", o.shape), "use tiny or qwen3-0.6b");
  if (o.tie >= 0) c.tie_embeddings = o.tie != 0;
  c.rms_eps = 1e-6;
  c.rope_theta = c.arch == Arch::LLAMA ? 500000.0 : 1000000.0;
  if (o.rope == "llama3") {
    c.rope.type = RopeType::LLAMA3, c.rope.factor = 8, c.rope.low_freq_factor = 1, c.rope.high_freq_factor = 4;
    c.rope.original_max_pos = 64;  // small, so tiny head dims land in all three bands
    c.rope_theta = 10000.0;
  } else if (o.rope == "yarn") {
    c.rope.type = RopeType::YARN, c.rope.factor = 4, c.rope.original_max_pos = 256, c.rope_theta = 10000.0;
  } else if (o.rope != "default")
    throw Error(fmt::format("make-test-model: unknown rope '{}'", o.rope), "use default, llama3 or yarn");
  c.qk_norm = c.arch == Arch::QWEN3;
  c.qkv_bias = c.arch == Arch::QWEN2;
  c.torch_dtype = o.dtype;
  TestTokenIds ids = test_token_ids();
  c.bos_id = ids.endoftext;
  c.eos_ids = {ids.im_end};
  return c;
}

void make_test_model(const std::string& dir, const TestModelOptions& o) {
  namespace fs = std::filesystem;
  ModelConfig c = test_model_config(o);
  StDtype st = o.dtype == "float32" ? StDtype::F32 : o.dtype == "bfloat16" ? StDtype::BF16
             : throw Error(fmt::format("make-test-model: dtype '{}'", o.dtype), "use float32 or bfloat16");
  at::ScalarType dt = st == StDtype::F32 ? at::kFloat : at::kBFloat16;
  auto gen = at::detail::createCPUGenerator(o.seed);
  std::vector<StWriteTensor> tensors;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, double mean, double std) {
    at::Tensor t = at::normal(mean, std, shape, gen).to(dt).contiguous();
    tensors.push_back({name, st, shape, std::string(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  };
  const int64_t C = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.d_head, F = c.n_ff, V = c.n_vocab;
  auto lin = [&](const std::string& name, int64_t out, int64_t in) { add(name, {out, in}, 0, 1 / std::sqrt(double(in))); };
  add("model.embed_tokens.weight", {V, C}, 0, 1);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    std::string p = fmt::format("model.layers.{}.", il);
    add(p + "input_layernorm.weight", {C}, 1, 0.1);
    lin(p + "self_attn.q_proj.weight", H * D, C);
    lin(p + "self_attn.k_proj.weight", Hkv * D, C);
    lin(p + "self_attn.v_proj.weight", Hkv * D, C);
    if (c.qkv_bias) {
      add(p + "self_attn.q_proj.bias", {H * D}, 0, 0.1);
      add(p + "self_attn.k_proj.bias", {Hkv * D}, 0, 0.1);
      add(p + "self_attn.v_proj.bias", {Hkv * D}, 0, 0.1);
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {D}, 1, 0.1);
      add(p + "self_attn.k_norm.weight", {D}, 1, 0.1);
    }
    lin(p + "self_attn.o_proj.weight", C, H * D);
    add(p + "post_attention_layernorm.weight", {C}, 1, 0.1);
    lin(p + "mlp.gate_proj.weight", F, C);
    lin(p + "mlp.up_proj.weight", F, C);
    lin(p + "mlp.down_proj.weight", C, F);
  }
  add("model.norm.weight", {C}, 1, 0.1);
  if (!c.tie_embeddings) lin("lm_head.weight", V, C);

  fs::create_directories(dir);
  std::map<std::string, std::string> meta = {{"format", "pt"}};
  if (o.shards <= 1) {
    safetensors_write((fs::path(dir) / "model.safetensors").string(), tensors, meta);
  } else {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::ordered_json::object()}};
    size_t total = 0, per = (tensors.size() + o.shards - 1) / o.shards;
    for (int64_t s = 0; s < o.shards; ++s) {
      std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, o.shards);
      std::vector<StWriteTensor> part;
      for (size_t i = s * per; i < std::min(tensors.size(), (s + 1) * per); ++i) {
        index["weight_map"][tensors[i].name] = name;
        total += tensors[i].bytes.size();
        part.push_back(std::move(tensors[i]));
      }
      safetensors_write((fs::path(dir) / name).string(), part, meta);
    }
    index["metadata"]["total_size"] = total;
    write_file_atomic((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
  write_file_atomic((fs::path(dir) / "config.json").string(), model_config_to_json(c));
  write_file_atomic((fs::path(dir) / "tokenizer.json").string(), tiny_bpe_tokenizer_json({kTokenizerText}, kNumMerges));
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), tiny_bpe_tokenizer_config_json());
  TestTokenIds ids = test_token_ids();
  nlohmann::ordered_json gc = {{"bos_token_id", ids.endoftext}, {"eos_token_id", {ids.im_end, ids.endoftext}},
                               {"do_sample", true}, {"temperature", 0.6}, {"top_k", 20}, {"top_p", 0.95}};
  write_file_atomic((fs::path(dir) / "generation_config.json").string(), gc.dump(2) + "\n");
}

}  // namespace tp
