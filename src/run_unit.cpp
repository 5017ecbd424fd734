// Helpers of the unit-runner interface (see run_unit.h).
#include "run_unit.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "util/check.h"

namespace tp {

ActDtype act_dtype(const std::string& capture_dtype) {
  if (capture_dtype == "float16") return ActDtype::F16;
  if (capture_dtype == "bfloat16") return ActDtype::BF16;
  TP_CHECK_MSG(capture_dtype == "float32", "capture dtype {}", capture_dtype);
  return ActDtype::F32;
}

size_t act_dtype_size(ActDtype t) { return t == ActDtype::F32 ? 4 : 2; }

std::vector<std::string> job_judges(const JobSpec& job) { return {job.judge.kind}; }

std::vector<int32_t> capture_layers(const CaptureSpec& capture, int32_t n_layer) {
  std::set<int32_t> out;
  auto index = [&](const std::string& spec, int64_t i) {
    int64_t r = i < 0 ? i + n_layer : i;
    if (r < 0 || r > n_layer)
      throw Error(fmt::format("capture.layers: '{}' is out of range for a model of {} layers", spec, n_layer),
                  "use indices in [-n_layer, n_layer) or a range a:b within them");
    return static_cast<int32_t>(r);
  };
  for (const auto& spec : capture.layers) {
    if (spec == "all") {
      for (int32_t i = 0; i < n_layer; i++) out.insert(i);
    } else if (spec == "last") {
      out.insert(n_layer - 1);
    } else if (size_t colon = spec.find(':'); colon != std::string::npos) {
      int32_t a = index(spec, std::stoll(spec.substr(0, colon))), b = index(spec, std::stoll(spec.substr(colon + 1)));
      for (int32_t i = a; i < b; i++) out.insert(i);
    } else {
      int32_t i = index(spec, std::stoll(spec));
      if (i == n_layer) throw Error(fmt::format("capture.layers: '{}' is out of range for a model of {} layers", spec, n_layer));
      out.insert(i);
    }
  }
  if (capture.final_norm) out.insert(n_layer);
  return {out.begin(), out.end()};
}

}  // namespace tp
