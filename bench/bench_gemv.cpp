// Micro-benchmark of the CPU bf16 decode kernel (model/cpu_gemv.h) against at::linear (oneDNN) on the
// weight matrices of one Qwen3-0.6B decode step (28 layers x q,k,v,o,gate,up,down + the 151,936-row lm_head),
// for M = 1..32 tokens per step, and the read bandwidth of this machine (at::sum over 1 GiB) as the bound.
// Usage: bench_gemv [threads=2]. Prints a markdown table; times are CPU seconds per thread and wall seconds.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model/cpu_gemv.h"

static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
static double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  c10::InferenceMode guard;
  if (!tp::cpu_gemv_available()) std::printf("this CPU lacks avx512_bf16: the kernel rows below are at::linear\n");
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048},
                                                           {3072, 1024}, {3072, 1024}, {1024, 3072}};
  std::vector<at::Tensor> w;
  for (int il = 0; il < 28; ++il)
    for (auto [n, k] : shapes) w.push_back(at::randn({n, k}).to(at::kBFloat16));
  w.push_back(at::randn({151936, 1024}).to(at::kBFloat16));
  double bytes = 0;
  for (const auto& t : w) bytes += double(t.nbytes());

  at::Tensor big = at::ones({int64_t(1) << 28});  // 1 GiB float32
  big.sum();
  double c0 = cpu_now(), w0 = wall_now();
  for (int i = 0; i < 3; ++i) big.sum();
  const double bw_cpu = 3 * double(big.nbytes()) / ((cpu_now() - c0) / threads), bw_wall = 3 * double(big.nbytes()) / (wall_now() - w0);
  big = at::Tensor();
  std::printf("weights per step %.2f GB; read bandwidth (at::sum of 1 GiB) %.1f GB/s per CPU time, %.1f GB/s wall\n\n",
              bytes / 1e9, bw_cpu / 1e9, bw_wall / 1e9);
  std::printf("| M | at::linear tok/s (CPU / wall) | kernel tok/s (CPU / wall) | kernel / at::linear (CPU) | kernel GB/s (CPU) |\n|---|---|---|---|---|\n");
  for (int64_t M : {1, 2, 4, 8, 16, 32}) {
    std::vector<at::Tensor> x;
    for (const auto& t : w) x.push_back(at::randn({M, t.size(1)}).to(at::kBFloat16));
    double cpu[2], wall[2];
    for (int kernel = 0; kernel < 2; ++kernel) {
      auto step = [&] {
        for (size_t i = 0; i < w.size(); ++i) kernel ? tp::cpu_gemv_bf16(x[i], w[i], {}) : at::linear(x[i], w[i]);
      };
      step();
      const int reps = 4;
      double c = cpu_now(), t = wall_now();
      for (int r = 0; r < reps; ++r) step();
      cpu[kernel] = (cpu_now() - c) / threads / reps, wall[kernel] = (wall_now() - t) / reps;
    }
    std::printf("| %ld | %.1f / %.1f | %.1f / %.1f | %.2f | %.1f |\n", long(M), M / cpu[0], M / wall[0], M / cpu[1], M / wall[1],
                cpu[0] / cpu[1], bytes / cpu[1] / 1e9);
    std::fflush(stdout);
  }
  return 0;
}
