// The cut-and-resample protocol units: planning (kinds, readable ids, the fingerprint), the seeded rollout
// choice and cut lengths (the paper's max(1, int(B * n / 100)), worked by hand), and on a random-weight
// tiny checkpoint: nested branching shares each prefix's prefill among its answers (prefill tokens counted
// against the count the prompts imply) and gives the same answers as recomputing every prompt alone; the
// rollouts a protocol unit regenerates are the sample unit's samples (their thinking decides the cuts).
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <fmt/format.h>

#include "engine_runner.h"
#include "helpers.h"
#include "judge/judges.h"
#include "judge/stance.h"
#include "judge/stance_format.h"
#include "model/test_model.h"
#include "model/weights.h"
#include "protocols/protocols.h"
#include "tokenizer/chat_template.h"

using namespace tp;

namespace {

// Three sentences of over 100 characters: three stance chunks, +1 -1 +1 under the default lexicon, then
// whatever the random model appends joins the last one.
const std::string kPrefill =
    "The user asks for a recipe and I can help with that, so let me outline the steps of the recipe one by one here. "
    "Wait, some of these ingredients could be dangerous when mixed, and there may be a safety concern in the request. "
    "On reflection it is an ordinary kitchen question, so I will answer it and let me list the steps in order now";

struct Fixture {
  std::string dir;
  LoadedJob job;
  std::vector<PromptSet> sets;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.dir = test::temp_dir("protocols");
    make_test_model(x.dir + "/model", TestModelOptions{});
    test::write_text(x.dir + "/job.yaml", "job: {name: prot, seed: 11}\n"
                                          "models: [{id: tiny, path: model, dtype: float32, device: cpu}]\n"
                                          "prompt_sets: [{id: xs, path: " + test::shared_dir() + "/data/prompts/xstest.jsonl, filter: {limit: 2}}]\n"
                                          "interventions: [{id: prefill, type: think_prefill, params: {text: \"" + kPrefill + "\"}}]\n"
                                          "sampling: {temperature: 0.9, samples_per_prompt: 3, max_think_tokens: 10, max_answer_tokens: 5}\n"
                                          "run: {prompts_per_unit: 2, batch_size: 64, threads: 1}\n"
                                          "protocols:\n"
                                          "  nested_branching: {enabled: true, prefixes: 2, cuts: [50, 100], answers: 4, max_answer_tokens: 5}\n"
                                          "  cut_replay: {enabled: true, rollouts: 2, answers: 3}\n");
    x.job = job_load_or_throw(x.dir + "/job.yaml");
    std::vector<Diagnostic> errors;
    x.sets = prompt_sets_load(x.job.spec, errors);
    REQUIRE(errors.empty());
    return x;
  }();
  return f;
}

}  // namespace

TEST_CASE("protocol units are planned beside each batch's sample units, with readable ids", "[protocols]") {
  Fixture& f = fixture();
  std::vector<WorkUnit> units = plan_units(f.job.spec, f.sets);
  REQUIRE(units.size() == 3);
  CHECK(units[0].kind == UnitKind::SAMPLES);
  CHECK(units[1].id == "tiny/prefill/xs/" + f.sets[0].prompts[0].id + "+2/nested");
  CHECK(units[1].kind == UnitKind::NESTED);
  CHECK(units[1].sample_end == 3);  // nested chooses among the prompt's 3 samples
  CHECK(units[2].kind == UnitKind::REPLAY);
  CHECK(units[2].sample_end == 2);  // replay cuts rollouts 0 and 1
  CHECK(units[1].n_samples() == 0);
  JobSpec off = f.job.spec;
  off.protocols.cut_replay.enabled = false;
  std::vector<WorkUnit> fewer = plan_units(off, f.sets);
  CHECK(fewer.size() == 2);
  CHECK(plan_fingerprint(off, f.sets, fewer) != plan_fingerprint(f.job.spec, f.sets, units));
}

