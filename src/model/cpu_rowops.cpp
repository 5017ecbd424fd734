// RMSNorm and RoPE over bf16 rows on CPU (see cpu_rowops.h): plain loops over float32 values, rows split by
// at::parallel_for in chunks of at least 32k elements (ATen's grain), so a decode step's few rows stay on one
// thread. The sum of squares adds in the order of ATen's vectorised sum, so that outputs equal the ATen path's
// bit for bit where ATen runs its AVX2 kernels (Debian's libtorch 1.13 here); elsewhere they may differ by
// float32 rounding of the statistics.
#include "model/cpu_rowops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace tp {

using bf16 = c10::BFloat16;

// c10::BFloat16(f) without its branch, so that loops over it vectorise: round to nearest even, NaN -> 0x7FC0.
static inline bf16 round_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint16_t r = uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
  return bf16(std::isnan(f) ? uint16_t(0x7FC0) : r, bf16::from_bits());
}

// Compiled for AVX-512 and for any x86-64, chosen when the program loads.
#define TP_CLONES __attribute__((target_clones("avx512f", "default")))

bool cpu_rowops_apply(const at::Tensor& x, const at::Tensor& w) {
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || (w.defined() && w.requires_grad()));
  return !grad && x.is_cpu() && x.scalar_type() == at::kBFloat16;
}

// Σ x[i]² in the order of ATen 1.13's sum over a contiguous row (aten/src/ATen/native/cpu/SumKernel.cpp:
// vectorized_inner_sum -> row_sum -> multi_row_sum, with 8-lane vectors): vector v holds x[8v .. 8v+8); four
// interleaved accumulator rows (vector 4i + k feeds row k) each summed in blocks of 16 and cascaded; the rows
// added in order, then the scalar tail, then the 8 lanes.
TP_CLONES static float sum_squares(const bf16* x, int64_t C) {
  constexpr int W = 8, ILP = 4, STEP = 16;
  if (C < W) {  // scalar_inner_sum: the same cascade over single values
    float acc[ILP] = {0};
    int64_t i = 0;
    for (; i + ILP <= C; i += ILP)
      for (int k = 0; k < ILP; ++k) acc[k] += float(x[i + k]) * float(x[i + k]);
    for (; i < C; ++i) acc[0] += float(x[i]) * float(x[i]);
    return ((acc[0] + acc[1]) + acc[2]) + acc[3];
  }
  const int64_t nvec = C / W, n_ilp = nvec / ILP;
  auto sq = [&](int64_t v, int l) { return float(x[v * W + l]) * float(x[v * W + l]); };
  float rows[ILP][W];
  for (int k = 0; k < ILP; ++k) {  // multi_row_sum: 4 cascade levels, one more every 16 blocks of the level below
    float acc[4][W] = {};
    int64_t i = 0;
    while (i + STEP <= n_ilp) {
      for (int64_t j = 0; j < STEP; ++j, ++i)
        for (int l = 0; l < W; ++l) acc[0][l] += sq(ILP * i + k, l);
      for (int lv = 1; lv < 4; ++lv) {
        for (int l = 0; l < W; ++l) acc[lv][l] += acc[lv - 1][l], acc[lv - 1][l] = 0;
        if ((i & (int64_t(STEP - 1) << (4 * lv))) != 0) break;
      }
    }
    for (; i < n_ilp; ++i)
      for (int l = 0; l < W; ++l) acc[0][l] += sq(ILP * i + k, l);
    for (int l = 0; l < W; ++l) rows[k][l] = ((acc[0][l] + acc[1][l]) + acc[2][l]) + acc[3][l];
  }
  float lane[W], total = 0;
  for (int l = 0; l < W; ++l) {
    lane[l] = rows[0][l];
    for (int64_t v = n_ilp * ILP; v < nvec; ++v) lane[l] += sq(v, l);
    lane[l] = ((lane[l] + rows[1][l]) + rows[2][l]) + rows[3][l];
  }
  for (int64_t i = nvec * W; i < C; ++i) total += float(x[i]) * float(x[i]);
  for (int l = 0; l < W; ++l) total += lane[l];
  return total;
}

TP_CLONES static void norm_row(const bf16* x, const bf16* w, float inv, bf16* y, int64_t C) {
  for (int64_t i = 0; i < C; ++i) y[i] = round_bf16(float(w[i]) * float(round_bf16(float(x[i]) * inv)));
}

at::Tensor cpu_rms_norm(const at::Tensor& x_in, const at::Tensor& w_in, double eps) {
  TORCH_CHECK(cpu_rowops_apply(x_in, w_in) && w_in.scalar_type() == at::kBFloat16 && w_in.dim() == 1 && w_in.size(0) == x_in.size(-1),
              "cpu_rms_norm: unsupported tensors");
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous();
  at::Tensor y = at::empty(x.sizes(), x.options());
  const int64_t C = x.size(-1), rows = C > 0 ? x.numel() / C : 0;
  const bf16 *xp = x.data_ptr<bf16>(), *wp = w.data_ptr<bf16>();
  bf16* yp = y.data_ptr<bf16>();
  at::parallel_for(0, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const bf16* xr = xp + r * C;
      const float inv = 1.0f / std::sqrt(sum_squares(xr, C) / float(C) + float(eps));  // ATen: sum, then div_
      norm_row(xr, wp, inv, yp + r * C, C);
    }
  });
  return y;
}

// y[i] = bf16(bf16(x[i] c[i]) + bf16(sign * other[i] * s[i])), the roundings of x * cos + rotate_half(x) * sin.
TP_CLONES static void rope_half(const bf16* x, const bf16* other, float sign, const bf16* c, const bf16* s, bf16* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = round_bf16(float(round_bf16(float(x[i]) * float(c[i]))) + float(round_bf16(sign * float(other[i]) * float(s[i]))));
}

at::Tensor cpu_rope(const at::Tensor& x_in, const at::Tensor& cos_in, const at::Tensor& sin_in) {
  TORCH_CHECK(cpu_rowops_apply(x_in) && x_in.dim() == 4 && cos_in.scalar_type() == at::kBFloat16 &&
              sin_in.scalar_type() == at::kBFloat16 && x_in.size(-1) % 2 == 0 &&
              cos_in.sizes() == at::IntArrayRef({x_in.size(0), x_in.size(1), 1, x_in.size(3)}) && sin_in.sizes() == cos_in.sizes(),
              "cpu_rope: unsupported tensors");
  const at::Tensor x = x_in.contiguous(), cs = cos_in.contiguous(), sn = sin_in.contiguous();
  at::Tensor y = at::empty(x.sizes(), x.options());
  const int64_t BT = x.size(0) * x.size(1), NH = x.size(2), D = x.size(3), half = D / 2;
  const bf16 *xp = x.data_ptr<bf16>(), *cp = cs.data_ptr<bf16>(), *sp = sn.data_ptr<bf16>();
  bf16* yp = y.data_ptr<bf16>();
  at::parallel_for(0, BT * NH, std::max<int64_t>(1, 32768 / D), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const bf16 *xr = xp + r * D, *c = cp + (r / NH) * D, *s = sp + (r / NH) * D;
      rope_half(xr, xr + half, -1.0f, c, s, yp + r * D, half);           // i < D/2: x[i] c[i] - x[i + D/2] s[i]
      rope_half(xr + half, xr, 1.0f, c + half, s + half, yp + r * D + half, half);  // x[i] c[i] + x[i - D/2] s[i]
    }
  });
  return y;
}

}  // namespace tp
