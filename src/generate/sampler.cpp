// Sampling (see sampler.h). The vocabulary-wide work (log-sum-exp, entropy, argmax, top-k) runs on the
// logits' device: on CPU in one fused pass pair per row (generate/cpu_logits.h), elsewhere as batched tensor
// ops; only B numbers and the k candidates of each row come to the host for the draw.
#include "generate/sampler.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "generate/cpu_logits.h"  // cpu_logit_stats
#include "util/check.h"

namespace tp {

int64_t sampler_pick(const std::vector<double>& p, double top_p, double u) {
  // top-p: the smallest prefix whose mass reaches top_p (at least one token), renormalised
  size_t keep = p.size();
  if (top_p < 1.0) {
    double cum = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      cum += p[i];
      if (cum >= top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  double target = u * total, cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (target < cum) return int64_t(i);
  }
  return int64_t(keep - 1);
}

// The statistics cpu_logit_stats() computes, as batched tensor ops on any device.
static LogitStats logit_stats(const at::Tensor& logits) {
  at::Tensor lse = logits.logsumexp(-1, /*keepdim=*/true);                      // [B, 1]
  at::Tensor logp = logits - lse;                                              // [B, V]
  at::Tensor entropy = -(logp.exp() * logp).sum(-1).to(at::kDouble).cpu().contiguous();
  at::Tensor arg = logits.argmax(-1).cpu().contiguous();
  lse = lse.view(-1).to(at::kDouble).cpu().contiguous();
  const int64_t B = logits.size(0);
  return {std::vector<int64_t>(arg.data_ptr<int64_t>(), arg.data_ptr<int64_t>() + B),
          std::vector<double>(lse.data_ptr<double>(), lse.data_ptr<double>() + B),
          std::vector<double>(entropy.data_ptr<double>(), entropy.data_ptr<double>() + B)};
}

std::vector<TokenDraw> sampler_draw(const at::Tensor& logits, const SamplerConfig& cfg, const std::vector<Rng*>& rngs,
                                    const std::vector<int64_t>& forced, const std::vector<DrawRule>& rules) {
  const int64_t B = logits.size(0), V = logits.size(1);
  TP_CHECK(int64_t(rngs.size()) == B && int64_t(forced.size()) == B && (rules.empty() || int64_t(rules.size()) == B));
  LogitStats st = cpu_logit_stats_applies(logits) ? cpu_logit_stats(logits) : logit_stats(logits);
  std::vector<TokenDraw> out(B);
  auto greedy = [&](int64_t b) { return cfg.temperature <= 0 || (!rules.empty() && rules[b].greedy); };
  bool any_greedy = false, any_sampled = false;
  at::Tensor pick = logits;  // what the choice sees: the logits with each row's banned tokens at -inf
  for (int64_t b = 0; b < B; ++b) {
    if (forced[b] >= 0) continue;
    (greedy(b) ? any_greedy : any_sampled) = true;
    if (!rules.empty() && !rules[b].banned.empty()) {
      if (pick.is_same(logits)) pick = logits.clone();
      pick[b].index_fill_(0, at::tensor(rules[b].banned, at::kLong).to(logits.device()), -std::numeric_limits<float>::infinity());
    }
  }
  if (any_greedy) {
    std::vector<int64_t> arg = st.argmax;
    if (!pick.is_same(logits)) {
      at::Tensor a = pick.argmax(-1).cpu();
      arg.assign(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + B);
    }
    for (int64_t b = 0; b < B; ++b)
      if (forced[b] < 0 && greedy(b)) out[b].token = arg[b];
  }
  if (any_sampled) {
    const int64_t k = cfg.top_k > 0 ? std::min<int64_t>(cfg.top_k, V) : V;
    auto [vals, idx] = pick.topk(k, -1, /*largest=*/true, /*sorted=*/true);  // temperature after: same order
    at::Tensor probs = (vals / cfg.temperature).softmax(-1).to(at::kDouble).cpu().contiguous();  // [B, k], decreasing
    idx = idx.cpu().contiguous();
    for (int64_t b = 0; b < B; ++b) {
      if (forced[b] >= 0 || greedy(b)) continue;
      const double* p = probs.data_ptr<double>() + b * k;
      int64_t j = sampler_pick(std::vector<double>(p, p + k), cfg.top_p, rngs[b]->uniform());
      out[b].token = idx.data_ptr<int64_t>()[b * k + j];
    }
  }
  std::vector<int64_t> chosen(B);
  for (int64_t b = 0; b < B; ++b) chosen[b] = forced[b] >= 0 ? forced[b] : out[b].token;
  at::Tensor lc = logits.gather(1, at::tensor(chosen, at::kLong).to(logits.device()).view({B, 1})).to(at::kDouble).cpu();
  for (int64_t b = 0; b < B; ++b) {
    out[b].token = chosen[b];
    out[b].logprob = float(lc.data_ptr<double>()[b] - st.lse[b]);
    out[b].entropy = float(st.entropy[b]);
  }
  return out;
}

}  // namespace tp
