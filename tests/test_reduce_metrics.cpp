// reduce/metrics: hand-computed tables (ties, one class, empty input) for AUROC, Youden, balanced
// accuracy, rates and vote labels. The references are worked out by hand in the comments.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "reduce/metrics.h"

using namespace tp;

TEST_CASE("auroc: hand-computed tables with ties", "[reduce][metrics]") {
  struct Row { std::vector<double> s; std::vector<int8_t> y; double expected; };
  const Row rows[] = {
      {{0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}, 0.75},          // sklearn docs example
      {{1, 2, 3, 4}, {0, 0, 1, 1}, 1.0},                    // perfect
      {{1, 2, 3, 4}, {1, 1, 0, 0}, 0.0},                    // reversed
      {{5, 5, 5, 5}, {0, 1, 0, 1}, 0.5},                    // all tied: every pair counts 1/2
      {{1, 2, 2, 3}, {0, 0, 1, 1}, (1 + 0.5 + 1 + 1) / 4.0},  // one tied pair (2 vs 2) counts 1/2
      {{0, 0, 1, 1, 1}, {0, 1, 0, 1, 1}, (0.5 + 0 + 1 + 0.5 + 1 + 0.5) / 6.0},  // pos x neg pairs
  };
  for (const Row& r : rows) CHECK(auroc(r.s.data(), r.y.data(), r.s.size()) == Approx(r.expected).margin(1e-15));
}

