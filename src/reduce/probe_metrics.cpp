// Group metrics of out-of-fold probe scores (see probe_metrics.h). Each "unit" (the whole group, or
// one benign source in the macro average) is ranked once; a bootstrap resample becomes per-row weights,
// so every resample costs O(n). Doesn't: fit probes (probe.cpp) or read archives.
#include "reduce/probe_metrics.h"

#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "reduce/metrics.h"
#include "reduce/stats.h"

namespace tp {

namespace {

struct Unit {
  std::vector<double> prob, dom;
  std::vector<int8_t> y, pred;
  RankedScores ranked_prob, ranked_dom;
  size_t offset = 0;  // first row of this unit in the concatenated index space
};

double weighted_bacc(const Unit& u, const double* w) {
  double tp = 0, pos = 0, tn = 0, neg = 0;
  for (size_t i = 0; i < u.y.size(); ++i) {
    if (u.y[i]) { pos += w[i]; tp += u.pred[i] ? w[i] : 0; }
    else { neg += w[i]; tn += u.pred[i] ? 0 : w[i]; }
  }
  if (!(pos > 0) || !(neg > 0)) return std::numeric_limits<double>::quiet_NaN();
  return 0.5 * (tp / pos + tn / neg);
}

}  // namespace

GroupMetrics group_metrics(const GroupInput& in, bool macro, int64_t min_source_refusals, int64_t n_boot,
                           uint64_t seed, double level) {
  const double NaN = std::numeric_limits<double>::quiet_NaN();
  GroupMetrics out;
  std::map<int32_t, std::vector<uint32_t>> by_source;
  for (uint32_t r : in.rows) {
    out.n++;
    out.n_refusals += in.labels[r] != 0;
    by_source[macro && in.source ? in.source[r] : 0].push_back(r);
  }
  std::vector<std::vector<uint32_t>> unit_rows;
  std::vector<int32_t> unit_source;
  for (auto& [s, rows] : by_source) {
    int64_t refusals = 0;
    for (uint32_t r : rows) refusals += in.labels[r] != 0;
    if (macro && refusals < min_source_refusals) { out.sources_dropped.push_back(s); continue; }
    if (macro) out.sources_used.push_back(s);
    unit_rows.push_back(rows);
    unit_source.push_back(s);
  }
  auto undefined = [&](const std::string& why) {
    Estimate e{NaN, NaN, NaN, 0, why};
    out.auroc = out.balanced_accuracy = out.dom_auroc = e;
    return out;
  };
  if (unit_rows.empty())
    return undefined(out.n == 0 ? "no samples"
                                : fmt::format("no source has at least {} refusals", min_source_refusals));

  std::vector<Unit> units(unit_rows.size());
  BootstrapDesign design;
  size_t offset = 0;
  for (size_t k = 0; k < units.size(); ++k) {
    Unit& u = units[k];
    std::vector<int32_t> folds;
    for (uint32_t r : unit_rows[k]) {
      u.prob.push_back(in.prob[r]);
      u.dom.push_back(in.dom[r]);
      u.y.push_back(in.labels[r]);
      folds.push_back(in.folds[r]);
    }
    std::string why = metric_undefined(u.y.data(), u.y.size());
    for (size_t i = 0; i < u.y.size() && why.empty(); ++i)
      if (std::isnan(u.prob[i]) || std::isnan(u.dom[i])) why = "no out-of-fold score for some rows (a training fold had one label)";
    if (!why.empty()) return undefined(macro ? fmt::format("source {}: {}", unit_source[k], why) : why);
    // Fixed predictions: each fold thresholded at the Youden point of the unit's training rows.
    std::vector<double> fit;
    if (in.fit_prob)
      for (int32_t f = 0; f < in.n_folds; ++f)
        for (uint32_t r : unit_rows[k]) fit.push_back(in.fit_prob[size_t(f) * in.n_total + r]);
    u.pred = youden_predictions(u.prob.data(), u.y.data(), folds.data(), u.y.size(), in.n_folds,
                                in.fit_prob ? fit.data() : nullptr);
    u.ranked_prob = rank_scores(u.prob.data(), u.prob.size());
    u.ranked_dom = rank_scores(u.dom.data(), u.dom.size());
    u.offset = offset;
    design.strata.emplace_back();
    for (size_t i = 0; i < u.y.size(); ++i) design.strata.back().push_back({uint32_t(offset + i)});
    offset += u.y.size();
  }
  if (!macro) {  // one stratum: an ordinary bootstrap of the group's rows
    design = bootstrap_plain(offset);
  }

  std::vector<double> w(offset, 1.0);
  auto mean_over_units = [&](int which) {
    double s = 0;
    for (const Unit& u : units) {
      const double* wu = w.data() + u.offset;
      s += which == 0 ? auroc_weighted(u.ranked_prob, u.y.data(), wu)
         : which == 1 ? weighted_bacc(u, wu)
                      : auroc_weighted(u.ranked_dom, u.y.data(), wu);
    }
    return s / double(units.size());
  };
  auto estimate = [&](int which) {
    std::fill(w.begin(), w.end(), 1.0);
    Estimate e{mean_over_units(which), NaN, NaN, 0, ""};
    Ci ci = bootstrap_ci(design, n_boot, seed, level, [&](const std::vector<uint32_t>& rows) {
      std::fill(w.begin(), w.end(), 0.0);
      for (uint32_t r : rows) w[r] += 1;
      return mean_over_units(which);
    });
    e.lo = ci.lo;
    e.hi = ci.hi;
    e.n_valid = ci.n_valid;
    return e;
  };
  out.auroc = estimate(0);
  out.balanced_accuracy = estimate(1);
  out.dom_auroc = estimate(2);
  return out;
}

}  // namespace tp
