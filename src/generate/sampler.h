// Next-token choice for a batch of rows: temperature, top-k, top-p (greedy when temperature is 0), each
// row drawing from its own explicit Rng, so a sample's tokens never depend on which rows share its batch.
// Also scores every chosen or forced token: log-probability and entropy under the model's own
// distribution (softmax of the raw logits, temperature 1), which interventions and lock-in analyses use.
// Called by generate/generate.cpp. No stopping rules here.
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "util/hash.h"

namespace tp {

struct SamplerConfig {
  double temperature = 0.6;  // 0 = greedy (argmax)
  double top_p = 0.95;       // 1 = off
  int64_t top_k = 20;        // 0 = off
};

struct TokenDraw {
  int64_t token = -1;
  float logprob = 0;  // log p(token), model distribution at temperature 1
  float entropy = 0;  // entropy (nats) of that distribution
};

// Per-row extras of a draw, for decode-time policies (intervene/decode_policy.h): argmax instead of
// sampling (PSR's reflection), and tokens never chosen (extended thinking bans the close). Scores stay
// those of the model's unmasked distribution.
struct DrawRule {
  bool greedy = false;
  std::vector<int64_t> banned;
};

// logits: [B, V] float32 on any device. rngs[b]: the row's generator (unused when greedy or forced).
// forced[b] >= 0: that token is taken instead of sampling (still scored). rules: empty, or one per row.
// Candidates are processed in order of decreasing logit; HF order of warpers: temperature, top-k, top-p.
std::vector<TokenDraw> sampler_draw(const at::Tensor& logits, const SamplerConfig& cfg, const std::vector<Rng*>& rngs,
                                    const std::vector<int64_t>& forced, const std::vector<DrawRule>& rules = {});

// The top-p cut and the draw on one row's candidates (sorted by decreasing probability, summing to 1):
// returns the index among candidates. Exposed for tests.
int64_t sampler_pick(const std::vector<double>& probs_sorted, double top_p, double u);

}  // namespace tp
