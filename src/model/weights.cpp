// Safetensors -> ModelWeights with shape checks (see weights.h).
#include "model/weights.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "model/safetensors.h"
#include "util/check.h"

namespace tp {

static at::ScalarType st_to_torch(StDtype d) {
  switch (d) {
    case StDtype::F32: return at::kFloat;
    case StDtype::BF16: return at::kBFloat16;
    case StDtype::F16: return at::kHalf;
  }
  return at::kFloat;
}

at::Tensor st_to_tensor(const StTensor& t, at::ScalarType dtype, at::Device device) {
  at::Tensor raw = at::from_blob(const_cast<uint8_t*>(t.data), t.shape, at::TensorOptions().dtype(st_to_torch(t.dtype)));
  // copy=true: never alias the read-only mapping.
  return raw.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
}

namespace {
struct Loader {
  const StCheckpoint& ck;
  std::string dir;
  at::ScalarType dtype;
  at::Device device;

  // The named tensor, checked to have `shape`, copied into the compute dtype on the device.
  at::Tensor get(const std::string& name, std::vector<int64_t> shape, bool required = true) const {
    const StTensor* t = ck.find(name);
    if (!t) {
      if (!required) return {};
      throw Error(fmt::format("{}: tensor '{}' is missing from the checkpoint", dir, name),
                  "the checkpoint does not match its config.json, or is incomplete");
    }
    if (t->shape != shape)
      throw Error(fmt::format("{}: tensor '{}' has shape [{}] but config.json implies [{}]", t->path, name,
                              fmt::join(t->shape, ", "), fmt::join(shape, ", ")));
    return st_to_tensor(*t, dtype, device);
  }
};
}  // namespace

ModelWeights weights_load(const std::string& dir, const ModelConfig& c, at::ScalarType dtype, at::Device device) {
  StCheckpoint ck = checkpoint_open(dir);
  Loader ld{ck, dir, dtype, device};
  const int64_t C = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.d_head, F = c.n_ff, V = c.n_vocab;
  ModelWeights w;
  w.tok_embd = ld.get("model.embed_tokens.weight", {V, C});
  for (int64_t il = 0; il < c.n_layer; ++il) {
    std::string p = fmt::format("model.layers.{}.", il);
    LayerWeights l;
    l.attn_norm = ld.get(p + "input_layernorm.weight", {C});
    l.wq = ld.get(p + "self_attn.q_proj.weight", {H * D, C});
    l.wk = ld.get(p + "self_attn.k_proj.weight", {Hkv * D, C});
    l.wv = ld.get(p + "self_attn.v_proj.weight", {Hkv * D, C});
    if (c.qkv_bias) {
      l.bq = ld.get(p + "self_attn.q_proj.bias", {H * D});
      l.bk = ld.get(p + "self_attn.k_proj.bias", {Hkv * D});
      l.bv = ld.get(p + "self_attn.v_proj.bias", {Hkv * D});
    }
    if (c.qk_norm) {
      l.q_norm = ld.get(p + "self_attn.q_norm.weight", {D});
      l.k_norm = ld.get(p + "self_attn.k_norm.weight", {D});
    }
    l.wo = ld.get(p + "self_attn.o_proj.weight", {C, H * D});
    if (c.o_bias) l.bo = ld.get(p + "self_attn.o_proj.bias", {C});
    l.mlp_norm = ld.get(p + "post_attention_layernorm.weight", {C});
    l.w_gate = ld.get(p + "mlp.gate_proj.weight", {F, C});
    l.w_up = ld.get(p + "mlp.up_proj.weight", {F, C});
    l.w_down = ld.get(p + "mlp.down_proj.weight", {C, F});
    if (c.mlp_bias) {
      l.b_gate = ld.get(p + "mlp.gate_proj.bias", {F});
      l.b_up = ld.get(p + "mlp.up_proj.bias", {F});
      l.b_down = ld.get(p + "mlp.down_proj.bias", {C});
    }
    w.layers.push_back(std::move(l));
  }
  w.out_norm = ld.get("model.norm.weight", {C});
  w.lm_head = ld.get("lm_head.weight", {V, C}, /*required=*/!c.tie_embeddings);
  if (!w.lm_head.defined()) w.lm_head = w.tok_embd;  // tied: same storage, no copy
  return w;
}

at::ScalarType dtype_from_name(const std::string& name, const at::Device& device) {
  if (name == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw Error(fmt::format("dtype '{}' is not supported", name), "use auto, float32, bfloat16 or float16");
}

at::Device device_from_name(const std::string& name, int local_rank) {
  if (name == "auto") return at::hasCUDA() ? at::Device(at::kCUDA, static_cast<int8_t>(local_rank)) : at::Device(at::kCPU);
  try {
    return at::Device(name);
  } catch (const std::exception&) {
    throw Error(fmt::format("device '{}' is not a device", name), "use auto, cpu, cuda or cuda:N");
  }
}

}  // namespace tp
