// Linear probes on one block of activations (one model x intervention x position x layer), as pure
// functions on a row-major float array x[n, d]: folds grouped by prompt and stratified by label, the
// paper's pipeline standardise -> PCA(k) -> L2 logistic regression (class-balanced) with out-of-fold
// probabilities, a difference-of-means baseline, and the directions fitted on all rows for steering.
// Doesn't: read archives (reducer), compute AUROC / CIs (metrics.h, stats.h). Torch stays in probe.cpp;
// callers set at::set_num_threads themselves.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tp {

struct ProbeOptions {
  int64_t pca_components = 100;  // k; 0 = no PCA (the logistic regression sees all d standardised columns)
  double c = 0.03;               // inverse L2 strength, sklearn's C (the intercept is not penalised)
  bool balanced = true;          // class_weight="balanced": weight n / (2 n_class), per training fold
  double tol = 1e-10;            // Newton stops when the largest gradient entry is below tol * (1 + C n)
  double eig_tol = 1e-6;         // PCA by subspace iteration (d > 512) stops at residual eig_tol x top eigenvalue
  bool directions = false;       // probe_oof also fits the pipeline on all rows (ProbeOof::directions)
};

// Fold of each row in [0, k), deterministic for (labels, groups, k, seed): rows with the same group id
// (prompt) share a fold, and each label is spread over the folds as evenly as the groups allow. Groups
// are shuffled with Rng(seed), stably ordered by size (largest first), and each goes greedily to the
// fold that minimises the squared distance of the folds' per-label counts from n_label / k (ties: the
// fold with fewer rows, then the lower index). Unlike sklearn's StratifiedGroupKFold it balances
// counts, not the spread of label proportions, and it never leaves a fold empty when there are at
// least k groups; with one row per group it is a stratified k-fold, but not sklearn's StratifiedKFold
// permutation, so comparisons with sklearn pass it these folds explicitly.
std::vector<int32_t> grouped_stratified_folds(const int8_t* labels, const uint64_t* groups, size_t n,
                                              int32_t k, uint64_t seed);

// Directions fitted on all rows, in raw activation space, for steering and for the archive:
// dom = mu1 - mu0; the probe's logit is x . probe + probe_bias (standardisation and PCA folded in).
struct ProbeDirections {
  std::vector<float> dom;    // [d]
  std::vector<float> probe;  // [d]
  double probe_bias = 0;
};

struct ProbeOof {
  std::vector<double> prob;       // [n] out-of-fold P(label 1) from the logistic probe
  std::vector<double> dom_score;  // [n] out-of-fold x . (mu1 - mu0), the direction from the training folds
  std::vector<double> fit_prob;   // [n_folds, n] fold f's probe applied to every row (in-sample on its training rows)
  std::vector<double> fit_dom;    // [n_folds, n] fold f's difference-of-means score of every row
  ProbeDirections directions;     // fitted on all n rows if opt.directions (else, or when a label is missing, empty)
};
// Out-of-fold scores. For each fold f the pipeline is fitted on the other folds and applied to f, as
// sklearn.model_selection.cross_val_predict(Pipeline([StandardScaler(), PCA(k, svd_solver="full"),
// LogisticRegression(C, class_weight)]), method="predict_proba") with those folds. A fold whose training
// part has a single label gets NaN scores. The per-fold sums and scatter matrices are computed once (one
// float32 ssyrk pass over all rows), a fold's training moments are "all minus the fold", and PCA is the
// top-k eigenvectors of the training correlation matrix: a full eigendecomposition for d <= 512, else
// Chebyshev-filtered block subspace iteration warm-started from the previous fold, to residual eig_tol.
// With opt.directions, the pipeline fitted on all rows gives `directions` (its scatter is the folds' sum).
// Exact PCA, where sklearn's PCA(k) with its default svd_solver="auto" picks a randomized SVD once
// max(n, d) > 500 (the authors' runs); the reference tests use svd_solver="full".
// Storage that probe_oof keeps between calls on blocks of the same shape (one layer after another): the
// fold-ordered copy and the scatter and correlation matrices, ~0.8 GB at n = 20,000, d = 4,096, which would
// otherwise be allocated and page-faulted in again for every layer. Optional; it carries no values from
// one call to the next that could change a result.
struct ProbeScratch {
  struct Buffers;
  std::shared_ptr<Buffers> buffers;
};
ProbeOof probe_oof(const float* x, size_t n, size_t d, const int8_t* labels, const int32_t* folds,
                   int32_t n_folds, const ProbeOptions& opt, ProbeScratch* scratch = nullptr);

// Tells glibc's malloc to keep freed memory for reuse rather than return it to the kernel (process-wide;
// call once before a sweep over layers): probe_oof's per-layer temporaries, tens of MB each, would
// otherwise be unmapped and page-faulted in again for every layer (~0.2 s of ~6 s per layer at
// n = 20,000, d = 4,096). The process keeps its peak heap until it exits.
void keep_freed_memory();

// The directions alone (probe_oof computes them too, from the scatter it already has).
ProbeDirections probe_directions(const float* x, size_t n, size_t d, const int8_t* labels,
                                 const ProbeOptions& opt);

// L2 logistic regression with an unpenalised intercept, solved by damped Newton in double:
// minimises 0.5 |w|^2 + C sum_i s_i log(1 + exp(-t_i (x_i . w + b))), t_i = +-1, s_i the class
// weights. x[n, k] row-major. Returns w (k entries) followed by b. Exposed for tests.
std::vector<double> logistic_fit(const double* x, size_t n, size_t k, const int8_t* labels,
                                 const ProbeOptions& opt);

}  // namespace tp
