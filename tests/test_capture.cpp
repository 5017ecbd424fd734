// Capture: the plan's layer/position parsing, the span resampling tables, and captured states during
// batched generation against the reference: the hidden states of one full forward pass over the sample's
// whole sequence (prompt + output), read at the named positions. That full-forward path is itself checked
// against the float64 Hugging Face reference in engine_reference.cmake (--hidden-out).
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include "capture/recorder.h"
#include "generate/generate.h"
#include "helpers.h"
#include "model/test_model.h"
#include "util/check.h"

using namespace tp;

TEST_CASE("capture plan: layers, positions and errors", "[capture]") {
  CaptureSpec spec;
  spec.layers = {"all"};
  CHECK(capture_plan_from_spec(spec, 4).layers == std::vector<int64_t>{0, 1, 2, 3});
  spec.layers = {"last", "0"};
  CHECK(capture_plan_from_spec(spec, 4).layers == std::vector<int64_t>{0, 3});
  spec.layers = {"-2", "1:3"};
  CHECK(capture_plan_from_spec(spec, 6).layers == std::vector<int64_t>{1, 2, 4});
  spec.layers = {":2"};
  CHECK(capture_plan_from_spec(spec, 6).layers == std::vector<int64_t>{0, 1});
  spec.positions = {"prompt_end", "think_first"};
  CapturePlan p = capture_plan_from_spec(spec, 6);
  CHECK(p.positions == (capture_bit(CapturePos::PROMPT_END) | capture_bit(CapturePos::THINK_FIRST)));
  CHECK(p.n_site() == 3);
  spec.layers = {"7"};
  CHECK_THROWS_WITH(capture_plan_from_spec(spec, 6), Catch::Contains("capture.layers"));
  spec.layers = {"x"};
  CHECK_THROWS_AS(capture_plan_from_spec(spec, 6), Error);
  spec.layers = {"3:3"};
  CHECK_THROWS_AS(capture_plan_from_spec(spec, 6), Error);
}

TEST_CASE("capture: span resampling (numpy floor(linspace) and equal chunks)", "[capture]") {
  // numpy: np.floor(np.linspace(0, 9, 4)) = [0, 3, 6, 9]; np.floor(np.linspace(0, 4, 3)) = [0, 2, 4]
  CHECK(span_hop_indices(10, 4) == std::vector<int64_t>{0, 3, 6, 9});
  CHECK(span_hop_indices(5, 3) == std::vector<int64_t>{0, 2, 4});
  CHECK(span_hop_indices(2, 4) == std::vector<int64_t>{0, 0, 0, 1});
  CHECK(span_hop_indices(7, 1) == std::vector<int64_t>{0});
  using C = std::vector<std::pair<int64_t, int64_t>>;
  CHECK(span_pool_chunks(10, 4) == C{{0, 2}, {2, 5}, {5, 7}, {7, 10}});
  CHECK(span_pool_chunks(2, 3) == C{{0, 1}, {0, 1}, {1, 2}});
}

