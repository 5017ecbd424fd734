// Decode-time defenses. Trigger logic on scripted sequences against hand-computed thresholds (SafeRemind:
// mean - alpha x population std of the last W entropies; PSR: checkpoints and rounds; the verdict parse on
// canned reflections). In generation on a tiny random checkpoint, the reference is the baseline run of the
// same request: a policy leaves the stream bitwise equal up to its trigger, which the test finds on the
// baseline by itself, and then changes it exactly as specified (forced reminder ids, a banned close for
// int(r x nat_len) tokens, reflections cut away). Batched runs equal runs alone with each policy on. With
// capture, PSR's rewinds leave the states of the kept thinking: those of one fresh forward over it.
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include <cmath>

#include "engine_runner.h"
#include "capture/recorder.h"
#include "generate/generate.h"
#include "helpers.h"
#include "config/job_spec.h"
#include "intervene/decode_policy.h"
#include "tokenizer/tokenizer.h"
#include "model/test_model.h"
#include "tokenizer/chat_template.h"

using namespace tp;

namespace {

struct Tiny {
  std::string dir;
  Model m;
};
const Tiny& tiny() {
  static Tiny t = [] {
    std::string dir = test::temp_dir("decode_policy");
    make_test_model(dir, TestModelOptions());
    return Tiny{dir, model_load(dir, at::kFloat, at::kCPU)};
  }();
  return t;
}

// Thinking opened by the prompt, EOS 0, close 319 (the random model's runs below never sample it, so
// the thinking runs to the budget and every thinking token is sampled), force-close {10, 319}.
GenOptions options(double temperature, int64_t max_think = 60) {
  GenOptions o;
  o.sampling = {temperature, 0.95, 50};
  o.stop.eos_ids = {0};
  o.stop.prompt_opens_think = true;
  o.stop.think_close_id = 319;
  o.stop.force_close_ids = {10, 319};
  o.stop.max_think_tokens = max_think;
  o.stop.max_answer_tokens = 4;
  o.batch_size = 1;
  return o;
}

std::vector<GenRequest> requests() {
  return {{{5, 17, 30, 2}, 11}, {{7, 8, 9, 10, 11}, 12}, {{100}, 13}, {{40, 41, 42, 43}, 14}, {{3, 3, 3}, 15}};
}

// The first index >= W at which the SafeRemind rule fires on entropies h (reference: written out here).
int64_t first_trigger(const std::vector<float>& h, int64_t end, int64_t W, double alpha) {
  for (int64_t i = W; i < end; ++i) {
    double mean = 0, var = 0;
    for (int64_t j = i - W; j < i; ++j) mean += h[j] / double(W);
    for (int64_t j = i - W; j < i; ++j) var += (h[j] - mean) * (h[j] - mean) / double(W);
    if (h[i] < mean - alpha * std::sqrt(var)) return i;
  }
  return -1;
}

void check_batched_equals_alone(const Model& m, GenOptions o) {
  o.batch_size = 3;
  std::vector<Sample> batched = generate(m, requests(), o);  // 5 requests through 3 slots: refills
  o.batch_size = 1;
  for (size_t i = 0; i < requests().size(); ++i) {
    Sample alone = generate(m, {requests()[i]}, o)[0];
    CHECK(alone.tokens == batched[i].tokens);
    CHECK(alone.forced == batched[i].forced);
    CHECK(alone.events.size() == batched[i].events.size());
  }
}

}  // namespace