TEST_CASE("auroc: undefined inputs are NaN with a reason", "[reduce][metrics]") {
  std::vector<double> s = {0.2, 0.9, 0.4};
  std::vector<int8_t> ones = {1, 1, 1}, zeros = {0, 0, 0}, mixed = {0, 1, 0};
  CHECK(std::isnan(auroc(s.data(), ones.data(), 3)));
  CHECK(metric_undefined(ones.data(), 3) == "only one class (all 1, n=3)");
  CHECK(std::isnan(auroc(s.data(), zeros.data(), 3)));
  CHECK(metric_undefined(zeros.data(), 3) == "only one class (all 0, n=3)");
  CHECK(std::isnan(auroc(nullptr, nullptr, 0)));
  CHECK(metric_undefined(nullptr, 0) == "no samples");
  CHECK(metric_undefined(mixed.data(), 3).empty());
  s[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK(std::isnan(auroc(s.data(), mixed.data(), 3)));
}

TEST_CASE("youden_threshold: highest threshold of the best TPR - FPR", "[reduce][metrics]") {
  // Scores descending 0.9(1) 0.8(0) 0.7(1) 0.6(0); n_pos = n_neg = 2. J: 1/2, 0, 1/2 (= 1 - 1/2, equal
  // in floating point too, so not better), 0: the first maximum, 0.9, wins.
  std::vector<double> s = {0.6, 0.9, 0.7, 0.8};
  std::vector<int8_t> y = {0, 1, 1, 0};
  Youden yd = youden_threshold(s.data(), y.data(), s.size());
  CHECK(yd.threshold == 0.9);
  CHECK(yd.tpr == 0.5);
  CHECK(yd.fpr == 0.0);
  // With thirds, J is compared in floating point as sklearn's argmax(tpr - fpr) does: 2/3 - 0 rounds
  // below 1 - 1/3, so the lower threshold 0.6 wins (rows 0.9(1) 0.8(1) 0.7(0) 0.6(1) 0.5(0) 0.4(0)).
  std::vector<double> s6 = {0.5, 0.9, 0.7, 0.4, 0.8, 0.6};
  std::vector<int8_t> y6 = {0, 1, 0, 0, 1, 1};
  CHECK(youden_threshold(s6.data(), y6.data(), 6).threshold == 0.6);
  // Worse than chance everywhere: J never exceeds 0, nothing is predicted positive.
  std::vector<int8_t> rev = {1, 0, 1, 1, 0, 0};
  CHECK(std::isinf(youden_threshold(s6.data(), rev.data(), 6).threshold));
  std::vector<int8_t> one = {1, 1, 1, 1, 1, 1};
  CHECK(std::isnan(youden_threshold(s6.data(), one.data(), 6).threshold));
  s6[2] = NAN;
  CHECK(std::isnan(youden_threshold(s6.data(), y6.data(), 6).threshold));
}

TEST_CASE("balanced_accuracy: hand-computed", "[reduce][metrics]") {
  std::vector<int8_t> y = {1, 1, 1, 1, 0, 0};
  std::vector<int8_t> p = {1, 1, 1, 0, 0, 1};  // TPR 3/4, TNR 1/2
  CHECK(balanced_accuracy(p.data(), y.data(), 6) == Approx(0.625));
  std::vector<int8_t> all = {1, 1, 1, 1, 1, 1};
  CHECK(balanced_accuracy(all.data(), y.data(), 6) == Approx(0.5));
  CHECK(std::isnan(balanced_accuracy(p.data(), all.data(), 6)));
  CHECK(std::isnan(balanced_accuracy(nullptr, nullptr, 0)));
}

TEST_CASE("balanced_accuracy_youden_oof: threshold from the other folds", "[reduce][metrics]") {
  // Fold 0 rows {0,1,2,3}, fold 1 rows {4,5,6,7}.
  // Fold 1's scores (training for fold 0): 0.9(1) 0.8(0) 0.3(1) 0.2(0) -> best J at 0.9 (J=1/2; 0.3 gives
  // 1-1/2 = 1/2, not better) -> fold 0 predicts s >= 0.9: rows 0 (0.95, y1) yes; 1 (0.6,y1) no; 2,3 no.
  // Fold 0's scores: 0.95(1) 0.6(1) 0.5(0) 0.1(0) -> best J = 1 at 0.6 -> fold 1 predicts s >= 0.6:
  // rows 4 (0.9,y1) yes, 5 (0.8,y0) yes, 6 (0.3,y1) no, 7 (0.2,y0) no.
  // Overall: positives 0,1,4,6 -> predicted 1,0,1,0: TPR 1/2; negatives 2,3,5,7 -> 0,0,1,0: TNR 3/4.
  std::vector<double> s = {0.95, 0.6, 0.5, 0.1, 0.9, 0.8, 0.3, 0.2};
  std::vector<int8_t> y = {1, 1, 0, 0, 1, 0, 1, 0};
  std::vector<int32_t> f = {0, 0, 0, 0, 1, 1, 1, 1};
  CHECK(balanced_accuracy_youden_oof(s.data(), y.data(), f.data(), 8, 2) == Approx(0.625));
  // In-sample thresholds: fold 0's model scores its training rows 4..7 as 0.9(1) 0.2(0) 0.8(1) 0.1(0)
  // -> J = 1 at 0.8 -> fold 0 predicts 1,0,0,0. Fold 1's model scores rows 0..3 as 0.4(1) 0.25(1)
  // 0.1(0) 0.05(0) -> J = 1 at 0.25 -> fold 1 predicts 1,1,1,0. TPR 3/4, TNR 3/4. (9 = never read.)
  std::vector<double> fit = {9, 9, 9, 9, 0.9, 0.2, 0.8, 0.1, 0.4, 0.25, 0.1, 0.05, 9, 9, 9, 9};
  CHECK(youden_predictions(s.data(), y.data(), f.data(), 8, 2, fit.data()) == std::vector<int8_t>{1, 0, 0, 0, 1, 1, 1, 0});
  CHECK(balanced_accuracy_youden_oof(s.data(), y.data(), f.data(), 8, 2, fit.data()) == Approx(0.75));
}

TEST_CASE("rates and vote labels: tie rule and missing votes", "[reduce][metrics]") {
  std::vector<int8_t> flags = {1, 0, 0, 1, 1};
  CHECK(rate(flags.data(), 5) == Approx(0.6));
  CHECK(std::isnan(rate(nullptr, 0)));
  std::vector<double> soft = {0.25, 0.75, 1.0};
  CHECK(mean(soft.data(), 3) == Approx(2.0 / 3));
  CHECK(std::isnan(mean(nullptr, 0)));

  struct Row { std::vector<int8_t> votes; int min_votes; int expected_label; double expected_soft; };
  const Row rows[] = {
      {{1, 1, 0, 0}, 3, 0, 0.5},    // 2-2 tie complies under the paper's >= 3 of 4
      {{1, 1, 0, 0}, 2, 1, 0.5},    // ... and refuses under the cut-replay code's >= 2
      {{1, 1, 1, 0}, 3, 1, 0.75},
      {{0, 0, 0, 0}, 3, 0, 0.0},
      {{1, 1, 1, 1}, 3, 1, 1.0},
      {{1, 1, -1, 0}, 3, 0, 2.0 / 3},  // a missing judge: 2 of 3 present votes
      {{-1, -1, -1, -1}, 3, -1, NAN},  // no verdict at all
  };
  for (const Row& r : rows) {
    CHECK(majority_label(r.votes.data(), r.votes.size(), r.min_votes) == r.expected_label);
    double s = soft_label(r.votes.data(), r.votes.size());
    if (std::isnan(r.expected_soft)) CHECK(std::isnan(s));
    else CHECK(s == Approx(r.expected_soft));
  }
}

TEST_CASE("auroc_weighted: a resample by multiplicities equals auroc of the resampled rows", "[reduce][metrics]") {
  std::vector<double> s = {0.3, 0.1, 0.3, 0.7, 0.5, 0.5, 0.9, 0.1};
  std::vector<int8_t> y = {1, 0, 0, 1, 1, 0, 1, 0};
  RankedScores ranked = rank_scores(s.data(), s.size());
  CHECK(ranked.block_end == std::vector<uint32_t>{2, 4, 6, 7, 8});  // 0.1 x2, 0.3 x2, 0.5 x2, 0.7, 0.9
  std::vector<double> ones(8, 1.0);
  CHECK(auroc_weighted(ranked, y.data(), ones.data()) == Approx(auroc(s.data(), y.data(), 8)).margin(1e-15));
  // Rows drawn 0,0,2,3,5,5,5,7 -> multiplicities 2,0,1,1,0,3,0,1.
  std::vector<uint32_t> drawn = {0, 0, 2, 3, 5, 5, 5, 7};
  std::vector<double> w = {2, 0, 1, 1, 0, 3, 0, 1}, rs;
  std::vector<int8_t> ry;
  for (uint32_t r : drawn) { rs.push_back(s[r]); ry.push_back(y[r]); }
  CHECK(auroc_weighted(ranked, y.data(), w.data()) == Approx(auroc(rs.data(), ry.data(), rs.size())).margin(1e-15));
  std::vector<double> only_neg = {0, 1, 1, 0, 0, 1, 0, 1};
  CHECK(std::isnan(auroc_weighted(ranked, y.data(), only_neg.data())));
}
