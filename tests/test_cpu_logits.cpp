// The per-row logit statistics behind the CPU sampler (generate/cpu_logits.h). Reference: float64
// log_softmax over the same float32 logits (lse = logits - log_softmax, entropy = -Σ p log p) and the first
// index of the maximum, on widths around the 16-lane vectors, a vocabulary-sized row, ties and -inf entries.
// ATen before Catch: c10's logging defines CHECK too, and Catch's definition must win.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <limits>

#include "generate/cpu_logits.h"

using namespace tp;

TEST_CASE("cpu_logit_stats equals float64 log_softmax, entropy and first argmax", "[generate][sampler]") {
  at::Tensor probe = at::zeros({1, 4});
  if (!cpu_logit_stats_applies(probe)) {
    WARN("this CPU lacks AVX-512: the sampler uses batched tensor ops here");
    return;
  }
  at::manual_seed(3);
  for (int64_t V : {1, 5, 16, 17, 1023, 1024, 1025, 151936}) {
    at::Tensor l = at::randn({3, V}) * 4;
    if (V > 20) {
      l[1][V - 3] = 1000;              // the maximum in the scalar tail, far above the rest
      l[2][7] = -std::numeric_limits<float>::infinity();
      l[2][V / 2] = l[2][V - 1] = 50;  // tie: the first index wins
    }
    LogitStats st = cpu_logit_stats(l);
    at::Tensor ld = l.to(at::kDouble), logp = ld.log_softmax(-1);
    at::Tensor p = logp.exp(), plogp = at::where(p > 0, p * logp, at::zeros_like(p));
    for (int64_t b = 0; b < 3; ++b) {
      INFO("V = " << V << ", row " << b);
      const double lse = (ld[b][0] - logp[b][0]).item<double>(), ent = -plogp[b].sum().item<double>();
      CHECK(st.lse[b] == Approx(lse).epsilon(1e-6).margin(1e-6));
      CHECK(st.entropy[b] == Approx(ent).epsilon(1e-5).margin(1e-6));
      const float mx = l[b].max().item<float>();
      int64_t first = 0;
      while (l[b][first].item<float>() != mx) ++first;
      CHECK(st.argmax[b] == first);
    }
  }
}
