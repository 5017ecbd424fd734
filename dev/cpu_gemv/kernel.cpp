// dev: bf16 GEMV / small-M GEMM for CPU decode (AVX-512 BF16), with a micro-benchmark against at::linear.
// Build: g++ -O2 -std=c++17 -fopenmp kernel.cpp -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10 -o /tmp/gemv_bench
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

template <int RM>
TGT static void tile(const uint16_t* x, const uint16_t* w, const float* bias, uint16_t* y,
                     int64_t m0, int64_t n0, int64_t N, int64_t K, int pf) {
  const uint16_t* wr[4];
  for (int r = 0; r < 4; ++r) wr[r] = w + std::min(n0 + r, N - 1) * K;
  __m512 acc[RM][4];
  for (int m = 0; m < RM; ++m)
    for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh wv[4];
    for (int r = 0; r < 4; ++r) {
      if (pf) _mm_prefetch((const char*)(wr[r] + k + pf * K * 4), _MM_HINT_T0);
      wv[r] = (__m512bh)_mm512_loadu_si512(wr[r] + k);
    }
    for (int m = 0; m < RM; ++m) {
      __m512bh xv = (__m512bh)_mm512_loadu_si512(x + (m0 + m) * K + k);
      for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], xv, wv[r]);
    }
  }
  if (k < K) {
    __mmask32 mask = (__mmask32)((1ull << (K - k)) - 1);
    __m512bh wv[4];
    for (int r = 0; r < 4; ++r) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[r] + k);
    for (int m = 0; m < RM; ++m) {
      __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x + (m0 + m) * K + k);
      for (int r = 0; r < 4; ++r) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], xv, wv[r]);
    }
  }
  for (int m = 0; m < RM; ++m) {
    // 4 accumulators -> the 4 row sums in one __m128
    __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(acc[m][0], acc[m][1]), _mm512_unpackhi_ps(acc[m][0], acc[m][1]));
    __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(acc[m][2], acc[m][3]), _mm512_unpackhi_ps(acc[m][2], acc[m][3]));
    __m512 u = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), _mm512_extractf32x8_ps(u, 1));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    alignas(16) float s[4];
    _mm_store_ps(s, s4);
    for (int r = 0; r < 4 && n0 + r < N; ++r)
      y[(m0 + m) * N + n0 + r] = c10::BFloat16(s[r] + (bias ? bias[n0 + r] : 0.f)).x;
  }
}

static at::Tensor gemv(const at::Tensor& x, const at::Tensor& w, int pf) {
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  at::Tensor y = at::empty({M, N}, x.options());
  auto xp = (const uint16_t*)x.data_ptr(), wp = (const uint16_t*)w.data_ptr();
  auto yp = (uint16_t*)y.data_ptr();
  const int64_t tiles = (N + 3) / 4;
  at::parallel_for(0, tiles, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t m0 = 0; m0 < M; m0 += 4) {
        int64_t rm = std::min<int64_t>(4, M - m0);
        if (rm == 4) tile<4>(xp, wp, nullptr, yp, m0, t * 4, N, K, pf);
        else if (rm == 3) tile<3>(xp, wp, nullptr, yp, m0, t * 4, N, K, pf);
        else if (rm == 2) tile<2>(xp, wp, nullptr, yp, m0, t * 4, N, K, pf);
        else tile<1>(xp, wp, nullptr, yp, m0, t * 4, N, K, pf);
      }
  });
  return y;
}

static double cpu_now() { timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
static double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  c10::InferenceMode g;
  // Qwen3-0.6B decode step: 28 layers x {q 2048x1024, k 1024x1024, v 1024x1024, o 1024x2048, gate/up 3072x1024, down 1024x3072}, lm_head 151936x1024
  struct Sh { int64_t n, k; };
  std::vector<Sh> shapes = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048}, {3072, 1024}, {3072, 1024}, {1024, 3072}};
  std::vector<std::vector<at::Tensor>> W;
  for (int l = 0; l < 28; ++l) { W.emplace_back(); for (auto s : shapes) W.back().push_back(at::randn({s.n, s.k}).to(at::kBFloat16)); }
  at::Tensor head = at::randn({151936, 1024}).to(at::kBFloat16);
  double bytes = head.numel() * 2.0;
  for (auto& l : W) for (auto& t : l) bytes += t.numel() * 2.0;
  // correctness
  for (int64_t M : {1, 3, 5, 16}) for (auto K : {1024, 1000, 37}) {
    at::Tensor w = at::randn({77, K}).to(at::kBFloat16), x = at::randn({M, K}).to(at::kBFloat16);
    at::Tensor ref = at::linear(x.to(at::kDouble), w.to(at::kDouble));
    double err = (gemv(x, w, 0).to(at::kDouble) - ref).abs().max().item<double>() / ref.abs().max().item<double>();
    double err2 = (at::linear(x, w).to(at::kDouble) - ref).abs().max().item<double>() / ref.abs().max().item<double>();
    printf("M=%ld K=%ld rel err kernel %.2e at::linear %.2e\n", (long)M, (long)K, err, err2);
  }
  // read bandwidth: sum of 1 GiB float
  at::Tensor big = at::ones({1 << 28});
  big.sum();
  double w0 = wall_now(), c0 = cpu_now();
  for (int i = 0; i < 3; ++i) big.sum();
  printf("read bw (at::sum 1GiB): wall %.1f GB/s, cpu/thr %.1f GB/s\n", 3 * 4.0 * (1 << 28) / (wall_now() - w0) / 1e9, 3 * 4.0 * (1 << 28) / ((cpu_now() - c0) / threads) / 1e9);
  big = at::Tensor();
  for (int64_t M : {1, 4, 8, 16}) {
    std::vector<at::Tensor> xs;
    for (auto s : shapes) xs.push_back(at::randn({M, s.k}).to(at::kBFloat16));
    at::Tensor xh = at::randn({M, 1024}).to(at::kBFloat16);
    auto run = [&](int mode) {
      for (auto& l : W) for (size_t i = 0; i < l.size(); ++i) mode < 0 ? at::linear(xs[i], l[i]) : gemv(xs[i], l[i], mode);
      mode < 0 ? at::linear(xh, head) : gemv(xh, head, mode);
    };
    for (int mode : {-1, 1, 2}) {
      run(mode);
      double w0 = wall_now(), c0 = cpu_now();
      int reps = 5;
      for (int i = 0; i < reps; ++i) run(mode);
      double wall = (wall_now() - w0) / reps, cpu = (cpu_now() - c0) / threads / reps;
      printf("M=%2ld %-10s step wall %.1f ms (%.1f tok/s, %.1f GB/s)  cpu/thr %.1f ms (%.1f tok/s, %.1f GB/s)\n", (long)M,
             mode < 0 ? "at::linear" : ("pf" + std::to_string(mode)).c_str(), wall * 1e3, M / wall, bytes / wall / 1e9, cpu * 1e3, M / cpu, bytes / cpu / 1e9);
    }
  }
}
