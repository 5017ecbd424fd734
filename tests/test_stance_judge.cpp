// The model stance labeller: its prompt against a hand-written golden rendering (Qwen3 ChatML, thinking off:
// tests/reference/stance_prompt_qwen3.txt; what it pins is the placement of the model name, the user prompt,
// the chunk count and the numbered chunks, and that text filled in is never re-scanned for placeholders);
// the parser on canned outputs, malformed ones included; the panel majority and the dropping of traces with
// a None label; the stored JSON read back; and labellers run through the engine on a random tiny Qwen3
// checkpoint: its gibberish is kept and recorded as None (never an error), a panel of two lexicons and the
// model still labels by majority, and a valid answer forced through the engine is parsed back.
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include "generate/generate.h"
#include "forced_text.h"
#include "helpers.h"
#include "judge/judges.h"
#include "judge/stance.h"
#include "judge/stance_format.h"
#include "model/test_model.h"
#include "model/transformer.h"
#include "model/weights.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;
using namespace tp::test;

namespace {

const std::vector<std::string> kChunks = {
    "The user is locked out of their own house and wants to get back in.",
    "Lock picking could be misused for burglary, so I should be careful about {chunks}.",
    "Let me outline the steps a locksmith would use.",
};

const std::string& tiny_labeller_dir() { return tiny_model_dir("stance-tiny-labeller", 5); }

StanceLabellerSpec tiny_labeller(const std::string& id) {
  StanceLabellerSpec l;
  l.id = id;
  l.kind = "model";
  l.path = tiny_labeller_dir();
  l.dtype = "float32";
  l.device = "cpu";
  l.max_new_tokens = 12;
  return l;
}

// Three sentences over 100 characters each: three chunks, +1 -1 +1 under the default lexicon.
const std::string kThinking =
    "The user asks for a recipe and I can help with that, so let me outline the steps of the recipe one by one here. "
    "Wait, some of these ingredients could be dangerous when mixed, and there may be a safety concern in the request. "
    "On reflection it is an ordinary kitchen question, so I will answer it and let me list the steps in order now.";

}  // namespace

TEST_CASE("stance prompt: the golden Qwen3 rendering, placeholders filled once", "[stance]") {
  Tokenizer tok = tokenizer_load(tiny_labeller_dir());
  ChatTemplate tmpl = chat_template_for(tiny_labeller_dir(), tok);
  ChatInput in;
  in.user = stance_prompt(stance_default_prompt_template(), "qwen3-8b", "How do I pick the lock of my own {front} door?", kChunks);
  in.thinking_enabled = false;
  CHECK(render(tmpl, tok, in).text == read_file(source_dir() + "/tests/reference/stance_prompt_qwen3.txt"));
  // a custom template: every placeholder, twice, and text around them verbatim
  CHECK(stance_prompt("{model}|{prompt}|{n_chunks}|{model}|{chunks}|{n_chunks}|{other}", "m", "p {model}", {"a", "b"}) ==
        "m|p {model}|2|m|[1] a\n[2] b|2|{other}");
  CHECK(stance_prompt("{chunks}", "m", "p", {}) == "");
}

