// The CPU decode attention of model/cpu_attention.h. Reference: softmax(q kᵀ / sqrt(D) + mask) v computed in
// float64 from the same bf16 cache, GQA by repeating each kv head over its query heads, the mask written
// from the positions (key j visible to query (b, t) iff j <= pos[b][t]). Rows use scattered cache slots.
// ATen before Catch: c10's logging defines CHECK too, and Catch's definition must win.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "model/cpu_attention.h"
#include "model/test_model.h"
#include "model/transformer.h"

using namespace tp;

TEST_CASE("cpu_attention equals float64 attention over the cache", "[model][attention]") {
  at::manual_seed(11);
  for (int64_t D : {32, 128}) {  // 128: the compile-time head size of Qwen and Llama; 32: any size
    INFO("D = " << D);
    const int64_t S = 5, Hkv = 2, H = 6, t_max = 40;  // 3 query heads per kv head: a pair and a single
    at::Tensor kc = at::randn({S, Hkv, t_max, D}).to(at::kBFloat16), vc = at::randn({S, Hkv, t_max, D}).to(at::kBFloat16);
    at::Tensor q = at::randn({3, 2, H, D}).to(at::kBFloat16);     // 3 rows, 2 new tokens each
    at::Tensor slot = at::tensor(std::vector<int64_t>{4, 0, 2});
    at::Tensor pos = at::tensor(std::vector<int64_t>{0, 1, 17, 18, 37, 39}).view({3, 2});
    if (!cpu_attention_applies(q, kc)) {
      WARN("this CPU lacks AVX-512: the engine uses its matmul attention here");
      return;
    }
    at::Tensor out = cpu_attention(q, kc, vc, slot, pos, 1.0 / std::sqrt(double(D)));
    REQUIRE(out.sizes() == q.sizes());
    at::Tensor K = kc.index_select(0, slot).to(at::kDouble).repeat_interleave(H / Hkv, 1);  // [3, H, t_max, D]
    at::Tensor V = vc.index_select(0, slot).to(at::kDouble).repeat_interleave(H / Hkv, 1);
    at::Tensor qd = q.to(at::kDouble).permute({0, 2, 1, 3});                                 // [3, H, 2, D]
    at::Tensor hidden = at::arange(t_max).view({1, 1, 1, t_max}) > pos.view({3, 1, 2, 1});
    at::Tensor scores = at::matmul(qd, K.transpose(-1, -2)) / std::sqrt(double(D));
    at::Tensor ref = at::matmul(scores.masked_fill(hidden, -INFINITY).softmax(-1), V).permute({0, 2, 1, 3});  // [3, 2, H, D]
    // bf16 output: half an ulp of the value, plus float32 rounding in the sums
    at::Tensor err = (out.to(at::kDouble) - ref).abs() - (ref.abs() * std::ldexp(1.0, -8) + 1e-5);
    CHECK(err.max().item<double>() <= 0);
  }
}

TEST_CASE("bf16 decoding through the CPU kernels stays as close to float32 as a bf16 full forward", "[model][attention]") {
  // Reference: the float32 forward of the whole sequence. A bf16 forward of the whole sequence (16 tokens:
  // both kernels) and bf16 KV-cache decoding (one token per step: both kernels, reading the cache) must both
  // stay within bf16's ~1e-2; a wrong key, mask or slot would be O(1).
  std::string dir = test::temp_dir("cpu_attention_model");
  TestModelOptions o;
  o.arch = "qwen3";
  make_test_model(dir, o);
  Model m = model_load(dir, at::kFloat, at::kCPU), mb = model_load(dir, at::kBFloat16, at::kCPU);
  c10::InferenceMode guard;
  const std::vector<int64_t> ids = {5, 17, 300, 2, 99, 256, 271, 140, 33, 7, 8, 9, 10, 200, 201, 12};
  const int64_t T = int64_t(ids.size());
  KVCache kv = kv_cache_new(m.cfg, 1, T, m.dtype, m.device);
  at::Tensor ref = forward(m, kv, {at::tensor(ids, at::kLong).view({1, T}), {0}, {0}, {T}}, nullptr, true)[0];
  auto rel = [&](const at::Tensor& a, int64_t t) { return (a - ref[t]).abs().max().item<double>() / ref[t].abs().max().item<double>(); };
  KVCache kb = kv_cache_new(mb.cfg, 2, T, mb.dtype, mb.device);
  at::Tensor full = forward(mb, kb, {at::tensor(ids, at::kLong).view({1, T}), {1}, {0}, {T}}, nullptr, true)[0];
  for (int64_t t = 0; t < T; ++t) CHECK(rel(full[t], t) < 0.05);
  for (int64_t t = 0; t < T; ++t) {
    at::Tensor l = forward(mb, kb, {at::tensor({ids[t]}, at::kLong).view({1, 1}), {0}, {t}, {1}}, nullptr, false)[0];
    CHECK(rel(l, t) < 0.05);
  }
}
