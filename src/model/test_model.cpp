// make-test-model: random weights in Hugging Face layout (see test_model.h).
// Weights: embeddings ~ N(0,1), linear weights ~ N(0, 1/in_features), norm weights ~ 1 + N(0, 0.1^2),
// biases ~ N(0, 0.1^2): big enough that every term of the forward pass shows in the logits.
#include "model/test_model.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

static const char* kMerges[][2] = {{"Ġ", "t"}, {"h", "e"}, {"i", "n"}, {"Ġt", "he"}, {"e", "r"}, {"o", "n"},
                                   {"Ġ", "a"}, {"r", "e"}, {"a", "n"}, {"Ċ", "Ċ"}, {"Ġ", "s"}, {"o", "r"}};
static const int kNumMerges = sizeof(kMerges) / sizeof(kMerges[0]);
static const char* kAdded[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"};

TestTokenIds test_token_ids() {
  int64_t b = 256 + kNumMerges;
  return {b, b + 1, b + 2, b + 3, b + 4};
}

static std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) s += char(cp);
  else if (cp < 0x800) s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
  else s += char(0xE0 | (cp >> 12)), s += char(0x80 | ((cp >> 6) & 0x3F)), s += char(0x80 | (cp & 0x3F));
  return s;
}

std::string test_tokenizer_json() {
  using json = nlohmann::ordered_json;
  // GPT-2 bytes_to_unicode, in its own order (printable bytes first, then the rest mapped to 256+n).
  std::vector<uint32_t> symbols;
  for (uint32_t b = 0; b < 256; ++b)
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) symbols.push_back(b);
  uint32_t n = 0;
  for (uint32_t b = 0; b < 256; ++b)
    if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) symbols.push_back(256 + n++);
  json vocab = json::object();
  for (size_t i = 0; i < symbols.size(); ++i) vocab[utf8(symbols[i])] = i;
  json merges = json::array();
  for (int i = 0; i < kNumMerges; ++i) {
    vocab[std::string(kMerges[i][0]) + kMerges[i][1]] = 256 + i;
    merges.push_back({kMerges[i][0], kMerges[i][1]});
  }
  json added = json::array();
  for (int i = 0; i < 5; ++i)
    added.push_back({{"id", 256 + kNumMerges + i}, {"content", kAdded[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", i < 3}});
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", json::array({
      {{"type", "Split"},
       {"pattern", {{"Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
       {"behavior", "Isolated"}, {"invert", false}},
      byte_level})}};
  j["post_processor"] = byte_level;
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab}, {"merges", merges}};
  return j.dump(2) + "\n";
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
  write_file_atomic((fs::path(dir) / "tokenizer.json").string(), test_tokenizer_json());
  TestTokenIds ids = test_token_ids();
  nlohmann::ordered_json tc = {
      {"add_bos_token", false}, {"bos_token", nullptr}, {"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"},
      {"model_max_length", c.max_pos}, {"tokenizer_class", "Qwen2Tokenizer"},
      {"chat_template",
       "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
       "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"}};
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), tc.dump(2) + "\n");
  nlohmann::ordered_json gc = {{"bos_token_id", ids.endoftext}, {"eos_token_id", {ids.im_end, ids.endoftext}},
                               {"do_sample", true}, {"temperature", 0.6}, {"top_k", 20}, {"top_p", 0.95}};
  write_file_atomic((fs::path(dir) / "generation_config.json").string(), gc.dump(2) + "\n");
}

}  // namespace tp
