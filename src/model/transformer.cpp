// The decoder forward pass, top to bottom (see transformer.h):
//   x = embed(tokens)
//   per layer: x = x + attention(rms_norm(x)); x = x + mlp(rms_norm(x)); observe RESID_POST
//   x = rms_norm(x); observe FINAL_NORM; logits = x @ lm_head^T
// Equations follow Hugging Face modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py
// (research/models.md 1.1-1.4): RMSNorm statistics and softmax in float32, rotate_half RoPE, GQA.
// Attention is written out (scores, mask, softmax, values) rather than calling libtorch 1.13's
// at::_scaled_dot_product_attention: on CPU that is the same math path, and it would need the KV heads
// repeated for GQA, which this grouping avoids. CPU bf16 inference takes kernels instead where they
// are faster: decode attention reading the cache in place (model/cpu_attention.h), small-M linear
// layers (model/cpu_gemv.h), and RMSNorm and RoPE in one pass each (model/cpu_rowops.h). Built against
// libtorch >= 2.1 (a GPU machine's PyTorch), CUDA attention goes through at::scaled_dot_product_attention,
// the fused flash / memory-efficient kernels.
#include "model/transformer.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/TensorIndexing.h>
#include <torch/version.h>

#include "model/cpu_attention.h"  // cpu_attention
#include "model/cpu_gemv.h"  // linear_infer
#include "model/cpu_rowops.h"  // cpu_rms_norm, cpu_rope
#include "model/device_memory.h"
#include "util/check.h"
#include "util/log.h"

