// The reduce settings of `thinkprobe reduce`: the reduce section of the job stored in the archive
// (/meta job_resolved), with reduce.key=value overrides from the command line, checked against the
// same Rules as the job file (job_spec.h). Called by cmd_reduce.cpp; declared in reducer.h.
#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "reduce/reducer.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

namespace {
std::string suggest(const std::string& key, const std::vector<std::string>& keys) {
  std::string d = did_you_mean(key, keys);
  return d.empty() ? "" : " (did you mean '" + d + "'?)";
}
// Reads each ReduceSpec field from j (numbers, or strings from the command line) and checks its Rule.
struct FromJson {
  const nlohmann::json& j;
  std::vector<std::string> keys;
  void check(const std::string& key, double v, const Rule& r) {
    if (!(v >= r.lo && v <= r.hi))
      throw Error("reduce." + key + ": " + std::to_string(v) + " is outside [" + std::to_string(r.lo) + ", " +
                  std::to_string(r.hi) + "]");
  }
  template <class T> bool get(const std::string& key, T& out) {
    keys.push_back(key);
    if (!j.contains(key)) return false;
    const auto& v = j[key];
    try {
      if constexpr (std::is_same_v<T, std::string>) out = v.get<std::string>();
      else if (v.is_string()) {
        size_t used = 0;
        const std::string text = v.get<std::string>();
        const double d = std::stod(text, &used);
        if (used != text.size() || (std::is_integral_v<T> && d != static_cast<double>(static_cast<T>(d)))) throw std::invalid_argument(text);
        out = static_cast<T>(d);
      }
      else out = v.get<T>();
    } catch (const std::exception&) {
      throw Error("reduce." + key + ": cannot read " + v.dump() + " as this key's type", "see docs/job-reference.md");
    }
    return true;
  }
  void operator()(const std::string& key, int64_t& v, const char*, const Rule& r) {
    if (get(key, v)) check(key, static_cast<double>(v), r);
  }
  void operator()(const std::string& key, double& v, const char*, const Rule& r) {
    if (get(key, v)) check(key, v, r);
  }
  void operator()(const std::string& key, std::string& v, const char*, const Rule& r) {
    if (get(key, v) && !r.choices.empty() && std::find(r.choices.begin(), r.choices.end(), v) == r.choices.end())
      throw Error("reduce." + key + ": '" + v + "' is not one of " + nlohmann::json(r.choices).dump());
  }
};
}  // namespace

ReduceSpec reduce_spec_from_job(const nlohmann::json& job, const std::vector<std::string>& overrides) {
  nlohmann::json j = job.contains("reduce") ? job["reduce"] : nlohmann::json::object();
  ReduceSpec spec;
  FromJson known{j, {}};
  spec.visit(known);  // collects the key names (and reads the stored values)
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (o.rfind("reduce.", 0) != 0 || eq == std::string::npos)
      throw Error("override '" + o + "': reduce takes reduce.key=value only", "e.g. reduce.folds=10");
    std::string key = o.substr(7, eq - 7);
    if (std::find(known.keys.begin(), known.keys.end(), key) == known.keys.end())
      throw Error("override '" + o + "': reduce has no key '" + key + "'" + suggest(key, known.keys), "see docs/job-reference.md");
    j[key] = o.substr(eq + 1);
  }
  FromJson from{j, {}};
  spec.visit(from);
  return spec;
}

}  // namespace tp
