// The judging step (see judges.h): rule judges and guard models run through the engine; stance labellers.
#include "judge/judges.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "generate/generate.h"
#include "judge/rule_judge.h"
#include "judge/stance_format.h"
#include "model/transformer.h"
#include "model/weights.h"
#include "reduce/metrics.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/log.h"
#include "util/text.h"

namespace tp {

// A checkpoint that judges, run by the engine with greedy decoding; loaded on first use.
struct EngineJudge {
  std::unique_ptr<Model> m;
  Tokenizer tok;
  ChatTemplate tmpl;  // stance labellers: their prompt is rendered with it
  std::vector<int64_t> eos;
  int64_t max_new = 0, max_len = 0;
};

struct JudgeSet {
  struct One {
    JudgeModelSpec spec;
    JudgeKind kind = JudgeKind::RULE;
    RuleJudge rule;
    EngineJudge guard;
  };
  struct Labeller {
    StanceLabellerSpec spec;
    EngineJudge model;  // kind model
  };
  std::vector<One> judges;
  StanceSpec stance;
  StanceLexicon lexicon;  // the rule labeller's
  std::vector<Labeller> labellers;
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
  set->stance = spec.stance;
  set->lexicon = stance_lexicon_new(spec.stance.refuse_patterns, spec.stance.comply_patterns);
  for (const auto& l : spec.stance.labellers) set->labellers.push_back({l, {}});
  return set;
}

namespace {

// Loads a judge checkpoint once; what names it in messages ("judge qwen3guard", "stance labeller x").
void engine_judge_load(EngineJudge& g, const std::string& what, const std::string& path, const std::string& dtype_name,
                       const std::string& device_name, int64_t max_new, int64_t max_model_len, int device_index,
                       const std::string* chat_template) {
  if (g.m) return;
  auto t0 = std::chrono::steady_clock::now();
  at::Device device = device_from_name(device_name, device_index);
  at::ScalarType dtype = dtype_from_name(dtype_name, device);
  g.m = std::make_unique<Model>(model_load(path, dtype, device));
  g.tok = tokenizer_load(path);
  if (chat_template) g.tmpl = chat_template_for(path, g.tok, *chat_template);
  for (const char* t : {"<|im_end|>", "<|endoftext|>", "</s>", "<|end_of_text|>", "<|return|>", "<|end|>"})
    if (int32_t id = token_id(g.tok, t); id >= 0) g.eos.push_back(id);
  if (g.eos.empty()) throw Error(fmt::format("{}: {}/tokenizer.json has no end-of-turn token", what, path));
  g.max_new = max_new;
  g.max_len = max_model_len > 0 ? max_model_len : g.m->cfg.max_pos;
  spdlog::info("loaded {} from {} in {:.1f} s", what, path, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// Greedy generation of each prompt (ids), decoded with special tokens: the raw outputs.
std::vector<std::string> engine_judge_generate(const EngineJudge& g, const std::vector<std::vector<int32_t>>& prompts, int64_t batch_size) {
  std::vector<GenRequest> reqs;
  for (const auto& ids : prompts) reqs.push_back({std::vector<int64_t>(ids.begin(), ids.end()), 0});
  GenOptions opt;
  opt.sampling = {0.0, 1.0, 0};  // greedy, as the paper's vLLM runs
  opt.stop.eos_ids = g.eos;
  opt.stop.max_think_tokens = 0;  // no thinking phase: everything generated is the output
  opt.stop.max_answer_tokens = g.max_new;
  opt.batch_size = batch_size;
  std::vector<Sample> gen = generate(*g.m, reqs, opt);
  std::vector<std::string> out;
  for (const Sample& s : gen) out.push_back(decode(g.tok, std::vector<int32_t>(s.tokens.begin(), s.tokens.end())));
  return out;
}

void run_guard(JudgeSet::One& j, size_t slot, const std::vector<JudgeInput>& inputs, int64_t batch_size, std::vector<Verdict>& out) {
  const EngineJudge& g = j.guard;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); i++) {
    GuardFit fit = guard_fit(g.tok, j.kind, inputs[i].prompt, inputs[i].answer, g.max_len, g.max_new);
    out[i].truncated[slot] = fit.truncated ? 1 : 0;
    if (!fit.fits) {
      out[i].outputs[slot] = fmt::format("[not judged: the prompt needs {} tokens, over {}'s context of {} with {} to generate]",
                                         fit.ids.size(), j.spec.id, g.max_len, g.max_new);
      continue;
    }
    prompts.push_back(std::move(fit.ids));
    which.push_back(i);
  }
  if (prompts.empty()) return;
  std::vector<std::string> texts = engine_judge_generate(g, prompts, batch_size);
  for (size_t r = 0; r < texts.size(); r++) {
    Verdict& v = out[which[r]];
    v.votes[slot] = guard_parse(j.kind, texts[r]);
    v.outputs[slot] = std::move(texts[r]);
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
    engine_judge_load(j.guard, "judge " + j.spec.id + " (" + j.spec.kind + ")", j.spec.path, j.spec.dtype, j.spec.device,
                      j.spec.max_new_tokens > 0 ? j.spec.max_new_tokens : judge_default_max_new_tokens(j.kind), j.spec.max_model_len,
                      set.device_index, nullptr);
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

std::vector<StanceResult> stance_run(JudgeSet& set, const std::vector<StanceInput>& inputs, int64_t batch_size) {
  const size_t n_l = set.labellers.size();
  std::vector<StanceResult> out(inputs.size());
  std::vector<size_t> asked;  // traces the labellers see: not excluded, at least one chunk
  for (size_t i = 0; i < inputs.size(); i++) {
    StanceTrace& t = out[i].trace;
    t.chunks = stance_chunks(inputs[i].thinking);
    t.excluded = static_cast<int64_t>(t.chunks.size()) > set.stance.max_chunks;
    out[i].outputs.assign(n_l, "");
    if (!t.excluded && !t.chunks.empty()) asked.push_back(i);
  }
  // votes[i][l]: labeller l's labels of trace i (STANCE_NONE throughout when malformed or not fitting)
  std::vector<std::vector<std::vector<int8_t>>> votes(inputs.size(), std::vector<std::vector<int8_t>>(n_l));
  for (size_t l = 0; l < n_l; l++) {
    JudgeSet::Labeller& lb = set.labellers[l];
    if (lb.spec.kind == "rule") {
      for (size_t i : asked) {
        for (const auto& c : out[i].trace.chunks) votes[i][l].push_back(stance_label(set.lexicon, c));
        out[i].outputs[l] = stance_labels_output(votes[i][l]);
      }
      continue;
    }
    TP_CHECK_MSG(lb.spec.kind == "model", "stance labeller kind {}", lb.spec.kind);
    if (asked.empty()) continue;
    EngineJudge& g = lb.model;
    engine_judge_load(g, "stance labeller " + lb.spec.id, lb.spec.path, lb.spec.dtype, lb.spec.device, lb.spec.max_new_tokens,
                      lb.spec.max_model_len, set.device_index, &lb.spec.chat_template);
    const std::string& tmpl = set.stance.prompt_template.empty() ? stance_default_prompt_template() : set.stance.prompt_template;
    std::vector<std::vector<int32_t>> prompts;
    std::vector<size_t> which;
    for (size_t i : asked) {
      const StanceTrace& t = out[i].trace;
      votes[i][l].assign(t.chunks.size(), STANCE_NONE);
      ChatInput in;
      in.user = stance_prompt(tmpl, inputs[i].model, inputs[i].prompt, t.chunks);
      in.thinking_enabled = lb.spec.thinking;
      std::vector<int32_t> ids = render(g.tmpl, g.tok, in).ids;
      if (static_cast<int64_t>(ids.size()) + g.max_new > g.max_len) {
        out[i].outputs[l] = fmt::format("[not labelled: the prompt needs {} tokens, over {}'s context of {} with {} to generate]", ids.size(),
                                        lb.spec.id, g.max_len, g.max_new);
        continue;
      }
      prompts.push_back(std::move(ids));
      which.push_back(i);
    }
    if (prompts.empty()) continue;
    std::vector<std::string> texts = engine_judge_generate(g, prompts, batch_size);
    for (size_t r = 0; r < texts.size(); r++) {
      const size_t i = which[r];
      stance_parse(texts[r], out[i].trace.chunks.size(), &votes[i][l]);  // malformed: stays STANCE_NONE
      out[i].outputs[l] = std::move(texts[r]);
    }
  }
  for (size_t i = 0; i < inputs.size(); i++) {
    StanceTrace& t = out[i].trace;
    if (!t.excluded) t.labels = stance_majority(votes[i], t.chunks.size());
    stance_trace_finish(t);
  }
  return out;
}

void stance_set(SampleRow& row, const StanceResult& r) {
  row.stance_labels = stance_labels_json(r.trace);
  row.stance_outputs = nlohmann::json(r.outputs).dump();
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
