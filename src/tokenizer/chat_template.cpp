// Reasoning-model chat templates (see chat_template.h). The strings are those of the models' own Jinja
// templates (shared/research/models.md section 2); tests/test_chat_template.cpp holds them as goldens.
// No Jinja here, no multi-turn history, no tools: one renderer per family, chosen by its special tokens.
#include "tokenizer/chat_template.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/check.h"
#include "util/text.h"

namespace tp {

namespace {

const char* kSupportedTemplates =
    "thinkprobe renders Qwen3 (ChatML with <think>), DeepSeek-R1-Distill (<｜User｜>/<｜Assistant｜>) and "
    "GPT-OSS harmony; another family needs its renderer in src/tokenizer/chat_template.cpp";

int32_t need_token(const Tokenizer& tok, const char* text, const std::string& where) {
  int32_t id = token_id(tok, text);
  if (id < 0) throw Error(fmt::format("{}: the tokenizer has no token '{}' that the chat template needs", where, text));
  return id;
}

std::string token_text(const Tokenizer& tok, int32_t id) { return tok.bpe->id_bytes[size_t(id)]; }

bool whitespace_token(const Tokenizer& tok, int32_t id) {
  if (id < 0 || size_t(id) >= tok.bpe->id_bytes.size()) return false;
  const std::string& b = tok.bpe->id_bytes[size_t(id)];
  return !b.empty() && b.find_first_not_of(" \t\r\n") == std::string::npos;
}

void push_unique(std::vector<int32_t>& v, int32_t id) {
  if (id >= 0 && std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

// index of the first occurrence of seq in ids at or after from, or -1
int32_t find_seq(const std::vector<int32_t>& ids, const std::vector<int32_t>& seq, int32_t from) {
  if (from < 0) return -1;
  auto it = std::search(ids.begin() + from, ids.end(), seq.begin(), seq.end());
  return it == ids.end() ? -1 : int32_t(it - ids.begin());
}

int32_t skip_whitespace(const Tokenizer& tok, const std::vector<int32_t>& ids, int32_t i, int32_t limit) {
  while (i < limit && whitespace_token(tok, ids[size_t(i)])) i++;
  return i < limit ? i : -1;
}

}  // namespace

const char* chat_family_name(ChatFamily f) {
  switch (f) {
    case ChatFamily::QWEN3: return "qwen3";
    case ChatFamily::DEEPSEEK_R1: return "deepseek-r1";
    case ChatFamily::HARMONY: return "harmony";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// selection

ChatTemplate chat_template_from(const std::string& model_type, const std::string& jinja_template, const Tokenizer& tok,
                                const std::string& where, const std::string& family) {
  ChatTemplate t;
  bool harmony = model_type == "gpt_oss" || (token_id(tok, "<|channel|>") >= 0 && token_id(tok, "<|start|>") >= 0);
  bool r1 = token_id(tok, "<｜User｜>") >= 0 && token_id(tok, "<｜Assistant｜>") >= 0;
  bool qwen3 = token_id(tok, "<|im_start|>") >= 0 && token_id(tok, "<think>") >= 0 && token_id(tok, "<|im_sep|>") < 0 &&
               model_type != "olmo2" && model_type != "olmo3" && model_type != "phi3";
  if (family != "auto") {  // forced by the job: the detection is overruled, the structural tokens still checked
    if (family != "qwen3" && family != "deepseek_r1" && family != "harmony")
      throw Error(fmt::format("{}: unknown chat template '{}'", where, family), kSupportedTemplates);
    harmony = family == "harmony", r1 = family == "deepseek_r1", qwen3 = family == "qwen3";
  }
  if (harmony) {
    t.family = ChatFamily::HARMONY;
    t.channel_id = need_token(tok, "<|channel|>", where);
    t.message_id = need_token(tok, "<|message|>", where);
    t.end_id = need_token(tok, "<|end|>", where);
    need_token(tok, "<|start|>", where);
    t.analysis_ids = encode(tok, "analysis");
    t.final_ids = encode(tok, "final");
    t.force_close = "<|end|><|start|>assistant<|channel|>final<|message|>";
    for (const char* s : {"<|return|>", "<|call|>"}) push_unique(t.stop_ids, need_token(tok, s, where));
  } else if (r1 || qwen3) {
    t.family = r1 ? ChatFamily::DEEPSEEK_R1 : ChatFamily::QWEN3;
    t.think_open_id = need_token(tok, "<think>", where);
    t.think_close_id = need_token(tok, "</think>", where);
    // R1 templates open the thinking; so do Qwen3-*-Thinking-2507's ('<|im_start|>assistant\n<think>\n')
    t.prompt_opens_think = r1 || jinja_template.find("<|im_start|>assistant\\n<think>\\n") != std::string::npos;
    t.force_close = "\n</think>\n";
    if (r1) push_unique(t.stop_ids, need_token(tok, "<｜end▁of▁sentence｜>", where));
    else for (const char* s : {"<|im_end|>", "<|endoftext|>"}) push_unique(t.stop_ids, need_token(tok, s, where));
  } else {
    throw Error(fmt::format("{}: no reasoning chat template renderer fits this model (model_type '{}')", where, model_type),
                kSupportedTemplates);
  }
  for (int32_t id : tok.eos_ids) push_unique(t.stop_ids, id);
  for (int32_t id : t.stop_ids) t.end_markers.push_back(token_text(tok, id));
  if (t.family == ChatFamily::HARMONY) t.end_markers.push_back("<|end|>");  // a later message is not the answer
  t.force_close_ids = encode(tok, t.force_close);
  return t;
}

ChatTemplate chat_template_for(const std::string& model_dir, const Tokenizer& tok, const std::string& family) {
  namespace fs = std::filesystem;
  fs::path dir(model_dir);
  std::string model_type, jinja;
  auto read_json = [](const fs::path& p) {
    try {
      return nlohmann::json::parse(read_file(p.string()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: not valid JSON: {}", p.string(), e.what()));
    }
  };
  if (fs::exists(dir / "config.json")) {
    auto cfg = read_json(dir / "config.json");
    if (cfg.contains("model_type") && cfg["model_type"].is_string()) model_type = cfg["model_type"].get<std::string>();
  }
  if (fs::exists(dir / "chat_template.jinja")) {
    jinja = read_file((dir / "chat_template.jinja").string());
  } else if (fs::exists(dir / "tokenizer_config.json")) {
    auto tc = read_json(dir / "tokenizer_config.json");
    const auto& ct = tc.value("chat_template", nlohmann::json());
    if (ct.is_string()) jinja = ct.get<std::string>();
    else if (ct.is_array())  // [{"name": "default", "template": ...}, ...]
      for (const auto& e : ct)
        if (e.value("name", std::string()) == "default") jinja = e.value("template", std::string());
  }
  return chat_template_from(model_type, jinja, tok, model_dir, family);
}

// ---------------------------------------------------------------------------------------------
// render

RenderedPrompt render(const ChatTemplate& t, const Tokenizer& tok, const ChatInput& in) {
  if (!in.thinking_enabled && !in.think_prefill.empty())
    throw Error("a think prefill needs thinking enabled", "drop the prefill or enable thinking");
  std::string head, tail;  // tail: the assistant turn; it starts with an added token, so encodings concatenate
  RenderedPrompt p;
  switch (t.family) {
    case ChatFamily::QWEN3:
      if (!in.system.empty()) head = "<|im_start|>system\n" + in.system + "<|im_end|>\n";
      head += "<|im_start|>user\n" + in.user + "<|im_end|>\n";
      tail = "<|im_start|>assistant\n";
      if (!in.thinking_enabled) tail += "<think>\n\n</think>\n\n";
      else if (t.prompt_opens_think || !in.think_prefill.empty()) tail += "<think>\n" + in.think_prefill;
      break;
    case ChatFamily::DEEPSEEK_R1:
      if (tok.bos_id < 0) throw Error(tok.path + ": DeepSeek-R1 templates start with the BOS token, and this tokenizer has none");
      head = token_text(tok, tok.bos_id) + in.system + "<｜User｜>" + in.user;
      tail = "<｜Assistant｜>";
      tail += in.thinking_enabled ? "<think>\n" + in.think_prefill : "<think>\n\n</think>\n\n";
      break;
    case ChatFamily::HARMONY:
      head = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
             "Knowledge cutoff: 2024-06\nCurrent date: " + t.date + "\n\nReasoning: " + t.reasoning +
             "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>";
      if (!in.system.empty()) head += "<|start|>developer<|message|># Instructions\n\n" + in.system + "\n\n<|end|>";
      head += "<|start|>user<|message|>" + in.user + "<|end|>";
      tail = "<|start|>assistant";
      if (!in.thinking_enabled) tail += "<|channel|>analysis<|message|><|end|><|start|>assistant<|channel|>final<|message|>";
      else if (!in.think_prefill.empty()) tail += "<|channel|>analysis<|message|>" + in.think_prefill;
      break;
  }
  p.text = head + tail;
  p.ids = encode(tok, head);
  p.turn_start = int32_t(p.ids.size());
  std::vector<int32_t> tail_ids = encode(tok, tail);
  p.ids.insert(p.ids.end(), tail_ids.begin(), tail_ids.end());
  p.think_open_at_end = in.thinking_enabled && (t.family == ChatFamily::DEEPSEEK_R1 || t.prompt_opens_think ||
                                                 !in.think_prefill.empty());
  p.answer_open_at_end = !in.thinking_enabled;
  p.positions = locate_think(t, tok, p, {});
  return p;
}

// ---------------------------------------------------------------------------------------------
// positions and strip

ThinkPositions locate_think(const ChatTemplate& t, const Tokenizer& tok, const RenderedPrompt& prompt,
                            const std::vector<int32_t>& generated) {
  std::vector<int32_t> ids = prompt.ids;
  ids.insert(ids.end(), generated.begin(), generated.end());
  int32_t n = int32_t(ids.size());
  ThinkPositions r;
  r.prompt_end = int32_t(prompt.ids.size()) - 1;
  int32_t body = -1;  // first token of the thinking body, -1 if no thinking opened
  int32_t answer = -1;  // first token after the thinking closed (or the answer header)
  if (t.family == ChatFamily::HARMONY) {
    std::vector<int32_t> analysis{t.channel_id}, final_header{t.channel_id};
    analysis.insert(analysis.end(), t.analysis_ids.begin(), t.analysis_ids.end());
    analysis.push_back(t.message_id);
    final_header.insert(final_header.end(), t.final_ids.begin(), t.final_ids.end());
    final_header.push_back(t.message_id);
    r.think_open = find_seq(ids, analysis, prompt.turn_start);
    if (r.think_open >= 0) {
      body = r.think_open + int32_t(analysis.size());
      r.think_close = find_seq(ids, {t.end_id}, body);
    }
    int32_t fin = find_seq(ids, final_header, r.think_close >= 0 ? r.think_close : prompt.turn_start);
    if (fin >= 0) answer = fin + int32_t(final_header.size());
  } else {
    r.think_open = find_seq(ids, {t.think_open_id}, prompt.turn_start);
    if (r.think_open >= 0) {
      body = r.think_open + 1;
      r.think_close = find_seq(ids, {t.think_close_id}, body);
      if (r.think_close >= 0) answer = r.think_close + 1;
    } else if (!generated.empty()) {
      answer = int32_t(prompt.ids.size());  // the model answered without thinking
    }
  }
  if (body >= 0) r.think_first = skip_whitespace(tok, ids, body, r.think_close >= 0 ? r.think_close : n);
  if (answer >= 0) {
    r.answer_first = skip_whitespace(tok, ids, answer, n);
    if (r.answer_first >= 0 && std::count(t.stop_ids.begin(), t.stop_ids.end(), ids[size_t(r.answer_first)]))
      r.answer_first = -1;  // the answer is empty
  }
  return r;
}

std::string strip_thinking(const ChatTemplate& t, const RenderedPrompt& prompt, std::string_view text) {
  std::string_view answer;
  auto after_last = [&](std::string_view marker, std::string_view& out) {
    size_t at = text.rfind(marker);
    if (at == std::string_view::npos) return false;
    out = text.substr(at + marker.size());
    return true;
  };
  if (t.family == ChatFamily::HARMONY) {
    if (!after_last("<|channel|>final<|message|>", answer) && prompt.answer_open_at_end) answer = text;
  } else {
    if (!after_last("</think>", answer) && !prompt.think_open_at_end && text.find("<think>") == std::string_view::npos)
      answer = text;  // no thinking at all (thinking off): everything is the answer
  }
  size_t cut = answer.size();
  for (const auto& m : t.end_markers) cut = std::min(cut, answer.find(m));
  return std::string(trim(answer.substr(0, cut)));
}

}  // namespace tp
