// Probe fitting (see probe.h). The pipeline's first two steps only need the training rows' mean and
// scatter matrix, so each fold's scatter is computed once (float32 ssyrk on globally centred rows, every
// row in exactly one product) and a fold's training moments are "all minus the fold", the subtraction fused
// into the pass that builds the correlation matrix. Standardise + PCA then become an
// eigendecomposition of the training correlation matrix, and the logistic regression is a small
// Newton solve on the k projected columns. Doesn't: choose layers or positions, or compute metrics.
#include "reduce/probe.h"

#include <ATen/ATen.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "util/check.h"
#include "util/hash.h"

// Fortran BLAS (OpenBLAS under libtorch): C = alpha A A^T + beta C on one triangle, column-major.
extern "C" void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
                       const int* lda, const float* beta, float* c, const int* ldc);
extern "C" void ssymm_(const char* side, const char* uplo, const int* m, const int* n, const float* alpha, const float* a,
                       const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

namespace tp {

// ---------------------------------------------------------------------------------------------------
// Folds

std::vector<int32_t> grouped_stratified_folds(const int8_t* labels, const uint64_t* groups, size_t n,
                                              int32_t k, uint64_t seed) {
  TP_CHECK(k >= 1);
  struct Group { std::vector<size_t> rows; int64_t count[2] = {0, 0}; };
  std::vector<Group> gs;
  std::unordered_map<uint64_t, size_t> index;
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = index.emplace(groups[i], gs.size());
    if (inserted) gs.emplace_back();
    gs[it->second].rows.push_back(i);
    gs[it->second].count[labels[i] != 0]++;
  }
  Rng rng(seed);
  for (size_t i = gs.size(); i > 1; --i) std::swap(gs[i - 1], gs[rng.below(i)]);  // Fisher-Yates
  std::stable_sort(gs.begin(), gs.end(), [](const Group& a, const Group& b) { return a.rows.size() > b.rows.size(); });

  double target[2] = {0, 0};
  for (const Group& g : gs) { target[0] += double(g.count[0]) / k; target[1] += double(g.count[1]) / k; }
  std::vector<std::array<int64_t, 2>> fold_count(static_cast<size_t>(k), std::array<int64_t, 2>{0, 0});
  std::vector<int32_t> fold(n, 0);
  for (const Group& g : gs) {
    int32_t best = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    int64_t best_size = 0;
    for (int32_t f = 0; f < k; ++f) {
      double cost = 0;
      for (int c = 0; c < 2; ++c) {
        double dev = double(fold_count[f][c] + g.count[c]) - target[c];
        cost += dev * dev;
      }
      for (int32_t h = 0; h < k; ++h)  // the other folds' deviations stay as they are
        if (h != f)
          for (int c = 0; c < 2; ++c) cost += std::pow(double(fold_count[h][c]) - target[c], 2);
      int64_t size = fold_count[f][0] + fold_count[f][1];
      if (cost < best_cost - 1e-9 || (std::abs(cost - best_cost) <= 1e-9 && size < best_size)) {
        best = f; best_cost = cost; best_size = size;
      }
    }
    fold_count[best][0] += g.count[0];
    fold_count[best][1] += g.count[1];
    for (size_t i : g.rows) fold[i] = best;
  }
  return fold;
}

// ---------------------------------------------------------------------------------------------------
// Logistic regression

std::vector<double> logistic_fit(const double* x, size_t n, size_t k, const int8_t* labels,
                                 const ProbeOptions& opt) {
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  at::Tensor X = at::empty({int64_t(n), int64_t(k) + 1}, f64);
  X.narrow(1, 0, int64_t(k)).copy_(at::from_blob(const_cast<double*>(x), {int64_t(n), int64_t(k)}, f64));
  X.select(1, int64_t(k)).fill_(1.0);
  at::Tensor y = at::empty({int64_t(n)}, f64);
  double n_class[2] = {0, 0};
  double* yp = y.data_ptr<double>();
  for (size_t i = 0; i < n; ++i) { yp[i] = double(labels[i] != 0); n_class[labels[i] != 0] += 1; }
  TP_CHECK_MSG(n_class[0] > 0 && n_class[1] > 0, "logistic_fit needs both labels ({} / {})", n_class[0], n_class[1]);
  double w_class[2] = {1.0, 1.0};
  if (opt.balanced) for (int c = 0; c < 2; ++c) w_class[c] = double(n) / (2.0 * n_class[c]);
  at::Tensor sw = y * (w_class[1] - w_class[0]) + w_class[0];
  at::Tensor pen = at::ones({int64_t(k) + 1}, f64);
  pen[int64_t(k)] = 0.0;  // the intercept is not penalised

  auto objective = [&](const at::Tensor& beta) {
    at::Tensor z = at::mv(X, beta);
    at::Tensor nll = at::clamp_min(z, 0) + at::log1p(at::exp(-z.abs())) - y * z;  // log(1+e^z) - y z
    return 0.5 * (pen * beta * beta).sum().item<double>() + opt.c * (sw * nll).sum().item<double>();
  };
  at::Tensor beta = at::zeros({int64_t(k) + 1}, f64);
  const double gtol = opt.tol * (1.0 + opt.c * sw.sum().item<double>());
  double obj = objective(beta);
  for (int iter = 0; iter < 200; ++iter) {
    at::Tensor p = at::sigmoid(at::mv(X, beta));
    at::Tensor g = pen * beta + opt.c * at::mv(X.t(), sw * (p - y));
    if (g.abs().max().item<double>() < gtol) break;
    at::Tensor h = at::mm(X.t(), X * (opt.c * sw * p * (1 - p)).unsqueeze(1)) + at::diag(pen);
    at::Tensor step = at::linalg_solve(h, g);
    const double decrease = (g * step).sum().item<double>();
    double t = 1.0, next = objective(beta - step);
    while (next > obj - 1e-4 * t * decrease && t > 1e-12) { t *= 0.5; next = objective(beta - t * step); }
    if (!(next < obj)) break;  // no further progress in double precision
    beta = beta - t * step;
    obj = next;
  }
  return std::vector<double>(beta.data_ptr<double>(), beta.data_ptr<double>() + k + 1);
}

// ---------------------------------------------------------------------------------------------------
// Standardise + PCA from training moments

namespace {

struct Moments {
  int64_t n = 0;
  at::Tensor sum;      // [d] double, of the centred rows
  at::Tensor sum1;     // [d] double, of the centred rows labelled 1
  int64_t n1 = 0;
  at::Tensor scatter;  // [d, d] float, X^T X of the centred rows (lower triangle), less scatter_sub
  at::Tensor scatter_sub;  // undefined, or [d, d] float: minus() leaves the difference to the correlation pass
};

// Moments of rows xf [m, d] (centred) with labels y [m] as float 0/1; the scatter goes to `scatter`
// [d, d], whose other triangle must be zero (ssyrk never writes it, so a reused buffer stays so).
Moments moments_of(const at::Tensor& xf, const at::Tensor& y, const at::Tensor& scatter) {
  Moments m;
  m.n = xf.size(0);
  m.n1 = int64_t(y.sum().item<double>());
  m.sum = xf.sum(0).to(at::kDouble);  // float cascade sums of centred rows
  m.sum1 = at::mv(xf.t(), y).to(at::kDouble);
  // X^T X as a symmetric rank-m update (BLAS ssyrk, half the flops of a full product). Only the lower
  // triangle (row-major) is filled: every later use reads that triangle (ssymm, eigh's default).
  const int64_t d = xf.size(1);
  TP_CHECK(scatter.size(0) == d && scatter.size(1) == d && scatter.is_contiguous());
  m.scatter = scatter;
  at::Tensor xs = xf.contiguous();
  const int n_ = int(d), k_ = int(m.n), ld = int(d);
  const float one = 1.0f, zero = 0.0f;
  if (k_ > 0) ssyrk_("U", "N", &n_, &k_, &one, xs.data_ptr<float>(), &ld, &zero, m.scatter.data_ptr<float>(), &ld);
  else m.scatter.zero_();  // a reused buffer holds the previous block's
  return m;
}

Moments minus(const Moments& a, const Moments& b) {
  TP_CHECK(!a.scatter_sub.defined() && !b.scatter_sub.defined());
  return {a.n - b.n, a.sum - b.sum, a.sum1 - b.sum1, a.n1 - b.n1, a.scatter, b.scatter};
}

// State carried between one block's PCA fits: the eigenvector block that warm-starts the next fold, and
// the correlation matrix's storage (64 MB at d = 4096), reused rather than allocated (and faulted in) per fold.
struct EigWork {
  at::Tensor warm;  // [d, l] float
  at::Tensor corr;  // [d, d] float
};

}  // namespace

struct ProbeScratch::Buffers {
  std::vector<at::Tensor> slots;
};

namespace {

// A float tensor of this shape: scratch slot i when it has that shape (its old contents kept), else a new
// zero-filled one, stored in slot i when there is a scratch.
at::Tensor scratch_tensor(ProbeScratch* scratch, size_t i, at::IntArrayRef shape) {
  if (!scratch) return at::zeros(shape, at::kFloat);
  if (!scratch->buffers) scratch->buffers = std::make_shared<ProbeScratch::Buffers>();
  std::vector<at::Tensor>& slots = scratch->buffers->slots;
  if (slots.size() <= i) slots.resize(i + 1);
  if (!slots[i].defined() || slots[i].sizes() != shape) slots[i] = at::zeros(shape, at::kFloat);
  return slots[i];
}

// The linear map of StandardScaler + PCA(k) fitted on rows with moments m: features = xc @ w - offset.
struct Projection {
  at::Tensor w;       // [d, k] double
  at::Tensor offset;  // [k] double
};

// a q for a symmetric float a [d, d] of which only the row-major lower triangle is valid; q [d, l].
at::Tensor sym_mm(const at::Tensor& a, const at::Tensor& q) {
  at::Tensor b = q.contiguous(), c = at::empty_like(b);
  const int l = int(b.size(1)), d = int(b.size(0));
  const float one = 1.0f, zero = 0.0f;  // column-major: c^T = b^T a, a's upper triangle
  ssymm_("R", "U", &l, &d, &one, a.data_ptr<float>(), &d, b.data_ptr<float>(), &l, &zero, c.data_ptr<float>(), &l);
  return c;
}

// Top-k eigenvectors (descending, double) of a symmetric PSD float matrix a [d, d] (lower triangle). Small or large-k
// problems use a full eigendecomposition in double; otherwise block subspace iteration in float with a
// double Rayleigh-Ritz on l = k + k/2 + 10 vectors, started from *warm (the previous fold's block, which
// differs from this one by a sampling perturbation) or a seeded random block, Chebyshev-filtered between
// Rayleigh-Ritz steps, until every top-k Ritz pair's residual is below tol of the largest eigenvalue, or
// float rounding stops it falling. The warm block is updated for the next call.
at::Tensor top_eigenvectors(const at::Tensor& a, int64_t k, double tol, at::Tensor* warm) {
  const int64_t d = a.size(0), l = std::min(d, k + k / 2 + 10);
  if (d <= 512 || 4 * l > d) {
    at::Tensor vecs = std::get<1>(at::linalg_eigh(a.to(at::kDouble)));  // ascending eigenvalues
    return vecs.narrow(1, d - k, k).flip({1});
  }
  at::Tensor q;
  if (warm && warm->defined() && warm->size(0) == d && warm->size(1) == l) {
    q = *warm;
  } else {
    Rng rng(0x5eed);
    q = at::empty({d, l}, at::kFloat);
    float* p = q.data_ptr<float>();
    for (int64_t i = 0; i < d * l; ++i) p[i] = float(rng.uniform() - 0.5);
    q = std::get<0>(at::linalg_qr(q));
  }
  double last = std::numeric_limits<double>::infinity();
  at::Tensor v;
  for (int iter = 0; iter < 1000; ++iter) {
    at::Tensor y = sym_mm(a, q);                                                  // [d, l]
    auto [theta, s] = at::linalg_eigh(at::mm(q.t(), y).to(at::kDouble));          // Rayleigh-Ritz, ascending
    s = s.flip({1}).to(at::kFloat);
    theta = theta.flip({0});
    v = at::mm(q, s);
    at::Tensor av = at::mm(y, s);
    at::Tensor resid = (av - v * theta.to(at::kFloat).unsqueeze(0)).narrow(1, 0, k).norm(2, {0});
    const double r = resid.max().item<double>() / theta[0].item<double>();
    if (r <= tol || r > 0.9 * last) break;  // converged, or at the float rounding floor
    last = r;
    // Next block: a Chebyshev filter T_m((A - e) / e) on the unwanted interval [0, theta_l] applied to the
    // Ritz vectors (A v is at hand, so m - 1 more products). Against that interval it grows the slowest
    // wanted eigenvalue, theta_k = (1 + x) e, T_m(x) times: for theta_k = 1.6 theta_l, T_3 = 36 against the
    // plain iteration's (1.6)^3 = 4 for the same three products. m is 3 (higher degrees lose the wanted
    // directions to float rounding next to the top eigenvalues, ~100x larger), or the lowest degree whose
    // T_1 = x or T_2 = 2x^2 - 1 already takes the residual to tol: a cheaper last step.
    const double e = std::max(theta[l - 1].item<double>(), 1e-4 * theta[0].item<double>()) / 2;
    const double x = theta[k - 1].item<double>() / e - 1;
    const int degree = r <= tol * x ? 1 : r <= tol * (2 * x * x - 1) ? 2 : 3;
    at::Tensor t0 = v, t1 = (av - v * float(e)) * float(1 / e);
    for (int j = 2; j <= degree; ++j) {
      at::Tensor t2 = (sym_mm(a, t1) - t1 * float(e)) * float(2 / e) - t0;
      t0 = t1;
      t1 = t2;
    }
    q = std::get<0>(at::linalg_qr(t1));
  }
  if (warm) *warm = v;
  return v.narrow(1, 0, k).to(at::kDouble);
}

Projection fit_projection(const Moments& m, int64_t k, double tol, EigWork& work) {
  at::Tensor mean = m.sum / double(m.n);
  at::Tensor diag = m.scatter.diagonal().to(at::kDouble);
  if (m.scatter_sub.defined()) diag -= m.scatter_sub.diagonal().to(at::kDouble);
  at::Tensor var = (diag / double(m.n) - mean * mean).clamp_min(0);
  // StandardScaler leaves (near-)constant columns unscaled; "near" relative to the typical variance.
  const double tiny = 1e-12 * std::max(var.mean().item<double>(), 1e-300);
  at::Tensor scale = at::where(var > tiny, var.sqrt(), at::ones_like(var));
  at::Tensor inv = 1.0 / scale;
  if (k == 0) return {at::diag(inv), mean * inv};
  // The training correlation matrix (S / n - mean mean^T) / (scale scale^T), S = scatter - scatter_sub in
  // float, the rest in double, stored as float: one pass over the lower triangle (the upper is zeroed).
  const int64_t d = m.scatter.size(0);
  if (!work.corr.defined() || work.corr.size(0) != d) work.corr = at::empty({d, d}, at::kFloat);
  at::Tensor& corr = work.corr;
  at::Tensor mean_c = mean.contiguous(), inv_c = inv.contiguous();
  const double *mu = mean_c.data_ptr<double>(), *iv = inv_c.data_ptr<double>(), inv_n = 1.0 / double(m.n);
  const float* s = m.scatter.data_ptr<float>();
  const float* b = m.scatter_sub.defined() ? m.scatter_sub.data_ptr<float>() : nullptr;
  float* c = corr.data_ptr<float>();
  for (int64_t i = 0; i < d; ++i) {
    const float *si = s + i * d, *bi = b ? b + i * d : nullptr;
    float* ci = c + i * d;
    const double ai = iv[i] * inv_n, mi = mu[i] * iv[i];
    for (int64_t j = 0; j <= i; ++j) {
      const float sij = bi ? si[j] - bi[j] : si[j];
      ci[j] = float(double(sij) * ai * iv[j] - mi * mu[j] * iv[j]);
    }
    std::fill(ci + i + 1, ci + d, 0.0f);
  }
  at::Tensor w = top_eigenvectors(corr, k, tol, &work.warm) * inv.unsqueeze(1);
  return {w, at::mv(w.t(), mean)};
}

at::Tensor features(const at::Tensor& xc, const Projection& p) {
  return at::mm(xc, p.w.to(at::kFloat)).to(at::kDouble) - p.offset;
}

void check_k(int64_t k, size_t d) {
  if (k < 0 || size_t(k) > d)
    throw Error("reduce.pca_components: " + std::to_string(k) + " components but the activations have " +
                    std::to_string(d) + " columns",
                "set reduce.pca_components to at most the hidden size, or 0 for no PCA");
}

// The pipeline fitted on all rows with moments m (xc: those rows, centred by center; labels in xc's
// row order), as raw-space directions.
ProbeDirections directions_of(const Moments& m, const at::Tensor& xc, const at::Tensor& center, const int8_t* labels,
                              const ProbeOptions& opt, EigWork& work) {
  at::Tensor dom = m.sum1 / double(m.n1) - (m.sum - m.sum1) / double(m.n - m.n1);
  Projection p = fit_projection(m, opt.pca_components, opt.eig_tol, work);
  at::Tensor f = features(xc, p).contiguous();
  std::vector<double> beta = logistic_fit(f.data_ptr<double>(), size_t(m.n), size_t(f.size(1)), labels, opt);
  at::Tensor coef = at::from_blob(beta.data(), {f.size(1)}, at::kDouble);
  at::Tensor w_raw = at::mv(p.w, coef);  // logit = (x - center) w_raw - offset . coef + b
  ProbeDirections out;
  at::Tensor dom_f = dom.to(at::kFloat).contiguous(), w_f = w_raw.to(at::kFloat).contiguous();
  out.dom.assign(dom_f.data_ptr<float>(), dom_f.data_ptr<float>() + dom_f.numel());
  out.probe.assign(w_f.data_ptr<float>(), w_f.data_ptr<float>() + w_f.numel());
  out.probe_bias = beta.back() - at::dot(p.offset, coef).item<double>() - at::dot(center, w_raw).item<double>();
  return out;
}

}  // namespace

ProbeOof probe_oof(const float* x, size_t n, size_t d, const int8_t* labels, const int32_t* folds,
                   int32_t n_folds, const ProbeOptions& opt, ProbeScratch* scratch) {
  check_k(opt.pca_components, d);
  const double NaN = std::numeric_limits<double>::quiet_NaN();
  ProbeOof out{std::vector<double>(n, NaN), std::vector<double>(n, NaN),
               std::vector<double>(size_t(n_folds) * n, NaN), std::vector<double>(size_t(n_folds) * n, NaN), {}};
  // Rows ordered by fold and centred, in one copy: each fold is then a contiguous slice [start, end).
  std::vector<int64_t> perm, start(size_t(n_folds) + 1, 0);
  for (int32_t f = 0; f < n_folds; ++f) {
    start[size_t(f)] = int64_t(perm.size());
    for (size_t i = 0; i < n; ++i) {
      TP_CHECK(folds[i] >= 0 && folds[i] < n_folds);
      if (folds[i] == f) perm.push_back(int64_t(i));
    }
  }
  start[size_t(n_folds)] = int64_t(n);
  at::Tensor xr = at::from_blob(const_cast<float*>(x), {int64_t(n), int64_t(d)}, at::kFloat);
  at::Tensor center = xr.sum(0).to(at::kDouble) / double(std::max<size_t>(n, 1));
  // Scratch slots: 0 the fold-ordered copy, 1 the correlation matrix, 2 all rows' scatter, 3.. the folds'.
  const int64_t dd = int64_t(d);
  at::Tensor xc = scratch_tensor(scratch, 0, {int64_t(n), dd}), center_f = center.to(at::kFloat);
  const float* cf = center_f.data_ptr<float>();
  for (size_t j = 0; j < n; ++j) {  // gather and centre in one pass
    const float* src = x + size_t(perm[j]) * d;
    float* dst = xc.data_ptr<float>() + j * d;
    for (size_t c = 0; c < d; ++c) dst[c] = src[c] - cf[c];
  }
  std::vector<int8_t> lab(n);
  at::Tensor yf = at::empty({int64_t(n)}, at::kFloat);
  for (size_t j = 0; j < n; ++j) { lab[j] = labels[perm[j]] != 0; yf.data_ptr<float>()[j] = lab[j]; }
  auto slice = [&](const at::Tensor& t, int32_t f) { return t.narrow(0, start[size_t(f)], start[size_t(f) + 1] - start[size_t(f)]); };

  std::vector<Moments> fold_m;
  for (int32_t f = 0; f < n_folds; ++f)
    fold_m.push_back(moments_of(slice(xc, f), slice(yf, f), scratch_tensor(scratch, 3 + size_t(f), {dd, dd})));
  Moments all = fold_m[0];
  all.scatter = scratch_tensor(scratch, 2, {dd, dd}).copy_(all.scatter);  // summed in place below
  for (size_t f = 1; f < fold_m.size(); ++f) {
    all.n += fold_m[f].n;
    all.n1 += fold_m[f].n1;
    all.sum = all.sum + fold_m[f].sum;
    all.sum1 = all.sum1 + fold_m[f].sum1;
    all.scatter.add_(fold_m[f].scatter);
  }

  // Each fold's fitted maps first (the PCA is most of the time), then every row projected on all folds'
  // maps in one product xc @ [w_0 dom_0 w_1 dom_1 ...], then each fold's logistic regression.
  EigWork work;  // eigenvector block carried from fold to fold, correlation matrix storage
  if (opt.pca_components > 0) work.corr = scratch_tensor(scratch, 1, {dd, dd});
  std::vector<int32_t> fitted;
  std::vector<Projection> proj;
  std::vector<at::Tensor> cols;  // [d, k + 1] float per fitted fold: w, then the difference of means
  std::vector<double> dom_shift;  // center . dom: the difference-of-means score of raw x is xc . dom + this
  for (int32_t f = 0; f < n_folds; ++f) {
    Moments tr = minus(all, fold_m[size_t(f)]);
    if (start[size_t(f) + 1] == start[size_t(f)] || tr.n1 == 0 || tr.n1 == tr.n) continue;  // NaN: one label in training
    at::Tensor dom = tr.sum1 / double(tr.n1) - (tr.sum - tr.sum1) / double(tr.n - tr.n1);  // of the training rows
    proj.push_back(fit_projection(tr, opt.pca_components, opt.eig_tol, work));
    cols.push_back(at::cat({proj.back().w, dom.unsqueeze(1)}, 1).to(at::kFloat));
    dom_shift.push_back(at::dot(center, dom).item<double>());
    fitted.push_back(f);
  }
  if (!opt.directions) all = {};  // the scatter matrices are done with
  fold_m.clear();
  at::Tensor all_feats = fitted.empty() ? at::Tensor() : at::mm(xc, at::cat(cols, 1));  // [n, fitted x (k + 1)]
  for (size_t i = 0; i < fitted.size(); ++i) {
    const int32_t f = fitted[i];
    const int64_t lo = start[size_t(f)], hi = start[size_t(f) + 1], kf = cols[i].size(1) - 1;
    at::Tensor block = all_feats.narrow(1, int64_t(i) * (kf + 1), kf + 1).to(at::kDouble);
    at::Tensor s_dom = (block.select(1, kf) + dom_shift[i]).contiguous();  // [n]
    at::Tensor feats = block.narrow(1, 0, kf).sub_(proj[i].offset);                 // [n, k]
    at::Tensor f_tr = at::cat({feats.narrow(0, 0, lo), feats.narrow(0, hi, int64_t(n) - hi)}).contiguous();
    std::vector<int8_t> lab_tr(lab.begin(), lab.begin() + lo);
    lab_tr.insert(lab_tr.end(), lab.begin() + hi, lab.end());
    std::vector<double> beta = logistic_fit(f_tr.data_ptr<double>(), lab_tr.size(), size_t(kf), lab_tr.data(), opt);
    at::Tensor coef = at::from_blob(beta.data(), {kf}, at::kDouble);
    at::Tensor prob = at::sigmoid(at::mv(feats, coef) + beta.back()).contiguous();  // [n]
    const double *pp = prob.data_ptr<double>(), *pd = s_dom.data_ptr<double>();
    for (size_t j = 0; j < n; ++j) {
      const size_t row = size_t(perm[j]);
      out.fit_prob[size_t(f) * n + row] = pp[j];
      out.fit_dom[size_t(f) * n + row] = pd[j];
      if (int64_t(j) >= lo && int64_t(j) < hi) { out.prob[row] = pp[j]; out.dom_score[row] = pd[j]; }
    }
  }
  if (opt.directions && all.n1 > 0 && all.n1 < all.n) out.directions = directions_of(all, xc, center, lab.data(), opt, work);
  return out;
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // blocks up to 1 GB from the heap, not mmap (which munmap frees)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and the heap's free top kept up to 1 GB
}

ProbeDirections probe_directions(const float* x, size_t n, size_t d, const int8_t* labels,
                                 const ProbeOptions& opt) {
  check_k(opt.pca_components, d);
  at::Tensor xr = at::from_blob(const_cast<float*>(x), {int64_t(n), int64_t(d)}, at::kFloat);
  at::Tensor center = xr.sum(0).to(at::kDouble) / double(std::max<size_t>(n, 1));
  at::Tensor xc = xr - center.to(at::kFloat);
  at::Tensor yf = at::empty({int64_t(n)}, at::kFloat);
  for (size_t i = 0; i < n; ++i) yf.data_ptr<float>()[i] = labels[i] != 0;
  Moments m = moments_of(xc, yf, at::zeros({int64_t(d), int64_t(d)}, at::kFloat));
  TP_CHECK_MSG(m.n1 > 0 && m.n1 < m.n, "probe_directions needs both labels");
  EigWork work;
  return directions_of(m, xc, center, labels, opt, work);
}

}  // namespace tp
