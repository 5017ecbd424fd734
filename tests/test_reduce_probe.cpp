// reduce/probe: fold assignment properties, the logistic solver's optimality condition, planted-signal
// recovery, and the raw-space directions. (Agreement with sklearn's pipeline: test_reduce_reference.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "reduce/metrics.h"
#include "reduce/probe.h"
#include "reduce/probe_metrics.h"
#include "util/check.h"
#include "util/hash.h"

using namespace tp;

namespace {

// n rows of d columns: prompt p has a latent u_p; label = u_p > 0.3 (so rows of a prompt agree unless
// noise flips them); column 0..2 carry the latent, the rest noise, columns scaled and offset unequally.
struct Planted {
  size_t n, d;
  std::vector<float> x;
  std::vector<int8_t> y;
  std::vector<uint64_t> prompt;
};
Planted planted(size_t n, size_t d, size_t n_prompts, double signal, uint64_t seed) {
  Rng rng(seed);
  auto normal = [&] {  // Box-Muller
    double u = rng.uniform(), v = rng.uniform();
    return std::sqrt(-2 * std::log(1 - u)) * std::cos(6.283185307179586 * v);
  };
  std::vector<double> latent(n_prompts);
  for (double& l : latent) l = normal();
  Planted p{n, d, std::vector<float>(n * d), std::vector<int8_t>(n), std::vector<uint64_t>(n)};
  for (size_t i = 0; i < n; ++i) {
    p.prompt[i] = rng.below(n_prompts);
    double u = latent[p.prompt[i]] + 0.3 * normal();
    p.y[i] = u > 0.3;
    for (size_t j = 0; j < d; ++j)
      p.x[i * d + j] = float((j < 3 ? signal * u : 0.0) + normal() * (1.0 + double(j % 5)) + 10.0 * double(j % 3));
  }
  return p;
}

}  // namespace

TEST_CASE("grouped_stratified_folds: prompts never split, labels spread, seeded", "[reduce][probe]") {
  Planted p = planted(900, 1, 200, 1.0, 3);
  auto folds = grouped_stratified_folds(p.y.data(), p.prompt.data(), p.n, 5, 42);
  std::map<uint64_t, std::set<int32_t>> folds_of;
  int64_t count[5][2] = {};
  for (size_t i = 0; i < p.n; ++i) {
    folds_of[p.prompt[i]].insert(folds[i]);
    count[folds[i]][p.y[i]]++;
  }
  for (auto& [prompt, fs] : folds_of) CHECK(fs.size() == 1);
  int64_t total[2] = {0, 0};
  for (auto& c : count) { total[0] += c[0]; total[1] += c[1]; }
  for (auto& c : count)
    for (int l = 0; l < 2; ++l) CHECK(std::abs(double(c[l]) - double(total[l]) / 5) <= 12);  // groups of ~4.5 rows
  CHECK(folds == grouped_stratified_folds(p.y.data(), p.prompt.data(), p.n, 5, 42));
  CHECK(folds != grouped_stratified_folds(p.y.data(), p.prompt.data(), p.n, 5, 43));

  // One row per prompt: an exactly stratified k-fold (each fold within one row of n_label / k).
  std::vector<uint64_t> unique(p.n);
  for (size_t i = 0; i < p.n; ++i) unique[i] = i;
  auto f1 = grouped_stratified_folds(p.y.data(), unique.data(), p.n, 5, 42);
  int64_t c1[5][2] = {};
  for (size_t i = 0; i < p.n; ++i) c1[f1[i]][p.y[i]]++;
  for (auto& c : c1)
    for (int l = 0; l < 2; ++l) CHECK(std::abs(double(c[l]) - double(total[l]) / 5) < 1.0);
}