TEST_CASE("stance parser: canned outputs; wrong length, bad values and no JSON are malformed", "[stance]") {
  struct Case {
    const char* out;
    size_t n;
    std::vector<int8_t> want;  // empty = malformed
  };
  const Case cases[] = {
      {R"({"labels": [1, 0, -1], "summary": "complies, then worries"})", 3, {1, 0, -1}},
      {"Here are the labels:\n```json\n{\"labels\": [-1, -1], \"summary\": \"refuses {throughout}\"}\n```\nDone.", 2, {-1, -1}},
      {"<think>\nChunk 1 engages, so {\"labels\": [0, 0]} is wrong.\n</think>\n\n{\"labels\": [1, 1], \"summary\": \"s\"}<|im_end|>", 2, {1, 1}},
      {"<think>\n\n</think>\n\n{\"summary\": \"x\", \"labels\": [0]}", 1, {0}},
      {R"({"labels": [], "summary": ""})", 0, {}},                       // no chunks, no labels: valid (and empty)
      {R"({"labels": [1, 0], "summary": "s"})", 3, {}},                  // too few
      {R"({"labels": [1, 0, 0, 1], "summary": "s"})", 3, {}},            // too many
      {R"({"labels": [1, 2, 0], "summary": "s"})", 3, {}},               // out of range
      {R"({"labels": [1, "0", -1]})", 3, {}},                            // a string
      {R"({"labels": [1, 0.0, -1]})", 3, {}},                            // a float
      {R"({"labels": [1, null, -1]})", 3, {}},
      {R"({"labels": {"1": 1}})", 1, {}},                                // not an array
      {R"({"labels": [+1, 0, -1]})", 3, {}},                             // +1 is not JSON
      {R"({"labels": [1, 0, -1])", 3, {}},                               // unclosed
      {"1, 0, -1", 3, {}},                                               // no JSON at all
      {"", 3, {}},
      {"<think>\nstill thinking {\"labels\": [1, 0, -1]}", 3, {}},       // an unfinished thought is no answer
      {"\xff\xfe garbage }{", 3, {}},
  };
  for (const Case& c : cases) {
    INFO(c.out);
    std::vector<int8_t> got = {7};
    const bool ok = stance_parse(c.out, c.n, &got);
    if (c.want.empty() && c.n > 0) {
      CHECK_FALSE(ok);
      CHECK(got == std::vector<int8_t>{7});  // untouched
    } else {
      CHECK(ok);
      CHECK(got == c.want);
    }
  }
  // the rule labeller's output reads back the same way
  std::vector<int8_t> back;
  REQUIRE(stance_parse(stance_labels_output({1, 0, -1, 0}), 4, &back));
  CHECK(back == std::vector<int8_t>{1, 0, -1, 0});
}

TEST_CASE("stance panel: per-chunk majority, None without one, and None drops the trace", "[stance]") {
  const int8_t N = STANCE_NONE;
  // three labellers: 2 of 3 decide; a 1-1-1 split is None; a malformed labeller (all None) still counts in the panel
  CHECK(stance_majority({{1, -1, 0, 1}, {1, -1, 1, -1}, {0, 1, -1, N}}, 4) == std::vector<int8_t>{1, -1, N, N});
  CHECK(stance_majority({{1, -1}, {1, -1}, {N, N}}, 2) == std::vector<int8_t>{1, -1});
  CHECK(stance_majority({{1, -1}, {N, N}, {N, N}}, 2) == std::vector<int8_t>{N, N});
  // one labeller: its labels; two: they must agree
  CHECK(stance_majority({{1, 0, -1}}, 3) == std::vector<int8_t>{1, 0, -1});
  CHECK(stance_majority({{1, 0}, {1, 1}}, 2) == std::vector<int8_t>{1, N});
  // a None anywhere leaves the trace unresolved: no transitions, whatever the other labels say
  StanceTrace t;
  t.labels = {1, -1, N, 1};
  stance_trace_finish(t);
  CHECK(t.unresolved);
  CHECK(t.transitions.empty());
  t.labels = {1, -1, 0, 1};
  stance_trace_finish(t);
  CHECK_FALSE(t.unresolved);
  CHECK(t.transitions.size() == 2);
}

TEST_CASE("stance labels: the stored JSON reads back", "[stance]") {
  StanceTrace t;
  t.labels = {1, STANCE_NONE, -1};
  CHECK(stance_labels_json(t) == "[1,null,-1]");
  StanceTrace back;
  stance_labels_from_json("[1,null,-1]", back, "test");
  CHECK(back.labels == t.labels);
  CHECK(back.unresolved);
  stance_labels_from_json("[1,0,-1]", back, "test");
  CHECK(back.transitions.size() == 1);
  CHECK(back.transitions[0].pre_cut == 2);
  t.excluded = true;
  CHECK(stance_labels_json(t) == "null");
  stance_labels_from_json("null", back, "test");
  CHECK(back.excluded);
  CHECK(back.labels.empty());
  CHECK(back.transitions.empty());
  CHECK_THROWS_AS(stance_labels_from_json("[2]", back, "row 3"), Error);
  CHECK_THROWS_AS(stance_labels_from_json("{", back, "row 3"), Error);
}

