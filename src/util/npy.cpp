// .npy writer (see npy.h). Header: magic, version 1.0, u16 header length, a Python dict literal padded
// with spaces to a multiple of 64 bytes and ended by '\n'.
#include "util/npy.h"

#include <fmt/format.h>

#include "util/text.h"

namespace tp {

void npy_write_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) dims += std::to_string(d) + ",", n *= d;
  if (shape.size() > 1) dims.pop_back();
  std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t hl = static_cast<uint16_t>(dict.size());
  out.append(reinterpret_cast<const char*>(&hl), 2);
  out += dict;
  out.append(reinterpret_cast<const char*>(data), size_t(n) * sizeof(float));
  write_file_atomic(path, out);
}

}  // namespace tp
