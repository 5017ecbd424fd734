// Pure metric functions (see metrics.h). Sorting-based AUROC and ROC scan; everything in double.
// Doesn't: read archives, bootstrap (stats.cpp), or fit anything (probe.cpp).
#include "reduce/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "util/check.h"

namespace tp {

static constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

static void count_classes(const int8_t* labels, size_t n, size_t& n_pos, size_t& n_neg) {
  n_pos = n_neg = 0;
  for (size_t i = 0; i < n; ++i) {
    TP_CHECK_MSG(labels[i] == 0 || labels[i] == 1, "label {} at {} is not 0/1", int(labels[i]), i);
    (labels[i] ? n_pos : n_neg)++;
  }
}

std::string metric_undefined(const int8_t* labels, size_t n) {
  if (n == 0) return "no samples";
  size_t n_pos, n_neg;
  count_classes(labels, n, n_pos, n_neg);
  if (n_pos == 0) return fmt::format("only one class (all 0, n={})", n);
  if (n_neg == 0) return fmt::format("only one class (all 1, n={})", n);
  return "";
}

// Sample indices sorted by score, highest first (stable, so ties keep their input order).
static std::vector<size_t> order_desc(const double* scores, size_t n) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return idx;
}

double auroc(const double* scores, const int8_t* labels, size_t n) {
  if (!metric_undefined(labels, n).empty()) return NaN;
  for (size_t i = 0; i < n; ++i)
    if (std::isnan(scores[i])) return NaN;
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Twice the rank sum of the positives, in integers: a tie block occupying ranks lo+1..hi gets the
  // average rank (lo+1+hi)/2 each, i.e. lo+1+hi when doubled. Exact up to n ~ 2^31.
  int64_t rank2_pos = 0, n_pos = 0;
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo;
    int64_t pos_in_block = 0;
    while (hi < n && scores[idx[hi]] == scores[idx[lo]]) pos_in_block += labels[idx[hi++]];
    rank2_pos += pos_in_block * int64_t(lo + 1 + hi);
    n_pos += pos_in_block;
    lo = hi;
  }
  int64_t n_neg = int64_t(n) - n_pos;
  int64_t u2 = rank2_pos - n_pos * (n_pos + 1);  // 2U
  return double(u2) / (2.0 * double(n_pos) * double(n_neg));
}

RankedScores rank_scores(const double* scores, size_t n) {
  for (size_t i = 0; i < n; ++i) TP_CHECK_MSG(!std::isnan(scores[i]), "rank_scores: NaN score at {}", i);
  RankedScores r;
  r.order.resize(n);
  std::iota(r.order.begin(), r.order.end(), uint32_t{0});
  std::sort(r.order.begin(), r.order.end(), [&](uint32_t a, uint32_t b) { return scores[a] < scores[b]; });
  for (size_t i = 1; i <= n; ++i)
    if (i == n || scores[r.order[i]] != scores[r.order[i - 1]]) r.block_end.push_back(uint32_t(i));
  return r;
}

double auroc_weighted(const RankedScores& ranked, const int8_t* labels, const double* weights) {
  // Sum over tie blocks (ascending) of w_pos(block) * (w_neg(below) + w_neg(block) / 2).
  double neg_below = 0, u = 0, w_pos = 0;
  size_t lo = 0;
  for (uint32_t hi : ranked.block_end) {
    double pos = 0, neg = 0;
    for (size_t i = lo; i < hi; ++i) (labels[ranked.order[i]] ? pos : neg) += weights[ranked.order[i]];
    u += pos * (neg_below + 0.5 * neg);
    neg_below += neg;
    w_pos += pos;
    lo = hi;
  }
  if (!(w_pos > 0) || !(neg_below > 0)) return NaN;
  return u / (w_pos * neg_below);
}

Youden youden_threshold(const double* scores, const int8_t* labels, size_t n) {
  Youden best{std::numeric_limits<double>::infinity(), 0.0, 0.0};
  if (!metric_undefined(labels, n).empty()) return {NaN, NaN, NaN};
  for (size_t i = 0; i < n; ++i)
    if (std::isnan(scores[i])) return {NaN, NaN, NaN};
  size_t n_pos, n_neg;
  count_classes(labels, n, n_pos, n_neg);
  std::vector<size_t> idx = order_desc(scores, n);
  size_t tp = 0, fp = 0;
  double best_j = 0.0;
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo;
    while (hi < n && scores[idx[hi]] == scores[idx[lo]]) (labels[idx[hi++]] ? tp : fp)++;
    double tpr = double(tp) / double(n_pos), fpr = double(fp) / double(n_neg);
    if (tpr - fpr > best_j) {
      best_j = tpr - fpr;
      best = {scores[idx[lo]], tpr, fpr};
    }
    lo = hi;
  }
  return best;
}

double balanced_accuracy(const int8_t* predicted, const int8_t* labels, size_t n) {
  if (!metric_undefined(labels, n).empty()) return NaN;
  size_t tp = 0, tn = 0, n_pos = 0, n_neg = 0;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i]) { ++n_pos; tp += predicted[i] != 0; }
    else { ++n_neg; tn += predicted[i] == 0; }
  }
  return 0.5 * (double(tp) / double(n_pos) + double(tn) / double(n_neg));
}

std::vector<int8_t> youden_predictions(const double* scores, const int8_t* labels, const int32_t* folds, size_t n,
                                       int32_t n_folds, const double* fit_scores) {
  std::vector<int8_t> predicted(n, 0);
  std::vector<double> train_scores;
  std::vector<int8_t> train_labels;
  for (int32_t f = 0; f < n_folds; ++f) {
    const double* s = fit_scores ? fit_scores + size_t(f) * n : scores;
    train_scores.clear();
    train_labels.clear();
    for (size_t i = 0; i < n; ++i)
      if (folds[i] != f) { train_scores.push_back(s[i]); train_labels.push_back(labels[i]); }
    double t = youden_threshold(train_scores.data(), train_labels.data(), train_scores.size()).threshold;
    if (std::isnan(t)) t = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i)
      if (folds[i] == f) predicted[i] = scores[i] >= t;
  }
  return predicted;
}

double balanced_accuracy_youden_oof(const double* scores, const int8_t* labels, const int32_t* folds,
                                    size_t n, int32_t n_folds, const double* fit_scores) {
  if (!metric_undefined(labels, n).empty()) return NaN;
  std::vector<int8_t> predicted = youden_predictions(scores, labels, folds, n, n_folds, fit_scores);
  return balanced_accuracy(predicted.data(), labels, n);
}

double rate(const int8_t* flags, size_t n) {
  if (n == 0) return NaN;
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) k += flags[i] != 0;
  return double(k) / double(n);
}

double mean(const double* values, size_t n) {
  if (n == 0) return NaN;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += values[i];
  return s / double(n);
}

int8_t majority_label(const int8_t* votes, size_t n_votes, int min_votes) {
  int refuse = 0, present = 0;
  for (size_t i = 0; i < n_votes; ++i) {
    if (votes[i] < 0) continue;
    ++present;
    refuse += votes[i] == 1;
  }
  if (present == 0) return -1;
  return refuse >= std::min(min_votes, present) ? 1 : 0;
}

double soft_label(const int8_t* votes, size_t n_votes) {
  int refuse = 0, present = 0;
  for (size_t i = 0; i < n_votes; ++i) {
    if (votes[i] < 0) continue;
    ++present;
    refuse += votes[i] == 1;
  }
  return present == 0 ? NaN : double(refuse) / double(present);
}

}  // namespace tp
