// Engine throughput on a Qwen3-0.6B-shape random checkpoint (make-test-model --shape qwen3-0.6b), bf16,
// a fixed number of threads: prompt processing (pp128), batch-1 decode, aggregate decode at batch 16,
// the cost of capturing all layers at three positions, and memory. The same-run reference is the
// decode matmuls alone (every weight matrix of a decode step, nothing else), through at::linear (oneDNN) and
// through linear_infer (the CPU bf16 kernel for <= kGemvMaxRows tokens), and the memory-bandwidth bound:
// read bandwidth (at::sum over 1 GiB) / bytes of weights read per decode step.
// Usage: bench_engine MODEL_DIR [threads=2] [dtype=bfloat16]. Prints a markdown table.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "capture/recorder.h"
#include "generate/generate.h"
#include "model/cpu_gemv.h"
#include "model/transformer.h"

using namespace tp;

// Timings are CPU seconds of this process divided by the thread count, not wall seconds: on a shared
// machine (other jobs on the same 2 cores) wall time measures the neighbours; CPU time measures us.
// With every thread busy the two agree.
static int g_threads = 1;
struct Timer {
  double cpu0;
  static double cpu_now() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  Timer() : cpu0(cpu_now()) {}
  double seconds() const { return (cpu_now() - cpu0) / g_threads; }
};

static long rss_kib(const char* key) {  // VmRSS or VmHWM from /proc/self/status
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::string(key).size() + 1));
  return -1;
}

