// The decoder forward pass (Qwen3 / Qwen2 / Llama, one code path with config switches), its KV cache and
// its hook sites. forward() takes a batch of rows, each writing to its own cache slot at its own position,
// so sequences of different lengths share a batch (right padding, per-row causal mask).
// Deliberately no sampling, no stopping and no capture policy: generate/ and capture/ own those.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/model_config.h"
#include "model/weights.h"

namespace tp {

// ---------------------------------------------------------------------------------------------------
// hook sites (STYLE.md rule 4): named once in forward(); what to keep is decided by the caller.

enum class HookSite {
  RESID_POST,  // residual stream after layer il (HF hidden_states[il+1] for il < L-1)
  FINAL_NORM,  // final-norm output (HF hidden_states[L], the paper's readout); il = n_layer
};

struct Hooks {
  std::vector<uint8_t> want_resid;  // [n_layer] 1 = observe RESID_POST at that layer
  bool want_final_norm = false;
  // x: [B, T, C] in the compute dtype, on the model's device, rows and positions as in the ForwardBatch.
  std::function<void(HookSite site, int64_t il, const at::Tensor& x)> observe;
  bool wants(HookSite site, int64_t il) const {
    return site == HookSite::FINAL_NORM ? want_final_norm : want_resid[il] != 0;
  }
};

// ---------------------------------------------------------------------------------------------------
// KV cache: n_slot independent sequences of up to t_max positions each.

struct KVCache {
  std::vector<at::Tensor> k;  // [L] of [S, Hkv, T_max, D], zero-initialised (masked keys must be finite)
  std::vector<at::Tensor> v;  // [L] of [S, Hkv, T_max, D]
  int64_t n_slot = 0;
  int64_t t_max = 0;
};

KVCache kv_cache_new(const ModelConfig& cfg, int64_t n_slot, int64_t t_max, at::ScalarType dtype, at::Device device);
// Bytes one cached position of one slot costs (K and V, all layers).
int64_t kv_cache_bytes_per_token(const ModelConfig& cfg, at::ScalarType dtype);
// Fork: copy positions [0, n_tok) of slot src into each of dst, so continuations share one prefill.
void kv_cache_fork(KVCache& cache, int64_t src, const std::vector<int64_t>& dst, int64_t n_tok);

// ---------------------------------------------------------------------------------------------------
// forward

struct Model {
  ModelConfig cfg;
  ModelWeights w;
  at::Tensor inv_freq;          // [D/2] float32, rope frequencies after llama3/yarn scaling
  double rope_attn_factor = 1;  // yarn attention factor (multiplies cos and sin)
  at::ScalarType dtype;
  at::Device device = at::Device(at::kCPU);
  int64_t kv_budget_default = 0;  // CUDA: 70% of the device memory free after the weights were loaded
                                  // (the rest for activations, logits, the allocator); 0 on CPU
};

// config.json + safetensors of dir, on device in dtype.
Model model_load(const std::string& dir, at::ScalarType dtype, at::Device device);
// The rope inverse frequencies HF computes for this config (float32, [D/2]) and the attention factor.
at::Tensor rope_inv_freq(const ModelConfig& cfg, double* attn_factor);

// Activation steering (an intervention, STYLE.md rule 5): vectors added to the residual stream after layer
// il at every position, immediately before the RESID_POST observation of that layer, so captured states
// are the steered ones. forward() applies it at that one place.
struct Steering {
  std::vector<at::Tensor> add;  // [n_layer], each undefined (no steering there) or [C] in the model's dtype and device
};

struct ForwardBatch {
  at::Tensor tokens;            // [B, T] int64 on the model's device; row b is real up to n_real[b], then padding
  std::vector<int64_t> slot;    // [B] cache slot of each row
  std::vector<int64_t> start;   // [B] position of tokens[b][0] (= tokens already cached in that slot)
  std::vector<int64_t> n_real;  // [B] real tokens of each row, 1..T
  const Steering* steer = nullptr;  // residual-stream interventions, or none
};

// Runs the batch, appending its keys/values to the cache. Returns float32 logits:
// all_positions ? [B, T, V] : [B, V] at each row's last real token.
at::Tensor forward(const Model& m, KVCache& cache, const ForwardBatch& batch, const Hooks* hooks, bool all_positions);

}  // namespace tp
