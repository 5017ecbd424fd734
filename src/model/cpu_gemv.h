// linear_infer(): y = x · wᵀ + b for the forward pass. On CPU with bf16 weights and activations, a few tokens per
// step (decode) and no autograd, it runs a bandwidth-bound bf16 kernel (AVX-512 BF16 dot products straight
// from the weights as stored, threads over output rows); everything else goes to at::linear (GPU, float32,
// prefill, training through autograd, CPUs without avx512_bf16). Called by model/transformer.cpp.
// Developed and measured in dev/cpu_gemv/ (STYLE.md rule 1); bench/bench_engine.cpp measures it in place.
#pragma once
#include <ATen/core/Tensor.h>

namespace tp {

// Most rows (tokens) the kernel takes: it was 1.5-1.9x oneDNN's bf16 GEMM at 1-8 rows and 0.94-1.23x at 16
// (bench/RESULTS.md "## Engine"); larger batches are compute-bound and go to at::linear.
constexpr int64_t kGemvMaxRows = 16;

// x: [..., K], w: [N, K], b: [N] or undefined -> [..., N], as at::linear. float_out: the same values as float32
// (the logits: the kernel writes them widened, without a second pass over [M, N]).
at::Tensor linear_infer(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {}, bool float_out = false);

// The kernel alone (for tests and benchmarks): x [M, K] and w [N, K] bf16 CPU, b [N] or undefined; bf16 result,
// or its float32 widening. Requires cpu_gemv_available().
at::Tensor cpu_gemv_bf16(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, bool float_out = false);
// Whether this CPU runs the kernel (avx512f/bw/dq/vl + avx512_bf16), checked once at run time.
bool cpu_gemv_available();

}  // namespace tp
