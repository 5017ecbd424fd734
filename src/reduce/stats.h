// Statistics of the reducer as pure functions: two-sided Fisher exact test (as scipy.stats.fisher_exact),
// Holm-Bonferroni adjusted p-values, percentiles (numpy's linear rule), seeded percentile bootstrap
// (plain, class-stratified or grouped by prompt), within-prefix variance 4q(1-q) with its random
// reference, and normalised Fisher separability. No I/O; the reducer and the tests call these.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "util/hash.h"

namespace tp {

// Two-sided Fisher exact p-value of the 2x2 table [[a, b], [c, d]]: the total probability, under the
// hypergeometric law with the table's margins, of the tables no more probable than the observed one
// (relative tolerance 1e-14, scipy's). 1 when a row or column sums to 0 (scipy's convention).
double fisher_exact_two_sided(int64_t a, int64_t b, int64_t c, int64_t d);

// Holm-Bonferroni step-down adjusted p-values, in the input order: sort ascending, multiply the i-th
// smallest (0-based) by m - i, take the running maximum, cap at 1 (statsmodels multipletests 'holm').
// A hypothesis is rejected at level alpha iff its adjusted p-value is < alpha (the paper's "p < 0.05").
std::vector<double> holm_adjust(const std::vector<double>& p);

// The q-th percentile (q in [0, 100]) with linear interpolation between order statistics, as
// numpy.percentile's default; NaN values are ignored (numpy.nanpercentile); NaN if none is left.
double percentile(std::vector<double> values, double q);

// Bootstrap design: rows are grouped into clusters (a prompt's rows, or one row each), clusters into
// strata (the label, or one stratum). A resample draws, within each stratum, as many clusters as it has,
// uniformly with replacement, and concatenates their rows.
struct BootstrapDesign {
  std::vector<std::vector<std::vector<uint32_t>>> strata;  // [stratum][cluster] -> row indices
};
// One row per cluster, one stratum: the ordinary bootstrap of n rows.
BootstrapDesign bootstrap_plain(size_t n);
// One row per cluster, strata by label (0/1): the class-stratified bootstrap.
BootstrapDesign bootstrap_stratified(const int8_t* labels, size_t n);
// Clusters by group id (rows of one prompt move together), one stratum.
BootstrapDesign bootstrap_grouped(const uint64_t* groups, size_t n);
// One resample's row indices, advancing rng.
std::vector<uint32_t> bootstrap_resample(const BootstrapDesign& design, Rng& rng);

struct Ci {
  double lo, hi;    // percentile interval
  int64_t n_valid;  // resamples whose statistic was not NaN (e.g. a resample with one class is NaN)
};
// Percentile confidence interval (level e.g. 0.95) of stat over n_boot resamples of design, with
// Rng(seed): the same seed gives the same interval. stat gets a resample's row indices and may return
// NaN; those resamples are left out of the percentiles. {NaN, NaN, 0} when none is valid.
Ci bootstrap_ci(const BootstrapDesign& design, int64_t n_boot, uint64_t seed, double level,
                const std::function<double(const std::vector<uint32_t>&)>& stat);

// Within-prefix variance of one prefix: 4 q (1 - q), q = the refusal fraction of its continuations
// (0 when all agree, 1 at an even split).
double within_prefix_variance(double q);
// Its reference when each of n continuations refuses independently with probability p:
// E[4 q(1-q)] = 4 p (1-p) (n-1)/n; 0.875 for the paper's n = 8, p = 0.5.
double within_prefix_variance_random(int64_t n_continuations, double p);

// Normalised Fisher separability of rows x[n, d] (row-major) with labels 0/1: every column is z-scored
// over all n rows (population std; a constant column is dropped), then
// ||mu1 - mu0||^2 / (tr S1 + tr S0) with S_c the population covariance of class c.
// NaN when a class is empty or every column is constant.
double norm_fisher(const float* x, size_t n, size_t d, const int8_t* labels);

}  // namespace tp
