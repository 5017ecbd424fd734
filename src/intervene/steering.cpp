// steering_for (see steering.h).
#include "intervene/steering.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "model/safetensors.h"
#include "model/weights.h"
#include "util/check.h"

namespace tp {

Steering steering_for(const InterventionSpec& iv, const Model& m) {
  const std::string file = iv.params.at("file").get<std::string>();
  const double alpha = iv.params.at("alpha").get<double>();
  const int64_t L = m.cfg.n_layer, C = m.cfg.n_embd;
  // layers: "a:b" (end exclusive) or one index; negatives count from the end
  const nlohmann::json& lj = iv.params.at("layers");
  std::string spec = lj.is_string() ? lj.get<std::string>() : std::to_string(lj.get<int64_t>());
  size_t colon = spec.find(':');
  auto idx = [&](const std::string& t) { int64_t i = std::stoll(t); return i < 0 ? i + L : i; };
  int64_t a = idx(spec.substr(0, colon)), b = colon == std::string::npos ? a + 1 : idx(spec.substr(colon + 1));
  if (a < 0 || b > L || a >= b)
    throw Error(fmt::format("intervention {}: layers '{}' is not a range inside the model's {} layers", iv.id, spec, L));

  StCheckpoint ck = safetensors_open(file);
  std::string name = iv.params.value("tensor", "");
  if (name.empty()) {
    if (ck.tensors.size() != 1)
      throw Error(fmt::format("intervention {}: {} holds {} tensors; name one with params.tensor", iv.id, file, ck.tensors.size()));
    name = ck.tensors.begin()->first;
  }
  const StTensor* t = ck.find(name);
  if (!t) throw Error(fmt::format("intervention {}: {} has no tensor '{}'", iv.id, file, name));
  bool per_layer = t->shape == std::vector<int64_t>{L, C};
  if (!per_layer && t->shape != std::vector<int64_t>{C})
    throw Error(fmt::format("intervention {}: {}: tensor '{}' has shape [{}], expected [{}] or [{}, {}] for this model", iv.id, file, name,
                            fmt::join(t->shape, ", "), C, L, C));
  at::Tensor v = st_to_tensor(*t, at::kFloat, m.device) * alpha;
  Steering s;
  s.add.resize(L);
  for (int64_t il = a; il < b; il++) s.add[il] = (per_layer ? v[il] : v).to(m.dtype).contiguous();
  return s;
}

}  // namespace tp
