// reduce/stats: hand-computed tables for Fisher exact, Holm, within-prefix variance and norm-Fisher, and
// the bootstrap's reproducibility and designs. (scipy / numpy comparisons: test_reduce_reference.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "reduce/stats.h"

using namespace tp;

TEST_CASE("fisher_exact_two_sided: hand-computed hypergeometric tables", "[reduce][stats]") {
  // [[3,1],[1,3]]: margins 4/4/4, P(x) = C(4,x)C(4,4-x)/70 = 1,16,36,16,1 /70; two-sided 34/70.
  CHECK(fisher_exact_two_sided(3, 1, 1, 3) == Approx(34.0 / 70).margin(1e-15));
  // [[4,0],[0,4]]: only the two extreme tables are as unlikely: 2/70.
  CHECK(fisher_exact_two_sided(4, 0, 0, 4) == Approx(2.0 / 70).margin(1e-15));
  // The most likely table: every table is no more probable, p = 1.
  CHECK(fisher_exact_two_sided(2, 2, 2, 2) == 1.0);
  // A zero row or column: 1 (scipy's convention).
  CHECK(fisher_exact_two_sided(0, 0, 3, 4) == 1.0);
  CHECK(fisher_exact_two_sided(0, 5, 0, 7) == 1.0);
  CHECK(fisher_exact_two_sided(0, 0, 0, 0) == 1.0);
  // Symmetric under swapping rows or columns.
  CHECK(fisher_exact_two_sided(8, 2, 1, 5) == Approx(fisher_exact_two_sided(1, 5, 8, 2)).margin(1e-15));
  CHECK(fisher_exact_two_sided(8, 2, 1, 5) == Approx(fisher_exact_two_sided(2, 8, 5, 1)).margin(1e-15));
}

TEST_CASE("holm_adjust: step-down, monotone, capped", "[reduce][stats]") {
  // sorted 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> running max 0.06.
  auto a = holm_adjust({0.01, 0.04, 0.03, 0.005});
  CHECK(a[0] == Approx(0.03));
  CHECK(a[1] == Approx(0.06));
  CHECK(a[2] == Approx(0.06));
  CHECK(a[3] == Approx(0.02));
  CHECK(holm_adjust({0.5, 0.6}) == std::vector<double>{1.0, 1.0});
  CHECK(holm_adjust({}).empty());
  CHECK(holm_adjust({0.2}) == std::vector<double>{0.2});
}

TEST_CASE("percentile: numpy's linear rule by hand", "[reduce][stats]") {
  CHECK(percentile({3, 1, 2, 4}, 50) == 2.5);   // position 1.5
  CHECK(percentile({3, 1, 2, 4}, 0) == 1);
  CHECK(percentile({3, 1, 2, 4}, 100) == 4);
  CHECK(percentile({10, 20}, 25) == 12.5);
  CHECK(std::isnan(percentile({}, 50)));
  CHECK(std::isnan(percentile({NAN, NAN}, 50)));
}

TEST_CASE("bootstrap: reproducible for a seed, designs respected", "[reduce][stats]") {
  std::vector<double> v = {0.1, 0.5, 0.2, 0.9, 0.4, 0.7, 0.3, 0.8};
  auto mean_of = [&](const std::vector<uint32_t>& rows) {
    double s = 0;
    for (uint32_t r : rows) s += v[r];
    return s / double(rows.size());
  };
  auto plain = bootstrap_plain(v.size());
  Ci a = bootstrap_ci(plain, 500, 42, 0.95, mean_of), b = bootstrap_ci(plain, 500, 42, 0.95, mean_of);
  Ci c = bootstrap_ci(plain, 500, 43, 0.95, mean_of);
  CHECK((a.lo == b.lo && a.hi == b.hi));
  CHECK((a.lo != c.lo || a.hi != c.hi));
  CHECK(a.lo < 0.4875);  // the sample mean lies inside
  CHECK(a.hi > 0.4875);
  CHECK(a.n_valid == 500);

  // Stratified: each resample keeps the class counts (3 positives, 5 negatives).
  std::vector<int8_t> y = {1, 0, 0, 1, 0, 1, 0, 0};
  auto strat = bootstrap_stratified(y.data(), y.size());
  Rng rng(1);
  for (int i = 0; i < 50; ++i) {
    auto rows = bootstrap_resample(strat, rng);
    int pos = 0;
    for (uint32_t r : rows) pos += y[r];
    CHECK((rows.size() == 8 && pos == 3));
  }
  // Grouped: rows of a prompt move together.
  std::vector<uint64_t> g = {7, 7, 9, 9, 9, 4, 4, 4};
  auto grouped = bootstrap_grouped(g.data(), g.size());
  for (int i = 0; i < 50; ++i) {
    auto rows = bootstrap_resample(grouped, rng);
    std::multiset<uint64_t> seen;
    for (uint32_t r : rows) seen.insert(g[r]);
    for (uint64_t id : seen) CHECK(seen.count(id) % (id == 7 ? 2 : 3) == 0);
  }
  // A statistic that is NaN on some resamples: those are left out and counted.
  Ci half = bootstrap_ci(plain, 200, 5, 0.9, [&](const std::vector<uint32_t>& rows) {
    return rows[0] % 2 ? NAN : mean_of(rows);
  });
  CHECK(half.n_valid > 50);
  CHECK(half.n_valid < 150);
  CHECK(std::isnan(bootstrap_ci(plain, 10, 5, 0.9, [](const std::vector<uint32_t>&) { return NAN; }).lo));
}

TEST_CASE("within-prefix variance and its random reference", "[reduce][stats]") {
  CHECK(within_prefix_variance(0.5) == 1.0);
  CHECK(within_prefix_variance(0.0) == 0.0);
  CHECK(within_prefix_variance(1.0) == 0.0);
  CHECK(within_prefix_variance(0.25) == 0.75);
  CHECK(within_prefix_variance_random(8, 0.5) == Approx(0.875));  // the paper's reference line
  CHECK(within_prefix_variance_random(1, 0.5) == 0.0);
}

TEST_CASE("norm_fisher: hand-computed, scale-free, undefined cases", "[reduce][stats]") {
  // x = 0,1,2,3 with labels 0,0,1,1: mean 1.5, var 1.25; class means -+1/sqrt(1.25) -> 4/1.25 = 3.2;
  // class variances 0.25/1.25 = 0.2 each -> 3.2 / 0.4 = 8.
  std::vector<float> x = {0, 1, 2, 3};
  std::vector<int8_t> y = {0, 0, 1, 1};
  CHECK(norm_fisher(x.data(), 4, 1, y.data()) == Approx(8.0));
  // A second column that is the first times 10 plus a constant third column: z-scoring makes the first
  // two identical (8 / 8 overall), the constant one is dropped.
  std::vector<float> x3 = {0, 0, 5, 1, 10, 5, 2, 20, 5, 3, 30, 5};
  CHECK(norm_fisher(x3.data(), 4, 3, y.data()) == Approx(8.0));
  std::vector<int8_t> one = {1, 1, 1, 1};
  CHECK(std::isnan(norm_fisher(x.data(), 4, 1, one.data())));
  std::vector<float> flat = {2, 2, 2, 2};
  CHECK(std::isnan(norm_fisher(flat.data(), 4, 1, y.data())));
}
