// reduce_gather and directions_write (see reduce_gather.h). Messages are CBOR: {"cells": [...],
// "dirs": [{"name", "v": binary float32}]}, exact for every double and float.
#include "reduce/reduce_gather.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "dist/comm.h"
#include "model/safetensors.h"
#include "util/check.h"

namespace tp {

using nlohmann::json;

void reduce_gather(json& doc, std::vector<NamedVector>& dirs, int rank, int size) {
  if (rank != 0) {
    json msg = {{"cells", doc["cells"]}, {"dirs", json::array()}};
    for (const auto& d : dirs) {
      std::vector<uint8_t> b(d.v.size() * sizeof(float));
      std::memcpy(b.data(), d.v.data(), b.size());
      msg["dirs"].push_back({{"name", d.name}, {"v", json::binary(std::move(b))}});
    }
    std::vector<uint8_t> bytes = json::to_cbor(msg);
    comm_send_bytes(0, Tag::REDUCE_CELLS, std::string(bytes.begin(), bytes.end()));
    return;
  }
  std::map<std::string, std::vector<float>> by_name;
  for (auto& d : dirs) by_name[d.name] = std::move(d.v);
  json cells = doc["cells"];
  for (int r = 1; r < size; r++) {
    std::string bytes = comm_recv_bytes(r, Tag::REDUCE_CELLS);
    json msg = json::from_cbor(bytes.begin(), bytes.end());
    for (auto& c : msg["cells"]) cells.push_back(std::move(c));
    for (const auto& d : msg["dirs"]) {
      const auto& b = d["v"].get_binary();
      std::vector<float> v(b.size() / sizeof(float));
      std::memcpy(v.data(), b.data(), v.size() * sizeof(float));
      by_name[d["name"].get<std::string>()] = std::move(v);
    }
  }
  std::stable_sort(cells.begin(), cells.end(), [](const json& a, const json& b) { return a["index"] < b["index"]; });
  dirs.clear();
  for (auto& c : cells) {
    c.erase("index");
    for (const auto& e : c["directions"])
      for (const char* kind : {"dom", "probe"}) {
        auto it = by_name.find(e[kind].get<std::string>());
        TP_CHECK_MSG(it != by_name.end(), "reduce gather: direction {} missing", e[kind].get<std::string>());
        dirs.push_back({it->first, it->second});
      }
  }
  doc["cells"] = std::move(cells);
}

void directions_write(const std::string& path, const std::vector<NamedVector>& dirs, const std::string& archive) {
  std::vector<StWriteTensor> ts;
  for (const auto& d : dirs) {
    std::string bytes(d.v.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), d.v.data(), bytes.size());
    ts.push_back({d.name, StDtype::F32, {static_cast<int64_t>(d.v.size())}, std::move(bytes)});
  }
  safetensors_write(path, ts, {{"format", "thinkprobe reduce directions"}, {"archive", archive},
                               {"names", "<model>/<intervention>/<position>/<layer>/dom|probe; see results.json settings.choices.directions"}});
}

}  // namespace tp
