// CaptureSpec -> CapturePlan, and the thinking-span resampling indices (see capture_plan.h).
#include "capture/capture_plan.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "util/check.h"

namespace tp {

const char* capture_pos_name(CapturePos p) {
  switch (p) {
    case CapturePos::PROMPT_END: return "prompt_end";
    case CapturePos::THINK_OPEN: return "think_open";
    case CapturePos::THINK_FIRST: return "think_first";
    case CapturePos::THINK_CLOSE: return "think_close";
    case CapturePos::ANSWER_FIRST: return "answer_first";
    case CapturePos::THINK_SPAN: return "think_span";
  }
  return "?";
}

static int64_t parse_layer(const std::string& s, int64_t n_layer, const std::string& item) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty())
    throw Error(fmt::format("capture.layers: '{}' is not a layer (use an index, a:b, all or last)", item));
  if (v < 0) v += n_layer;
  return v;
}

CapturePlan capture_plan_from_spec(const CaptureSpec& spec, int64_t n_layer) {
  CapturePlan plan;
  std::set<int64_t> layers;
  for (const std::string& item : spec.layers) {
    if (item == "all") {
      for (int64_t i = 0; i < n_layer; ++i) layers.insert(i);
    } else if (item == "last") {
      layers.insert(n_layer - 1);
    } else if (size_t c = item.find(':'); c != std::string::npos) {
      int64_t a = c == 0 ? 0 : parse_layer(item.substr(0, c), n_layer, item);
      int64_t b = c + 1 == item.size() ? n_layer : parse_layer(item.substr(c + 1), n_layer, item);
      if (a < 0 || b > n_layer || a >= b)
        throw Error(fmt::format("capture.layers: range '{}' is empty or outside 0..{}", item, n_layer));
      for (int64_t i = a; i < b; ++i) layers.insert(i);
    } else {
      int64_t v = parse_layer(item, n_layer, item);
      if (v < 0 || v >= n_layer)
        throw Error(fmt::format("capture.layers: layer '{}' is outside 0..{} (the model has {} layers)", item, n_layer - 1, n_layer));
      layers.insert(v);
    }
  }
  plan.layers.assign(layers.begin(), layers.end());
  plan.final_norm = spec.final_norm;
  for (const std::string& p : spec.positions) {
    bool found = false;
    for (int i = 0; i < kNumCapturePos; ++i)
      if (p == capture_pos_name(CapturePos(i))) plan.positions |= capture_bit(CapturePos(i)), found = true;
    if (!found) throw Error(fmt::format("capture.positions: unknown position '{}'", p));
  }
  if (spec.span_points < 1) throw Error("capture.span_points: must be >= 1");
  plan.span_points = spec.span_points;
  plan.span_pool = spec.span_mode == "pool";
  if (spec.span_mode != "hop" && spec.span_mode != "pool") throw Error(fmt::format("capture.span_mode: '{}' (use hop or pool)", spec.span_mode));
  plan.dtype = spec.dtype;
  return plan;
}

std::vector<int64_t> span_hop_indices(int64_t n, int64_t P) {
  TP_CHECK(n >= 1 && P >= 1);
  std::vector<int64_t> idx(P);
  for (int64_t i = 0; i < P; ++i)
    idx[i] = P == 1 ? 0 : int64_t(std::floor(double(i) * double(n - 1) / double(P - 1)));  // numpy linspace, then floor
  return idx;
}

std::vector<std::pair<int64_t, int64_t>> span_pool_chunks(int64_t n, int64_t P) {
  TP_CHECK(n >= 1 && P >= 1);
  std::vector<std::pair<int64_t, int64_t>> out(P);
  for (int64_t i = 0; i < P; ++i) {
    int64_t b = std::min(n - 1, i * n / P);
    int64_t e = std::max(b + 1, (i + 1) * n / P);
    out[i] = {b, e};
  }
  return out;
}

}  // namespace tp