TEST_CASE("logistic_fit: gradient of the weighted L2 objective vanishes", "[reduce][probe]") {
  Planted p = planted(300, 4, 300, 0.8, 5);
  std::vector<double> x(p.x.begin(), p.x.end());
  for (bool balanced : {true, false}) {
    ProbeOptions opt;
    opt.c = 0.5;
    opt.balanced = balanced;
    auto beta = logistic_fit(x.data(), p.n, p.d, p.y.data(), opt);
    double n1 = 0;
    for (int8_t v : p.y) n1 += v;
    double w1 = balanced ? p.n / (2 * n1) : 1, w0 = balanced ? p.n / (2 * (p.n - n1)) : 1;
    std::vector<double> g(p.d + 1, 0.0);
    for (size_t i = 0; i < p.n; ++i) {
      double z = beta[p.d];
      for (size_t j = 0; j < p.d; ++j) z += x[i * p.d + j] * beta[j];
      double r = (p.y[i] ? w1 : w0) * (1 / (1 + std::exp(-z)) - p.y[i]);
      for (size_t j = 0; j < p.d; ++j) g[j] += opt.c * r * x[i * p.d + j];
      g[p.d] += opt.c * r;
    }
    for (size_t j = 0; j < p.d; ++j) g[j] += beta[j];  // the intercept is not penalised
    for (double v : g) CHECK(std::abs(v) < 1e-7);
  }
}

TEST_CASE("probe_oof: recovers a planted signal, chance on shuffled labels, NaN without both labels",
          "[reduce][probe]") {
  Planted p = planted(1000, 30, 250, 3.0, 7);
  auto folds = grouped_stratified_folds(p.y.data(), p.prompt.data(), p.n, 5, 42);
  ProbeOptions opt;
  opt.pca_components = 10;
  ProbeOof oof = probe_oof(p.x.data(), p.n, p.d, p.y.data(), folds.data(), 5, opt);
  CHECK(auroc(oof.prob.data(), p.y.data(), p.n) > 0.9);
  CHECK(auroc(oof.dom_score.data(), p.y.data(), p.n) > 0.8);
  CHECK(balanced_accuracy_youden_oof(oof.prob.data(), p.y.data(), folds.data(), p.n, 5) > 0.8);

  std::vector<int8_t> shuffled = p.y;
  Rng rng(11);
  for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng.below(i)]);
  ProbeOof noise = probe_oof(p.x.data(), p.n, p.d, shuffled.data(), folds.data(), 5, opt);
  double a = auroc(noise.prob.data(), shuffled.data(), p.n);
  CHECK(a > 0.4);
  CHECK(a < 0.6);

  // Label 0 only inside fold 0: fold 0 trains on label 1 alone and gets NaN; the other folds are scored.
  std::vector<int8_t> skew(p.n, 1);
  for (size_t i = 0; i < p.n; ++i) if (folds[i] == 0 && i % 2) skew[i] = 0;
  ProbeOof part = probe_oof(p.x.data(), p.n, p.d, skew.data(), folds.data(), 5, opt);
  for (size_t i = 0; i < p.n; ++i) CHECK(std::isnan(part.prob[i]) == (folds[i] == 0));
  // The group metrics then say why they are undefined instead of ranking NaN scores.
  GroupInput in{part.prob.data(), part.dom_score.data(), skew.data(), folds.data(), nullptr, 5, {}};
  for (uint32_t i = 0; i < p.n; ++i) in.rows.push_back(i);
  GroupMetrics gm = group_metrics(in, false, 0, 50, 1);
  CHECK(std::isnan(gm.auroc.value));
  CHECK(gm.auroc.why == "no out-of-fold score for some rows (a training fold had one label)");

  opt.pca_components = 31;
  CHECK_THROWS_AS(probe_oof(p.x.data(), p.n, p.d, p.y.data(), folds.data(), 5, opt), Error);
}

