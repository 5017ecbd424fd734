// Activation steering: alpha = 0 is bitwise the baseline (logits and sampled tokens); a steered layer's
// observed residual is the unsteered one plus alpha x v exactly (the add sits right before the
// observation); file, tensor and shape errors are named.
#include <ATen/ATen.h>  // before Catch: c10 defines CHECK too
#include <catch2/catch.hpp>

#include <cstring>

#include "generate/generate.h"
#include "helpers.h"
#include "intervene/steering.h"
#include "model/safetensors.h"
#include "model/test_model.h"
#include "util/check.h"

using namespace tp;

namespace {

struct Fixture {
  std::string dir;
  Model m;
};

Fixture& fixture() {
  static Fixture f = [] {
    std::string dir = test::temp_dir("steering");
    TestModelOptions o;
    make_test_model(dir + "/model", o);
    return Fixture{dir, model_load(dir + "/model", at::kFloat, at::kCPU)};
  }();
  return f;
}

std::string write_vector(const std::string& path, int64_t C, float scale) {
  std::string bytes(C * 4, '\0');
  for (int64_t i = 0; i < C; i++) {
    float x = scale * static_cast<float>((i % 7) - 3);
    std::memcpy(&bytes[i * 4], &x, 4);
  }
  safetensors_write(path, {{"direction", StDtype::F32, {C}, bytes}});
  return path;
}

InterventionSpec steer(const std::string& file, double alpha, const std::string& layers) {
  InterventionSpec iv;
  iv.id = "steer";
  iv.type = "steering";
  iv.params = {{"file", file}, {"alpha", alpha}, {"layers", layers}};
  return iv;
}

at::Tensor resid(const Model& m, const Steering* s, int64_t layer, at::Tensor* logits) {
  std::vector<int64_t> ids = {5, 17, 30, 2, 9};
  KVCache kv = kv_cache_new(m.cfg, 1, 8, m.dtype, m.device);
  Hooks hooks;
  hooks.want_resid.assign(m.cfg.n_layer, 0);
  hooks.want_resid[layer] = 1;
  at::Tensor seen;
  hooks.observe = [&](HookSite, int64_t, const at::Tensor& x) { seen = x.clone(); };
  *logits = forward(m, kv, {at::tensor(ids, at::kLong).view({1, 5}), {0}, {0}, {5}, s}, &hooks, true);
  return seen;
}

}  // namespace

TEST_CASE("steering with alpha 0 is bitwise the baseline", "[steering]") {
  Fixture& f = fixture();
  std::string v = write_vector(f.dir + "/v.safetensors", f.m.cfg.n_embd, 0.5f);
  Steering zero = steering_for(steer(v, 0.0, "0:2"), f.m);
  at::Tensor l0, l1;
  resid(f.m, nullptr, 0, &l0);
  resid(f.m, &zero, 0, &l1);
  CHECK(at::equal(l0, l1));
  GenOptions opt;
  opt.sampling = {0.9, 0.95, 40};
  opt.stop.eos_ids = {0};
  opt.stop.max_answer_tokens = 10;
  opt.stop.max_think_tokens = 6;
  std::vector<GenRequest> reqs = {{{5, 17, 30}, 1}, {{8, 9}, 2}};
  auto a = generate(f.m, reqs, opt);
  opt.steer = &zero;
  auto b = generate(f.m, reqs, opt);
  for (size_t i = 0; i < a.size(); i++) CHECK(a[i].tokens == b[i].tokens);
}

TEST_CASE("a steered layer's residual is the baseline's plus alpha v", "[steering]") {
  Fixture& f = fixture();
  const int64_t L = f.m.cfg.n_layer, C = f.m.cfg.n_embd;
  std::string v = write_vector(f.dir + "/v.safetensors", C, 0.5f);
  Steering s = steering_for(steer(v, 2.0, std::to_string(L - 1)), f.m);
  at::Tensor l0, l1;
  at::Tensor base = resid(f.m, nullptr, L - 1, &l0);
  at::Tensor steered = resid(f.m, &s, L - 1, &l1);
  at::Tensor vt = at::arange(C, at::kFloat).remainder(7).sub(3).mul(0.5 * 2.0);  // the vector written, times alpha
  CHECK(at::allclose(steered - base, vt.expand_as(base), 0, 1e-5));
  CHECK_FALSE(at::equal(l0, l1));  // and it moves the logits
}

TEST_CASE("steering errors name the file, the tensor and the shape", "[steering]") {
  Fixture& f = fixture();
  std::string bad = write_vector(f.dir + "/short.safetensors", 5, 1.0f);
  CHECK_THROWS_WITH(steering_for(steer(bad, 1.0, "0"), f.m), Catch::Contains("tensor 'direction' has shape [5], expected [" +
                                                                              std::to_string(f.m.cfg.n_embd) + "]"));
  std::string v = write_vector(f.dir + "/v.safetensors", f.m.cfg.n_embd, 1.0f);
  InterventionSpec iv = steer(v, 1.0, "0");
  iv.params["tensor"] = "nope";
  CHECK_THROWS_WITH(steering_for(iv, f.m), Catch::Contains("has no tensor 'nope'"));
  CHECK_THROWS_WITH(steering_for(steer(v, 1.0, "5:9"), f.m), Catch::Contains("is not a range inside the model's"));
}