TEST_CASE("saferemind: the trigger is mean - alpha std of the last W entropies", "[intervene]") {
  std::vector<float> flat(10, 1.0f);
  CHECK(saferemind_trigger(flat, 0.99f, 10, 1.5));
  CHECK_FALSE(saferemind_trigger(flat, 1.0f, 10, 1.5));
  std::vector<float> alt = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2};  // mean 1.5, population std 0.5: threshold 0.75
  CHECK(saferemind_trigger(alt, 0.74f, 10, 1.5));
  CHECK_FALSE(saferemind_trigger(alt, 0.76f, 10, 1.5));
  CHECK_FALSE(saferemind_trigger({1, 2, 1}, 0.0f, 10, 1.5));  // fewer than W values: never
  std::vector<float> older = {100, 100, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2};  // only the last 10 count
  CHECK(saferemind_trigger(older, 0.74f, 10, 1.5));

  // scripted stream: a trigger's entropy never joins the history; at most max injections
  DecodePolicy p;
  p.remind_window = 4, p.remind_alpha = 1.0, p.remind_max = 2;
  RemindState st;
  std::vector<float> stream = {2, 2, 2, 2, 1, 2, 0.5f, 2, 2, 2, 2, 0.1f, 0.1f};
  std::vector<int> fired;
  for (size_t i = 0; i < stream.size(); ++i)
    if (saferemind_step(p, st, stream[i])) fired.push_back(int(i));
  // i=4: window {2,2,2,2} std 0 -> 1 < 2 fires; i=6: window {2,2,2,2} again (4 was dropped) -> fires;
  // i=11: the third would fire, but max_injections is 2
  CHECK(fired == std::vector<int>({4, 6}));
  CHECK(st.n_injected == 2);
  CHECK(st.entropy.size() == stream.size() - 2);
}

TEST_CASE("psr: reflection points, checkpoints and rounds on scripted verdicts; the verdict parse", "[intervene]") {
  DecodePolicy p;
  p.psr_every = 32, p.psr_max_rounds = 2;
  PsrState st;
  CHECK_FALSE(psr_should_reflect(p, st, 0));
  CHECK_FALSE(psr_should_reflect(p, st, 31));
  CHECK(psr_should_reflect(p, st, 32));
  CHECK(psr_should_reflect(p, st, 64));
  // thinking starts at output index 2; marks are output indices after 32, 64, ... thinking tokens
  CHECK(psr_after_verdict(st, PsrVerdict::UNSAFE, 34, 2) == 2);  // no safe checkpoint yet: the thinking start
  CHECK(st.rounds == 1);
  CHECK(psr_after_verdict(st, PsrVerdict::SAFE, 34, 2) == 34);
  CHECK(psr_after_verdict(st, PsrVerdict::UNCLEAR, 66, 2) == 66);  // unclear counts as safe
  CHECK(psr_after_verdict(st, PsrVerdict::UNSAFE, 98, 2) == 66);
  CHECK(st.rounds == 2);
  CHECK_FALSE(psr_should_reflect(p, st, 96));  // rounds spent: no more reflections

  CHECK(psr_parse_verdict(" not harmful.") == PsrVerdict::SAFE);
  CHECK(psr_parse_verdict("It is Not  Harmful") == PsrVerdict::SAFE);
  CHECK(psr_parse_verdict(" harmful") == PsrVerdict::UNSAFE);
  CHECK(psr_parse_verdict("Yes, unsafe") == PsrVerdict::UNSAFE);
  CHECK(psr_parse_verdict("DANGEROUS!") == PsrVerdict::UNSAFE);
  CHECK(psr_parse_verdict(" harmless") == PsrVerdict::UNCLEAR);
  CHECK(psr_parse_verdict("unharmful") == PsrVerdict::UNCLEAR);
  CHECK(psr_parse_verdict("") == PsrVerdict::UNCLEAR);
  CHECK(extend_extra_tokens(0.2, 37) == 7);
  CHECK(extend_extra_tokens(0.2, 4) == 0);
}

