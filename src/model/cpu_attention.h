// Attention of a few new tokens per row over the KV cache on CPU (decode): each cached key and value is read
// once, straight from the cache's [slot, head, T_max, D] layout, with GQA grouping and float32 scores and
// softmax. libtorch 1.13's bf16 matmuls over the cache's strided views were 3-4x slower (bench/RESULTS.md
// "## Engine"). Prefill, float32, GPU and autograd keep the matmul path in model/transformer.cpp (its caller).
#pragma once
#include <ATen/core/Tensor.h>

namespace tp {

// Whether cpu_attention() takes these tensors: CPU, bf16, no autograd, D a multiple of 16 up to 256,
// at most 16 new tokens per row, a CPU with AVX-512.
bool cpu_attention_applies(const at::Tensor& q, const at::Tensor& k_cache);

// q: [B, T, H, D] (rope applied); k_cache, v_cache: [S, Hkv, T_max, D]; slot: [B] int64; pos: [B, T] int64,
// key j is visible to query (b, t) iff j <= pos[b][t]. Returns softmax(q kᵀ · scale) v as [B, T, H, D].
at::Tensor cpu_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache, const at::Tensor& slot,
                         const at::Tensor& pos, double scale);

}  // namespace tp
