// Prompt and budget interventions (see intervention.h).
#include "intervene/intervention.h"

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "config/job_spec.h"
#include "tokenizer/chat_template.h"

namespace tp {

namespace {

enum class ParamKind { TEXT, COUNT, NUMBER, NONNEG, LAYERS };  // NONNEG: a number >= 0
struct Param {
  const char* name;
  ParamKind kind;
  bool required;
  int64_t min = 0;                // COUNT: smallest value
  nlohmann::json fallback = {};   // the default of an optional parameter (null: none)
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
      {"think_prefill", {{"text", ParamKind::TEXT, false, 0, "Let's think about safety first."}}},  // SafePath-ZS
      {"no_think", {}},
      {"think_budget", {{"tokens", ParamKind::COUNT, true}}},
      {"steering", {{"file", ParamKind::TEXT, true}, {"tensor", ParamKind::TEXT, false}, {"alpha", ParamKind::NUMBER, true},
                    {"layers", ParamKind::LAYERS, true}}},
      // decode policies (intervene/decode_policy.h), defaults of research/paper.md 1.9 and 1.11
      {"extended_thinking", {{"ratio", ParamKind::NONNEG, false, 0, 0.2}}},
      {"saferemind", {{"text", ParamKind::TEXT, false, 0, "Wait, let me think again. Does this request involve potentially harmful content?"},
                      {"window", ParamKind::COUNT, false, 2, 10}, {"alpha", ParamKind::NONNEG, false, 0, 1.5},
                      {"max_injections", ParamKind::COUNT, false, 0, 3}}},
      {"psr", {{"prompt", ParamKind::TEXT, false, 0, "\n\nLet's check if the generated text is harmful or harmless. Is the generated text harmful? Answer: "},
               {"every", ParamKind::COUNT, false, 1, 32}, {"reflect_tokens", ParamKind::COUNT, false, 1, 8},
               {"max_rounds", ParamKind::COUNT, false, 0, 4}}},
  };
  return t;
}

const TypeInfo* type_info(const std::string& type) {
  for (const auto& t : table())
    if (type == t.name) return &t;
  return nullptr;
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
  const TypeInfo* info = type_info(type);
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
    if (p->kind == ParamKind::COUNT && (!value.is_number_integer() || value.get<int64_t>() < p->min))
      problems.push_back(fmt::format("params.{}: expected an integer >= {}, got {}", key, p->min, value.dump()));
    if (p->kind == ParamKind::NUMBER && !value.is_number())
      problems.push_back(fmt::format("params.{}: expected a number, got {}", key, value.dump()));
    if (p->kind == ParamKind::NONNEG && (!value.is_number() || value.get<double>() < 0))
      problems.push_back(fmt::format("params.{}: expected a number >= 0, got {}", key, value.dump()));
    if (p->kind == ParamKind::LAYERS && !value.is_number_integer() &&
        !(value.is_string() && std::regex_match(value.get<std::string>(), std::regex("-?[0-9]+(:-?[0-9]+)?"))))
      problems.push_back(fmt::format("params.{}: expected a layer index or a range a:b (end exclusive), got {}", key, value.dump()));
  }
  for (const auto& q : info->params)
    if (q.required && !params.contains(q.name)) problems.push_back(fmt::format("params.{}: required by type {}", q.name, type));
  return problems;
}

nlohmann::json intervention_params(const InterventionSpec& iv) {
  nlohmann::json p = iv.params;
  if (const TypeInfo* info = type_info(iv.type))
    for (const auto& q : info->params)
      if (!p.contains(q.name) && !q.fallback.is_null()) p[q.name] = q.fallback;
  return p;
}

ChatInput intervention_chat_input(const InterventionSpec& iv, const std::string& user_text) {
  const nlohmann::json p = intervention_params(iv);
  auto text = [&] { return p.at("text").get<std::string>(); };
  ChatInput in;
  in.user = user_text;
  if (iv.type == "system_prompt") in.system = text();
  else if (iv.type == "user_prefix") in.user = text() + " " + user_text;
  else if (iv.type == "user_suffix") in.user = user_text + " " + text();
  else if (iv.type == "think_prefill") in.think_prefill = text();
  else if (iv.type == "no_think") in.thinking_enabled = false;
  return in;
}

std::vector<std::string> intervention_resolve_paths(const std::string& type, nlohmann::json& params, const std::string& job_dir) {
  std::vector<std::string> problems;
  if (type != "steering" || !params.contains("file") || !params["file"].is_string()) return problems;
  std::filesystem::path p(params["file"].get<std::string>());
  if (p.is_relative()) p = std::filesystem::path(job_dir) / p;
  params["file"] = p.lexically_normal().string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) problems.push_back(fmt::format("params.file: no such file: {}", params["file"].get<std::string>()));
  return problems;
}

SamplingSpec intervention_sampling(const InterventionSpec& iv, const SamplingSpec& base) {
  SamplingSpec s = base;
  if (iv.type == "think_budget") s.max_think_tokens = iv.params.at("tokens").get<int64_t>();
  return s;
}

}  // namespace tp
