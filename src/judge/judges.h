// The job's judges as one step: every judge of judge.judges votes on each (user prompt, final answer)
// pair, the answer being the model's reply with the thinking stripped. The rule judge matches patterns; a
// guard judge renders its prompt (guard_format.h), cuts the answer to fit its context, generates greedily
// with thinkprobe's engine and parses the text. Guard checkpoints load on first use and stay loaded for
// the worker's life, next to the policy model. Votes aggregate with reduce/metrics.h majority_label and
// soft_label, as in the reducer. The same set holds the stance labellers of judge.stance: the rule lexicon,
// or chat models run the same way (one greedy call per trace, prompt and parser in stance_format.h).
// Callers: engine_runner.cpp (final answers, samples' thinking), protocol units (continuation answers,
// rollouts' thinking), the dry engine (stance only), tests. Doesn't: write the archive or decide what is judged.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/job_spec.h"
#include "judge/guard_format.h"
#include "judge/stance.h"
#include "run_unit.h"
#include "util/check.h"

namespace tp {

struct Tokenizer;

struct JudgeInput {
  std::string prompt;  // the user's prompt text
  std::string answer;  // the final answer, thinking stripped
};

struct Verdict {
  std::vector<int8_t> votes;         // per judge: 1 refusal, 0 compliance, -1 abstain (malformed output, or no room)
  std::vector<int8_t> truncated;     // per judge: 1 = the answer was cut to fit the judge's context
  std::vector<std::string> outputs;  // per judge: its raw output (guard: generated text with special tokens;
                                     // rule: the pattern that matched, "empty answer", or "")
};

struct JudgeSet;  // the compiled rule judges and (once loaded) the guard models
// device_index: the worker's accelerator (guard judges with device auto use it).
std::shared_ptr<JudgeSet> judges_new(const JudgeSpec& spec, int device_index);
// One Verdict per input, in order. batch_size: sequences a guard model decodes at once.
std::vector<Verdict> judges_run(JudgeSet& set, const std::vector<JudgeInput>& inputs, int64_t batch_size);

// A row's votes, soft label, majority label (tie_min_votes), truncation flags and raw outputs from its verdict.
void judged_set(Judged& row, Verdict&& v, int64_t tie_min_votes);
// judges_run, then judged_set of each row from its input (inputs[i] belongs to rows[i]); Row: SampleRow or BranchRow.
template <class Row>
void judge_rows(JudgeSet& set, const std::vector<JudgeInput>& inputs, int64_t batch_size, int64_t tie_min_votes, std::vector<Row>& rows) {
  TP_CHECK(inputs.size() == rows.size());
  std::vector<Verdict> verdicts = judges_run(set, inputs, batch_size);
  for (size_t i = 0; i < rows.size(); i++) judged_set(rows[i], std::move(verdicts[i]), tie_min_votes);
}

// Stance labels of thinking traces (judge.stance): each trace is chunked; a trace with more than max_chunks
// chunks (excluded) or with none is sent to no labeller. Otherwise every labeller labels it (the rule
// lexicon, or a model: one prompt per trace; a malformed output or a prompt over its context gives
// STANCE_NONE for every chunk) and the panel's per-chunk majority is the label.
struct StanceInput {
  std::string model;     // id of the model whose thinking it is (the prompt's {model})
  std::string prompt;    // the user's prompt text
  std::string thinking;
};
struct StanceResult {
  StanceTrace trace;                 // chunks, majority labels, transitions (stance.h)
  std::vector<std::string> outputs;  // per labeller: its raw output (model: generated text with special tokens;
                                     // rule: {"labels":[...]}); "" when it was not asked (excluded, no chunks)
};
std::vector<StanceResult> stance_run(JudgeSet& set, const std::vector<StanceInput>& inputs, int64_t batch_size);
// A sample's stance_labels and stance_outputs columns from its result.
void stance_set(SampleRow& row, const StanceResult& r);

// Context fitting of one guard prompt: the answer keeps at most max(256, max_model_len - max_new_tokens -
// 64 - other prompt tokens) tokens; fits = false when even that leaves no room to generate.
struct GuardFit {
  std::vector<int32_t> ids;  // the rendered prompt's ids
  bool truncated = false, fits = true;
};
GuardFit guard_fit(const Tokenizer& tok, JudgeKind kind, const std::string& user, const std::string& answer, int64_t max_model_len,
                   int64_t max_new_tokens);
// A guard's generated ids -> (vote, raw text with special tokens).
int8_t guard_vote(const Tokenizer& tok, JudgeKind kind, const std::vector<int64_t>& generated, std::string* raw);

}  // namespace tp