namespace tp {

using at::indexing::Slice;

// ---------------------------------------------------------------------------------------------------
// loading and rope frequencies

at::Tensor rope_inv_freq(const ModelConfig& c, double* attn_factor) {
  const int64_t half = c.d_head / 2;
  const double base = c.rope_theta, dim = double(c.d_head);
  const RopeScaling& r = c.rope;
  std::vector<float> inv(half);
  *attn_factor = 1.0;
  const double orig = r.original_max_pos > 0 ? double(r.original_max_pos) : double(c.max_pos);
  // yarn correction range (HF _compute_yarn_parameters), in dimension units
  auto corr_dim = [&](double rot) { return dim * std::log(orig / (rot * 2 * M_PI)) / (2 * std::log(base)); };
  double lo = corr_dim(r.beta_fast), hi = corr_dim(r.beta_slow);
  if (r.truncate) lo = std::floor(lo), hi = std::ceil(hi);
  lo = std::max(lo, 0.0), hi = std::min(hi, dim - 1);
  if (lo == hi) hi += 0.001;
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(base, double(2 * i) / dim);
    if (r.type == RopeType::LLAMA3) {
      double low_wl = orig / r.low_freq_factor, high_wl = orig / r.high_freq_factor, wl = 2 * M_PI / f;
      if (wl > low_wl) f = f / r.factor;
      else if (wl >= high_wl) {
        double s = (orig / wl - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = (1 - s) * f / r.factor + s * f;
      }
    } else if (r.type == RopeType::YARN) {
      double ramp = std::clamp((double(i) - lo) / (hi - lo), 0.0, 1.0);  // 1 = interpolate, 0 = extrapolate
      f = (f / r.factor) * ramp + f * (1 - ramp);
    }
    inv[i] = float(f);
  }
  if (r.type == RopeType::YARN) {
    auto mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
    if (r.attention_factor > 0) *attn_factor = r.attention_factor;
    else if (r.mscale > 0 && r.mscale_all_dim > 0) *attn_factor = mscale(r.factor, r.mscale) / mscale(r.factor, r.mscale_all_dim);
    else *attn_factor = mscale(r.factor, 1.0);
  }
  return at::tensor(inv, at::kFloat);
}

Model model_load(const std::string& dir, at::ScalarType dtype, at::Device device) {
  Model m;
  m.cfg = model_config_load(dir);
  m.w = weights_load(dir, m.cfg, dtype, device);
  m.inv_freq = rope_inv_freq(m.cfg, &m.rope_attn_factor).to(device);
  m.dtype = dtype;
  m.device = device;
  if (device.is_cuda()) {
    m.kv_budget_default = cuda_free_bytes(device.has_index() ? device.index() : 0) / 10 * 7;
    if (m.kv_budget_default == 0)
      spdlog::warn("{}: cudaMemGetInfo not found in this process; the KV cache is not capped (set run.kv_cache_mb)", dir);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------
// KV cache

KVCache kv_cache_new(const ModelConfig& c, int64_t n_slot, int64_t t_max, at::ScalarType dtype, at::Device device) {
  KVCache kv;
  kv.n_slot = n_slot;
  kv.t_max = t_max;
  auto opts = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    kv.k.push_back(at::zeros({n_slot, c.n_head_kv, t_max, c.d_head}, opts));
    kv.v.push_back(at::zeros({n_slot, c.n_head_kv, t_max, c.d_head}, opts));
  }
  return kv;
}

int64_t kv_cache_bytes_per_token(const ModelConfig& c, at::ScalarType dtype) {
  return 2 * c.n_layer * c.n_head_kv * c.d_head * int64_t(c10::elementSize(dtype));
}

void kv_cache_fork(KVCache& kv, int64_t src, const std::vector<int64_t>& dst, int64_t n_tok) {
  TP_CHECK(n_tok <= kv.t_max);
  for (size_t il = 0; il < kv.k.size(); ++il)
    for (int64_t d : dst) {
      if (d == src) continue;
      kv.k[il][d].narrow(1, 0, n_tok).copy_(kv.k[il][src].narrow(1, 0, n_tok));
      kv.v[il][d].narrow(1, 0, n_tok).copy_(kv.v[il][src].narrow(1, 0, n_tok));
    }
}

// ---------------------------------------------------------------------------------------------------
// the layer

namespace {
// Per-batch tensors shared by every layer.
struct BatchCtx {
  int64_t B, T, t_kv;
  at::Tensor cos, sin;   // [B, T, 1, D] compute dtype, attention factor applied
  at::Tensor mask;       // [B, 1, 1, T, t_kv] float32, 0 or -inf
  at::Tensor pos;        // [B, T] int64 positions (cache write index)
  at::Tensor slot;       // [B] int64 cache slots
  const ForwardBatch* fb = nullptr;  // the same slots and positions on the host
  int64_t slot0 = -1;    // first slot when the slots are slot0..slot0+B-1 (no gather needed), else -1
};
}  // namespace

// y = w * (x / rms(x)); statistics in float32, cast back before the weight (Llama/Qwen semantics).
static at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
  if (cpu_rowops_apply(x, w)) return cpu_rms_norm(x, w, eps);  // the same in one pass (model/cpu_rowops.h)
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor xhat = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return w * xhat.to(x.scalar_type());
}

// x: [B, T, heads, D]; NeoX pairing: dimension i rotates with i + D/2.
static at::Tensor rope(const at::Tensor& x, const BatchCtx& b) {
  if (cpu_rowops_apply(x)) return cpu_rope(x, b.cos, b.sin);  // the same in one pass (model/cpu_rowops.h)
  int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * b.cos + rotated * b.sin;
}

// Appends x [B, T, Hkv, D] to cache [S, Hkv, T_max, D] at slot[b], all kv heads, positions pos[b, :].
// On CPU without autograd one copy per row, position and head (index_put_ cost more than the copies there);
// training (src/demo) needs index_put_, which autograd records.
static void kv_write(at::Tensor& cache, const at::Tensor& x, const BatchCtx& b) {
  const bool grad = at::GradMode::is_enabled() && x.requires_grad();
  if (grad || !cache.is_cpu() || !cache.is_contiguous() || x.scalar_type() != cache.scalar_type())
    return void(cache.index_put_({b.slot.view({b.B, 1}), Slice(), b.pos}, x));
  const at::Tensor xc = x.contiguous();
  const int64_t Hkv = cache.size(1), t_max = cache.size(2), D = cache.size(3), es = int64_t(cache.element_size());
  auto* dst = static_cast<char*>(cache.data_ptr());
  const auto* src = static_cast<const char*>(xc.data_ptr());
  for (int64_t r = 0; r < b.B; ++r)
    for (int64_t t = 0; t < b.T; ++t)
      for (int64_t h = 0; h < Hkv; ++h)
        std::memcpy(dst + ((b.fb->slot[r] * Hkv + h) * t_max + b.fb->start[r] + t) * D * es, src + ((r * b.T + t) * Hkv + h) * D * es, size_t(D * es));
}

static at::Tensor attention(const Model& m, const LayerWeights& l, KVCache& kv, int64_t il, const at::Tensor& h, const BatchCtx& b) {
  const ModelConfig& c = m.cfg;
  const int64_t B = b.B, T = b.T, H = c.n_head, Hkv = c.n_head_kv, D = c.d_head, G = H / Hkv;
  at::Tensor q = linear_infer(h, l.wq, l.bq).view({B, T, H, D});
  at::Tensor k = linear_infer(h, l.wk, l.bk).view({B, T, Hkv, D});
  at::Tensor v = linear_infer(h, l.wv, l.bv).view({B, T, Hkv, D});
  if (c.qk_norm) q = rms_norm(q, l.q_norm, c.rms_eps), k = rms_norm(k, l.k_norm, c.rms_eps);
  q = rope(q, b);
  k = rope(k, b);
  kv_write(kv.k[il], k, b);
  kv_write(kv.v[il], v, b);
  if (cpu_attention_applies(q, kv.k[il]))  // decode on CPU: reads the cache in place (model/cpu_attention.h)
    return linear_infer(cpu_attention(q, kv.k[il], kv.v[il], b.slot, b.pos, 1.0 / std::sqrt(double(D))).view({B, T, H * D}), l.wo, l.bo);
  at::Tensor K = (b.slot0 >= 0 ? kv.k[il].narrow(0, b.slot0, B) : kv.k[il].index_select(0, b.slot)).narrow(2, 0, b.t_kv);
  at::Tensor V = (b.slot0 >= 0 ? kv.v[il].narrow(0, b.slot0, B) : kv.v[il].index_select(0, b.slot)).narrow(2, 0, b.t_kv);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (m.device.is_cuda()) {  // fused kernel; query head h reads kv head h / G, as repeat_interleave lays them out
    if (G > 1) K = K.repeat_interleave(G, 1), V = V.repeat_interleave(G, 1);
    at::Tensor keep = b.mask.view({B, 1, T, b.t_kv}) == 0;  // true = attend
    at::Tensor o = at::scaled_dot_product_attention(q.permute({0, 2, 1, 3}), K, V, keep, 0.0, false, 1.0 / std::sqrt(double(D)));
    return linear_infer(o.permute({0, 2, 1, 3}).reshape({B, T, H * D}), l.wo, l.bo);
  }
#endif
  // GQA without repeating K/V: the G query heads of one kv head become G*T query rows.
  at::Tensor qg = (q * (1.0 / std::sqrt(double(D)))).permute({0, 2, 1, 3}).reshape({B, Hkv, G * T, D});
  at::Tensor scores = at::matmul(qg, K.transpose(-1, -2));                       // [B, Hkv, G*T, t_kv]
  at::Tensor probs = (scores.to(at::kFloat).view({B, Hkv, G, T, b.t_kv}) + b.mask).softmax(-1);
  at::Tensor out = at::matmul(probs.to(h.scalar_type()).view({B, Hkv, G * T, b.t_kv}), V);  // [B, Hkv, G*T, D]
  out = out.view({B, H, T, D}).permute({0, 2, 1, 3}).reshape({B, T, H * D});
  return linear_infer(out, l.wo, l.bo);
}

static at::Tensor mlp(const LayerWeights& l, const at::Tensor& h) {
  return linear_infer(at::silu(linear_infer(h, l.w_gate, l.b_gate)) * linear_infer(h, l.w_up, l.b_up), l.w_down, l.b_down);
}

// ---------------------------------------------------------------------------------------------------
// forward

at::Tensor forward(const Model& m, KVCache& kv, const ForwardBatch& fb, const Hooks* hooks, bool all_positions) {
  const ModelConfig& c = m.cfg;
  TORCH_CHECK(fb.tokens.dim() == 2, "tokens must be [B, T]");
  BatchCtx b;
  b.B = fb.tokens.size(0), b.T = fb.tokens.size(1);
  TORCH_CHECK(int64_t(fb.slot.size()) == b.B && int64_t(fb.start.size()) == b.B && int64_t(fb.n_real.size()) == b.B);
  int64_t max_start = 0;
  b.slot0 = fb.slot[0];
  b.fb = &fb;
  for (int64_t r = 0; r < b.B; ++r) {
    TORCH_CHECK(fb.n_real[r] >= 1 && fb.n_real[r] <= b.T && fb.slot[r] >= 0 && fb.slot[r] < kv.n_slot);
    max_start = std::max(max_start, fb.start[r]);
    if (fb.slot[r] != fb.slot[0] + r) b.slot0 = -1;
  }
  b.t_kv = max_start + b.T;
  TORCH_CHECK(b.t_kv <= kv.t_max, "KV cache too short: need ", b.t_kv, " positions, have ", kv.t_max);
  auto i64 = at::TensorOptions().dtype(at::kLong).device(m.device);
  b.slot = at::tensor(fb.slot, at::kLong).to(m.device);
  b.pos = at::tensor(fb.start, at::kLong).to(m.device).unsqueeze(1) + at::arange(b.T, i64);   // [B, T]
  at::Tensor angle = b.pos.to(at::kFloat).unsqueeze(-1) * m.inv_freq;                          // [B, T, D/2]
  at::Tensor emb = at::cat({angle, angle}, -1).unsqueeze(2);                                   // [B, T, 1, D]
  b.cos = (emb.cos() * m.rope_attn_factor).to(m.dtype);
  b.sin = (emb.sin() * m.rope_attn_factor).to(m.dtype);
  at::Tensor hidden_key = at::arange(b.t_kv, i64).view({1, 1, 1, 1, b.t_kv}) > b.pos.view({b.B, 1, 1, b.T, 1});
  b.mask = at::zeros(hidden_key.sizes(), at::TensorOptions().dtype(at::kFloat).device(m.device))
               .masked_fill_(hidden_key, -std::numeric_limits<float>::infinity());

  at::Tensor x = at::embedding(m.w.tok_embd, fb.tokens);  // [B, T, C]
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = m.w.layers[il];
    x = x + attention(m, l, kv, il, rms_norm(x, l.attn_norm, c.rms_eps), b);
    x = x + mlp(l, rms_norm(x, l.mlp_norm, c.rms_eps));
    if (fb.steer && fb.steer->add[il].defined()) x = x + fb.steer->add[il];
    if (hooks && hooks->wants(HookSite::RESID_POST, il)) hooks->observe(HookSite::RESID_POST, il, x);
  }
  x = rms_norm(x, m.w.out_norm, c.rms_eps);
  if (hooks && hooks->wants(HookSite::FINAL_NORM, c.n_layer)) hooks->observe(HookSite::FINAL_NORM, c.n_layer, x);
  if (!all_positions) {
    at::Tensor last = at::tensor(fb.n_real, at::kLong).to(m.device) - 1;
    x = x.index({at::arange(b.B, i64), last});  // [B, C]
  }
  return linear_infer(x, m.w.lm_head, {}, /*float_out=*/true);
}

}  // namespace tp
