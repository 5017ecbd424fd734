// The paper's cut-and-resample protocols as work units (docs/protocols.md, paper sections 1.9 and 1.10).
// A protocol unit needs no other unit's output: it regenerates the rollouts it cuts from their sample
// seeds (the same requests and options as the sample units, so the same tokens), then
//  - NESTED: for M rollouts per prompt chosen by a seeded hash, cut the thinking at B% of its natural
//    token length (at least 1 token), append the template's force-close, and sample N answers; B > 100
//    continues a thinking that ended by itself with the close and EOS banned (extended thinking) for
//    int((B - 100)/100 x natural) more tokens first;
//  - REPLAY: stance-label the thinking of rollouts 0..R-1 (judge/stance.h) and, for every stance change,
//    sample K answers from the prefix before it and after it (" ".join(chunks[:cut]) as a thinking prefill,
//    then the force-close).
// Identical continuation prompts share one prefill through generate()'s forked KV cache. Answers are
// judged like samples. Called by engine_runner for units whose kind is not SAMPLES; the pure parts
// (rollout choice, cut lengths, seeds) are shared with the dry engine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "generate/generate.h"
#include "judge/stance.h"
#include "prompts/prompt_set.h"
#include "run_unit.h"
#include "tokenizer/chat_template.h"

namespace tp {

// The M of K rollouts nested branching cuts, ascending: a shuffle seeded by the job seed, model, set and
// prompt (never the intervention, so every cell of a model cuts the same rollouts). All K when M >= K.
std::vector<int32_t> nested_rollouts(uint64_t job_seed, const std::string& model, const std::string& set, const std::string& prompt,
                                     int32_t k, int32_t m);
// Thinking tokens kept at cut B of a natural length: max(1, int(B * natural / 100)), natural when B = 100,
// natural + int((B - 100)/100 * natural) when B > 100 (the paper's extension).
int64_t nested_cut_tokens(int32_t percent, int64_t natural);
// Seed of a continuation: from its rollout's seed and its place (protocol, cut or transition + side, index).
uint64_t continuation_seed(uint64_t rollout_seed, const std::string& protocol, int32_t cut, int32_t transition, const std::string& side,
                           int32_t index);
// The cuts of protocols.nested_branching as integers.
std::vector<int32_t> nested_cuts(const JobSpec& job);
// The cut-replay rows of one rollout: base with transition, side and cut set, for every stance transition
// of the trace and each side in order ("pre": chunks[:pre_cut], "post": chunks[:post_cut]).
std::vector<BranchRow> replay_rows(const BranchRow& base, const std::vector<StanceTransition>& transitions);

struct JudgeSet;

struct ProtocolEngine {
  const Model& m;
  const Tokenizer& tok;
  const ChatTemplate& tmpl;
  JudgeSet& judges;                  // the job's judges (judge/judges.h)
  bool share_prefixes = true;        // false: every continuation prefills its whole prompt (tests compare)
  int64_t* prefill_tokens = nullptr; // when set, the prompt tokens prefilled are added to it
  std::vector<std::vector<int64_t>>* continuation_prompts = nullptr;  // when set, each nested prefix's prompt (tests)
};

UnitResult run_protocol_unit(const JobSpec& job, const std::vector<PromptSet>& sets, const WorkUnit& unit, const ProtocolEngine& e);

}  // namespace tp
