// Several `thinkprobe reduce` ranks (mpirun -np N): each computes its share of the cells
// (reduce_archive's rank / size), then rank 0 gathers every cell and direction, in cell order, so its
// results.json and directions.safetensors equal a one-rank run's. Also writes the directions file.
// Doesn't: decide the share (reducer.cpp) or write results.json (cmd_reduce.cpp).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reduce/reducer.h"

namespace tp {

// Collective. Ranks > 0 send their doc["cells"] and directions to rank 0 and return; rank 0 merges them
// into doc and dirs, ordered by the cells' "index" (which it then removes).
void reduce_gather(nlohmann::json& doc, std::vector<NamedVector>& dirs, int rank, int size);

// dirs as float32 tensors of one .safetensors file (metadata: what they are and where from).
void directions_write(const std::string& path, const std::vector<NamedVector>& dirs, const std::string& archive);

}  // namespace tp
