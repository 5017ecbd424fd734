// LoRA adapters in PEFT layout. Reference: a second checkpoint whose weights the test merged by hand
// (W + scale * B @ A in float64, written as float32); the base model with the adapter merged at load must
// give the same weights and logits, and different logits from the base. Malformed adapters are named
// errors (file and tensor).
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "model/test_model.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

struct Adapter {
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> ab;  // module path -> (A [r, in], B [out, r])
};

// Writes an adapter of rank r on q_proj and down_proj of both layers; returns its A and B.
Adapter write_adapter(const std::string& dir, const ModelConfig& c, int64_t r, double alpha, bool rslora, const std::string& skip = "") {
  fs::create_directories(dir);
  nlohmann::json cfg = {{"peft_type", "LORA"}, {"r", r}, {"lora_alpha", alpha}, {"use_rslora", rslora}, {"bias", "none"},
                        {"target_modules", {"q_proj", "down_proj"}}, {"base_model_name_or_path", "tiny"}, {"rank_pattern", nlohmann::json::object()}};
  write_file_atomic(dir + "/adapter_config.json", cfg.dump(2));
  at::manual_seed(7);
  Adapter ad;
  std::vector<StWriteTensor> ts;
  for (int64_t il = 0; il < c.n_layer; ++il)
    for (auto [mod, out, in] : {std::tuple<std::string, int64_t, int64_t>{"self_attn.q_proj", c.n_head * c.d_head, c.n_embd},
                                {"mlp.down_proj", c.n_embd, c.n_ff}}) {
      std::string path = fmt::format("model.layers.{}.{}", il, mod);
      at::Tensor a = at::randn({r, in}) * 0.3, b = at::randn({out, r}) * 0.3;
      ad.ab[path] = {a, b};
      if (path + ".lora_A" != skip) ts.push_back({"base_model.model." + path + ".lora_A.weight", StDtype::F32, {r, in}, bytes_of(a)});
      if (path + ".lora_B" != skip) ts.push_back({"base_model.model." + path + ".lora_B.weight", StDtype::F32, {out, r}, bytes_of(b)});
    }
  safetensors_write(dir + "/adapter_model.safetensors", ts);
  return ad;
}

// A copy of the checkpoint in base with every adapted weight replaced by W + scale * B @ A (float64 math).
void write_hand_merged(const std::string& base, const std::string& dir, const Adapter& ad, double scale) {
  fs::create_directories(dir);
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    fs::copy_file(fs::path(base) / f, fs::path(dir) / f, fs::copy_options::overwrite_existing);
  StCheckpoint ck = safetensors_open(base + "/model.safetensors");
  std::vector<StWriteTensor> ts;
  for (const auto& [name, t] : ck.tensors) {
    at::Tensor w = at::from_blob(const_cast<uint8_t*>(t.data), t.shape, at::kFloat).to(at::kDouble);
    for (const auto& [path, ab] : ad.ab)
      if (name == path + ".weight") w = w + scale * at::matmul(ab.second.to(at::kDouble), ab.first.to(at::kDouble));
    ts.push_back({name, StDtype::F32, t.shape, bytes_of(w)});
  }
  safetensors_write(dir + "/model.safetensors", ts);
}

at::Tensor logits_of(Model& m) {
  std::vector<int64_t> ids = {5, 17, 30, 2, 9, 44};
  KVCache kv = kv_cache_new(m.cfg, 1, 8, m.dtype, m.device);
  return forward(m, kv, {at::tensor(ids, at::kLong).view({1, 6}), {0}, {0}, {6}, nullptr}, nullptr, true);
}

}  // namespace

