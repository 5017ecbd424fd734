// The one-pass bf16 RMSNorm and RoPE of model/cpu_rowops.h. Reference: the same equations as the ATen ops
// model/transformer.cpp runs for float32 and GPUs (HF's modeling_qwen3.py order and roundings). RoPE must
// match them bit for bit; RMSNorm sums its squares in another order, so it may differ by one bf16 ulp where
// the float32 statistics round differently, and must equal the float64 norm to bf16 rounding.
// ATen before Catch: c10's logging defines CHECK too, and Catch's definition must win.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include "model/cpu_rowops.h"

using namespace tp;

TEST_CASE("cpu_rms_norm and cpu_rope equal the ATen equations in bf16", "[model][rowops]") {
  at::manual_seed(5);
  for (int64_t C : {5, 16, 128, 1000, 1024, 4100}) {
    INFO("C = " << C);
    at::Tensor x = (at::randn({3, 5, C}) * 3).to(at::kBFloat16), w = (1 + at::randn({C}) * 0.1).to(at::kBFloat16);
    at::Tensor xf = x.to(at::kFloat);
    at::Tensor ref = w * (xf * at::rsqrt(xf.pow(2).mean(-1, true) + 1e-6)).to(at::kBFloat16);
    at::Tensor got = cpu_rms_norm(x, w, 1e-6);
    REQUIRE(got.sizes() == ref.sizes());
    at::Tensor xd = x.to(at::kDouble), exact = w.to(at::kDouble) * xd * at::rsqrt(xd.pow(2).mean(-1, true) + 1e-6);
    // two bf16 roundings (normalised row, product): at most 2^-8 + 2^-8 relative, plus float32 slack
    CHECK(((got.to(at::kDouble) - exact).abs() - exact.abs() * (std::ldexp(1.0, -7) + 1e-6)).max().item<double>() <= 0);
    const int64_t differ = (got != ref).sum().item<int64_t>();  // 0 where ATen runs its AVX2 sum (Debian's 1.13)
    if (differ) WARN(differ << " of " << x.numel() << " values differ from the ATen ops by float32 rounding of the statistics");
    CHECK(differ <= std::max<int64_t>(1, x.numel() / 1000));
  }
  const int64_t B = 2, T = 3, NH = 4, D = 64;
  at::Tensor x = at::randn({B, T, NH, D}).to(at::kBFloat16);
  at::Tensor angle = at::rand({B, T, 1, D / 2}) * 100;
  at::Tensor emb = at::cat({angle, angle}, -1);
  at::Tensor cos = emb.cos().to(at::kBFloat16), sin = emb.sin().to(at::kBFloat16);
  at::Tensor rotated = at::cat({-x.narrow(-1, D / 2, D / 2), x.narrow(-1, 0, D / 2)}, -1);
  CHECK(at::equal(cpu_rope(x, cos, sin), x * cos + rotated * sin));
}
