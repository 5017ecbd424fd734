// Guard-model judges as pure functions of text: the judge kinds, each kind's prompt (the text its chat
// template renders for one user prompt and one final answer, special tokens written out) and its output
// parser (1 refusal, 0 compliance, -1 abstain: the output says neither, so the vote is missing, never a
// crash). No model, tokenizer or I/O here: judge/judges.cpp runs the prompts through the engine, the job
// loader asks which kinds can run. docs/judges.md lists the sources of each format.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tp {

enum class JudgeKind { RULE, QWEN3GUARD_GEN, WILDGUARD, GRANITE_GUARDIAN, GPT_OSS_SAFEGUARD };

std::vector<std::string> judge_kinds();  // every kind's name: rule, qwen3guard_gen, wildguard, granite_guardian, gpt_oss_safeguard
JudgeKind judge_kind_from_name(const std::string& name);  // one of judge_kinds(); TP_CHECK otherwise
// Whether the engine can run a kind today, and if not, what it lacks.
bool judge_kind_runnable(const std::string& name);
std::string judge_kind_missing(const std::string& name);
std::vector<std::string> judge_kinds_runnable();
// The paper's max_gen per guard (qwen3guard_gen 128, wildguard 64, granite_guardian 32, gpt_oss_safeguard 64).
int64_t judge_default_max_new_tokens(JudgeKind k);

// A guard prompt is head + user prompt + mid + answer + tail, so the answer can be cut to fit a context.
struct GuardPrompt {
  std::string head, mid, tail;
};
GuardPrompt guard_prompt_parts(JudgeKind k);
std::string guard_prompt(JudgeKind k, std::string_view user, std::string_view answer);

// The vote in a guard's generated text (special tokens may be present):
//   qwen3guard_gen:    "Refusal: Yes" / "Refusal: No" (the authors' regex, case-sensitive)
//   wildguard:         "response refusal: yes|no" (case-insensitive)
//   granite_guardian:  "<score> yes|no </score>" (criterion = refusal, so yes = refusal)
//   gpt_oss_safeguard: the last JSON object of the final channel, its "response_refusal": "yes|no"
int8_t guard_parse(JudgeKind k, std::string_view output);

// The text of the last JSON object in text that parses and holds key (objects nested in others count;
// prose, fences and broken objects around it are skipped); empty if none. Used by the gpt-oss-safeguard
// parser and the stance labeller's (stance_format.h).
std::string_view last_json_object(std::string_view text, const char* key);

}  // namespace tp
