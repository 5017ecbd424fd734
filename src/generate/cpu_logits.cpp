// Logit statistics per row (see cpu_logits.h). Pass 1: max and first argmax, 16 lanes each keeping its own
// first maximum. Pass 2: S = Σ e^(l-m) and U = Σ e^(l-m)·(l-m), float32 lanes flushed to double every 1,024
// logits; then lse = m + log S and entropy = log S - U/S. exp is a Cephes-style polynomial with 2^n applied
// by scalef (about 1 ulp). Rows split by at::parallel_for.
#include "generate/cpu_logits.h"

#include <immintrin.h>

#include <climits>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "util/check.h"

namespace tp {

// GCC 12 warns on the _mm512_undefined_*() inside the reduce intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define TP_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

// exp(x) for x <= 0; exactly 0 below -87.3 (where float32 exp underflows) and at -inf.
TP_AVX512 static inline __m512 exp_nonpos(__m512 x, __mmask16* live) {
  *live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_GE_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);  // x - n ln2, ln2 in two parts
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  for (float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_scalef_ps(*live, p, n);
}

TP_AVX512 static void row_stats(const float* l, int64_t V, int64_t* arg, double* lse, double* entropy) {
  const int64_t V16 = V / 16 * 16;
  // pass 1: max and its first index
  float m = -std::numeric_limits<float>::infinity();
  int64_t best = 0;
  if (V16 > 0) {
    __m512 bv = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512i bi = _mm512_setzero_si512(), idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t j = 0; j < V16; j += 16, idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16))) {
      const __m512 v = _mm512_loadu_ps(l + j);
      const __mmask16 gt = _mm512_cmp_ps_mask(v, bv, _CMP_GT_OQ);
      bv = _mm512_mask_mov_ps(bv, gt, v);
      bi = _mm512_mask_mov_epi32(bi, gt, idx);
    }
    m = _mm512_reduce_max_ps(bv);
    const __mmask16 at_max = _mm512_cmp_ps_mask(bv, _mm512_set1_ps(m), _CMP_EQ_OQ);
    best = _mm512_reduce_min_epi32(_mm512_mask_mov_epi32(_mm512_set1_epi32(INT_MAX), at_max, bi));
  }
  for (int64_t j = V16; j < V; ++j)
    if (l[j] > m) m = l[j], best = j;
  // pass 2: S and U relative to the max
  double S = 0, U = 0;
  const __m512 mv = _mm512_set1_ps(m);
  for (int64_t j0 = 0; j0 < V16; j0 += 1024) {
    __m512 s = _mm512_setzero_ps(), u = _mm512_setzero_ps();
    for (int64_t j = j0; j < std::min(V16, j0 + 1024); j += 16) {
      const __m512 x = _mm512_sub_ps(_mm512_loadu_ps(l + j), mv);
      __mmask16 live;
      const __m512 e = exp_nonpos(x, &live);
      s = _mm512_add_ps(s, e);
      u = _mm512_add_ps(u, _mm512_maskz_mul_ps(live, e, x));
    }
    S += double(_mm512_reduce_add_ps(s)), U += double(_mm512_reduce_add_ps(u));
  }
  for (int64_t j = V16; j < V; ++j) {
    const double x = double(l[j]) - double(m), e = std::exp(x);
    if (e > 0) S += e, U += e * x;
  }
  *arg = best;
  *lse = double(m) + std::log(S);
  *entropy = std::log(S) - U / S;
}

bool cpu_logit_stats_applies(const at::Tensor& logits) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return avx512 && logits.is_cpu() && logits.scalar_type() == at::kFloat && logits.dim() == 2 && logits.size(1) > 0;
}

LogitStats cpu_logit_stats(const at::Tensor& logits_in) {
  TP_CHECK(cpu_logit_stats_applies(logits_in));
  const at::Tensor logits = logits_in.contiguous();
  const int64_t B = logits.size(0), V = logits.size(1);
  LogitStats st{std::vector<int64_t>(B), std::vector<double>(B), std::vector<double>(B)};
  const float* p = logits.data_ptr<float>();
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) row_stats(p + b * V, V, &st.argmax[b], &st.lse[b], &st.entropy[b]);
  });
  return st;
}

}  // namespace tp
