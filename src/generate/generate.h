// Batched generation over token ids: chunked prefill, KV-cache decode, continuous batching (a slot freed
// by a finished sample is refilled at once with the next request, in request order), prefix sharing by
// forking the KV cache, reasoning-aware stopping (EOS / end-of-turn, thinking budget -> force-close ->
// answer, answer budget), per-token log-probabilities and entropies, optional capture, and the decode-time
// defenses of intervene/decode_policy.h (a redrawn token, forced ids, a slot rewound to a shorter length).
// Deliberately ids only: the chat template and detokenisation belong to tokenizer/, judging elsewhere.
// Called by the worker's unit runner, the CLI and tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "intervene/decode_policy.h"
#include "model/transformer.h"

namespace tp {

struct CaptureRecorder;

struct StopRules {
  std::vector<int64_t> eos_ids;          // end of generation: EOS and end-of-turn ids
  std::vector<int64_t> think_open_ids;   // the thinking opener as the model writes it, e.g. {<think>, "\n"}
  bool prompt_opens_think = false;       // the prompt already ends with the opener (R1-distill): output starts thinking
  int64_t think_close_id = -1;           // </think>
  std::vector<int64_t> force_close_ids;  // appended when the thinking budget is spent; contains think_close_id
  int64_t max_think_tokens = 16384;      // thinking-content tokens before the force-close
  int64_t max_answer_tokens = 1024;      // tokens after the close before stopping
};

struct GenRequest {
  std::vector<int64_t> prompt;  // rendered prompt ids, non-empty
  uint64_t seed = 0;            // the sample's own seed (its Rng stream)
};

struct GenOptions {
  SamplerConfig sampling;
  StopRules stop;
  int64_t batch_size = 16;       // most sequences decoded at once
  int64_t kv_budget_bytes = 0;   // KV-cache memory budget; fewer slots when it is small
                                 // (0 = half of MemAvailable on CPU; on CUDA Model::kv_budget_default)
  int64_t prefill_chunk = 256;   // prompt tokens per prefill forward (bounds attention memory)
  bool share_prefixes = true;    // identical prompts share one prefill through a forked cache
  const Steering* steer = nullptr;  // activation steering of every forward pass (intervention), or none
  int64_t* prefill_tokens = nullptr;  // when set, prompt tokens run through prefill are added to it (forks cost none)
  const DecodePolicy* policy = nullptr;  // extended thinking, SafeRemind or PSR (intervention), or none
};

enum class StopReason { EOS, ANSWER_BUDGET, LENGTH };
const char* stop_reason_name(StopReason r);  // "eos", "answer_budget", "length"

struct Sample {
  std::vector<int64_t> tokens;    // [n] generated ids (prompt excluded), stop token included
  std::vector<float> logprobs;    // [n] log p(token) under the model (temperature 1)
  std::vector<float> entropy;     // [n] entropy of the model's next-token distribution (nats)
  std::vector<uint8_t> forced;    // [n] 1 = appended by the thinking budget, not sampled
  int64_t think_open = -1;        // index of the generated opener's first token (-1: none generated)
  int64_t think_begin = -1;       // first thinking-content token (-1: no thinking)
  int64_t think_end = -1;         // index of the close token; thinking = tokens[think_begin, think_end)
  int64_t answer_begin = -1;      // first token after the close (or 0 when the model skipped thinking)
  bool think_forced_close = false;  // the close was appended: thinking budget (or extended thinking's end)
  StopReason stop = StopReason::EOS;
  std::vector<DecodeEvent> events;  // what opt.policy did, in order
};

struct GenPlan {
  int64_t n_slot = 0;  // sequences decoded at once
  int64_t t_max = 0;   // cache positions per slot: longest prompt + opener + budgets + force-close
};
// The slots and lengths generate() will use; tp::Error when the budget cannot hold one sequence.
GenPlan generate_plan(const Model& m, const std::vector<GenRequest>& reqs, const GenOptions& opt);

// Runs every request to a stop; results in request order. capture (optional): states at the plan's
// positions are recorded under the request index.
std::vector<Sample> generate(const Model& m, const std::vector<GenRequest>& reqs, const GenOptions& opt,
                             CaptureRecorder* capture = nullptr);

}  // namespace tp
