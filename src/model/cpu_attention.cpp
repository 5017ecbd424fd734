// Decode attention over the KV cache (see cpu_attention.h). Per (row, kv head): the G query heads sharing
// it, two at a time over one pass of the cache, each a float32 copy of q; scores q·k by AVX-512 FMAs over bf16
// keys widened to float32, a float32 softmax, then the value rows accumulated with the probabilities.
// Rows x kv heads split by at::parallel_for.
#include "model/cpu_attention.h"

#include <immintrin.h>

#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model/cpu_gemv.h"  // cpu_gemv_available

namespace tp {

#define TP_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

TP_AVX512 static inline __m512 load_bf16(const uint16_t* p) {  // 16 bf16 -> 16 float32
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

namespace {
struct AttnArgs {
  const uint16_t *q, *k, *v;
  uint16_t* out;
  const int64_t *slot, *pos;
  int64_t T, H, Hkv, D, t_max;
  float scale;
};
}  // namespace

// Row b, kv head h, position t: the NG query heads g0.. of that kv head, sharing each key and value row, loaded
// and widened once. NV = D/16 when known at compile time (q, k and the accumulators then stay in registers),
// 0 for any D. Each head's arithmetic, and its order, is that of one head alone.
template <int NV, int NG>
TP_AVX512 static void attend_heads(const AttnArgs& a, int64_t b, int64_t h, int64_t t, int64_t g0, std::vector<float>& s) {
  const int64_t G = a.H / a.Hkv, nv = NV > 0 ? NV : a.D / 16, n = a.pos[b * a.T + t] + 1;
  const uint16_t* K = a.k + (a.slot[b] * a.Hkv + h) * a.t_max * a.D;
  const uint16_t* V = a.v + (a.slot[b] * a.Hkv + h) * a.t_max * a.D;
  __m512 qv[NG][NV > 0 ? NV : 16], x[NV > 0 ? NV : 16];
  float mx[NG], sum[NG];
  for (int g = 0; g < NG; ++g) {
    const uint16_t* qr = a.q + ((b * a.T + t) * a.H + h * G + g0 + g) * a.D;
    for (int64_t i = 0; i < nv; ++i) qv[g][i] = _mm512_mul_ps(load_bf16(qr + 16 * i), _mm512_set1_ps(a.scale));
    mx[g] = -std::numeric_limits<float>::infinity(), sum[g] = 0;
  }
  s.resize(size_t(NG * n));
  for (int64_t j = 0; j < n; ++j) {  // scores
    for (int64_t i = 0; i < nv; ++i) x[i] = load_bf16(K + j * a.D + 16 * i);
    for (int g = 0; g < NG; ++g) {
      __m512 d = _mm512_mul_ps(qv[g][0], x[0]);
      for (int64_t i = 1; i < nv; ++i) d = _mm512_fmadd_ps(qv[g][i], x[i], d);
      s[g * n + j] = _mm512_reduce_add_ps(d);
      mx[g] = std::max(mx[g], s[g * n + j]);
    }
  }
  for (int g = 0; g < NG; ++g)
    for (int64_t j = 0; j < n; ++j) s[g * n + j] = std::exp(s[g * n + j] - mx[g]), sum[g] += s[g * n + j];
  __m512 acc[NG][NV > 0 ? NV : 16];
  for (int g = 0; g < NG; ++g)
    for (int64_t i = 0; i < nv; ++i) acc[g][i] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {  // values weighted by the probabilities
    for (int64_t i = 0; i < nv; ++i) x[i] = load_bf16(V + j * a.D + 16 * i);
    for (int g = 0; g < NG; ++g) {
      const __m512 p = _mm512_set1_ps(s[g * n + j] / sum[g]);
      for (int64_t i = 0; i < nv; ++i) acc[g][i] = _mm512_fmadd_ps(p, x[i], acc[g][i]);
    }
  }
  for (int g = 0; g < NG; ++g) {
    alignas(64) float o[256];
    for (int64_t i = 0; i < nv; ++i) _mm512_store_ps(o + 16 * i, acc[g][i]);
    uint16_t* out = a.out + ((b * a.T + t) * a.H + h * G + g0 + g) * a.D;
    for (int64_t d = 0; d < a.D; ++d) out[d] = c10::BFloat16(o[d]).x;
  }
}

// Row b, kv head h: its G query heads at each of the T positions, two heads at a time.
template <int NV>
TP_AVX512 static void attend_row_head(const AttnArgs& a, int64_t b, int64_t h, std::vector<float>& s) {
  const int64_t G = a.H / a.Hkv;
  for (int64_t t = 0; t < a.T; ++t) {
    int64_t g = 0;
    for (; g + 2 <= G; g += 2) attend_heads<NV, 2>(a, b, h, t, g, s);
    if (g < G) attend_heads<NV, 1>(a, b, h, t, g, s);
  }
}

bool cpu_attention_applies(const at::Tensor& q, const at::Tensor& k_cache) {
  const bool grad = at::GradMode::is_enabled() && (q.requires_grad() || k_cache.requires_grad());
  return !grad && q.is_cpu() && q.scalar_type() == at::kBFloat16 && k_cache.scalar_type() == at::kBFloat16 && q.dim() == 4 &&
         q.size(1) <= 16 && q.size(3) % 16 == 0 && q.size(3) <= 256 && cpu_gemv_available();
}

at::Tensor cpu_attention(const at::Tensor& q_in, const at::Tensor& k_cache, const at::Tensor& v_cache, const at::Tensor& slot_in,
                         const at::Tensor& pos_in, double scale) {
  TORCH_CHECK(cpu_attention_applies(q_in, k_cache) && k_cache.is_contiguous() && v_cache.is_contiguous() &&
              v_cache.scalar_type() == at::kBFloat16 && k_cache.sizes() == v_cache.sizes() && q_in.size(3) == k_cache.size(3) &&
              q_in.size(2) % k_cache.size(1) == 0, "cpu_attention: unsupported tensors");
  const at::Tensor q = q_in.contiguous(), slot = slot_in.to(at::kLong).contiguous(), pos = pos_in.to(at::kLong).contiguous();
  for (int64_t i = 0; i < pos.numel(); ++i)
    TORCH_CHECK(pos.data_ptr<int64_t>()[i] >= 0 && pos.data_ptr<int64_t>()[i] < k_cache.size(2), "cpu_attention: position outside the cache");
  at::Tensor out = at::empty(q.sizes(), q.options());
  AttnArgs a{static_cast<const uint16_t*>(q.data_ptr()), static_cast<const uint16_t*>(k_cache.data_ptr()),
             static_cast<const uint16_t*>(v_cache.data_ptr()), static_cast<uint16_t*>(out.data_ptr()), slot.data_ptr<int64_t>(),
             pos.data_ptr<int64_t>(), q.size(1), q.size(2), k_cache.size(1), q.size(3), k_cache.size(2), float(scale)};
  const int64_t B = q.size(0);
  at::parallel_for(0, B * a.Hkv, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> s;
    for (int64_t i = i0; i < i1; ++i) {
      if (a.D == 128) attend_row_head<8>(a, i / a.Hkv, i % a.Hkv, s);  // Qwen, Llama
      else attend_row_head<0>(a, i / a.Hkv, i % a.Hkv, s);
    }
  });
  return out;
}

}  // namespace tp