TEST_CASE("probe_oof: a scratch reused from block to block gives the same scores as none", "[reduce][probe]") {
  // Reference: the same calls without a scratch. d = 600 takes the subspace-iteration path; the second
  // block leaves fold 4 empty, so its reused scatter buffer still holds the first block's fold 4.
  Planted a = planted(1000, 600, 250, 3.0, 7), b = planted(1000, 600, 250, 3.0, 8);
  auto folds_a = grouped_stratified_folds(a.y.data(), a.prompt.data(), a.n, 5, 42);
  auto folds_b = grouped_stratified_folds(b.y.data(), b.prompt.data(), b.n, 4, 42);
  ProbeOptions opt;
  opt.pca_components = 20;
  opt.directions = true;
  ProbeScratch scratch;
  auto same = [](const std::vector<double>& u, const std::vector<double>& v) {
    REQUIRE(u.size() == v.size());
    for (size_t i = 0; i < u.size(); ++i)
      if (!(u[i] == v[i] || (std::isnan(u[i]) && std::isnan(v[i])))) return false;
    return true;
  };
  for (int round = 0; round < 2; ++round) {
    const Planted& p = round == 0 ? a : b;
    const auto& folds = round == 0 ? folds_a : folds_b;
    ProbeOof fresh = probe_oof(p.x.data(), p.n, p.d, p.y.data(), folds.data(), 5, opt);
    ProbeOof reused = probe_oof(p.x.data(), p.n, p.d, p.y.data(), folds.data(), 5, opt, &scratch);
    INFO("block " << round);
    CHECK(auroc(fresh.prob.data(), p.y.data(), p.n) > 0.8);  // a real fit, not a degenerate one
    CHECK(same(fresh.prob, reused.prob));
    CHECK(same(fresh.dom_score, reused.dom_score));
    CHECK(same(fresh.fit_prob, reused.fit_prob));
    CHECK(fresh.directions.probe == reused.directions.probe);
  }
}

TEST_CASE("probe_directions: raw-space logits equal the pipeline's; full PCA is a rotation", "[reduce][probe]") {
  Planted p = planted(400, 8, 400, 1.0, 9);
  ProbeOptions none, full;
  none.pca_components = 0;
  full.pca_components = 8;  // all components: a rotation, which the L2 penalty does not see
  ProbeDirections a = probe_directions(p.x.data(), p.n, p.d, p.y.data(), none);
  ProbeDirections b = probe_directions(p.x.data(), p.n, p.d, p.y.data(), full);
  for (size_t j = 0; j < p.d; ++j) CHECK(a.probe[j] == Approx(b.probe[j]).margin(1e-4).epsilon(1e-4));
  CHECK(a.probe_bias == Approx(b.probe_bias).margin(1e-4));

  // Without PCA the model is a logistic regression on z-scored columns: refit that directly and compare
  // logits x . probe + bias with z . beta + b.
  std::vector<double> mean(p.d, 0), sd(p.d, 0), z(p.n * p.d);
  for (size_t i = 0; i < p.n; ++i) for (size_t j = 0; j < p.d; ++j) mean[j] += p.x[i * p.d + j] / double(p.n);
  for (size_t i = 0; i < p.n; ++i)
    for (size_t j = 0; j < p.d; ++j) sd[j] += std::pow(p.x[i * p.d + j] - mean[j], 2) / double(p.n);
  for (size_t i = 0; i < p.n; ++i)
    for (size_t j = 0; j < p.d; ++j) z[i * p.d + j] = (p.x[i * p.d + j] - mean[j]) / std::sqrt(sd[j]);
  auto beta = logistic_fit(z.data(), p.n, p.d, p.y.data(), none);
  for (size_t i = 0; i < p.n; i += 37) {
    double raw = a.probe_bias, std_logit = beta[p.d];
    for (size_t j = 0; j < p.d; ++j) { raw += p.x[i * p.d + j] * a.probe[j]; std_logit += z[i * p.d + j] * beta[j]; }
    CHECK(raw == Approx(std_logit).margin(1e-3));
  }
  // Difference of means by hand.
  double s1 = 0, s0 = 0, n1 = 0;
  for (size_t i = 0; i < p.n; ++i) { (p.y[i] ? s1 : s0) += p.x[i * p.d]; n1 += p.y[i]; }
  CHECK(a.dom[0] == Approx(s1 / n1 - s0 / (double(p.n) - n1)).epsilon(1e-5));
}
