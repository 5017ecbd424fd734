// Generation on tiny random checkpoints. References: the same request run alone (batch independence,
// under greedy and seeded sampling), the same requests with prefix sharing off (forked caches), a
// hand-followed thinking budget, and a hand-computed top-p table for the sampler.
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include "generate/generate.h"
#include "helpers.h"
#include "model/test_model.h"
#include "util/check.h"

using namespace tp;

static const Model& tiny(const std::string& arch) {
  static std::map<std::string, Model> models;
  if (!models.count(arch)) {
    std::string dir = test::temp_dir("gen_" + arch);
    TestModelOptions o;
    o.arch = arch;
    make_test_model(dir, o);
    models.emplace(arch, model_load(dir, at::kFloat, at::kCPU));
  }
  return models.at(arch);
}

static std::vector<GenRequest> requests() {
  return {{{5, 17, 30, 2}, 11}, {{7, 8, 9, 10, 11, 12, 13, 14, 15}, 12}, {{100}, 13}, {{40, 41, 42, 43, 44, 45}, 14}, {{3, 3, 3}, 15}};
}

static GenOptions options(double temperature) {
  GenOptions o;
  o.sampling = {temperature, 0.9, 50};
  o.stop.eos_ids = {0};
  o.stop.max_think_tokens = 8;
  o.stop.max_answer_tokens = 12;
  o.stop.prompt_opens_think = true;
  o.stop.think_close_id = 1;
  o.stop.force_close_ids = {198 % 256, 1, 198 % 256};
  o.batch_size = 3;
  return o;
}

TEST_CASE("generate: a sample in a batch equals the same sample alone (greedy and seeded)", "[generate]") {
  const Model& m = tiny("qwen3");
  for (double temp : {0.0, 0.8}) {
    GenOptions o = options(temp);
    std::vector<Sample> batched = generate(m, requests(), o);  // 5 requests through 3 slots: refills
    o.batch_size = 1;
    for (size_t i = 0; i < requests().size(); ++i) {
      Sample alone = generate(m, {requests()[i]}, o)[0];
      CHECK(alone.tokens == batched[i].tokens);
      CHECK(alone.think_end == batched[i].think_end);
      REQUIRE(alone.logprobs.size() == batched[i].logprobs.size());
      for (size_t k = 0; k < alone.logprobs.size(); ++k) CHECK(alone.logprobs[k] == Approx(batched[i].logprobs[k]).epsilon(1e-4));
    }
  }
  // different seeds give different samples (the test above could not fail otherwise)
  GenOptions o = options(1.0);
  auto a = generate(m, {{{5, 17, 30, 2}, 1}}, o), b = generate(m, {{{5, 17, 30, 2}, 2}}, o);
  CHECK(a[0].tokens != b[0].tokens);
}

TEST_CASE("generate: forked prefixes equal recomputed prefixes", "[generate]") {
  const Model& m = tiny("qwen2");
  std::vector<GenRequest> reqs;
  for (uint64_t seed = 0; seed < 6; ++seed) reqs.push_back({{7, 8, 9, 10, 11, 12, 13}, seed});
  reqs.push_back({{1, 2}, 99});
  GenOptions o = options(0.9);
  o.batch_size = 4;
  o.share_prefixes = true;
  std::vector<Sample> shared = generate(m, reqs, o);
  o.share_prefixes = false;
  std::vector<Sample> recomputed = generate(m, reqs, o);
  for (size_t i = 0; i < reqs.size(); ++i) {
    CHECK(shared[i].tokens == recomputed[i].tokens);
    for (size_t k = 0; k < shared[i].logprobs.size(); ++k)
      CHECK(shared[i].logprobs[k] == Approx(recomputed[i].logprobs[k]).epsilon(1e-4));
  }
}

TEST_CASE("generate: thinking budget force-closes, then the answer budget stops", "[generate]") {
  const Model& m = tiny("llama");
  GenOptions o = options(0.7);
  o.stop.eos_ids = {};
  o.stop.think_close_id = 300;  // an id the test model never favours is irrelevant: sampled closes also count
  o.stop.force_close_ids = {198, 300, 198};
  o.stop.max_think_tokens = 5;
  o.stop.max_answer_tokens = 4;
  Sample s = generate(m, {{{5, 6, 7}, 3}}, o)[0];
  if (!s.think_forced_close) {  // the model closed by itself: then the close came within the budget
    REQUIRE(s.think_end >= 0);
    CHECK(s.think_end <= 5);
    return;
  }
  CHECK(s.think_begin == 0);
  CHECK(s.think_end == 6);  // 5 sampled thinking tokens, the forced "\n", then the forced close at 6
  CHECK(s.tokens[6] == 300);
  CHECK(s.forced == std::vector<uint8_t>({0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0}));
  CHECK(s.answer_begin == 7);
  CHECK(s.stop == StopReason::ANSWER_BUDGET);
  CHECK(s.tokens.size() == 11);  // the forced "\n" after the close is the first of 4 answer tokens
  CHECK(s.entropy.size() == 11);
  for (float lp : s.logprobs) CHECK(lp <= 0);
}