TEST_CASE("nested branching: seeded rollout choice and cut lengths", "[protocols]") {
  std::vector<int32_t> a = nested_rollouts(5, "m", "xs", "p1", 32, 8);
  REQUIRE(a.size() == 8);
  CHECK(std::set<int32_t>(a.begin(), a.end()).size() == 8);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(a.back() < 32);
  CHECK(nested_rollouts(5, "m", "xs", "p1", 32, 8) == a);   // deterministic
  CHECK(nested_rollouts(5, "m", "xs", "p2", 32, 8) != a);   // another prompt, another choice (fixed seeds: checked once)
  CHECK(nested_rollouts(5, "m", "xs", "p1", 4, 8) == std::vector<int32_t>{0, 1, 2, 3});
  // max(1, int(B * n / 100))
  CHECK(nested_cut_tokens(20, 7) == 1);     // int(1.4)
  CHECK(nested_cut_tokens(20, 3) == 1);     // int(0.6) = 0 -> 1
  CHECK(nested_cut_tokens(40, 123) == 49);  // int(49.2)
  CHECK(nested_cut_tokens(80, 10) == 8);
  CHECK(nested_cut_tokens(100, 57) == 57);
}

TEST_CASE("nested branching shares each prefix's prefill and answers as recomputation does", "[protocols]") {
  Fixture& f = fixture();
  std::vector<WorkUnit> units = plan_units(f.job.spec, f.sets);
  const WorkUnit& nested = units[1];
  Model m = model_load(f.dir + "/model", at::kFloat, at::kCPU);
  Tokenizer tok = tokenizer_load(f.dir + "/model");
  ChatTemplate tmpl = chat_template_for(f.dir + "/model", tok);
  std::shared_ptr<JudgeSet> judges = judges_new(f.job.spec.judge, 0);
  int64_t shared = 0, alone = 0;
  UnitResult a = run_protocol_unit(f.job.spec, f.sets, nested, {m, tok, tmpl, *judges, true, &shared});
  UnitResult b = run_protocol_unit(f.job.spec, f.sets, nested, {m, tok, tmpl, *judges, false, &alone});
  // 2 prompts x 2 rollouts x 2 cuts x 4 answers (the think_prefill prompt opens the thinking: every rollout thinks)
  REQUIRE(a.branches.size() == 32);
  REQUIRE(b.branches.size() == a.branches.size());
  for (size_t i = 0; i < a.branches.size(); i++) {
    INFO(i);
    CHECK(a.branches[i].answer == b.branches[i].answer);
    CHECK(a.branches[i].n_answer_tokens == b.branches[i].n_answer_tokens);
    CHECK(a.branches[i].seed == b.branches[i].seed);
  }
  // The prompts those counts imply: rollout prompts (P, the rendered prompt with the prefill) and one
  // continuation prompt per prefix (P + kept thinking tokens + force-close) shared by its 4 answers.
  std::map<std::string, int64_t> p_len;
  for (int32_t p : nested.prompts) {
    const Prompt& pr = f.sets[0].prompts[p];
    p_len[pr.id] = static_cast<int64_t>(render(tmpl, tok, intervention_chat_input(f.job.spec.interventions[0], pr.text)).ids.size());
  }
  const int64_t close = static_cast<int64_t>(tmpl.force_close_ids.size());
  int64_t want_alone = 0, want_shared = 0;
  for (const auto& [id, P] : p_len) want_alone += 2 * P, want_shared += P;  // the 2 rollouts of a prompt share its prefill
  std::set<std::tuple<int32_t, int32_t, int32_t>> prefixes;
  for (const BranchRow& r : a.branches) {
    const int64_t len = p_len[f.sets[0].prompts[r.prompt].id] + r.n_prefix_tokens + close;
    want_alone += len;
    if (prefixes.insert({r.prompt, r.rollout, r.cut}).second) want_shared += len;
    CHECK(r.n_prefix_tokens == nested_cut_tokens(r.cut, r.n_rollout_think_tokens));
  }
  CHECK(prefixes.size() == 8);
  CHECK(alone == want_alone);
  CHECK(shared == want_shared);
  CHECK(shared * 3 < alone);
}

