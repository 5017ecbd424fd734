// Transformer forward on tiny random checkpoints. References: a full-recompute forward of the same ids
// (for KV-cache decoding, padded batches and forked caches), and shape errors for mismatched weights.
// Logits against the independent float64 implementation are in engine_reference.cmake.
// ATen before Catch: c10's logging defines CHECK too, and Catch's definition must win.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include "helpers.h"
#include "model/test_model.h"
#include "model/transformer.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;

static std::string tiny_model(const std::string& arch, const std::string& rope = "default") {
  std::string dir = test::temp_dir("tf_" + arch + "_" + rope);
  TestModelOptions o;
  o.arch = arch, o.rope = rope;
  make_test_model(dir, o);
  return dir;
}

// Logits [T, V] of one full forward over ids (fresh cache).
static at::Tensor full_logits(const Model& m, const std::vector<int64_t>& ids) {
  int64_t T = int64_t(ids.size());
  KVCache kv = kv_cache_new(m.cfg, 1, T, m.dtype, m.device);
  return forward(m, kv, {at::tensor(ids, at::kLong).view({1, T}), {0}, {0}, {T}}, nullptr, true)[0];
}

static double max_rel(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

static const std::vector<int64_t> kIds = {5, 17, 300, 2, 99, 256, 271, 140, 33, 7, 8, 9, 10, 200, 201, 12};

TEST_CASE("transformer: KV-cache decoding equals full recomputation", "[transformer]") {
  for (const char* arch : {"qwen3", "qwen2", "llama"}) {
    Model m = model_load(tiny_model(arch, "yarn"), at::kFloat, at::kCPU);
    c10::InferenceMode guard;
    at::Tensor ref = full_logits(m, kIds);
    // prefill 6 tokens, then one token at a time
    KVCache kv = kv_cache_new(m.cfg, 1, 32, m.dtype, m.device);
    std::vector<int64_t> pre(kIds.begin(), kIds.begin() + 6);
    at::Tensor l = forward(m, kv, {at::tensor(pre, at::kLong).view({1, 6}), {0}, {0}, {6}}, nullptr, false);
    CHECK(max_rel(l[0], ref[5]) < 1e-5);
    for (int64_t t = 6; t < int64_t(kIds.size()); ++t) {
      l = forward(m, kv, {at::tensor({kIds[t]}, at::kLong).view({1, 1}), {0}, {t}, {1}}, nullptr, false);
      CHECK(max_rel(l[0], ref[t]) < 1e-5);
    }
  }
}

TEST_CASE("transformer: rows of different lengths in one padded batch equal each row alone", "[transformer]") {
  Model m = model_load(tiny_model("qwen3"), at::kFloat, at::kCPU);
  c10::InferenceMode guard;
  std::vector<int64_t> a(kIds.begin(), kIds.begin() + 10), b(kIds.begin() + 3, kIds.begin() + 7);
  at::Tensor ra = full_logits(m, a), rb = full_logits(m, b);
  KVCache kv = kv_cache_new(m.cfg, 3, 32, m.dtype, m.device);
  std::vector<int64_t> bpad = b;
  bpad.resize(10, 0);  // right padding
  at::Tensor tokens = at::stack({at::tensor(bpad, at::kLong), at::tensor(a, at::kLong)});
  // slots 2 and 0 (not contiguous: exercises the gather path)
  at::Tensor l = forward(m, kv, {tokens, {2, 0}, {0, 0}, {4, 10}}, nullptr, false);
  CHECK(max_rel(l[0], rb[3]) < 1e-5);
  CHECK(max_rel(l[1], ra[9]) < 1e-5);
  // decode one more token in both rows at their different positions
  l = forward(m, kv, {at::tensor({42, 43}, at::kLong).view({2, 1}), {2, 0}, {4, 10}, {1, 1}}, nullptr, false);
  b.push_back(42), a.push_back(43);
  CHECK(max_rel(l[0], full_logits(m, b)[4]) < 1e-5);
  CHECK(max_rel(l[1], full_logits(m, a)[10]) < 1e-5);
}

TEST_CASE("transformer: a forked cache equals a recomputed prefix", "[transformer]") {
  Model m = model_load(tiny_model("llama", "llama3"), at::kFloat, at::kCPU);
  c10::InferenceMode guard;
  std::vector<int64_t> prefix(kIds.begin(), kIds.begin() + 8);
  KVCache kv = kv_cache_new(m.cfg, 3, 32, m.dtype, m.device);
  forward(m, kv, {at::tensor(prefix, at::kLong).view({1, 8}), {0}, {0}, {8}}, nullptr, false);
  kv_cache_fork(kv, 0, {1, 2}, 8);
  // three different continuations, decoded together from the shared prefix
  at::Tensor l = forward(m, kv, {at::tensor({50, 60, 70}, at::kLong).view({3, 1}), {0, 1, 2}, {8, 8, 8}, {1, 1, 1}}, nullptr, false);
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<int64_t> ids = prefix;
    ids.push_back(50 + 10 * r);
    CHECK(max_rel(l[r], full_logits(m, ids)[8]) < 1e-5);
  }
}

TEST_CASE("transformer: hooks see the residual stream; bf16 runs and stays close to f32", "[transformer]") {
  std::string dir = tiny_model("qwen2");
  Model m = model_load(dir, at::kFloat, at::kCPU);
  Model mb = model_load(dir, at::kBFloat16, at::kCPU);
  c10::InferenceMode guard;
  at::Tensor ref = full_logits(m, kIds);
  at::Tensor lb = full_logits(mb, kIds);
  CHECK(lb.scalar_type() == at::kFloat);
  CHECK(max_rel(lb, ref) < 0.1);  // bf16 weights and activations: ~1e-2 relative
  Hooks hooks;
  hooks.want_resid = {0, 1};
  hooks.want_final_norm = false;
  int calls = 0;
  hooks.observe = [&](HookSite site, int64_t il, const at::Tensor& x) {
    CHECK(site == HookSite::RESID_POST);
    CHECK(il == 1);
    CHECK(x.sizes() == at::IntArrayRef({1, int64_t(kIds.size()), m.cfg.n_embd}));
    ++calls;
  };
  KVCache kv = kv_cache_new(m.cfg, 1, 32, m.dtype, m.device);
  forward(m, kv, {at::tensor(kIds, at::kLong).view({1, -1}), {0}, {0}, {int64_t(kIds.size())}}, &hooks, false);
  CHECK(calls == 1);
}

TEST_CASE("weights: a checkpoint that disagrees with config.json names the tensor", "[transformer]") {
  std::string dir = tiny_model("qwen3");
  std::string cfg = read_file(dir + "/config.json");
  size_t p = cfg.find("\"intermediate_size\": 128");
  REQUIRE(p != std::string::npos);
  cfg.replace(p, 24, "\"intermediate_size\": 96");
  test::write_text(dir + "/config.json", cfg);
  try {
    model_load(dir, at::kFloat, at::kCPU);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string w = e.what();
    CHECK(w.find("model.layers.0.mlp.gate_proj.weight") != std::string::npos);
    CHECK(w.find("[128, 64]") != std::string::npos);
  }
}
