// Statistics (see stats.h): Fisher exact, Holm, percentiles, bootstrap, within-prefix variance,
// norm-Fisher. Plain loops in double / long double; no torch, no I/O.
#include "reduce/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "util/check.h"

namespace tp {

static constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

double fisher_exact_two_sided(int64_t a, int64_t b, int64_t c, int64_t d) {
  TP_CHECK(a >= 0 && b >= 0 && c >= 0 && d >= 0);
  const int64_t n1 = a + b, n2 = c + d, n = a + c;  // row sums and first column sum
  if (n1 == 0 || n2 == 0 || n == 0 || b + d == 0) return 1.0;
  const int64_t x_lo = std::max<int64_t>(0, n - n2), x_hi = std::min(n, n1);
  // Hypergeometric probabilities up to a constant, by the ratio recurrence from the mode outward in
  // long double (relative error ~1e-17 per term, well inside scipy's 1e-14 tie tolerance).
  const int64_t mode = std::clamp<int64_t>((n + 1) * (n1 + 1) / (n1 + n2 + 2), x_lo, x_hi);
  std::vector<long double> w(size_t(x_hi - x_lo + 1));
  auto at = [&](int64_t x) -> long double& { return w[size_t(x - x_lo)]; };
  at(mode) = 1.0L;
  for (int64_t x = mode; x < x_hi; ++x)  // P(x+1)/P(x) = (n1-x)(n-x) / ((x+1)(n2-n+x+1))
    at(x + 1) = at(x) * (long double)((n1 - x) * (n - x)) / (long double)((x + 1) * (n2 - n + x + 1));
  for (int64_t x = mode; x > x_lo; --x)
    at(x - 1) = at(x) * (long double)(x * (n2 - n + x)) / (long double)((n1 - x + 1) * (n - x + 1));
  const long double observed = at(a) * (1.0L + 1e-14L);
  long double total = 0, tail = 0;
  for (long double v : w) {
    total += v;
    if (v <= observed) tail += v;
  }
  return std::min(1.0, double(tail / total));
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> idx(m);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (size_t i = 0; i < m; ++i) {
    running = std::max(running, double(m - i) * p[idx[i]]);
    adjusted[idx[i]] = std::min(1.0, running);
  }
  return adjusted;
}

double percentile(std::vector<double> values, double q) {
  TP_CHECK(q >= 0 && q <= 100);
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return NaN;
  std::sort(values.begin(), values.end());
  const double pos = q / 100.0 * double(values.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - double(lo);
  // numpy's _lerp: a + (b - a) * t, switched to b - (b - a) * (1 - t) for t >= 0.5.
  const double a = values[lo], b = values[hi], diff = b - a;
  return frac >= 0.5 ? b - diff * (1.0 - frac) : a + diff * frac;
}

// ---------------------------------------------------------------------------------------------------
// Bootstrap

BootstrapDesign bootstrap_plain(size_t n) {
  BootstrapDesign d;
  d.strata.resize(1);
  for (size_t i = 0; i < n; ++i) d.strata[0].push_back({uint32_t(i)});
  return d;
}

BootstrapDesign bootstrap_stratified(const int8_t* labels, size_t n) {
  BootstrapDesign d;
  d.strata.resize(2);
  for (size_t i = 0; i < n; ++i) d.strata[labels[i] ? 1 : 0].push_back({uint32_t(i)});
  d.strata.erase(std::remove_if(d.strata.begin(), d.strata.end(), [](auto& s) { return s.empty(); }),
                 d.strata.end());
  return d;
}

BootstrapDesign bootstrap_grouped(const uint64_t* groups, size_t n) {
  BootstrapDesign d;
  d.strata.resize(1);
  std::map<uint64_t, size_t> cluster_of;  // ordered by first appearance through the index below
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = cluster_of.emplace(groups[i], d.strata[0].size());
    if (inserted) d.strata[0].emplace_back();
    d.strata[0][it->second].push_back(uint32_t(i));
  }
  return d;
}

std::vector<uint32_t> bootstrap_resample(const BootstrapDesign& design, Rng& rng) {
  std::vector<uint32_t> rows;
  for (const auto& clusters : design.strata)
    for (size_t k = 0; k < clusters.size(); ++k) {
      const auto& c = clusters[rng.below(clusters.size())];
      rows.insert(rows.end(), c.begin(), c.end());
    }
  return rows;
}

Ci bootstrap_ci(const BootstrapDesign& design, int64_t n_boot, uint64_t seed, double level,
                const std::function<double(const std::vector<uint32_t>&)>& stat) {
  TP_CHECK(level > 0 && level < 1);
  Rng rng(seed);
  std::vector<double> values;
  values.reserve(size_t(std::max<int64_t>(n_boot, 0)));
  int64_t n_valid = 0;
  for (int64_t b = 0; b < n_boot; ++b) {
    double v = stat(bootstrap_resample(design, rng));
    n_valid += !std::isnan(v);
    values.push_back(v);
  }
  if (n_valid == 0) return {NaN, NaN, 0};
  const double tail = 50.0 * (1.0 - level);
  return {percentile(values, tail), percentile(values, 100.0 - tail), n_valid};
}

// ---------------------------------------------------------------------------------------------------
// Lock-in and separability

double within_prefix_variance(double q) { return 4.0 * q * (1.0 - q); }

double within_prefix_variance_random(int64_t n_continuations, double p) {
  TP_CHECK(n_continuations > 0);
  return 4.0 * p * (1.0 - p) * double(n_continuations - 1) / double(n_continuations);
}

double norm_fisher(const float* x, size_t n, size_t d, const int8_t* labels) {
  size_t n1 = 0;
  for (size_t i = 0; i < n; ++i) n1 += labels[i] != 0;
  const size_t n0 = n - n1;
  if (n0 == 0 || n1 == 0) return NaN;
  double between = 0, within = 0;
  size_t kept = 0;
  for (size_t j = 0; j < d; ++j) {
    double s = 0, ss = 0, s_c[2] = {0, 0}, ss_c[2] = {0, 0};
    for (size_t i = 0; i < n; ++i) s += x[i * d + j];
    const double mu = s / double(n);
    for (size_t i = 0; i < n; ++i) {
      const double v = x[i * d + j] - mu;  // centred first: no cancellation in the variances
      ss += v * v;
      s_c[labels[i] != 0] += v;
      ss_c[labels[i] != 0] += v * v;
    }
    const double var = ss / double(n);
    if (!(var > 0)) continue;
    ++kept;
    const double m0 = s_c[0] / double(n0), m1 = s_c[1] / double(n1);
    between += (m1 - m0) * (m1 - m0) / var;
    within += (ss_c[0] / double(n0) - m0 * m0 + ss_c[1] / double(n1) - m1 * m1) / var;
  }
  if (kept == 0 || !(within > 0)) return NaN;
  return between / within;
}

}  // namespace tp