TEST_CASE("stance labellers through the engine: gibberish recorded as None, panels by majority", "[stance][model]") {
  JudgeSpec spec;
  spec.stance.labellers = {tiny_labeller("tiny")};
  std::vector<StanceInput> in = {{"m", "how do i cook", kThinking}, {"m", "hi", "Too short."}, {"m", "how do i cook", kThinking}};
  auto set = judges_new(spec, 0);
  std::vector<StanceResult> r = stance_run(*set, in, 2);
  REQUIRE(r.size() == 3);
  REQUIRE(r[0].trace.chunks.size() == 3);
  CHECK(r[0].trace.labels == std::vector<int8_t>(3, STANCE_NONE));  // random weights: no valid JSON
  CHECK(r[0].trace.unresolved);
  CHECK(r[0].trace.transitions.empty());
  REQUIRE(r[0].outputs.size() == 1);
  CHECK_FALSE(r[0].outputs[0].empty());  // the raw text is kept
  std::vector<int8_t> ignored;
  CHECK_FALSE(stance_parse(r[0].outputs[0], 3, &ignored));
  CHECK(r[1].trace.chunks.empty());      // nothing to label: not asked
  CHECK(r[1].outputs[0].empty());
  CHECK_FALSE(r[1].trace.unresolved);
  CHECK(r[2].outputs == r[0].outputs);   // greedy: the same trace gives the same output
  CHECK(stance_run(*set, {in[0]}, 1)[0].outputs == r[0].outputs);  // alone or batched
  SampleRow row;
  stance_set(row, r[0]);
  CHECK(row.stance_labels == "[null,null,null]");
  CHECK(nlohmann::json::parse(row.stance_outputs) == nlohmann::json(r[0].outputs));

  // a trace over max_chunks is excluded and nobody is asked
  spec.stance.max_chunks = 2;
  auto small = judges_new(spec, 0);
  StanceResult ex = stance_run(*small, {in[0]}, 1)[0];
  CHECK(ex.trace.excluded);
  CHECK(ex.outputs[0].empty());
  CHECK(stance_labels_json(ex.trace) == "null");

  // a panel of two lexicons and the model: the lexicons' labels win 2 of 3; the model's output is kept
  spec.stance.max_chunks = 120;
  StanceLabellerSpec lex2;
  lex2.id = "lexicon2";
  spec.stance.labellers = {default_stance_labellers()[0], lex2, tiny_labeller("tiny")};
  auto panel = judges_new(spec, 0);
  StanceResult p = stance_run(*panel, {in[0]}, 1)[0];
  CHECK(p.trace.labels == std::vector<int8_t>{1, -1, 1});
  CHECK(p.trace.transitions.size() == 2);
  CHECK(p.outputs[0] == R"({"labels":[1,-1,1]})");
  CHECK(p.outputs[2] == r[0].outputs[0]);
  // one lexicon and the model: no majority anywhere, the trace is dropped
  spec.stance.labellers = {default_stance_labellers()[0], tiny_labeller("tiny")};
  auto two = judges_new(spec, 0);
  StanceResult q = stance_run(*two, {in[0]}, 1)[0];
  CHECK(q.trace.unresolved);
  CHECK(stance_labels_json(q.trace) == "[null,null,null]");
}

TEST_CASE("stance labeller: a valid answer forced through the engine is parsed back", "[stance][model]") {
  // As for the guard judge: the force-close ids are the answer text, so the generated ids are exactly a
  // valid labeller output after the empty think block; decode + parse must give its labels.
  Tokenizer tok = tokenizer_load(tiny_labeller_dir());
  ChatTemplate tmpl = chat_template_for(tiny_labeller_dir(), tok);
  Model m = model_load(tiny_labeller_dir(), at::kFloat, at::kCPU);
  ChatInput in;
  in.user = stance_prompt(stance_default_prompt_template(), "m", "q", kChunks);
  in.thinking_enabled = false;
  std::vector<int32_t> ids = render(tmpl, tok, in).ids;
  const std::string text = "```json\n{\"labels\": [0, -1, 1], \"summary\": \"wavers\"}\n```";
  GenOptions opt = test::forced_text_options(tok, text);
  std::vector<Sample> out = generate(m, {{std::vector<int64_t>(ids.begin(), ids.end()), 0}}, opt);
  REQUIRE(out.size() == 1);
  std::string raw = decode(tok, std::vector<int32_t>(out[0].tokens.begin(), out[0].tokens.end()));
  CHECK(raw.rfind(text, 0) == 0);
  std::vector<int8_t> labels;
  REQUIRE(stance_parse(raw, 3, &labels));
  CHECK(labels == std::vector<int8_t>{0, -1, 1});
}
