// The CPU bf16 decode kernel behind model/cpu_gemv.h. Reference: at::linear in float64 over the same bf16
// inputs; the kernel must agree to bf16 rounding of the output plus float32 accumulation error, on random
// shapes with odd sizes (K tails under 32, N not a multiple of the 4-row tile, M across the token blocks).
// ATen before Catch: c10's logging defines CHECK too, and Catch's definition must win.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include "model/cpu_gemv.h"

using namespace tp;

// max over entries of |y - ref| / (bf16 half-ulp of ref + K * 2^-24 * sum_k |x_k w_k|); <= 1 passes.
static double gemv_error_ratio(const at::Tensor& y, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  at::Tensor ref = at::linear(xd, wd, b.defined() ? b.to(at::kDouble) : at::Tensor());
  at::Tensor tol = ref.abs() * std::ldexp(1.0, -8) + at::linear(xd.abs(), wd.abs()) * (double(x.size(-1)) * std::ldexp(1.0, -24)) + 1e-30;
  return ((y.to(at::kDouble) - ref).abs() / tol).max().item<double>();
}

TEST_CASE("cpu_gemv_bf16 equals float64 at::linear on odd shapes", "[model][gemv]") {
  if (!cpu_gemv_available()) {
    WARN("this CPU lacks avx512_bf16: the kernel is not used here (linear_infer() calls at::linear)");
    return;
  }
  at::manual_seed(7);
  for (int64_t M : {1, 2, 3, 4, 5, 7, 8})
    for (int64_t N : {1, 3, 77, 130})
      for (int64_t K : {1, 31, 32, 33, 1000, 1024}) {
        at::Tensor x = at::randn({M, K}).to(at::kBFloat16), w = at::randn({N, K}).to(at::kBFloat16);
        at::Tensor b = (M % 2) ? at::randn({N}).to(at::kBFloat16) : at::Tensor();
        INFO("M=" << M << " N=" << N << " K=" << K);
        CHECK(gemv_error_ratio(cpu_gemv_bf16(x, w, b), x, w, b) <= 1.0);
        CHECK(at::equal(cpu_gemv_bf16(x, w, b, /*float_out=*/true), cpu_gemv_bf16(x, w, b).to(at::kFloat)));  // the logits' form
      }
  // threads split the output rows: a matrix big enough for at::parallel_for to split it
  at::Tensor x = at::randn({3, 1024}).to(at::kBFloat16), w = at::randn({4099, 1024}).to(at::kBFloat16);
  CHECK(gemv_error_ratio(cpu_gemv_bf16(x, w, {}), x, w, {}) <= 1.0);
  // a strided (non-contiguous) activation view
  at::Tensor xt = at::randn({64, 6}).to(at::kBFloat16).t();
  CHECK(gemv_error_ratio(cpu_gemv_bf16(xt, w.narrow(1, 0, 64), {}), xt, w.narrow(1, 0, 64), {}) <= 1.0);
}

TEST_CASE("linear_infer() keeps at::linear's shapes and leaves autograd to at::linear", "[model][gemv]") {
  at::manual_seed(8);
  at::Tensor x = at::randn({2, 3, 96}).to(at::kBFloat16), w = at::randn({40, 96}).to(at::kBFloat16);
  at::Tensor b = at::randn({40}).to(at::kBFloat16);
  at::Tensor y = linear_infer(x, w, b);
  REQUIRE(y.sizes() == at::IntArrayRef({2, 3, 40}));
  CHECK(gemv_error_ratio(y.reshape({6, 40}), x.reshape({6, 96}), w, b) <= 1.0);
  // more rows than the kernel takes: at::linear (oneDNN), same shapes
  at::Tensor xl = at::randn({kGemvMaxRows + 1, 96}).to(at::kBFloat16);
  CHECK(linear_infer(xl, w).sizes() == at::IntArrayRef({kGemvMaxRows + 1, 40}));
  // training (src/demo) needs gradients through the same forward
  at::Tensor wg = at::randn({40, 96}).set_requires_grad(true);
  at::Tensor xg = at::randn({1, 96});
  linear_infer(xg.to(at::kBFloat16), wg.to(at::kBFloat16)).to(at::kFloat).sum().backward();
  REQUIRE(wg.grad().defined());
  CHECK(at::allclose(wg.grad(), xg.to(at::kBFloat16).to(at::kFloat).expand({40, 96}), 0, 0));
}
