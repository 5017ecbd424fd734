// What the reducer reads from an archive: the /samples columns it needs (with each sample's source and
// category joined from /prompts), the row -> sample mapping of each /activations/<model>/<position>
// group, and one layer's [rows, hidden] slice for a chosen set of rows, as float32.
// Doesn't: hold activations beyond one layer of one cell, or compute anything (reducer.cpp does).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "archive/h5.h"

namespace tp {

struct SampleTable {
  int64_t n = 0;
  std::vector<std::string> model, intervention, prompt_set, prompt_id, source, category;
  std::vector<int8_t> label, refused;  // 1 harmful / 0 benign; judge outcome 1 / 0 / -1 not judged
  std::vector<int32_t> sample_index;   // the sample's index among its prompt's samples
  std::vector<int8_t> votes;           // [n, n_judges]
  std::vector<int8_t> judge_truncated; // [n, n_judges]; zeros for schema 1.0 archives
  int64_t n_judges = 0;
  std::vector<std::string> judges, judge_kinds;  // ids and kinds in votes column order ("?" when not recorded)
  std::vector<std::string> models, interventions;  // distinct values, in order of first appearance
};
// Reads /samples and /prompts; a sample whose prompt is missing from /prompts is a tp::Error.
SampleTable read_sample_table(hid_t file, const std::string& path);

struct ActGroup {
  std::string model, position;
  std::vector<int64_t> sample;  // [rows] row of /samples
  std::vector<int32_t> point;   // [rows]
  std::vector<int32_t> layers;  // [layers] layer index of each data layer
  int64_t hidden = 0;
};
// Every /activations/<model>/<position> group of one model (empty when none).
std::vector<ActGroup> read_act_groups(hid_t file, const std::string& model);

// data[rows[i], layer_slot, :] for each i, as float32 [rows.size(), hidden]. rows must be ascending;
// runs of consecutive rows become one hyperslab each, so a cell is one HDF5 read.
std::vector<float> read_layer_rows(hid_t file, const ActGroup& g, size_t layer_slot, const std::vector<int64_t>& rows);

}  // namespace tp