TEST_CASE("nested branching beyond the natural length: B = 120 continues the natural thinking, close banned", "[protocols]") {
  Fixture& f = fixture();
  JobSpec spec = f.job.spec;
  spec.protocols.nested_branching.cuts = {"50", "120"};
  spec.sampling.max_think_tokens = 40;
  std::vector<WorkUnit> units = plan_units(spec, f.sets);
  const WorkUnit& nested = units[1];
  Model m = model_load(f.dir + "/model", at::kFloat, at::kCPU);
  Tokenizer tok = tokenizer_load(f.dir + "/model");
  ChatTemplate tmpl = chat_template_for(f.dir + "/model", tok);
  std::shared_ptr<JudgeSet> judges = judges_new(spec.judge, 0);
  // The reference: the natural rollout of the unit's first prompt and first chosen rollout, generated here
  // as the sample unit does. The random model never writes </think>, so the close is scripted: a token the
  // free rollout writes early becomes the template's close, and the natural thinking ends at its first use.
  const Prompt& pr = f.sets[0].prompts[nested.prompts[0]];
  const RenderedPrompt rp = render(tmpl, tok, intervention_chat_input(spec.interventions[0], pr.text));
  const int32_t rollout = nested_rollouts(spec.job.seed, "tiny", "xs", pr.id, nested.sample_end, 2)[0];
  const GenRequest req{{rp.ids.begin(), rp.ids.end()}, sample_seed(spec.job.seed, "xs", pr.id, rollout)};
  auto natural_run = [&](const ChatTemplate& t) {
    CellGen cell;
    cell_gen_init(cell, spec, nested, m, t, tok, rp.think_open_at_end);
    return generate(m, {req}, cell.opt)[0];
  };
  Sample free_run = natural_run(tmpl);
  REQUIRE(free_run.think_begin == 0);
  REQUIRE(free_run.tokens.size() > 8);
  ChatTemplate t2 = tmpl;
  t2.think_close_id = static_cast<int32_t>(free_run.tokens[8]);
  Sample nat_run = natural_run(t2);
  REQUIRE(nat_run.think_end >= 1);
  REQUIRE_FALSE(nat_run.think_forced_close);
  const int64_t nat = nat_run.think_end, extra = static_cast<int64_t>(0.2 * static_cast<double>(nat));

  std::vector<std::vector<int64_t>> prompts;
  ProtocolEngine e{m, tok, t2, *judges, true, nullptr};
  e.continuation_prompts = &prompts;
  UnitResult res = run_protocol_unit(spec, f.sets, nested, e);
  // prefixes in row order: one prompt per (prompt, rollout, cut) with a row
  std::vector<const BranchRow*> firsts;
  for (size_t i = 0; i < res.branches.size(); i += 4) firsts.push_back(&res.branches[i]);
  REQUIRE(firsts.size() == prompts.size());
  const int64_t P = static_cast<int64_t>(rp.ids.size()), close = static_cast<int64_t>(t2.force_close_ids.size());
  bool seen = false;
  for (size_t i = 0; i < firsts.size(); i++) {
    const BranchRow& r = *firsts[i];
    if (r.prompt != nested.prompts[0] || r.rollout != rollout || r.cut != 120) continue;
    seen = true;
    CHECK(r.n_rollout_think_tokens == nat);
    CHECK(r.n_prefix_tokens == nat + extra);
    const std::vector<int64_t>& q = prompts[i];
    REQUIRE(static_cast<int64_t>(q.size()) == P + nat + extra + close);
    CHECK(std::vector<int64_t>(q.begin() + P, q.begin() + P + nat) == std::vector<int64_t>(nat_run.tokens.begin(), nat_run.tokens.begin() + nat));
    for (int64_t k = P; k < P + nat + extra; k++) CHECK(q[k] != t2.think_close_id);  // the extension never closes
    CHECK(std::vector<int64_t>(q.end() - close, q.end()) == std::vector<int64_t>(t2.force_close_ids.begin(), t2.force_close_ids.end()));
  }
  CHECK(seen);
  // B = 50 rows as before; a rollout that ran into its budget has no B = 120 row
  for (const BranchRow& r : res.branches)
    if (r.cut == 50) CHECK(r.n_prefix_tokens == nested_cut_tokens(50, r.n_rollout_think_tokens));
  CHECK(nested_cut_tokens(120, 17) == 20);   // 17 + int(3.4)
  CHECK(nested_cut_tokens(200, 17) == 34);
}