TEST_CASE("generate: EOS stops; the opener is recognised when the model writes it", "[generate]") {
  const Model& m = tiny("qwen3");
  GenOptions o = options(0.0);
  o.stop.prompt_opens_think = false;
  o.stop.eos_ids = {};
  o.stop.max_think_tokens = 100;
  Sample g = generate(m, {{{5, 6, 7}, 0}}, o)[0];  // greedy continuation, to script the rest
  REQUIRE(g.tokens.size() >= 4);
  o.stop.think_open_ids = {g.tokens[0], g.tokens[1]};
  o.stop.think_close_id = g.tokens[3];
  o.stop.eos_ids = {};
  Sample s = generate(m, {{{5, 6, 7}, 0}}, o)[0];
  CHECK(s.think_open == 0);
  CHECK(s.think_begin == 2);
  if (g.tokens[2] != g.tokens[3]) CHECK(s.think_end == 3);
  o.stop.eos_ids = {g.tokens[0]};
  Sample e = generate(m, {{{5, 6, 7}, 0}}, o)[0];
  CHECK(e.tokens.size() == 1);
  CHECK(e.stop == StopReason::EOS);
}

TEST_CASE("generate: the KV budget shrinks the batch instead of failing", "[generate]") {
  const Model& m = tiny("qwen3");
  GenOptions o = options(0.8);
  GenPlan full = generate_plan(m, requests(), o);
  CHECK(full.n_slot == 3);
  o.kv_budget_bytes = kv_cache_bytes_per_token(m.cfg, m.dtype) * full.t_max * 2 + 100;
  CHECK(generate_plan(m, requests(), o).n_slot == 2);
  std::vector<Sample> small = generate(m, requests(), o);
  o.kv_budget_bytes = 0;
  std::vector<Sample> big = generate(m, requests(), o);
  for (size_t i = 0; i < big.size(); ++i) CHECK(small[i].tokens == big[i].tokens);
  // a 16k-token trace budget of a Qwen3-8B-sized cache in 8 GiB: fewer slots, never an allocation failure
  o.stop.max_think_tokens = 16384;
  o.kv_budget_bytes = int64_t(1) << 20;
  CHECK_THROWS_AS(generate_plan(m, requests(), o), Error);
}

TEST_CASE("sampler: top-p keeps the smallest prefix reaching p, then draws by u", "[generate]") {
  std::vector<double> p = {0.5, 0.3, 0.2};
  CHECK(sampler_pick(p, 1.0, 0.0) == 0);
  CHECK(sampler_pick(p, 1.0, 0.49) == 0);
  CHECK(sampler_pick(p, 1.0, 0.51) == 1);
  CHECK(sampler_pick(p, 1.0, 0.95) == 2);
  CHECK(sampler_pick(p, 0.7, 0.95) == 1);  // keeps {0.5, 0.3}: target 0.95*0.8 = 0.76 -> index 1
  CHECK(sampler_pick(p, 0.7, 0.60) == 0);  // target 0.48
  CHECK(sampler_pick(p, 0.4, 0.99) == 0);  // one token already reaches p
  // batched draw: greedy picks the argmax; top-k 2 never leaves the two best; frequencies follow softmax
  at::Tensor logits = at::tensor({0.0f, 2.0f, 1.0f, -1.0f}).view({1, 4});
  Rng rng(7);
  std::vector<Rng*> rngs = {&rng};
  CHECK(sampler_draw(logits, {0.0, 1.0, 0}, rngs, {-1})[0].token == 1);
  int count1 = 0, n = 4000;
  for (int i = 0; i < n; ++i) {
    TokenDraw d = sampler_draw(logits, {1.0, 1.0, 2}, rngs, {-1})[0];
    REQUIRE((d.token == 1 || d.token == 2));
    count1 += d.token == 1;
  }
  CHECK(double(count1) / n == Approx(std::exp(2.0) / (std::exp(2.0) + std::exp(1.0))).margin(0.03));
  TokenDraw f = sampler_draw(logits, {1.0, 1.0, 2}, rngs, {3})[0];
  CHECK(f.token == 3);
  double lse = std::log(1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0));
  CHECK(f.logprob == Approx(-1.0 - lse).epsilon(1e-5));
}
