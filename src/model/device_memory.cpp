// Device memory queries for KV-cache sizing (see device_memory.h). The CUDA runtime is reached through
// dlsym so that CPU-only builds (Debian's libtorch) compile and run this file unchanged.
#include "model/device_memory.h"

#include <dlfcn.h>

#include <fstream>
#include <string>

namespace tp {

int64_t host_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

int64_t cuda_free_bytes(int index) {
  using GetDevice = int (*)(int*);
  using SetDevice = int (*)(int);
  using MemGetInfo = int (*)(size_t*, size_t*);
  // A CUDA build of libtorch links the CUDA runtime dynamically: its symbols are already in the process.
  auto get = reinterpret_cast<GetDevice>(dlsym(RTLD_DEFAULT, "cudaGetDevice"));
  auto set = reinterpret_cast<SetDevice>(dlsym(RTLD_DEFAULT, "cudaSetDevice"));
  auto info = reinterpret_cast<MemGetInfo>(dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
  if (!get || !set || !info) return 0;
  int prev = 0;
  if (get(&prev) != 0 || set(index) != 0) return 0;
  size_t free_b = 0, total_b = 0;
  const int rc = info(&free_b, &total_b);
  set(prev);
  return rc == 0 ? int64_t(free_b) : 0;
}

}  // namespace tp
