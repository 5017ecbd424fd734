// The bf16 small-M GEMM behind linear_infer() (see cpu_gemv.h). One tile = 4 weight rows x up to 4 tokens:
// 16 float32 accumulators fed by _mm512_dpbf16_ps over 32 bf16 of K per step, the K tail by masked loads,
// the weight stream prefetched one tile ahead. Rows split over at::parallel_for. Compiled for AVX-512 BF16
// by a target attribute (no per-file flags); __builtin_cpu_supports chooses it at run time.
#include "model/cpu_gemv.h"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "util/check.h"

namespace tp {

// GCC 12 warns on the _mm512_undefined_*() inside the unpack/extract intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#define TP_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

// y[m0..m0+RM, n0..n0+4) = x[m0.., :] · w[n0.., :]ᵀ + bias, rounded to bf16 (Y = uint16_t: its bits; Y = float:
// its value). Rows past N repeat row N-1 (results dropped).
template <int RM, typename Y>
TP_AVX512_BF16 static void gemv_tile(const uint16_t* x, const uint16_t* w, const float* bias, Y* y,
                                     int64_t m0, int64_t n0, int64_t N, int64_t K) {
  const uint16_t* wr[4];
  for (int r = 0; r < 4; ++r) wr[r] = w + std::min(n0 + r, N - 1) * K;
  const int64_t prefetch = 4 * K;  // the same row of the next tile
  __m512 acc[RM][4];
  for (int m = 0; m < RM; ++m)
    for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh wv[4];
    for (int r = 0; r < 4; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(wr[r] + k + prefetch), _MM_HINT_T0);
      wv[r] = (__m512bh)_mm512_loadu_si512(wr[r] + k);
    }
    for (int m = 0; m < RM; ++m) {
      __m512bh xv = (__m512bh)_mm512_loadu_si512(x + (m0 + m) * K + k);
      for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], xv, wv[r]);
    }
  }
  if (k < K) {  // tail: zeros past K contribute nothing
    const __mmask32 mask = __mmask32((1ull << (K - k)) - 1);
    __m512bh wv[4];
    for (int r = 0; r < 4; ++r) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[r] + k);
    for (int m = 0; m < RM; ++m) {
      __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x + (m0 + m) * K + k);
      for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], xv, wv[r]);
    }
  }
  for (int m = 0; m < RM; ++m) {  // 4 accumulators -> the 4 row sums, then bias and rounding to bf16
    __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(acc[m][0], acc[m][1]), _mm512_unpackhi_ps(acc[m][0], acc[m][1]));
    __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(acc[m][2], acc[m][3]), _mm512_unpackhi_ps(acc[m][2], acc[m][3]));
    __m512 u = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), _mm512_extractf32x8_ps(u, 1));
    alignas(16) float s[4];
    _mm_store_ps(s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    for (int r = 0; r < 4 && n0 + r < N; ++r) {
      const c10::BFloat16 v(s[r] + (bias ? bias[n0 + r] : 0.f));
      y[(m0 + m) * N + n0 + r] = std::is_same_v<Y, float> ? Y(float(v)) : Y(v.x);
    }
  }
}

bool cpu_gemv_available() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                         __builtin_cpu_supports("avx512bf16");
  return ok;
}

template <typename Y>
static void gemv_all(const uint16_t* xp, const uint16_t* wp, const float* bp, Y* yp, int64_t M, int64_t N, int64_t K) {
  at::parallel_for(0, (N + 3) / 4, /*grain_size=*/16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t m0 = 0; m0 < M; m0 += 4) {
        switch (std::min<int64_t>(4, M - m0)) {
          case 4: gemv_tile<4>(xp, wp, bp, yp, m0, 4 * t, N, K); break;
          case 3: gemv_tile<3>(xp, wp, bp, yp, m0, 4 * t, N, K); break;
          case 2: gemv_tile<2>(xp, wp, bp, yp, m0, 4 * t, N, K); break;
          default: gemv_tile<1>(xp, wp, bp, yp, m0, 4 * t, N, K);
        }
      }
  });
}

at::Tensor cpu_gemv_bf16(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& b, bool float_out) {
  TP_CHECK(cpu_gemv_available());
  TORCH_CHECK(x_in.dim() == 2 && w_in.dim() == 2 && x_in.size(1) == w_in.size(1) && w_in.size(1) > 0, "cpu_gemv_bf16: shapes");
  TORCH_CHECK(x_in.scalar_type() == at::kBFloat16 && w_in.scalar_type() == at::kBFloat16 && x_in.is_cpu() && w_in.is_cpu());
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const at::Tensor bias = b.defined() ? b.to(at::kFloat).contiguous() : at::Tensor();
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  at::Tensor y = at::empty({M, N}, x.options().dtype(float_out ? at::kFloat : at::kBFloat16));
  if (M == 0 || N == 0) return y;
  auto xp = static_cast<const uint16_t*>(x.data_ptr()), wp = static_cast<const uint16_t*>(w.data_ptr());
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  if (float_out) gemv_all(xp, wp, bp, y.data_ptr<float>(), M, N, K);
  else gemv_all(xp, wp, bp, static_cast<uint16_t*>(y.data_ptr()), M, N, K);
  return y;
}

at::Tensor linear_infer(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, bool float_out) {
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  const int64_t K = x.size(-1), M = K > 0 ? x.numel() / K : 0;
  if (grad || K == 0 || !x.is_cpu() || x.scalar_type() != at::kBFloat16 || w.scalar_type() != at::kBFloat16 || w.dim() != 2 ||
      M > kGemvMaxRows || !cpu_gemv_available())
    return float_out ? at::linear(x, w, b).to(at::kFloat) : at::linear(x, w, b);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  return cpu_gemv_bf16(x.reshape({M, K}), w, b, float_out).view(shape);
}

}  // namespace tp