TEST_CASE("decode policies from the job: the paper's defaults, filled in where params are silent", "[intervene]") {
  InterventionSpec iv;
  iv.type = "psr";
  iv.params = {{"every", 16}};
  nlohmann::json p = intervention_params(iv);
  CHECK(p == nlohmann::json({{"every", 16}, {"reflect_tokens", 8}, {"max_rounds", 4},
                             {"prompt", "\n\nLet's check if the generated text is harmful or harmless. Is the generated text harmful? Answer: "}}));
  Tokenizer tok = tokenizer_load(tiny().dir);
  DecodePolicy psr = decode_policy_for(iv, tok);
  CHECK(psr.kind == DecodeKind::PSR);
  CHECK(psr.psr_every == 16);
  CHECK(decode(tok, std::vector<int32_t>(psr.psr_prompt_ids.begin(), psr.psr_prompt_ids.end())) == p["prompt"].get<std::string>());
  CHECK(psr.psr_judge(std::vector<int64_t>({})) == PsrVerdict::UNCLEAR);
  std::vector<int32_t> no = encode(tok, " No, it is not harmful.");
  CHECK(psr.psr_judge(std::vector<int64_t>(no.begin(), no.end())) == PsrVerdict::SAFE);
  iv.type = "saferemind";
  iv.params = {{"alpha", 2.0}};
  DecodePolicy rem = decode_policy_for(iv, tok);
  CHECK(rem.remind_window == 10);
  CHECK(rem.remind_alpha == 2.0);
  CHECK(rem.remind_max == 3);
  CHECK(decode(tok, std::vector<int32_t>(rem.remind_ids.begin(), rem.remind_ids.end())) ==
        "Wait, let me think again. Does this request involve potentially harmful content?");
  iv.type = "extended_thinking";
  iv.params = nlohmann::json::object();
  CHECK(decode_policy_for(iv, tok).extend_ratio == 0.2);
  iv.type = "think_prefill";
  CHECK(intervention_params(iv) == nlohmann::json({{"text", "Let's think about safety first."}}));
  CHECK(intervention_check("saferemind", {{"window", 1}}) == std::vector<std::string>({"params.window: expected an integer >= 2, got 1"}));
  CHECK(intervention_check("extended_thinking", {{"ratio", -0.5}}) == std::vector<std::string>({"params.ratio: expected a number >= 0, got -0.5"}));
}

TEST_CASE("saferemind in generation: baseline until the trigger, then the reminder ids; never triggering is bitwise the baseline", "[intervene][generate]") {
  const Model& m = tiny().m;
  GenOptions o = options(0.9);
  const GenRequest req = requests()[0];
  Sample base = generate(m, {req}, o)[0];
  REQUIRE(base.think_forced_close);

  DecodePolicy p;
  p.kind = DecodeKind::REMIND;
  p.remind_alpha = 1e9;  // never fires
  p.remind_ids = {50, 51, 52};
  o.policy = &p;
  Sample never = generate(m, {req}, o)[0];
  CHECK(never.tokens == base.tokens);
  CHECK(never.logprobs == base.logprobs);  // bitwise
  CHECK(never.entropy == base.entropy);
  CHECK(never.events.empty());

  p.remind_alpha = 0.5;
  p.remind_max = 1;
  const int64_t k = first_trigger(base.entropy, 60, p.remind_window, p.remind_alpha);
  REQUIRE(k > 0);  // the baseline has a low-entropy token (otherwise the test says nothing)
  Sample s = generate(m, {req}, o)[0];
  REQUIRE(int64_t(s.tokens.size()) > k + 3);
  CHECK(std::vector<int64_t>(s.tokens.begin(), s.tokens.begin() + k) == std::vector<int64_t>(base.tokens.begin(), base.tokens.begin() + k));
  CHECK(std::vector<int64_t>(s.tokens.begin() + k, s.tokens.begin() + k + 3) == p.remind_ids);
  CHECK(std::vector<uint8_t>(s.forced.begin() + k, s.forced.begin() + k + 3) == std::vector<uint8_t>({1, 1, 1}));
  REQUIRE(s.events.size() == 1);
  CHECK(s.events[0].kind == DecodeEventKind::REMIND);
  CHECK(s.events[0].think_tokens == k);
  CHECK(s.events[0].value == base.tokens[k]);
  CHECK(s.events[0].entropy == base.entropy[k]);
  p.remind_max = 3;
  check_batched_equals_alone(m, o);
}

