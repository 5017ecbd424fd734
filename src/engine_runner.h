// The real unit runner: loads a checkpoint (weights, tokenizer, chat template) on this worker's device,
// renders each prompt with the cell's intervention, generates thinking and answer with the engine,
// judges the answer, and returns the rows and captured hidden states the archive stores.
// The sweep (dist/) calls it through the UnitRunner interface (run_unit.h); the dry engine is its stand-in.
#pragma once
#include <vector>

#include "generate/generate.h"
#include "intervene/decode_policy.h"
#include "prompts/prompt_set.h"
#include "run_unit.h"
#include "tokenizer/chat_template.h"

namespace tp {

// device_index: which accelerator of this node the worker uses (its index among the node's workers);
// threads: CPU threads for libtorch (0 = leave libtorch's default).
UnitRunner engine_runner(const JobSpec& job, const std::vector<PromptSet>& sets, int device_index, int threads);

// The generation stops of a chat template: its end-of-turn ids, its thinking opener, close and force-close.
StopRules chat_stop_rules(const ChatTemplate& t, const Tokenizer& tok, int64_t max_think_tokens, int64_t max_answer_tokens);

// The generation of a unit's cell (model x intervention): sampling, stops and budgets, batching, and the
// steering and decode-time defense the options point at. Sample units and protocol units (which regenerate
// the samples' rollouts) both start from it, so a rollout is the same wherever it is generated.
struct CellGen {
  GenOptions opt;
  Steering steer;       // opt.steer points here when the intervention steers
  DecodePolicy policy;  // opt.policy points here for extended thinking, SafeRemind, PSR
  CellGen() = default;
  CellGen(const CellGen&) = delete;  // opt points into the object
  CellGen& operator=(const CellGen&) = delete;
};
void cell_gen_init(CellGen& c, const JobSpec& job, const WorkUnit& unit, const Model& m, const ChatTemplate& t, const Tokenizer& tok,
                   bool prompt_opens_think);

// A generated sample as text: the thinking as the model saw it (a prefill from the prompt, then what it
// generated) and the final answer with the thinking stripped.
struct SampleText {
  std::string thinking, answer;
};
SampleText sample_text(const Tokenizer& tok, const ChatTemplate& t, const RenderedPrompt& prompt, const std::string& prefill, const Sample& s);

}  // namespace tp
