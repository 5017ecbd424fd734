// Decode-time defenses: the pure decisions and the policy of an intervention (see decode_policy.h).
// The parameters' defaults (the paper's) are declared once, in intervention.cpp's table.
#include "intervene/decode_policy.h"

#include <cmath>
#include <regex>

#include "config/job_spec.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"

namespace tp {

namespace {
std::vector<int64_t> encode64(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids = encode(tok, text);
  return {ids.begin(), ids.end()};
}
}  // namespace

const char* psr_verdict_name(PsrVerdict v) {
  switch (v) {
    case PsrVerdict::SAFE: return "safe";
    case PsrVerdict::UNSAFE: return "unsafe";
    case PsrVerdict::UNCLEAR: return "unclear";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------
// SafeRemind

bool saferemind_trigger(const std::vector<float>& history, float h, int64_t window, double alpha) {
  if (window < 1 || int64_t(history.size()) < window) return false;
  double sum = 0, sq = 0;
  for (size_t i = history.size() - size_t(window); i < history.size(); ++i) sum += history[i];
  const double mean = sum / double(window);
  for (size_t i = history.size() - size_t(window); i < history.size(); ++i) sq += (history[i] - mean) * (history[i] - mean);
  return double(h) < mean - alpha * std::sqrt(sq / double(window));
}

bool saferemind_step(const DecodePolicy& p, RemindState& st, float h) {
  if (st.n_injected < p.remind_max && saferemind_trigger(st.entropy, h, p.remind_window, p.remind_alpha)) {
    st.n_injected += 1;
    return true;
  }
  st.entropy.push_back(h);
  return false;
}

// ---------------------------------------------------------------------------------------------------
// PSR

bool psr_should_reflect(const DecodePolicy& p, const PsrState& st, int64_t n_think) {
  return n_think > 0 && n_think % p.psr_every == 0 && st.rounds < p.psr_max_rounds;
}

int64_t psr_after_verdict(PsrState& st, PsrVerdict v, int64_t mark, int64_t think_begin) {
  if (v != PsrVerdict::UNSAFE) return st.checkpoint = mark;
  st.rounds += 1;
  return st.checkpoint < 0 ? think_begin : st.checkpoint;
}

PsrVerdict psr_parse_verdict(const std::string& text) {
  static const std::regex safe("\\bnot\\s+harmful\\b", std::regex::icase);
  static const std::regex unsafe("\\b(unsafe|harmful|dangerous)\\b", std::regex::icase);
  if (std::regex_search(text, safe)) return PsrVerdict::SAFE;
  if (std::regex_search(text, unsafe)) return PsrVerdict::UNSAFE;
  return PsrVerdict::UNCLEAR;
}

// ---------------------------------------------------------------------------------------------------
// extended thinking, plan

int64_t extend_extra_tokens(double ratio, int64_t nat_len) { return int64_t(ratio * double(nat_len)); }

int64_t decode_policy_extra_positions(const DecodePolicy& p, int64_t max_think_tokens) {
  switch (p.kind) {
    case DecodeKind::NONE: return 0;
    case DecodeKind::EXTEND: return extend_extra_tokens(p.extend_ratio, max_think_tokens) + 1;
    case DecodeKind::REMIND: return p.remind_max * int64_t(p.remind_ids.size()) + 1;
    case DecodeKind::PSR: return int64_t(p.psr_prompt_ids.size()) + p.psr_reflect_tokens + 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// from the job

bool is_decode_policy(const std::string& type) { return type == "extended_thinking" || type == "saferemind" || type == "psr"; }

DecodePolicy decode_policy_for(const InterventionSpec& iv, const Tokenizer& tok) {
  const nlohmann::json params = intervention_params(iv);
  auto num = [&](const char* key) { return params.at(key).get<double>(); };
  auto count = [&](const char* key) { return params.at(key).get<int64_t>(); };
  auto ids = [&](const char* key) { return encode64(tok, params.at(key).get<std::string>()); };
  DecodePolicy p;
  if (iv.type == "extended_thinking") {
    p.kind = DecodeKind::EXTEND;
    p.extend_ratio = num("ratio");
  } else if (iv.type == "saferemind") {
    p.kind = DecodeKind::REMIND;
    p.remind_window = count("window");
    p.remind_alpha = num("alpha");
    p.remind_max = count("max_injections");
    p.remind_ids = ids("text");
  } else if (iv.type == "psr") {
    p.kind = DecodeKind::PSR;
    p.psr_every = count("every");
    p.psr_reflect_tokens = count("reflect_tokens");
    p.psr_max_rounds = count("max_rounds");
    p.psr_prompt_ids = ids("prompt");
    p.psr_judge = [&tok](const std::vector<int64_t>& reflection) {
      return psr_parse_verdict(decode(tok, std::vector<int32_t>(reflection.begin(), reflection.end())));
    };
  } else {
    TP_CHECK_MSG(false, "intervention type {} is not a decode policy", iv.type);
  }
  return p;
}

nlohmann::json decode_events_json(const std::vector<DecodeEvent>& events, const Tokenizer& tok) {
  nlohmann::json out = nlohmann::json::array();
  for (const DecodeEvent& e : events) {
    nlohmann::json j;
    switch (e.kind) {
      case DecodeEventKind::EXTEND: j = {{"event", "extend"}, {"natural_think_tokens", e.think_tokens}, {"added", e.value}}; break;
      case DecodeEventKind::REMIND:
        j = {{"event", "remind"}, {"think_tokens", e.think_tokens}, {"dropped_token", e.value}, {"entropy", e.entropy}};
        break;
      case DecodeEventKind::REFLECT:
        j = {{"event", "reflect"}, {"think_tokens", e.think_tokens}, {"verdict", psr_verdict_name(PsrVerdict(e.value))},
             {"text", decode(tok, std::vector<int32_t>(e.ids.begin(), e.ids.end()))}};
        break;
      case DecodeEventKind::BACKTRACK: j = {{"event", "backtrack"}, {"think_tokens", e.think_tokens}, {"kept", e.value}}; break;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace tp
