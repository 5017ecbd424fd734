// Probe scores -> the paper's reported numbers for one group (harmful, benign, pooled): AUROC, balanced
// accuracy at the per-fold Youden threshold and the difference-of-means AUROC, each with a percentile
// bootstrap CI; for the benign group a macro average over sources, dropping a source with fewer than
// min_source_refusals refusals, bootstrapped within each source (the authors' nested bootstrap).
// Pure functions on arrays (out-of-fold scores from probe.h); the reducer calls this per position x layer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tp {

struct Estimate {
  double value, lo, hi;  // NaN when undefined; lo / hi NaN when no resample was defined
  int64_t n_valid = 0;   // bootstrap resamples whose statistic was defined
  std::string why;       // why value is NaN ("" when defined)
};

struct GroupInput {
  const double* prob;        // [n] out-of-fold probe probabilities
  const double* dom;         // [n] out-of-fold difference-of-means scores
  const int8_t* labels;      // [n] 1 = refusal
  const int32_t* folds;      // [n]
  const int32_t* source;     // [n] source index, or nullptr (one source)
  int32_t n_folds;
  std::vector<uint32_t> rows;  // the group's rows
  // Youden thresholds: nullptr = on the other folds' out-of-fold scores; else on each fold model's
  // in-sample scores, fit_prob[f * n_total + row] (ProbeOof::fit_prob).
  const double* fit_prob = nullptr;
  size_t n_total = 0;
};

struct GroupMetrics {
  Estimate auroc, balanced_accuracy, dom_auroc;
  int64_t n = 0, n_refusals = 0;
  std::vector<int32_t> sources_used, sources_dropped;  // macro only
};

// macro = false: one pool of rows, bootstrap over rows. macro = true: the mean over sources with at
// least min_source_refusals refusals of each source's metric; bootstrap rows within each source.
// Balanced accuracy: predictions come from per-fold Youden thresholds chosen on the same group's (or
// source's) training rows (metrics.h youden_predictions) and stay fixed in the resamples, so its CI
// covers the evaluation sample, not the threshold choice. Seeds: Rng(seed) for every statistic, so the three
// share their resamples.
GroupMetrics group_metrics(const GroupInput& in, bool macro, int64_t min_source_refusals, int64_t n_boot,
                           uint64_t seed, double level = 0.95);

}  // namespace tp
