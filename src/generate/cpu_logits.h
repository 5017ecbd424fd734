// Per-row statistics of a batch of float32 logits on CPU, what the sampler needs from the whole vocabulary:
// the argmax, the log-sum-exp and the entropy of softmax(logits), in two passes over each row with AVX-512
// and no [B, V] temporaries (batched log_softmax/exp/sum took a quarter of a batch-16 decode step,
// bench/RESULTS.md "Engine, session 3"). No sampling here: generate/sampler.cpp calls it, and keeps
// batched tensor ops for GPUs and CPUs without AVX-512.
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace tp {

struct LogitStats {
  std::vector<int64_t> argmax;  // [B] first index of the row's largest logit
  std::vector<double> lse;      // [B] log Σ exp(logits): log p(i) = logits[i] - lse
  std::vector<double> entropy;  // [B] -Σ p log p (nats)
};

// Whether cpu_logit_stats() takes these logits: float32 [B, V] on CPU, a CPU with AVX-512.
bool cpu_logit_stats_applies(const at::Tensor& logits);
// Finite logits expected (-inf entries count as probability 0; NaN is not handled).
LogitStats cpu_logit_stats(const at::Tensor& logits);

}  // namespace tp