TEST_CASE("capture: states captured while generating equal a full forward at the named positions", "[capture]") {
  std::string dir = test::temp_dir("capture_model");
  TestModelOptions mo;
  mo.arch = "qwen3";
  make_test_model(dir, mo);
  Model m = model_load(dir, at::kFloat, at::kCPU);
  const int64_t L = m.cfg.n_layer;

  for (bool pool : {false, true}) {
    CaptureSpec spec;
    spec.layers = {"all"};
    spec.positions = {"prompt_end", "think_first", "think_close", "answer_first", "think_span"};
    spec.span_points = 4;
    spec.span_mode = pool ? "pool" : "hop";
    spec.dtype = "float32";
    CaptureRecorder rec;
    capture_recorder_init(rec, capture_plan_from_spec(spec, L), L);

    GenOptions o;
    o.sampling = {0.9, 0.95, 40};
    o.stop.prompt_opens_think = true;
    o.stop.think_close_id = 300;
    o.stop.force_close_ids = {198, 300, 198};
    o.stop.max_think_tokens = 7;
    o.stop.max_answer_tokens = 5;
    o.batch_size = 2;
    std::vector<GenRequest> reqs = {{{5, 17, 30, 2}, 1}, {{7, 8, 9}, 2}, {{5, 17, 30, 2}, 3}, {{60, 61, 62, 63, 64, 65}, 4}};
    std::vector<Sample> out = generate(m, reqs, o, &rec);

    c10::InferenceMode guard;
    for (size_t i = 0; i < reqs.size(); ++i) {
      const Sample& s = out[i];
      std::vector<int64_t> ids = reqs[i].prompt;
      ids.insert(ids.end(), s.tokens.begin(), s.tokens.end() - 1);  // the last token was never fed
      const int64_t T = int64_t(ids.size()), P = int64_t(reqs[i].prompt.size());
      at::Tensor ref = at::zeros({L + 1, T, m.cfg.n_embd});  // [site, T, C]
      Hooks hooks;
      hooks.want_resid.assign(L, 1);
      hooks.want_final_norm = true;
      hooks.observe = [&](HookSite, int64_t il, const at::Tensor& x) { ref[il].copy_(x[0]); };
      KVCache kv = kv_cache_new(m.cfg, 1, T, m.dtype, m.device);
      forward(m, kv, {at::tensor(ids, at::kLong).view({1, T}), {0}, {0}, {T}}, &hooks, true);

      const SampleActivations& sa = rec.samples.at(int64_t(i));
      auto expect_at = [&](CapturePos p, int64_t pos) {
        INFO("sample " << i << " position " << capture_pos_name(p) << " at " << pos);
        REQUIRE(sa.at[int(p)].defined());
        CHECK(sa.at[int(p)].sizes() == at::IntArrayRef({L + 1, m.cfg.n_embd}));
        CHECK(at::allclose(sa.at[int(p)], ref.select(1, pos), 1e-4, 1e-5));
      };
      expect_at(CapturePos::PROMPT_END, P - 1);
      expect_at(CapturePos::THINK_FIRST, P + s.think_begin);
      REQUIRE(s.think_end >= 0);
      if (P + s.think_end < T) expect_at(CapturePos::THINK_CLOSE, P + s.think_end);
      if (P + s.answer_begin < T) expect_at(CapturePos::ANSWER_FIRST, P + s.answer_begin);
      // the span: thinking tokens [think_begin, think_end), resampled to 4 points
      const int64_t n = s.think_end - s.think_begin;
      at::Tensor span = ref.narrow(1, P + s.think_begin, n).permute({1, 0, 2});  // [n, site, C]
      at::Tensor want = pool ? at::stack({span.narrow(0, span_pool_chunks(n, 4)[0].first, span_pool_chunks(n, 4)[0].second - span_pool_chunks(n, 4)[0].first).mean(0),
                                          span.narrow(0, span_pool_chunks(n, 4)[3].first, span_pool_chunks(n, 4)[3].second - span_pool_chunks(n, 4)[3].first).mean(0)})
                             : at::stack({span[span_hop_indices(n, 4)[0]], span[span_hop_indices(n, 4)[3]]});
      const at::Tensor& got = sa.at[int(CapturePos::THINK_SPAN)];
      REQUIRE(got.defined());
      CHECK(got.size(0) == 4);
      CHECK(at::allclose(at::stack({got[0], got[3]}), want, 1e-4, 1e-5));
    }
  }
}

TEST_CASE("capture: a sample's states reach the archive block one layer at a time, rows in point order", "[capture]") {
  // x[p][s][c] = 1000 p + 100 s + c: each value names its point, site and column
  const int64_t P = 3, S = 2, C = 4;
  at::Tensor x = at::arange(C, at::kFloat).view({1, 1, C}) + 100 * at::arange(S, at::kFloat).view({1, S, 1}) +
                 1000 * at::arange(P, at::kFloat).view({P, 1, 1});
  ActivationBlock b;
  b.layers = {0, 5};
  b.hidden = C;
  b.dtype = ActDtype::F32;
  b.data.resize(2);
  capture_append_block(b, x[1], 7, false);  // one row: point 1 of x
  capture_append_block(b, x, 9, true);      // three rows: the span's points
  CHECK(b.sample_in_unit == std::vector<int32_t>{7, 9, 9, 9});
  CHECK(b.point == std::vector<int32_t>{0, 0, 1, 2});
  for (int64_t s = 0; s < S; s++) {
    REQUIRE(b.data[s].size() == 4 * C * sizeof(float));
    const auto* v = reinterpret_cast<const float*>(b.data[s].data());
    for (int64_t c = 0; c < C; c++) {
      CHECK(v[0 * C + c] == 1000 + 100 * s + c);
      for (int64_t p = 0; p < P; p++) CHECK(v[(1 + p) * C + c] == 1000 * p + 100 * s + c);
    }
  }
  // stored in the block's dtype: bfloat16 holds 100..103 exactly (7 significant bits)
  ActivationBlock h;
  h.layers = {0, 5};
  h.hidden = C;
  h.dtype = ActDtype::BF16;
  h.data.resize(2);
  capture_append_block(h, x[0], 0, false);
  REQUIRE(h.data[1].size() == C * 2);
  for (int64_t c = 0; c < C; c++) {
    uint16_t bits;
    std::memcpy(&bits, &h.data[1][c * 2], 2);
    uint32_t f32 = uint32_t(bits) << 16;
    float v;
    std::memcpy(&v, &f32, 4);
    CHECK(v == 100 + c);
  }
}