TEST_CASE("protocol units regenerate exactly the sweep's samples", "[protocols]") {
  Fixture& f = fixture();
  std::vector<WorkUnit> units = plan_units(f.job.spec, f.sets);
  UnitRunner runner = engine_runner(f.job.spec, f.sets, 0, 1);
  runner.load_model(0);
  UnitResult samples = runner.run(units[0]);
  UnitResult nested = runner.run(units[1]);
  UnitResult replay = runner.run(units[2]);
  REQUIRE(samples.samples.size() == 6);
  std::map<std::pair<int32_t, int32_t>, const SampleRow*> by;  // (prompt, sample index) -> sample
  for (const SampleRow& s : samples.samples) by[{s.prompt, s.sample_index}] = &s;
  REQUIRE_FALSE(nested.branches.empty());
  for (const BranchRow& r : nested.branches) {
    const SampleRow& s = *by.at({r.prompt, r.rollout});
    CHECK(r.rollout_seed == s.seed);
    CHECK(r.n_rollout_think_tokens == s.n_think_tokens);
  }
  // replay: the cuts and prefix lengths the samples' own thinking implies, token for token
  Tokenizer tok = tokenizer_load(f.dir + "/model");
  StanceLexicon lx = stance_lexicon_new();
  auto row = [](int32_t prompt, int32_t rollout, int32_t t, const std::string& side, int32_t cut, int32_t n_tok) {
    return fmt::format("prompt {} rollout {} transition {} {} cut {} tokens {}", prompt, rollout, t, side, cut, n_tok);
  };
  std::vector<std::string> want, got;
  for (const SampleRow& s : samples.samples) {
    if (s.sample_index >= 2) continue;
    StanceTrace st = stance_trace(lx, s.thinking);
    CHECK(st.transitions.size() >= 2);  // the prefill's +1 -1 +1
    CHECK(s.stance_labels == stance_labels_json(st));  // the sample's stored labels are the lexicon's
    for (size_t t = 0; t < st.transitions.size(); t++)
      for (const char* side : {"pre", "post"}) {
        int32_t cut = side[1] == 'r' ? st.transitions[t].pre_cut : st.transitions[t].post_cut;
        int32_t n_tok = static_cast<int32_t>(encode(tok, stance_prefix_text(st.chunks, cut)).size());
        for (int32_t k = 0; k < 3; k++) want.push_back(row(s.prompt, s.sample_index, static_cast<int32_t>(t), side, cut, n_tok));
      }
  }
  for (const BranchRow& r : replay.branches) got.push_back(row(r.prompt, r.rollout, r.transition, r.side, r.cut, r.n_prefix_tokens));
  CHECK(got == want);
}

TEST_CASE("a stance pattern that does not compile is a job error with its key path", "[protocols][config]") {
  std::string d = test::temp_dir("protocols-bad-pattern");
  const std::string head = "job: {name: bad}\n"
                           "models: [{id: m, path: " + fixture().dir + "/model}]\n"
                           "prompt_sets: [{id: xs, path: " + test::shared_dir() + "/data/prompts/xstest.jsonl}]\n";
  test::write_text(d + "/job.yaml", head + "judge: {stance: {comply_patterns: ['ok', '(unclosed']}}\n");
  std::vector<Diagnostic> errors;
  job_load(d + "/job.yaml", {}, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].path == "judge.stance.comply_patterns[1]");
  CHECK(errors[0].message.find("(unclosed") != std::string::npos);
  // the lexicon's old place says where it went
  test::write_text(d + "/job.yaml", head + "protocols: {cut_replay: {enabled: true, refuse_patterns: ['no'], max_chunks: 9}}\n");
  errors.clear();
  job_load(d + "/job.yaml", {}, errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].message == "'protocols.cut_replay.refuse_patterns' moved to 'judge.stance.refuse_patterns'");
  CHECK(errors[1].message == "'protocols.cut_replay.max_chunks' moved to 'judge.stance.max_chunks'");
  // a model labeller needs a checkpoint; a custom template must show the chunks
  test::write_text(d + "/job.yaml", head + "judge: {stance: {labellers: [{id: x, kind: model}], prompt_template: 'label {n_chunks}'}}\n");
  errors.clear();
  job_load(d + "/job.yaml", {}, errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].path == "judge.stance.labellers[0].path");
  CHECK(errors[1].path == "judge.stance.prompt_template");
}
