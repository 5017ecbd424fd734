// Safetensors checkpoints, read through mmap with a strictly validated header: offsets in range and
// non-overlapping, dtype x shape agreeing with the byte count, so a truncated or corrupt file is a
// tp::Error naming the file and the tensor, never a crash. Handles one model.safetensors or a sharded
// set through model.safetensors.index.json. Also writes files (make-test-model).
// Deliberately torch-free: tensors are raw byte views; model/weights.cpp turns them into at::Tensors.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tp {

enum class StDtype { F32, BF16, F16 };
const char* st_dtype_name(StDtype d);  // "F32", "BF16", "F16"
size_t st_dtype_size(StDtype d);

struct MappedFile;  // an mmap'ed file, unmapped when the last view goes away

// One tensor inside a mapped file. data stays valid while `file` is alive.
struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  std::string path;                   // the file it lives in, for messages
  std::shared_ptr<MappedFile> file;   // keeps the mapping alive
};

// All tensors of a checkpoint folder (or of one .safetensors file), by name.
struct StCheckpoint {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;  // __metadata__ of the first file
  const StTensor* find(const std::string& name) const;  // nullptr if absent
};

// One .safetensors file: tp::Error on any header problem.
StCheckpoint safetensors_open(const std::string& path);
// A checkpoint folder: model.safetensors.index.json (sharded) or model.safetensors.
// A tensor listed by the index but missing from its shard, or present in two shards, is an error.
StCheckpoint checkpoint_open(const std::string& dir);

// Writing (test checkpoints): tensors are written in the given order, 8-byte aligned header.
struct StWriteTensor {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian element bytes, size = numel * dtype size
};
void safetensors_write(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace tp
