// Which hidden states to keep: the job's `capture` section resolved against a model's layer count into
// layer indices, a set of named token positions, and the thinking-span resampling rule.
// Pure functions, no tensors (tested on their own); capture/recorder.cpp applies the plan.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/job_spec.h"

namespace tp {

// Named positions in a trace (DESIGN.md "Positions in a reasoning trace"). Bit i of a mask = value i.
enum class CapturePos : uint8_t {
  PROMPT_END = 0,    // last token of the rendered prompt
  THINK_OPEN = 1,    // the token that opens thinking (<think>), generated or at the end of the prompt
  THINK_FIRST = 2,   // first thinking-content token (the paper's readout)
  THINK_CLOSE = 3,   // the token that closes thinking (</think>), generated or forced
  ANSWER_FIRST = 4,  // first token after the close
  THINK_SPAN = 5,    // every thinking-content token, resampled to span_points positions
};
constexpr int kNumCapturePos = 6;
const char* capture_pos_name(CapturePos p);  // "prompt_end", ... as in the job file
inline uint8_t capture_bit(CapturePos p) { return uint8_t(1u << unsigned(p)); }

struct CapturePlan {
  std::vector<int64_t> layers;  // residual stream after these layers, ascending, unique
  bool final_norm = true;       // also the final-norm output
  uint8_t positions = 0;        // mask of capture_bit(CapturePos)
  int64_t span_points = 100;
  bool span_pool = false;       // false: hop = floor(linspace); true: means over equal chunks
  std::string dtype = "float16";  // float16 | bfloat16 | float32, the dtype states leave the device in
  bool empty() const { return positions == 0 || (layers.empty() && !final_norm); }
  int64_t n_site() const { return int64_t(layers.size()) + (final_norm ? 1 : 0); }
};

// layers: "all", "last", an index (negative counts from the end), or "a:b" (end exclusive, negatives
// allowed). tp::Error naming capture.layers for anything out of range or malformed.
CapturePlan capture_plan_from_spec(const CaptureSpec& spec, int64_t n_layer);

// The span of n tokens resampled to P points: for hop, P indices floor(linspace(0, n-1, P)); for pool,
// P chunks [begin, end) with begin = floor(i*n/P), end = max(begin+1, floor((i+1)*n/P)). n >= 1.
std::vector<int64_t> span_hop_indices(int64_t n, int64_t P);
std::vector<std::pair<int64_t, int64_t>> span_pool_chunks(int64_t n, int64_t P);

}  // namespace tp
