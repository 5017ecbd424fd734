// Chat templates of reasoning models as C++ renderers (not a Jinja engine), selected from the model's
// tokenizer and config files: Qwen3 (thinking on, or off = the empty think block; also the *-Thinking-2507
// variant whose prompt opens <think>), DeepSeek-R1-Distill (Qwen and Llama; the prompt ends "<think>\n" as
// in DeepSeek's Feb-2025 template, also for checkpoints that still ship the older one) and GPT-OSS harmony
// (analysis and final channels, date pinned). Single-turn: one system prompt, one user message, optional
// text prefilled at the start of the thinking. Also: the think positions in a prompt plus its generated
// ids, the force-close string for an exhausted thinking budget, and the strip of the thinking from an
// output. Called by the engine, the interventions and `thinkprobe tokenize --chat`.
//
//   ChatTemplate t = chat_template_for(model_dir, tok);
//   RenderedPrompt p = render(t, tok, {system, user, prefill, /*thinking_enabled=*/true});
//   ... generate from p.ids, stop on t.stop_ids; out of budget: append t.force_close_ids, generate on ...
//   ThinkPositions pos = locate_think(t, tok, p, generated);   // pos.think_first: the probe's readout
//   std::string answer = strip_thinking(t, p, decode(tok, generated));  // what the judges see
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tp {

enum class ChatFamily { QWEN3, DEEPSEEK_R1, HARMONY };
const char* chat_family_name(ChatFamily f);  // "qwen3", "deepseek-r1", "harmony"

struct ChatTemplate {
  ChatFamily family = ChatFamily::QWEN3;
  bool prompt_opens_think = false;  // the generation prompt itself ends "<think>\n" (R1; Qwen3-*-Thinking-2507)
  std::string date = "2025-06-28";  // harmony: "Current date" in the system message, pinned (not today)
  std::string reasoning = "medium";  // harmony: "Reasoning: low|medium|high"
  std::string force_close;  // appended when the thinking budget runs out; the answer is generated after it
  std::vector<int32_t> force_close_ids;
  std::vector<int32_t> stop_ids;  // ids that end generation (tokenizer eos + the family's end of turn)
  std::vector<std::string> end_markers;  // texts that end the answer in a decoded output (strip_thinking)
  // structural tokens (-1 where the family has none). While generating, sampling think_close_id (Qwen3,
  // R1) or end_id (harmony, inside the analysis message) closes the thinking: a cheap test before
  // calling locate_think on the whole sequence.
  int32_t think_open_id = -1, think_close_id = -1;  // <think>, </think>
  int32_t channel_id = -1, message_id = -1, end_id = -1;  // harmony <|channel|>, <|message|>, <|end|>
  std::vector<int32_t> analysis_ids, final_ids;  // harmony channel names
};

// From DIR/config.json (model_type), DIR/tokenizer_config.json (chat_template) or DIR/chat_template.jinja,
// and the tokenizer's added tokens. tp::Error naming the folder if no renderer fits, listing the supported.
// family: "auto" (detect), or "qwen3", "deepseek_r1", "harmony" to force a renderer (the job's
// models[].chat_template); a forced family still needs its structural tokens in the tokenizer.
ChatTemplate chat_template_for(const std::string& model_dir, const Tokenizer& tok, const std::string& family = "auto");
// The same from the files' texts ("" where absent); where is used in messages.
ChatTemplate chat_template_from(const std::string& model_type, const std::string& jinja_template, const Tokenizer& tok,
                                const std::string& where, const std::string& family = "auto");

struct ChatInput {
  std::string system;         // "" = none (no default system prompt is added, except harmony's own)
  std::string user;
  std::string think_prefill;  // text placed at the start of the thinking, in the prompt ("" = none)
  bool thinking_enabled = true;  // false: the empty think block (harmony: an empty analysis message)
};

// Indices into prompt ids followed by generated ids; -1 where absent (or not generated yet).
struct ThinkPositions {
  int32_t prompt_end = -1;    // last token of the rendered prompt
  int32_t think_open = -1;    // <think>, or harmony's <|channel|> that starts the analysis header
  int32_t think_first = -1;   // first thinking-content token (whitespace-only tokens after the opener skipped)
  int32_t think_close = -1;   // </think>, or harmony's <|end|> of the analysis message
  int32_t answer_first = -1;  // first answer token (whitespace-only tokens after the close skipped)
};

struct RenderedPrompt {
  std::string text;
  std::vector<int32_t> ids;   // encode(text): added tokens matched, no BOS added beyond the template's own
  int32_t turn_start = 0;     // first token of the assistant turn; think tokens are looked for from here on
  bool think_open_at_end = false;   // the prompt ends inside the thinking (R1, a prefill)
  bool answer_open_at_end = false;  // the prompt ends inside the answer (thinking off)
  ThinkPositions positions;   // what the prompt alone shows
};

RenderedPrompt render(const ChatTemplate& tmpl, const Tokenizer& tok, const ChatInput& in);

// Positions in prompt.ids + generated (generated = every id sampled after the prompt, in order). Qwen3
// generates <think> itself, R1's prompt opens it, harmony generates <|channel|>analysis<|message|>.
ThinkPositions locate_think(const ChatTemplate& tmpl, const Tokenizer& tok, const RenderedPrompt& prompt,
                            const std::vector<int32_t>& generated);

// The final answer of a generated text (decoded with special tokens kept), thinking removed: the text after
// the last </think> (harmony: after <|channel|>final<|message|>), cut at an end-of-turn marker and
// trimmed; "" if the thinking never closed.
std::string strip_thinking(const ChatTemplate& tmpl, const RenderedPrompt& prompt, std::string_view generated_text);

}  // namespace tp
