// Prompt and budget interventions (see intervention.h).
#include "intervene/intervention.h"

#include <fmt/format.h>

#include "config/job_spec.h"
#include "tokenizer/chat_template.h"

namespace tp {

namespace {

enum class ParamKind { TEXT, COUNT };
struct Param {
  const char* name;
  ParamKind kind;
  bool required;
};
struct TypeInfo {
  const char* name;
  std::vector<Param> params;
};

const std::vector<TypeInfo>& table() {
  static const std::vector<TypeInfo> t = {
      {"none", {}},
      {"system_prompt", {{"text", ParamKind::TEXT, true}}},
      {"user_prefix", {{"text", ParamKind::TEXT, true}}},
      {"user_suffix", {{"text", ParamKind::TEXT, true}}},
      {"think_prefill", {{"text", ParamKind::TEXT, false}}},
      {"no_think", {}},
      {"think_budget", {{"tokens", ParamKind::COUNT, true}}},
  };
  return t;
}

const char* kSafePathPrefill = "Let's think about safety first.";

std::string text_param(const InterventionSpec& iv, const char* name, const std::string& fallback = "") {
  auto it = iv.params.find(name);
  return it == iv.params.end() ? fallback : it->get<std::string>();
}

}  // namespace

const std::vector<std::string>& intervention_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& t : table()) v.push_back(t.name);
    return v;
  }();
  return names;
}

std::vector<std::string> intervention_check(const std::string& type, const nlohmann::json& params) {
  std::vector<std::string> problems;
  const TypeInfo* info = nullptr;
  for (const auto& t : table())
    if (type == t.name) info = &t;
  if (!info) return problems;  // the type itself is checked against intervention_types()
  for (const auto& [key, value] : params.items()) {
    const Param* p = nullptr;
    for (const auto& q : info->params)
      if (key == q.name) p = &q;
    if (!p) {
      std::vector<std::string> names;
      for (const auto& q : info->params) names.push_back(q.name);
      problems.push_back(fmt::format("params.{}: type {} takes no parameter '{}' ({})", key, type, key,
                                     names.empty() ? "it takes none" : "it takes: " + fmt::format("{}", fmt::join(names, ", "))));
      continue;
    }
    if (p->kind == ParamKind::TEXT && (!value.is_string() || value.get<std::string>().empty()))
      problems.push_back(fmt::format("params.{}: expected a non-empty string, got {}", key, value.dump()));
    if (p->kind == ParamKind::COUNT && (!value.is_number_integer() || value.get<int64_t>() < 0))
      problems.push_back(fmt::format("params.{}: expected an integer >= 0, got {}", key, value.dump()));
  }
  for (const auto& q : info->params)
    if (q.required && !params.contains(q.name)) problems.push_back(fmt::format("params.{}: required by type {}", q.name, type));
  return problems;
}

ChatInput intervention_chat_input(const InterventionSpec& iv, const std::string& user_text) {
  ChatInput in;
  in.user = user_text;
  if (iv.type == "system_prompt") in.system = text_param(iv, "text");
  else if (iv.type == "user_prefix") in.user = text_param(iv, "text") + " " + user_text;
  else if (iv.type == "user_suffix") in.user = user_text + " " + text_param(iv, "text");
  else if (iv.type == "think_prefill") in.think_prefill = text_param(iv, "text", kSafePathPrefill);
  else if (iv.type == "no_think") in.thinking_enabled = false;
  return in;
}

SamplingSpec intervention_sampling(const InterventionSpec& iv, const SamplingSpec& base) {
  SamplingSpec s = base;
  if (iv.type == "think_budget") s.max_think_tokens = iv.params.at("tokens").get<int64_t>();
  return s;
}

}  // namespace tp
