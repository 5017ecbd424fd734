// Where one batched decode step spends its time: forward() and the sampler timed apart over a KV cache of
// B slots forked from one 128-token prompt, against the step's weight matmuls alone through linear_infer
// (same run). For profiling batch-16 decode (`perf record build/bench_decode_step MODEL 2 16`); the end-to-end
// figures are bench_engine's. Times: CPU seconds per thread and wall seconds.
// Usage: bench_decode_step MODEL_DIR [threads=2] [batch=16] [steps=24].
#include <chrono>
#include <cstdio>
#include <ctime>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "generate/sampler.h"
#include "util/hash.h"
#include "model/cpu_gemv.h"
#include "model/transformer.h"

using namespace tp;

static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
static double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Clock {  // accumulated CPU seconds per thread and wall seconds
  double cpu = 0, wall = 0, c0 = 0, w0 = 0;
  void start() { c0 = cpu_now(), w0 = wall_now(); }
  void stop(int threads) { cpu += (cpu_now() - c0) / threads, wall += wall_now() - w0; }
};

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: bench_decode_step MODEL_DIR [threads] [batch] [steps]\n"), 2;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int64_t B = argc > 3 ? std::atoll(argv[3]) : 16, steps = argc > 4 ? std::atoll(argv[4]) : 24, P = 128;
  at::set_num_threads(threads);
  Model m = model_load(argv[1], at::kBFloat16, at::kCPU);
  c10::InferenceMode guard;
  KVCache kv = kv_cache_new(m.cfg, B, P + steps + 1, m.dtype, m.device);
  std::vector<int64_t> prompt;
  for (int64_t i = 0; i < P; ++i) prompt.push_back(1 + (i * 7919) % 250);
  forward(m, kv, {at::tensor(prompt, at::kLong).view({1, P}), {0}, {0}, {P}}, nullptr, false);
  std::vector<int64_t> rest;
  for (int64_t b = 1; b < B; ++b) rest.push_back(b);
  kv_cache_fork(kv, 0, rest, P);

  std::vector<int64_t> slot(B), start(B, P), n_real(B, 1), tok(B), forced(B, -1);
  for (int64_t b = 0; b < B; ++b) slot[b] = b, tok[b] = 1 + b;
  std::vector<Rng> rng(B, Rng(1));
  std::vector<Rng*> rngs;
  for (auto& r : rng) rngs.push_back(&r);
  const SamplerConfig greedy{0.0, 1.0, 0};
  Clock fwd, smp;
  uint64_t token_hash = 0xcbf29ce484222325ull;  // of every greedy token: equal before/after a change means identical outputs
  double logprob_sum = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (s == 2) fwd = Clock(), smp = Clock();  // two warm-up steps
    fwd.start();
    at::Tensor logits = forward(m, kv, {at::tensor(tok, at::kLong).view({B, 1}), slot, start, n_real}, nullptr, false);
    fwd.stop(threads);
    smp.start();
    std::vector<TokenDraw> d = sampler_draw(logits, greedy, rngs, forced);
    smp.stop(threads);
    for (int64_t b = 0; b < B; ++b) tok[b] = d[b].token, start[b] += 1, logprob_sum += d[b].logprob;
    token_hash = fnv1a64(std::string_view(reinterpret_cast<const char*>(tok.data()), tok.size() * sizeof(int64_t)), token_hash);
  }
  const double n = double(steps - 2);

  Clock mm;
  at::Tensor x = at::randn({B, m.cfg.n_embd}).to(m.dtype);
  at::Tensor xq = at::randn({B, m.cfg.n_head * m.cfg.d_head}).to(m.dtype), xf = at::randn({B, m.cfg.n_ff}).to(m.dtype);
  for (int rep = 0; rep < 5; ++rep) {
    if (rep == 1) mm.start();
    for (const auto& l : m.w.layers) {
      linear_infer(x, l.wq), linear_infer(x, l.wk), linear_infer(x, l.wv), linear_infer(xq, l.wo);
      linear_infer(x, l.w_gate), linear_infer(x, l.w_up), linear_infer(xf, l.w_down);
    }
    linear_infer(x, m.w.lm_head);
  }
  mm.stop(threads);
  std::printf("batch %ld, %d threads, %ld steps (cache %ld..%ld positions)\n", long(B), threads, long(steps - 2), long(P + 2), long(P + steps));
  std::printf("| part | ms per step, CPU/thread | wall | tokens/s (CPU) |\n|---|---|---|---|\n");
  std::printf("| forward | %.1f | %.1f | %.1f |\n", 1e3 * fwd.cpu / n, 1e3 * fwd.wall / n, B * n / fwd.cpu);
  std::printf("| sampler | %.1f | %.1f | |\n", 1e3 * smp.cpu / n, 1e3 * smp.wall / n);
  std::printf("| step | %.1f | %.1f | %.1f |\n", 1e3 * (fwd.cpu + smp.cpu) / n, 1e3 * (fwd.wall + smp.wall) / n, B * n / (fwd.cpu + smp.cpu));
  std::printf("| weight matmuls alone (linear_infer) | %.1f | %.1f | %.1f |\n", 1e3 * mm.cpu / 4, 1e3 * mm.wall / 4, B * 4 / mm.cpu);
  std::printf("step / matmuls alone (CPU): %.2f\n", (fwd.cpu + smp.cpu) / n / (mm.cpu / 4));
  std::printf("greedy tokens: fnv1a64 %016llx, sum of log-probabilities %.6f\n", (unsigned long long)token_hash, logprob_sum);
  return 0;
}
