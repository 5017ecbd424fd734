// The capture observer: implements the model's Hooks for the positions generate/ marks before each
// forward pass, copies exactly those states off the device in the plan's dtype, and resamples the
// thinking span when a sample finishes. Knows nothing of HDF5 (the archive writer consumes the result).
// Called by generate/generate.cpp (and tests). With no points marked, forward runs with no hooks at all.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include <ATen/core/Tensor.h>

#include "capture/capture_plan.h"
#include "model/transformer.h"
#include "run_unit.h"

namespace tp {

// One token of the coming forward pass whose states are wanted.
struct CapturePoint {
  int64_t row = 0;     // batch row
  int64_t t = 0;       // index within the row's tokens
  int64_t sample = 0;  // caller's sample index
  int64_t pos = 0;     // absolute position in the sequence (for the span: thinking tokens in order)
  uint8_t tags = 0;    // mask of capture_bit(CapturePos)
};

// S = n_site (plan layers, then final norm if kept), C = n_embd.
struct SampleActivations {
  std::array<at::Tensor, kNumCapturePos> at;  // [S, C] per position (undefined if never reached); THINK_SPAN: [P, S, C]
  std::map<int64_t, at::Tensor> span_rows;     // while generating: position -> [S, C]
};

struct CaptureRecorder {
  CapturePlan plan;
  int64_t n_layer = 0;
  std::vector<int64_t> site_of_layer;  // [n_layer] site index or -1
  std::vector<CapturePoint> points;    // of the current forward pass
  std::map<int64_t, SampleActivations> samples;
  Hooks hooks;
};

void capture_recorder_init(CaptureRecorder& rec, const CapturePlan& plan, int64_t n_layer);
// Sets the points of the next forward; returns the hooks to pass to forward(), or nullptr when none.
const Hooks* capture_begin_forward(CaptureRecorder& rec, std::vector<CapturePoint> points);
// Drops the sample's per-token span rows at positions >= pos (generation rewound a slot: PSR).
void capture_rewind(CaptureRecorder& rec, int64_t sample, int64_t pos);
// Resamples the sample's span into at[THINK_SPAN] ([P, S, C]) and drops the per-token rows.
void capture_finish_sample(CaptureRecorder& rec, int64_t sample);
// Appends one sample's states at a position (at[p]: [S, C], or [P, S, C] for the span) to the archive block
// b as rows in b.dtype, one [rows, C] buffer per site (b.data sized to b.layers), and their sample and point.
void capture_append_block(ActivationBlock& b, const at::Tensor& states, int32_t sample_in_unit, bool span);

}  // namespace tp