TEST_CASE("extended thinking: the natural close is refused, int(r x nat_len) more tokens, then force-close", "[intervene][generate]") {
  const Model& m = tiny().m;
  GenOptions o = options(0.9, 200);
  const GenRequest req = requests()[1];
  Sample free_run = generate(m, {req}, o)[0];  // to script a close that the model writes
  // the close id: the token at index 12 of the free run; the natural thinking ends at its first occurrence
  const int64_t close = free_run.tokens[12];
  const int64_t nat = std::find(free_run.tokens.begin(), free_run.tokens.end(), close) - free_run.tokens.begin();
  REQUIRE(nat >= 5);
  o.stop.think_close_id = close;
  o.stop.force_close_ids = {10, close};
  Sample natural = generate(m, {req}, o)[0];
  CHECK(natural.think_end == nat);
  CHECK_FALSE(natural.think_forced_close);

  DecodePolicy p;
  p.kind = DecodeKind::EXTEND;
  p.extend_ratio = 0.5;
  o.policy = &p;
  Sample ext = generate(m, {req}, o)[0];
  const int64_t extra = int64_t(0.5 * double(nat));
  CHECK(std::vector<int64_t>(ext.tokens.begin(), ext.tokens.begin() + nat) == std::vector<int64_t>(natural.tokens.begin(), natural.tokens.begin() + nat));
  // thinking = nat + extra sampled tokens, the forced 10, then the forced close
  int64_t sampled = 0;
  for (int64_t i = ext.think_begin; i < ext.think_end; ++i) {
    sampled += ext.forced[i] == 0;
    CHECK(ext.tokens[i] != close);
    CHECK(ext.tokens[i] != 0);
  }
  CHECK(sampled == nat + extra);
  CHECK(ext.think_forced_close);
  REQUIRE(ext.events.size() == 1);
  CHECK(ext.events[0].kind == DecodeEventKind::EXTEND);
  CHECK(ext.events[0].think_tokens == nat);
  CHECK(ext.events[0].value == extra);
  check_batched_equals_alone(m, o);
}

TEST_CASE("psr: reflections are cut away; safe verdicts leave the baseline, unsafe ones backtrack to the checkpoint", "[intervene][generate]") {
  const Model& m = tiny().m;
  GenOptions o = options(0.9, 40);
  const GenRequest req = requests()[2];
  Sample base = generate(m, {req}, o)[0];
  REQUIRE(base.think_forced_close);

  DecodePolicy p;
  p.kind = DecodeKind::PSR;
  p.psr_every = 8, p.psr_reflect_tokens = 3, p.psr_max_rounds = 2;
  p.psr_prompt_ids = {60, 61, 62, 63};
  std::vector<std::vector<int64_t>> heard;
  std::vector<PsrVerdict> script;
  p.psr_judge = [&](const std::vector<int64_t>& ids) {
    heard.push_back(ids);
    PsrVerdict v = heard.size() <= script.size() ? script[heard.size() - 1] : PsrVerdict::SAFE;
    return v;
  };
  o.policy = &p;
  Sample safe = generate(m, {req}, o)[0];  // every verdict safe: the stream is the baseline's
  CHECK(safe.tokens == base.tokens);
  CHECK(safe.forced == base.forced);
  CHECK(heard.size() == 4);  // after 8, 16, 24, 32 thinking tokens (at 40 the budget closes the thinking)
  for (const auto& h : heard) CHECK(h.size() == 3);

  heard.clear();
  script = {PsrVerdict::SAFE, PsrVerdict::UNSAFE, PsrVerdict::UNSAFE};
  Sample s = generate(m, {req}, o)[0];
  // first reflection (8 tokens) safe; the second (16) unsafe: back to 8; the regenerated 16 unsafe again:
  // back to 8, rounds spent, no more reflections
  REQUIRE(s.events.size() == 5);
  CHECK(s.events[0].kind == DecodeEventKind::REFLECT);
  CHECK(s.events[0].think_tokens == 8);
  CHECK(s.events[1].kind == DecodeEventKind::REFLECT);
  CHECK(s.events[1].value == int64_t(PsrVerdict::UNSAFE));
  CHECK(s.events[2].kind == DecodeEventKind::BACKTRACK);
  CHECK(s.events[2].think_tokens == 16);
  CHECK(s.events[2].value == 8);
  CHECK(s.events[4].kind == DecodeEventKind::BACKTRACK);
  CHECK(heard.size() == 3);
  CHECK(std::vector<int64_t>(s.tokens.begin(), s.tokens.begin() + 8) == std::vector<int64_t>(base.tokens.begin(), base.tokens.begin() + 8));
  CHECK(s.tokens != base.tokens);  // the regenerated thinking drew on from the sample's stream
  CHECK(s.think_end - s.think_begin == 40 + 1);  // the budget still holds: 40 tokens, the forced 10, then the close
  check_batched_equals_alone(m, o);
}

