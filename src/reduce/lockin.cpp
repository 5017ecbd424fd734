// Lock-in statistics (see lockin.h). Doesn't: chunk or label thinking, sample answers, read archives.
#include "reduce/lockin.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "reduce/stats.h"
#include "util/check.h"
#include "util/hash.h"

namespace tp {

static constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

std::vector<WpvPoint> within_prefix_curve(const std::vector<PrefixOutcome>& prefixes, int64_t n_boot,
                                          uint64_t seed, double level) {
  std::map<int32_t, std::vector<const PrefixOutcome*>> by_cut;
  for (const PrefixOutcome& p : prefixes)
    if (p.n > 0) by_cut[p.cut_percent].push_back(&p);
  std::vector<WpvPoint> out;
  for (const auto& [cut, ps] : by_cut) {
    std::vector<double> v;
    std::vector<int64_t> counts;
    for (const PrefixOutcome* p : ps) {
      TP_CHECK(p->refusals >= 0 && p->refusals <= p->n);
      v.push_back(within_prefix_variance(double(p->refusals) / double(p->n)));
      counts.push_back(p->n);
    }
    std::nth_element(counts.begin(), counts.begin() + counts.size() / 2, counts.end());
    double sum = 0;
    for (double x : v) sum += x;
    Ci ci = bootstrap_ci(bootstrap_plain(v.size()), n_boot, derive_seed(seed, {std::to_string(cut)}), level,
                         [&](const std::vector<uint32_t>& rows) {
                           double s = 0;
                           for (uint32_t r : rows) s += v[r];
                           return s / double(rows.size());
                         });
    out.push_back({cut, sum / double(v.size()), ci.lo, ci.hi, int64_t(v.size()),
                   within_prefix_variance_random(counts[counts.size() / 2], 0.5)});
  }
  return out;
}

std::vector<CutVerdict> classify_cuts(const std::vector<CutPair>& cuts, LockedRule rule, double alpha,
                                      double lock_eps) {
  std::vector<CutVerdict> out;
  std::vector<double> p;
  auto saturated = [&](double r) { return r <= lock_eps || r >= 1.0 - lock_eps; };
  for (const CutPair& c : cuts) {
    TP_CHECK(c.comply_pre >= 0 && c.comply_pre <= c.n_pre && c.comply_post >= 0 && c.comply_post <= c.n_post);
    CutVerdict v{};
    v.comply_pre = c.n_pre ? double(c.comply_pre) / double(c.n_pre) : NaN;
    v.comply_post = c.n_post ? double(c.comply_post) / double(c.n_post) : NaN;
    v.p = fisher_exact_two_sided(c.comply_pre, c.n_pre - c.comply_pre, c.comply_post, c.n_post - c.comply_post);
    v.locked = saturated(v.comply_pre) && (rule == LockedRule::PRE || saturated(v.comply_post));
    p.push_back(v.p);
    out.push_back(v);
  }
  std::vector<double> adjusted = holm_adjust(p);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].p_holm = adjusted[i];
    out[i].significant = adjusted[i] < alpha;
  }
  return out;
}

LockinSummary summarise_cuts(const std::vector<CutVerdict>& verdicts) {
  LockinSummary s;
  for (const CutVerdict& v : verdicts) {
    ++s.n;
    if (v.locked) (v.significant ? s.locked_sig : s.locked_not_sig)++;
    else (v.significant ? s.wavering_sig : s.wavering_not_sig)++;
  }
  s.share_locked = s.n ? double(s.locked_sig + s.locked_not_sig) / double(s.n) : NaN;
  s.share_not_sig = s.n ? double(s.locked_not_sig + s.wavering_not_sig) / double(s.n) : NaN;
  return s;
}

}  // namespace tp