TEST_CASE("lora: merged at load equals a checkpoint merged by hand (alpha/r and rslora alpha/sqrt(r))", "[model][lora]") {
  std::string dir = test::temp_dir("lora_merge");
  make_test_model(dir + "/base", TestModelOptions());
  Model base = model_load(dir + "/base", at::kFloat, at::kCPU);
  for (bool rslora : {false, true}) {
    const int64_t r = 4;
    const double alpha = 8, scale = rslora ? alpha / 2.0 : alpha / 4.0;
    std::string tag = rslora ? "rs" : "plain";
    Adapter ad = write_adapter(dir + "/adapter_" + tag, base.cfg, r, alpha, rslora);
    write_hand_merged(dir + "/base", dir + "/merged_" + tag, ad, scale);
    Model merged_at_load = model_load(dir + "/base", at::kFloat, at::kCPU);
    lora_merge(merged_at_load, dir + "/adapter_" + tag);
    Model by_hand = model_load(dir + "/merged_" + tag, at::kFloat, at::kCPU);
    for (int64_t il = 0; il < base.cfg.n_layer; ++il) {
      CHECK(at::allclose(merged_at_load.w.layers[il].wq, by_hand.w.layers[il].wq, 0, 1e-5));
      CHECK(at::allclose(merged_at_load.w.layers[il].w_down, by_hand.w.layers[il].w_down, 0, 1e-5));
      CHECK(at::equal(merged_at_load.w.layers[il].wk, base.w.layers[il].wk));  // untargeted: untouched
    }
    at::Tensor la = logits_of(merged_at_load), lh = logits_of(by_hand), lb = logits_of(base);
    CHECK(at::allclose(la, lh, 0, 1e-4));
    CHECK((la - lb).abs().max().item<float>() > 0.1f);  // the adapter matters
  }
}

TEST_CASE("lora: malformed adapters are errors naming the file and the tensor", "[model][lora]") {
  std::string dir = test::temp_dir("lora_errors");
  make_test_model(dir + "/base", TestModelOptions());
  Model m = model_load(dir + "/base", at::kFloat, at::kCPU);
  write_adapter(dir + "/missing", m.cfg, 2, 4, false, "model.layers.1.mlp.down_proj.lora_B");
  CHECK_THROWS_WITH(lora_merge(m, dir + "/missing"),
                    Catch::Contains("adapter_model.safetensors: tensor 'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight' is missing"));

  write_adapter(dir + "/rank", m.cfg, 2, 4, false);
  nlohmann::json cfg = nlohmann::json::parse(read_file(dir + "/rank/adapter_config.json"));
  cfg["r"] = 3;  // the tensors have rank 2
  write_file_atomic(dir + "/rank/adapter_config.json", cfg.dump());
  CHECK_THROWS_WITH(lora_merge(m, dir + "/rank"), Catch::Contains("has shape [2, ") && Catch::Contains("expected [3, "));

  write_adapter(dir + "/target", m.cfg, 2, 4, false);
  cfg = nlohmann::json::parse(read_file(dir + "/target/adapter_config.json"));
  cfg["target_modules"] = {"q_proj", "lm_head"};
  write_file_atomic(dir + "/target/adapter_config.json", cfg.dump());
  CHECK_THROWS_WITH(lora_merge(m, dir + "/target"), Catch::Contains("target module \"lm_head\" is not one thinkprobe can merge"));

  write_adapter(dir + "/unknown", m.cfg, 2, 4, false);
  safetensors_write(dir + "/unknown/adapter_model.safetensors",
                    {{"base_model.model.model.layers.0.mlp.q_proj.lora_A.weight", StDtype::F32, {2, 64}, std::string(2 * 64 * 4, '\0')}});
  CHECK_THROWS_WITH(lora_merge(m, dir + "/unknown"), Catch::Contains("unknown target module 'mlp.q_proj'"));

  CHECK_THROWS_WITH(lora_merge(m, dir + "/nowhere"), Catch::Contains("adapter_config.json: no such file"));
  // nothing was merged by the failed calls
  Model fresh = model_load(dir + "/base", at::kFloat, at::kCPU);
  CHECK(at::equal(fresh.w.layers[1].w_down, m.w.layers[1].w_down));
}
