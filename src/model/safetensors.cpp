// Safetensors reading (mmap + header validation) and writing; see safetensors.h.
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[b,e]}},
// then the data block; offsets are relative to the data block.
#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/check.h"
#include "util/text.h"

namespace tp {

struct MappedFile {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (data && size) munmap(const_cast<uint8_t*>(data), size);
  }
};

const char* st_dtype_name(StDtype d) {
  switch (d) {
    case StDtype::F32: return "F32";
    case StDtype::BF16: return "BF16";
    case StDtype::F16: return "F16";
  }
  return "?";
}

size_t st_dtype_size(StDtype d) { return d == StDtype::F32 ? 4 : 2; }

const StTensor* StCheckpoint::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------------
// reading

static std::shared_ptr<MappedFile> map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  }
  auto m = std::make_shared<MappedFile>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw Error(fmt::format("{}: mmap failed: {}", path, std::strerror(errno)));
    }
    m->data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

static StDtype parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return StDtype::F32;
  if (s == "BF16") return StDtype::BF16;
  if (s == "F16") return StDtype::F16;
  throw Error(fmt::format("{}: tensor '{}': unsupported dtype '{}'", path, name, s),
              "thinkprobe reads F32, BF16 and F16 checkpoints");
}

StCheckpoint safetensors_open(const std::string& path) {
  auto m = map_file(path);
  if (m->size < 8) throw Error(fmt::format("{}: truncated: {} bytes, not even a header length", path, m->size));
  uint64_t n_header = 0;
  std::memcpy(&n_header, m->data, 8);  // little-endian hosts only (x86-64, aarch64)
  if (n_header > m->size - 8)
    throw Error(fmt::format("{}: truncated or corrupt: header length {} but the file has {} bytes", path, n_header, m->size),
                "re-download the file; its size should match the one on the hub");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(m->data + 8, m->data + 8 + n_header);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: corrupt header: {}", path, e.what()));
  }
  if (!header.is_object()) throw Error(fmt::format("{}: corrupt header: not a JSON object", path));
  const uint8_t* data_block = m->data + 8 + n_header;
  const size_t n_data = m->size - 8 - n_header;

  StCheckpoint ck;
  std::vector<std::pair<std::pair<size_t, size_t>, std::string>> ranges;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (v.is_object())
        for (auto& [k, mv] : v.items())
          if (mv.is_string()) ck.metadata[k] = mv.get<std::string>();
      continue;
    }
    auto where = [&](const std::string& what) { return fmt::format("{}: tensor '{}': {}", path, name, what); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
        !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw Error(where("corrupt header entry (needs dtype, shape, data_offsets[2])"));
    StTensor t;
    t.name = name;
    t.path = path;
    t.file = m;
    t.dtype = parse_dtype(v["dtype"].get<std::string>(), path, name);
    uint64_t numel = 1;
    for (auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw Error(where("corrupt shape " + v["shape"].dump()));
      uint64_t n = d.get<uint64_t>();
      if (n != 0 && numel > (uint64_t(1) << 48) / n) throw Error(where("shape too large " + v["shape"].dump()));
      numel *= n;
      t.shape.push_back(static_cast<int64_t>(n));
    }
    auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where("corrupt data_offsets " + off.dump()));
    uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e || e > n_data)
      throw Error(where(fmt::format("data_offsets [{}, {}] out of range: the data block has {} bytes (truncated file?)", b, e, n_data)),
                  "re-download the file; its size should match the one on the hub");
    if (e - b != numel * st_dtype_size(t.dtype))
      throw Error(where(fmt::format("{} x {} needs {} bytes but data_offsets give {}", st_dtype_name(t.dtype),
                                    v["shape"].dump(), numel * st_dtype_size(t.dtype), e - b)));
    t.data = data_block + b;
    t.n_bytes = e - b;
    ranges.push_back({{b, e}, name});
    ck.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first.first < ranges[i - 1].first.second)
      throw Error(fmt::format("{}: corrupt header: tensors '{}' and '{}' overlap", path, ranges[i - 1].second, ranges[i].second));
  return ck;
}

StCheckpoint checkpoint_open(const std::string& dir) {
  namespace fs = std::filesystem;
  if (fs::is_regular_file(dir)) return safetensors_open(dir);
  fs::path index = fs::path(dir) / "model.safetensors.index.json";
  fs::path single = fs::path(dir) / "model.safetensors";
  if (!fs::exists(index)) {
    if (!fs::exists(single))
      throw Error(fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir),
                  "point --model at a Hugging Face checkpoint folder");
    return safetensors_open(single.string());
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(index.string()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", index.string(), e.what()));
  }
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(fmt::format("{}: no weight_map object", index.string()));
  std::map<std::string, StCheckpoint> shards;
  StCheckpoint out;
  for (auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) throw Error(fmt::format("{}: weight_map['{}'] is not a file name", index.string(), name));
    std::string f = file.get<std::string>();
    if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
      throw Error(fmt::format("{}: weight_map['{}'] = '{}' is not a plain file name", index.string(), name, f));
    if (!shards.count(f)) shards.emplace(f, safetensors_open((fs::path(dir) / f).string()));
    const StTensor* t = shards[f].find(name);
    if (!t) throw Error(fmt::format("{}: tensor '{}' is listed in the index but missing from the shard", (fs::path(dir) / f).string(), name));
    out.tensors.emplace(name, *t);
  }
  for (auto& [f, ck] : shards) {
    if (out.metadata.empty()) out.metadata = ck.metadata;
    for (auto& [name, t] : ck.tensors) {
      auto it = out.tensors.find(name);
      if (it != out.tensors.end() && it->second.path != t.path)
        throw Error(fmt::format("{}: tensor '{}' also appears in {}", t.path, name, it->second.path));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// writing

void safetensors_write(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    TP_CHECK_MSG(t.bytes.size() == size_t(numel) * st_dtype_size(t.dtype), "tensor {}", t.name);
    header[t.name] = {{"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  // streamed through a temporary file + rename: checkpoints can be larger than we want to hold twice
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot write", tmp));
    uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(h.data(), std::streamsize(h.size()));
    for (const auto& t : tensors) out.write(t.bytes.data(), std::streamsize(t.bytes.size()));
    if (!out.flush()) throw Error(fmt::format("{}: write failed (disk full?)", tmp));
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace tp
