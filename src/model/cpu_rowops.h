// Row-wise bf16 ops of the forward pass on CPU, each one pass over its rows instead of 6-8 ATen ops with
// float32 temporaries (they were a fifth of a batch-16 decode step, bench/RESULTS.md "Engine, session 3"):
// RMSNorm and rotate_half RoPE, with Hugging Face's roundings (RMSNorm statistics in float32 and the normalised
// row rounded to bf16 before the weight; RoPE's two products and their sum each rounded to bf16, as the ATen
// ops round). Called by model/transformer.cpp; float32, GPUs and autograd keep the ATen ops there.
#pragma once
#include <ATen/core/Tensor.h>

namespace tp {

// Whether these kernels take x (and the norm weight w, if given): a bf16 CPU tensor, no autograd through either.
bool cpu_rowops_apply(const at::Tensor& x, const at::Tensor& w = {});

// x: [..., C], w: [C] -> w * bf16(x / rms(x)), rms over the last dimension in float32.
at::Tensor cpu_rms_norm(const at::Tensor& x, const at::Tensor& w, double eps);
// x: [B, T, heads, D]; cos, sin: [B, T, 1, D] -> x * cos + rotate_half(x) * sin (dimension i pairs with i + D/2).
at::Tensor cpu_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace tp
