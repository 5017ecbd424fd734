// Capture recorder (see recorder.h).
#include "capture/recorder.h"

#include <ATen/ATen.h>

#include "util/check.h"

namespace tp {

static at::ScalarType storage_dtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  return at::kHalf;
}

void capture_recorder_init(CaptureRecorder& rec, const CapturePlan& plan, int64_t n_layer) {
  rec.plan = plan;
  rec.n_layer = n_layer;
  rec.site_of_layer.assign(n_layer, -1);
  rec.hooks.want_resid.assign(n_layer, 0);
  for (size_t s = 0; s < plan.layers.size(); ++s) {
    TP_CHECK(plan.layers[s] >= 0 && plan.layers[s] < n_layer);
    rec.site_of_layer[plan.layers[s]] = int64_t(s);
    rec.hooks.want_resid[plan.layers[s]] = 1;
  }
  rec.hooks.want_final_norm = plan.final_norm;
  rec.samples.clear();
}

// x: [B, T, C]. Copies the marked tokens' states at this site into their samples.
static void observe(CaptureRecorder& rec, HookSite site, int64_t il, const at::Tensor& x) {
  const int64_t S = rec.plan.n_site(), C = x.size(-1);
  const int64_t s = site == HookSite::FINAL_NORM ? S - 1 : rec.site_of_layer[il];
  std::vector<int64_t> rows, ts;
  for (const auto& p : rec.points) rows.push_back(p.row), ts.push_back(p.t);
  auto i64 = at::TensorOptions().dtype(at::kLong).device(x.device());
  at::Tensor picked = x.index({at::tensor(rows, at::kLong).to(i64), at::tensor(ts, at::kLong).to(i64)})
                          .to(storage_dtype(rec.plan.dtype)).cpu();  // [n_points, C]
  for (size_t k = 0; k < rec.points.size(); ++k) {
    const CapturePoint& p = rec.points[k];
    SampleActivations& sa = rec.samples[p.sample];
    for (int i = 0; i < kNumCapturePos; ++i) {
      if (!(p.tags & capture_bit(CapturePos(i)))) continue;
      at::Tensor& dst = CapturePos(i) == CapturePos::THINK_SPAN ? sa.span_rows[p.pos] : sa.at[i];
      if (!dst.defined()) dst = at::zeros({S, C}, picked.options());
      dst[s].copy_(picked[int64_t(k)]);
    }
  }
}

const Hooks* capture_begin_forward(CaptureRecorder& rec, std::vector<CapturePoint> points) {
  rec.points = std::move(points);
  if (rec.points.empty() || rec.plan.empty()) return nullptr;
  rec.hooks.observe = [&rec](HookSite site, int64_t il, const at::Tensor& x) { observe(rec, site, il, x); };
  return &rec.hooks;
}

void capture_rewind(CaptureRecorder& rec, int64_t sample, int64_t pos) {
  auto it = rec.samples.find(sample);
  if (it == rec.samples.end()) return;
  auto& rows = it->second.span_rows;
  rows.erase(rows.lower_bound(pos), rows.end());
}

void capture_finish_sample(CaptureRecorder& rec, int64_t sample) {
  auto it = rec.samples.find(sample);
  if (it == rec.samples.end() || it->second.span_rows.empty()) return;
  SampleActivations& sa = it->second;
  std::vector<at::Tensor> rows;
  for (auto& [pos, t] : sa.span_rows) rows.push_back(t);
  at::Tensor span = at::stack(rows);  // [n, S, C]
  const int64_t n = span.size(0), P = rec.plan.span_points;
  if (rec.plan.span_pool) {
    std::vector<at::Tensor> means;
    for (auto [b, e] : span_pool_chunks(n, P)) means.push_back(span.narrow(0, b, e - b).to(at::kFloat).mean(0));
    sa.at[int(CapturePos::THINK_SPAN)] = at::stack(means).to(span.scalar_type());
  } else {
    sa.at[int(CapturePos::THINK_SPAN)] = span.index_select(0, at::tensor(span_hop_indices(n, P), at::kLong));
  }
  sa.span_rows.clear();
}

void capture_append_block(ActivationBlock& b, const at::Tensor& states, int32_t sample_in_unit, bool span) {
  at::ScalarType st = b.dtype == ActDtype::F32 ? at::kFloat : b.dtype == ActDtype::F16 ? at::kHalf : at::kBFloat16;
  at::Tensor x = (span ? states : states.unsqueeze(0)).to(at::kCPU, st).contiguous();  // [P, S, C]
  TP_CHECK_MSG(x.size(1) == static_cast<int64_t>(b.layers.size()) && x.size(2) == b.hidden, "capture shape {}x{} vs block {}x{}",
               x.size(1), x.size(2), b.layers.size(), b.hidden);
  TP_CHECK(b.data.size() == b.layers.size());
  const size_t row = static_cast<size_t>(b.hidden) * x.element_size();
  const auto* src = static_cast<const uint8_t*>(x.data_ptr());
  for (size_t s = 0; s < b.layers.size(); s++)
    for (int64_t p = 0; p < x.size(0); p++) {
      const uint8_t* r = src + (static_cast<size_t>(p) * b.layers.size() + s) * row;
      b.data[s].insert(b.data[s].end(), r, r + row);
    }
  for (int64_t p = 0; p < x.size(0); p++) {
    b.sample_in_unit.push_back(sample_in_unit);
    b.point.push_back(static_cast<int32_t>(p));
  }
}

}  // namespace tp
