// Free memory of the device a model runs on, for sizing the KV cache (generate_plan): MemAvailable of the
// host for CPU; for CUDA, cudaMemGetInfo looked up at run time in the CUDA runtime that a CUDA build of
// libtorch has already loaded (dlsym), so this file needs no CUDA headers and builds against CPU-only
// libtorch. Called by model_load (CUDA: once, after the weights are on the device) and generate_plan (CPU).
#pragma once
#include <cstdint>

namespace tp {

int64_t host_available_bytes();  // MemAvailable from /proc/meminfo; 0 if unknown
// Free bytes on CUDA device `index` as the CUDA runtime reports them; 0 if no CUDA runtime is loaded.
int64_t cuda_free_bytes(int index);

}  // namespace tp
