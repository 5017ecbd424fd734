// Helpers of the unit-runner interface (see run_unit.h).
#include "run_unit.h"

#include "capture/capture_plan.h"
#include "util/check.h"

namespace tp {

ActDtype act_dtype(const std::string& capture_dtype) {
  if (capture_dtype == "float16") return ActDtype::F16;
  if (capture_dtype == "bfloat16") return ActDtype::BF16;
  TP_CHECK_MSG(capture_dtype == "float32", "capture dtype {}", capture_dtype);
  return ActDtype::F32;
}

size_t act_dtype_size(ActDtype t) { return t == ActDtype::F32 ? 4 : 2; }

ActivationBlock activation_block(int32_t position, const std::vector<int32_t>& layers, int64_t hidden, ActDtype dtype) {
  ActivationBlock b;
  b.position = position;
  b.layers = layers;
  b.hidden = hidden;
  b.dtype = dtype;
  b.data.resize(layers.size());
  return b;
}

std::vector<std::string> job_judges(const JobSpec& job) {
  std::vector<std::string> ids;
  for (const auto& j : job.judge.judges) ids.push_back(j.id);
  return ids;
}

std::vector<int32_t> archive_layers(const CaptureSpec& capture, int64_t n_layer) {
  CapturePlan plan = capture_plan_from_spec(capture, n_layer);
  std::vector<int32_t> out(plan.layers.begin(), plan.layers.end());
  if (plan.final_norm) out.push_back(static_cast<int32_t>(n_layer));
  return out;
}

}  // namespace tp
