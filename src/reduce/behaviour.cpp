// ASR / ORR cells with bootstrap CIs (see behaviour.h). Doesn't: judge answers or read archives.
#include "reduce/behaviour.h"

#include <cmath>
#include <limits>
#include <set>

#include "reduce/stats.h"
#include "util/hash.h"

namespace tp {

static RateCi rate_ci(const std::vector<double>& v, const std::vector<uint64_t>& prompts, int64_t n_boot,
                      uint64_t seed, bool by_prompt, double level) {
  const double NaN = std::numeric_limits<double>::quiet_NaN();
  if (v.empty()) return {NaN, NaN, NaN, 0};
  double sum = 0;
  for (double x : v) sum += x;
  BootstrapDesign design = by_prompt ? bootstrap_grouped(prompts.data(), prompts.size()) : bootstrap_plain(v.size());
  Ci ci = bootstrap_ci(design, n_boot, seed, level, [&](const std::vector<uint32_t>& rows) {
    double s = 0;
    for (uint32_t r : rows) s += v[r];
    return s / double(rows.size());
  });
  return {sum / double(v.size()), ci.lo, ci.hi, int64_t(v.size())};
}

std::vector<BehaviourCell> behaviour_rates(const std::vector<BehaviourRow>& rows, int64_t n_boot, uint64_t seed,
                                           bool by_prompt, double level) {
  std::vector<BehaviourCell> cells;
  for (bool asr : {true, false}) {
    const std::string metric = asr ? "asr" : "orr";
    std::set<int32_t> sources, categories;
    for (const BehaviourRow& r : rows)
      if (r.harmful == asr && r.refusal >= 0) { sources.insert(r.source); categories.insert(r.category); }
    std::vector<std::pair<std::string, int32_t>> keys = {{"all", -1}};
    for (int32_t s : sources) keys.push_back({"source", s});
    for (int32_t c : categories) keys.push_back({"category", c});
    for (const auto& [by, key] : keys) {
      std::vector<double> major, soft;
      std::vector<uint64_t> prompts;
      for (const BehaviourRow& r : rows) {
        if (r.harmful != asr || r.refusal < 0) continue;
        if (by == "source" && r.source != key) continue;
        if (by == "category" && r.category != key) continue;
        // ASR counts compliance, ORR counts refusal.
        major.push_back(asr ? 1.0 - r.refusal : double(r.refusal));
        soft.push_back(asr ? 1.0 - r.soft : r.soft);
        prompts.push_back(r.prompt);
      }
      if (major.empty()) continue;
      const uint64_t cell_seed = derive_seed(seed, {metric, by, std::to_string(key)});
      cells.push_back({metric, by, key, rate_ci(major, prompts, n_boot, cell_seed, by_prompt, level),
                       rate_ci(soft, prompts, n_boot, cell_seed, by_prompt, level)});
    }
  }
  return cells;
}

}  // namespace tp
