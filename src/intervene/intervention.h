// Safety interventions as data (STYLE.md rule 5): each type, the parameters it takes, and the one place
// each is applied. This file covers the interventions that act on the prompt and the budgets:
//   none          -
//   system_prompt text: the system message
//   user_prefix   text: put before the user message (a space joins them)
//   user_suffix   text: put after the user message (a space joins them)
//   think_prefill text: placed at the start of the thinking and left open (SafePath-ZS: "Let's think about
//                 safety first.")
//   no_think      -: the empty thinking block (the template's thinking-off form)
//   think_budget  tokens: thinking budget; then the thinking is force-closed (overrides sampling)
//   steering      file, tensor, alpha, layers: add alpha x v to the residual stream after the layers a:b
//                 (end exclusive; one index = one layer), v a [hidden] (or [n_layer, hidden]) tensor of a
//                 .safetensors file (`tensor` names it; default: the file's only tensor). Applied in the
//                 forward pass (model/transformer.h Steering); intervene/steering.h builds it.
//   extended_thinking ratio (0.2): at the natural end of the thinking, int(ratio x its length) more tokens
//                 with the close and EOS banned, then force-close (the paper's B = 100 + 100 ratio)
//   saferemind    text, window (10), alpha (1.5), max_injections (3): entropy-triggered reminder
//   psr           prompt, every (32), reflect_tokens (8), max_rounds (4): progressive self-reflection
//                 These three are decode policies: intervene/decode_policy.h, applied by generate().
// No torch here: the job validator checks parameters with it, the engine runner applies it.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tp {

struct InterventionSpec;
struct SamplingSpec;
struct ChatInput;

// Every type name, in the order of the table above (the job schema's allowed values).
const std::vector<std::string>& intervention_types();

// Problems with an intervention's params ("params.text: required", "params.alpha: unknown parameter"),
// each a message for the key path interventions[i].
std::vector<std::string> intervention_check(const std::string& type, const nlohmann::json& params);

// The params with the default of every optional parameter filled in: what the archive records, and what
// the appliers read (each default is declared once, in intervention.cpp's table).
nlohmann::json intervention_params(const InterventionSpec& iv);
// The one place where prompt-side interventions are applied: the chat input of a user message.
ChatInput intervention_chat_input(const InterventionSpec& iv, const std::string& user_text);
// Paths in params ("file"), resolved against the job's folder; problems as above for missing files.
std::vector<std::string> intervention_resolve_paths(const std::string& type, nlohmann::json& params, const std::string& job_dir);
// Budget interventions: the sampling settings of a cell.
SamplingSpec intervention_sampling(const InterventionSpec& iv, const SamplingSpec& base);

}  // namespace tp