TEST_CASE("psr with capture: the thinking states are those of the kept text (rewound rows dropped)", "[intervene][generate][capture]") {
  const Model& m = tiny().m;
  GenOptions o = options(0.9, 40);
  o.stop.eos_ids = {};  // the thinking always runs to the budget
  const GenRequest req = requests()[2];
  CapturePlan plan;
  plan.layers = {1};
  plan.positions = capture_bit(CapturePos::THINK_FIRST) | capture_bit(CapturePos::THINK_SPAN);
  plan.span_points = 41;  // the whole thinking: 40 sampled tokens and the force-close's first token
  plan.dtype = "float32";
  auto run = [&](const GenOptions& g, Sample* s) {
    CaptureRecorder rec;
    capture_recorder_init(rec, plan, m.cfg.n_layer);
    *s = generate(m, {req}, g, &rec)[0];
    return std::make_pair(rec.samples[0].at[int(CapturePos::THINK_FIRST)], rec.samples[0].at[int(CapturePos::THINK_SPAN)]);
  };
  Sample base, safe, backtracked;
  auto [first0, span0] = run(o, &base);
  DecodePolicy p;
  p.kind = DecodeKind::PSR;
  p.psr_every = 8, p.psr_reflect_tokens = 3, p.psr_max_rounds = 3;
  p.psr_prompt_ids = {60, 61, 62, 63};
  int calls = 0;
  p.psr_judge = [&](const std::vector<int64_t>&) { return PsrVerdict::SAFE; };
  o.policy = &p;
  auto [first1, span1] = run(o, &safe);
  REQUIRE(safe.tokens == base.tokens);
  CHECK(at::equal(first0, first1));  // every reflection rewound, every state recaptured as it was
  CHECK(at::equal(span0, span1));

  p.psr_judge = [&](const std::vector<int64_t>&) { return ++calls % 2 ? PsrVerdict::UNSAFE : PsrVerdict::SAFE; };
  auto [first2, span2] = run(o, &backtracked);
  REQUIRE(backtracked.events.size() > 2);
  INFO("stop " << stop_reason_name(backtracked.stop) << " n " << backtracked.tokens.size());
  REQUIRE(backtracked.think_end - backtracked.think_begin == 41);
  // reference: one forward over the prompt and the kept output, states at the thinking positions
  std::vector<int64_t> ids = req.prompt;
  ids.insert(ids.end(), backtracked.tokens.begin(), backtracked.tokens.begin() + backtracked.think_end);
  const int64_t P = int64_t(req.prompt.size()), T = int64_t(ids.size());
  KVCache kv = kv_cache_new(m.cfg, 1, T, m.dtype, m.device);
  Hooks hooks;
  hooks.want_resid = {0, 1};
  hooks.want_final_norm = true;
  at::Tensor resid, final;
  hooks.observe = [&](HookSite site, int64_t, const at::Tensor& x) { (site == HookSite::FINAL_NORM ? final : resid) = x[0].clone(); };
  forward(m, kv, {at::tensor(ids, at::kLong).view({1, T}), {0}, {0}, {T}, nullptr}, &hooks, true);
  at::Tensor ref = at::stack({resid, final}, 1).narrow(0, P + backtracked.think_begin, 41);  // [41, 2, C]
  CHECK(at::allclose(span2, ref, 1e-4, 1e-4));
  CHECK(at::allclose(first2, ref[0], 1e-4, 1e-4));
  CHECK_FALSE(at::allclose(span2, span0, 1e-4, 1e-4));  // the regenerated thinking is another text
}
