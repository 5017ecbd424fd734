// Decode-time defenses (STYLE.md rule 5): extended thinking, SafeRemind and PSR as one DecodePolicy of data
// that generate() consults through GenOptions::policy, plus their trigger logic as pure functions of a
// per-sample state, testable on scripted entropy and verdict sequences without a model. generate() owns the
// mechanics (redrawing a token, forcing ids, rewinding a slot); this file only decides when.
// Deliberately no torch and no loop here. Called by generate/generate.cpp, the engine runner and tests.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tp {

struct InterventionSpec;
struct Tokenizer;

enum class DecodeKind { NONE, EXTEND, REMIND, PSR };
enum class PsrVerdict { SAFE, UNSAFE, UNCLEAR };  // UNCLEAR counts as safe
const char* psr_verdict_name(PsrVerdict v);        // "safe", "unsafe", "unclear"

// Member defaults are the paper's too, for callers that build a policy by hand (tests); jobs go through
// decode_policy_for.
struct DecodePolicy {
  DecodeKind kind = DecodeKind::NONE;
  // extended thinking: when the model first ends its thinking (close or EOS) after nat_len thinking
  // tokens, the close is refused and int(ratio * nat_len) more tokens are sampled with close and EOS banned;
  // then the thinking is force-closed.
  double extend_ratio = 0.2;
  // SafeRemind: inject remind_ids in place of a sampled thinking token whose entropy H_t is below
  // mean - alpha * std of the previous `window` sampled thinking entropies; at most remind_max times.
  int64_t remind_window = 10;
  double remind_alpha = 1.5;
  int64_t remind_max = 3;
  std::vector<int64_t> remind_ids;
  // PSR: after every psr_every-th thinking token, force psr_prompt_ids and greedily generate up to
  // psr_reflect_tokens; psr_judge reads them; unsafe: back to the last safe checkpoint (psr_max_rounds at most).
  int64_t psr_every = 32;
  int64_t psr_reflect_tokens = 8;
  int64_t psr_max_rounds = 4;
  std::vector<int64_t> psr_prompt_ids;
  std::function<PsrVerdict(const std::vector<int64_t>& reflection_ids)> psr_judge;
};

// What a policy did to one sample, in order: the archive's `events` column (decode_events_json).
enum class DecodeEventKind { EXTEND, REMIND, REFLECT, BACKTRACK };
struct DecodeEvent {
  DecodeEventKind kind;
  int64_t think_tokens = 0;  // thinking tokens kept when it happened
  int64_t value = 0;         // EXTEND: tokens added; REMIND: the dropped token; REFLECT: the verdict; BACKTRACK: thinking tokens kept after it
  float entropy = 0;         // REMIND: H_t of the dropped token
  std::vector<int64_t> ids;  // REFLECT: the reflection's generated ids (not in the output)
};

// ---- per-sample policy state and the pure decisions

struct RemindState {
  std::vector<float> entropy;  // sampled thinking tokens kept so far
  int64_t n_injected = 0;
};
// The trigger rule alone: h < mean(window) - alpha * std(window) (population std), window = the last W values.
bool saferemind_trigger(const std::vector<float>& history, float h, int64_t window, double alpha);
// For each sampled thinking token: true = inject the reminder instead of it (counted); false = keep it
// (its entropy joins the history).
bool saferemind_step(const DecodePolicy& p, RemindState& st, float h);

struct PsrState {
  int64_t checkpoint = -1;  // output index of the last safe checkpoint (-1: the thinking start)
  int64_t rounds = 0;       // backtracks so far
};
// Whether to reflect now, after a sampled thinking token brought the thinking to n_think tokens.
bool psr_should_reflect(const DecodePolicy& p, const PsrState& st, int64_t n_think);
// After the reflection that began at output index mark: the output index to keep up to. Safe: mark (and mark
// becomes the checkpoint); unsafe: the last safe checkpoint (think_begin at first), one more round.
int64_t psr_after_verdict(PsrState& st, PsrVerdict v, int64_t mark, int64_t think_begin);
// The paper's parse of a reflection: "not harmful" -> SAFE; "unsafe", "harmful", "dangerous" -> UNSAFE;
// anything else UNCLEAR. Whole words, case-insensitive.
PsrVerdict psr_parse_verdict(const std::string& text);

// Extended thinking: tokens added to a natural thinking of nat_len tokens, int(ratio * nat_len).
int64_t extend_extra_tokens(double ratio, int64_t nat_len);

// Cache positions a sample may need beyond the thinking budget under this policy (generate_plan).
int64_t decode_policy_extra_positions(const DecodePolicy& p, int64_t max_think_tokens);

// ---- from the job

// True for the intervention types that are decode policies: extended_thinking, saferemind, psr.
bool is_decode_policy(const std::string& type);
// The policy of such an intervention (intervention_params: the paper's defaults filled in), texts encoded
// with tok; psr_judge decodes the reflection with tok and parses it.
DecodePolicy decode_policy_for(const InterventionSpec& iv, const Tokenizer& tok);
// The events as JSON (reflection ids decoded with tok): [{"event": "remind", "think_tokens": 37, ...}, ...].
nlohmann::json decode_events_json(const std::vector<DecodeEvent>& events, const Tokenizer& tok);

}  // namespace tp
