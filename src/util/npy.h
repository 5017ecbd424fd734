// NumPy .npy (format 1.0) writing for float32 arrays: `thinkprobe logits` output and test dumps.
// Deliberately write-only and float32-only; Python reads these with numpy.load.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tp {

// C-order float32 array of the given shape; tp::Error naming the path if it cannot be written.
void npy_write_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace tp