static std::vector<int64_t> prompt_ids(int64_t n, int64_t salt) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(1 + (i * 7919 + salt * 104729) % 250);
  return ids;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_engine MODEL_DIR [threads] [dtype]\n");
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::string dtype_name = argc > 3 ? argv[3] : "bfloat16";
  at::set_num_threads(threads);
  g_threads = threads;
  Timer t0;
  Model m = model_load(argv[1], dtype_from_name(dtype_name, at::kCPU), at::kCPU);
  double load_s = t0.seconds();
  long rss_model = rss_kib("VmRSS:");
  c10::InferenceMode guard;

  // prompt processing: one 128-token forward (best of 3)
  const int64_t P = 128, N = 32;
  double pp_s = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    KVCache kv = kv_cache_new(m.cfg, 1, P, m.dtype, m.device);
    Timer t;
    forward(m, kv, {at::tensor(prompt_ids(P, rep), at::kLong).view({1, P}), {0}, {0}, {P}}, nullptr, false);
    pp_s = std::min(pp_s, t.seconds());
  }

  // decode: generate() with a 128-token prompt and 64 answer tokens, no stop token; minus the prefill
  GenOptions o;
  o.sampling = {0.0, 1.0, 0};
  o.stop.max_think_tokens = 0;
  o.stop.max_answer_tokens = N;
  auto decode_rate = [&](int64_t B, bool share) {
    std::vector<GenRequest> reqs;
    for (int64_t b = 0; b < B; ++b) reqs.push_back({prompt_ids(P, share ? 0 : b), uint64_t(b)});
    o.batch_size = B;
    Timer t;
    generate(m, reqs, o);
    double total = t.seconds();
    double prefill = pp_s * (share ? 1 : B);
    return double(B * N) / (total - prefill);
  };
  double tg1 = decode_rate(1, false);
  double tg16 = decode_rate(16, true);

  // capture: all layers + final norm at prompt_end, think_first, answer_first (bf16 off the device)
  GenOptions oc = o;
  oc.sampling = {0.0, 1.0, 0};
  oc.stop.prompt_opens_think = true;
  oc.stop.think_close_id = 300;
  oc.stop.force_close_ids = {198, 300, 198};
  oc.stop.max_think_tokens = 32;
  oc.stop.max_answer_tokens = 32;
  oc.batch_size = 4;
  CaptureSpec spec;
  spec.layers = {"all"};
  spec.positions = {"prompt_end", "think_first", "answer_first"};
  spec.dtype = "bfloat16";
  std::vector<GenRequest> reqs;
  for (int64_t b = 0; b < 4; ++b) reqs.push_back({prompt_ids(32, b), uint64_t(b)});
  double cap_off = 1e9, cap_on = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    Timer t;
    generate(m, reqs, oc);
    cap_off = std::min(cap_off, t.seconds());
    CaptureRecorder rec;
    capture_recorder_init(rec, capture_plan_from_spec(spec, m.cfg.n_layer), m.cfg.n_layer);
    t = Timer();
    generate(m, reqs, oc, &rec);
    cap_on = std::min(cap_on, t.seconds());
  }

  // same-run references: the matmuls of one decode step alone, batch 1 and 16, and the bandwidth bound
  auto lin = [](bool kernel, const at::Tensor& x, const at::Tensor& w) { return kernel ? linear_infer(x, w) : at::linear(x, w); };
  auto matmul_rate = [&](int64_t B, bool k) {
    at::Tensor x = at::randn({B, m.cfg.n_embd}).to(m.dtype);
    at::Tensor xq = at::randn({B, m.cfg.n_head * m.cfg.d_head}).to(m.dtype), xf = at::randn({B, m.cfg.n_ff}).to(m.dtype);
    auto step = [&]() {
      for (const auto& l : m.w.layers) {
        lin(k, x, l.wq), lin(k, x, l.wk), lin(k, x, l.wv), lin(k, xq, l.wo);
        lin(k, x, l.w_gate), lin(k, x, l.w_up), lin(k, xf, l.w_down);
      }
      lin(k, x, m.w.lm_head);
    };
    step();
    Timer t;
    for (int i = 0; i < 8; ++i) step();
    return double(B) * 8 / t.seconds();
  };
  double mm1 = matmul_rate(1, false), mm16 = matmul_rate(16, false), mk1 = matmul_rate(1, true), mk16 = matmul_rate(16, true);
  double step_bytes = double(m.w.lm_head.nbytes());
  for (const auto& l : m.w.layers)
    for (const at::Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) step_bytes += double(t->nbytes());
  at::Tensor big = at::ones({int64_t(1) << 28});  // 1 GiB of float32, read by at::sum
  big.sum();
  Timer tb;
  for (int i = 0; i < 3; ++i) big.sum();
  double read_bw = 3 * double(big.nbytes()) / tb.seconds();
  big = at::Tensor();

  std::printf("| measure | value | reference (same run) | ratio |\n|---|---|---|---|\n");
  std::printf("| load (s) | %.1f | | |\n", load_s);
  std::printf("| prompt processing pp%ld (tokens/s) | %.1f | | |\n", long(P), P / pp_s);
  std::printf("| decode batch 1 (tokens/s) | %.1f | matmuls alone: at::linear %.1f, kernel %.1f | %.2f of kernel |\n", tg1, mm1, mk1, tg1 / mk1);
  std::printf("| decode batch 16, aggregate (tokens/s) | %.1f | matmuls alone: at::linear %.1f, kernel %.1f | %.2f of kernel |\n", tg16, mm16, mk16, tg16 / mk16);
  std::printf("| bandwidth bound, batch 1 (tokens/s) | %.1f | read %.1f GB/s / %.2f GB of weights per step | %.2f reached |\n",
              read_bw / step_bytes, read_bw / 1e9, step_bytes / 1e9, tg1 / (read_bw / step_bytes));
  std::printf("| batch 16 / batch 1 | %.2fx | | |\n", tg16 / tg1);
  std::printf("| capture all %ld layers + final norm at 3 positions: generation time on / off | %.3f s / %.3f s | | %+.1f%% |\n",
              long(m.cfg.n_layer), cap_on, cap_off, 100 * (cap_on / cap_off - 1));
  std::printf("| RSS after load / peak (MiB) | %ld / %ld | | |\n", rss_model / 1024, rss_kib("VmHWM:") / 1024);
  std::printf("| KV cache per token (KiB) | %.0f | | |\n", kv_cache_bytes_per_token(m.cfg, m.dtype) / 1024.0);
  return 0;
}
