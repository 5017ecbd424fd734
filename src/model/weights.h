// The weights of one decoder as plain structs of tensors (STYLE.md rule 3), loaded from a safetensors
// checkpoint, each tensor shape-checked against what config.json implies, converted to the compute dtype
// and placed on the model's device. Tied checkpoints without lm_head.weight reuse the embedding.
// Called by model/transformer.cpp users (CLI, generation, tests). No compute here.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/model_config.h"
#include "model/safetensors.h"

namespace tp {

// C = n_embd, H = n_head, Hkv = n_head_kv, D = d_head, F = n_ff, V = n_vocab. Optional tensors are undefined.
struct LayerWeights {
  at::Tensor attn_norm;  // [C]        input_layernorm
  at::Tensor wq;         // [H*D, C]   q_proj
  at::Tensor wk;         // [Hkv*D, C] k_proj
  at::Tensor wv;         // [Hkv*D, C] v_proj
  at::Tensor bq;         // [H*D]      q_proj bias (Qwen2, attention_bias)
  at::Tensor bk;         // [Hkv*D]
  at::Tensor bv;         // [Hkv*D]
  at::Tensor q_norm;     // [D]        Qwen3 per-head RMSNorm
  at::Tensor k_norm;     // [D]
  at::Tensor wo;         // [C, H*D]   o_proj
  at::Tensor bo;         // [C]        o_proj bias (Llama/Qwen3 attention_bias)
  at::Tensor mlp_norm;   // [C]        post_attention_layernorm
  at::Tensor w_gate;     // [F, C]     gate_proj
  at::Tensor w_up;       // [F, C]     up_proj
  at::Tensor w_down;     // [C, F]     down_proj
  at::Tensor b_gate, b_up, b_down;  // [F], [F], [C]  Llama mlp_bias
};

struct ModelWeights {
  at::Tensor tok_embd;               // [V, C]  model.embed_tokens
  std::vector<LayerWeights> layers;  // [L]
  at::Tensor out_norm;               // [C]     model.norm
  at::Tensor lm_head;                // [V, C]  lm_head (or tok_embd when tied)
};

// Reads dir's safetensors (single or sharded). dtype: at::kFloat or at::kBFloat16 (or kHalf);
// device: e.g. at::Device("cpu"), at::Device("cuda:0").
ModelWeights weights_load(const std::string& dir, const ModelConfig& cfg, at::ScalarType dtype, at::Device device);

// A safetensors tensor as an owned at::Tensor in dtype on device (never aliasing the mapping).
at::Tensor st_to_tensor(const StTensor& t, at::ScalarType dtype, at::Device device);

// "auto" -> bfloat16 on CUDA, float32 on CPU; else float32/bfloat16/float16. tp::Error on anything else.
at::ScalarType dtype_from_name(const std::string& name, const at::Device& device);
// "auto" -> cuda:<local_rank> when CUDA is available, else cpu; else the given device string.
at::Device device_from_name(const std::string& name, int local_rank);

}  // namespace tp
