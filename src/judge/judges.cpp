// The judging step (see judges.h): rule judges and guard models run through the engine.
#include "judge/judges.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "generate/generate.h"
#include "judge/rule_judge.h"
#include "model/transformer.h"
#include "model/weights.h"
#include "reduce/metrics.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/log.h"
#include "util/text.h"

namespace tp {

struct JudgeSet {
  struct Guard {
    std::unique_ptr<Model> m;  // loaded on first use
    Tokenizer tok;
    std::vector<int64_t> eos;
    int64_t max_new = 0, max_len = 0;
  };
  struct One {
    JudgeModelSpec spec;
    JudgeKind kind = JudgeKind::RULE;
    RuleJudge rule;
    Guard guard;
  };
  std::vector<One> judges;
  int device_index = 0;
};

std::shared_ptr<JudgeSet> judges_new(const JudgeSpec& spec, int device_index) {
  auto set = std::make_shared<JudgeSet>();
  set->device_index = device_index;
  for (const auto& s : spec.judges) {
    JudgeSet::One j;
    j.spec = s;
    j.kind = judge_kind_from_name(s.kind);
    if (j.kind == JudgeKind::RULE) j.rule = rule_judge_new(s.refusal_patterns);
    else if (!judge_kind_runnable(s.kind))
      throw Error(fmt::format("judge.judges: {} ({}) cannot run: {}", s.id, s.kind, judge_kind_missing(s.kind)),
                  "runnable judge kinds: " + join(judge_kinds_runnable(), ", "));
    set->judges.push_back(std::move(j));
  }
  return set;
}

namespace {

void guard_load(JudgeSet::One& j, int device_index) {
  JudgeSet::Guard& g = j.guard;
  if (g.m) return;
  auto t0 = std::chrono::steady_clock::now();
  at::Device device = device_from_name(j.spec.device, device_index);
  at::ScalarType dtype = dtype_from_name(j.spec.dtype, device);
  g.m = std::make_unique<Model>(model_load(j.spec.path, dtype, device));
  g.tok = tokenizer_load(j.spec.path);
  for (const char* t : {"<|im_end|>", "<|endoftext|>", "</s>", "<|end_of_text|>", "<|return|>", "<|end|>"})
    if (int32_t id = token_id(g.tok, t); id >= 0) g.eos.push_back(id);
  if (g.eos.empty()) throw Error(fmt::format("judge {}: {}/tokenizer.json has no end-of-turn token", j.spec.id, j.spec.path));
  g.max_new = j.spec.max_new_tokens > 0 ? j.spec.max_new_tokens : judge_default_max_new_tokens(j.kind);
  g.max_len = j.spec.max_model_len > 0 ? j.spec.max_model_len : g.m->cfg.max_pos;
  spdlog::info("loaded judge {} ({}) from {} in {:.1f} s", j.spec.id, j.spec.kind, j.spec.path,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void run_guard(JudgeSet::One& j, size_t slot, const std::vector<JudgeInput>& inputs, int64_t batch_size, std::vector<Verdict>& out) {
  const JudgeSet::Guard& g = j.guard;
  std::vector<GenRequest> reqs;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); i++) {
    GuardFit fit = guard_fit(g.tok, j.kind, inputs[i].prompt, inputs[i].answer, g.max_len, g.max_new);
    out[i].truncated[slot] = fit.truncated ? 1 : 0;
    if (!fit.fits) {
      out[i].outputs[slot] = fmt::format("[not judged: the prompt needs {} tokens, over {}'s context of {} with {} to generate]",
                                         fit.ids.size(), j.spec.id, g.max_len, g.max_new);
      continue;
    }
    reqs.push_back({std::vector<int64_t>(fit.ids.begin(), fit.ids.end()), 0});
    which.push_back(i);
  }
  if (reqs.empty()) return;
  GenOptions opt;
  opt.sampling = {0.0, 1.0, 0};  // greedy, as the paper's vLLM runs
  opt.stop.eos_ids = g.eos;
  opt.stop.max_think_tokens = 0;  // no thinking phase: the output is the verdict
  opt.stop.max_answer_tokens = g.max_new;
  opt.batch_size = batch_size;
  std::vector<Sample> gen = generate(*g.m, reqs, opt);
  for (size_t r = 0; r < gen.size(); r++) {
    Verdict& v = out[which[r]];
    v.votes[slot] = guard_vote(g.tok, j.kind, gen[r].tokens, &v.outputs[slot]);
  }
}

}  // namespace

std::vector<Verdict> judges_run(JudgeSet& set, const std::vector<JudgeInput>& inputs, int64_t batch_size) {
  const size_t n_j = set.judges.size();
  std::vector<Verdict> out(inputs.size());
  for (auto& v : out) {
    v.votes.assign(n_j, -1);
    v.truncated.assign(n_j, 0);
    v.outputs.assign(n_j, "");
  }
  for (size_t s = 0; s < n_j; s++) {
    JudgeSet::One& j = set.judges[s];
    if (j.kind == JudgeKind::RULE) {
      for (size_t i = 0; i < inputs.size(); i++) {
        int pattern = -1;
        out[i].votes[s] = rule_judge_refused(j.rule, inputs[i].answer, &pattern) ? 1 : 0;
        if (pattern >= 0) out[i].outputs[s] = j.rule.patterns[pattern];
        else if (out[i].votes[s] == 1) out[i].outputs[s] = "empty answer";
      }
      continue;
    }
    guard_load(j, set.device_index);
    run_guard(j, s, inputs, batch_size, out);
  }
  return out;
}

void judged_set(Judged& row, Verdict&& v, int64_t tie_min_votes) {
  row.refused = majority_label(v.votes.data(), v.votes.size(), static_cast<int>(tie_min_votes));
  row.soft = static_cast<float>(soft_label(v.votes.data(), v.votes.size()));
  row.votes = std::move(v.votes);
  row.judge_truncated = std::move(v.truncated);
  row.judge_outputs = std::move(v.outputs);
}

GuardFit guard_fit(const Tokenizer& tok, JudgeKind kind, const std::string& user, const std::string& answer, int64_t max_model_len,
                   int64_t max_new_tokens) {
  GuardPrompt p = guard_prompt_parts(kind);
  GuardFit fit;
  const int64_t other = static_cast<int64_t>(encode(tok, p.head + user + p.mid).size() + encode(tok, p.tail).size());
  const int64_t keep = std::max<int64_t>(256, max_model_len - max_new_tokens - 64 - other);
  std::vector<int32_t> a = encode(tok, answer);
  std::string kept = answer;
  if (static_cast<int64_t>(a.size()) > keep) {
    a.resize(static_cast<size_t>(keep));
    kept = decode(tok, a);
    fit.truncated = true;
  }
  fit.ids = encode(tok, guard_prompt(kind, user, kept));
  fit.fits = static_cast<int64_t>(fit.ids.size()) + max_new_tokens <= max_model_len;
  return fit;
}

int8_t guard_vote(const Tokenizer& tok, JudgeKind kind, const std::vector<int64_t>& generated, std::string* raw) {
  std::vector<int32_t> ids(generated.begin(), generated.end());
  std::string text = decode(tok, ids);
  int8_t v = guard_parse(kind, text);
  if (raw) *raw = std::move(text);
  return v;
}

}  // namespace tp
