// Archive reading for the reducer (archive_input.h), over the RAII HDF5 layer of archive/h5.h.
#include "reduce/archive_input.h"

#include <algorithm>
#include <map>

#include "archive/schema.h"
#include "util/check.h"

namespace tp {

namespace {
std::vector<std::string> strings(hid_t g, const char* name, hsize_t n) {
  return h5_read_strings(h5_dataset_open(g, name), 0, n);
}
std::vector<int8_t> int8s(hid_t g, const char* name, hsize_t n, hsize_t width = 1) {
  std::vector<int8_t> v(n * width);
  h5_read_rows(h5_dataset_open(g, name), H5T_NATIVE_INT8, 0, n, v.data());
  return v;
}
void distinct(const std::vector<std::string>& col, std::vector<std::string>& out) {
  for (const auto& s : col)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
}
}  // namespace

SampleTable read_sample_table(hid_t file, const std::string& path) {
  SampleTable t;
  Hid s = h5_group_open(file, schema::G_SAMPLES);
  t.n = static_cast<int64_t>(h5_dims(h5_dataset_open(s, "label"))[0]);
  const hsize_t n = t.n;
  t.model = strings(s, "model", n);
  t.intervention = strings(s, "intervention", n);
  t.prompt_set = strings(s, "prompt_set", n);
  t.prompt_id = strings(s, "prompt_id", n);
  t.label = int8s(s, "label", n);
  t.refused = int8s(s, "refused", n);
  t.sample_index.resize(n);
  h5_read_rows(h5_dataset_open(s, "sample_index"), H5T_NATIVE_INT32, 0, n, t.sample_index.data());
  auto vdims = h5_dims(h5_dataset_open(s, schema::VOTES_COLUMN));
  t.n_judges = vdims.size() > 1 ? static_cast<int64_t>(vdims[1]) : 1;
  t.votes = int8s(s, schema::VOTES_COLUMN, n, t.n_judges);
  t.judge_truncated = h5_exists(s, "judge_truncated") ? int8s(s, "judge_truncated", n, t.n_judges) : std::vector<int8_t>(n * t.n_judges, 0);
  t.judges = h5_attr_exists(s, schema::A_JUDGES) ? h5_attr_strings(s, schema::A_JUDGES) : std::vector<std::string>{};
  t.judge_kinds = h5_attr_exists(s, schema::A_JUDGE_KINDS) ? h5_attr_strings(s, schema::A_JUDGE_KINDS) : std::vector<std::string>{};
  t.judges.resize(static_cast<size_t>(t.n_judges), "?");
  t.judge_kinds.resize(static_cast<size_t>(t.n_judges), "?");
  distinct(t.model, t.models);
  distinct(t.intervention, t.interventions);

  Hid p = h5_group_open(file, schema::G_PROMPTS);
  const hsize_t np = h5_dims(h5_dataset_open(p, "id"))[0];
  auto pset = strings(p, "prompt_set", np), pid = strings(p, "id", np);
  auto psrc = strings(p, "source", np), pcat = strings(p, "category", np);
  std::map<std::pair<std::string, std::string>, size_t> at;
  for (size_t i = 0; i < np; i++) at[{pset[i], pid[i]}] = i;
  t.source.resize(n);
  t.category.resize(n);
  for (size_t i = 0; i < n; i++) {
    auto it = at.find({t.prompt_set[i], t.prompt_id[i]});
    if (it == at.end())
      throw Error(path + ": /samples row " + std::to_string(i) + " names prompt " + t.prompt_set[i] + "/" +
                  t.prompt_id[i] + ", which /prompts does not hold", "the archive is damaged; re-assemble it with thinkprobe run");
    t.source[i] = psrc[it->second];
    t.category[i] = pcat[it->second];
  }
  return t;
}

std::vector<ActGroup> read_act_groups(hid_t file, const std::string& model) {
  std::vector<ActGroup> out;
  const std::string base = std::string(schema::G_ACTIVATIONS) + "/" + model;
  if (!h5_exists(file, base)) return out;
  Hid mg = h5_group_open(file, base);
  for (const auto& pos : h5_children(mg)) {
    Hid g = h5_group_open(mg, pos);
    ActGroup a;
    a.model = model;
    a.position = pos;
    auto dims = h5_dims(h5_dataset_open(g, schema::D_ACT_DATA));
    TP_CHECK(dims.size() == 3);
    a.hidden = static_cast<int64_t>(dims[2]);
    a.sample.resize(dims[0]);
    a.point.resize(dims[0]);
    a.layers.resize(dims[1]);
    h5_read_rows(h5_dataset_open(g, schema::D_ACT_SAMPLE), H5T_NATIVE_INT64, 0, dims[0], a.sample.data());
    h5_read_rows(h5_dataset_open(g, schema::D_ACT_POINT), H5T_NATIVE_INT32, 0, dims[0], a.point.data());
    h5_read_rows(h5_dataset_open(g, schema::D_ACT_LAYERS), H5T_NATIVE_INT32, 0, dims[1], a.layers.data());
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<float> read_layer_rows(hid_t file, const ActGroup& g, size_t layer_slot, const std::vector<int64_t>& rows) {
  std::vector<float> out(rows.size() * g.hidden);
  if (rows.empty()) return out;
  Hid ds = h5_dataset_open(file, std::string(schema::G_ACTIVATIONS) + "/" + g.model + "/" + g.position + "/" + schema::D_ACT_DATA);
  Hid fs(H5_CHECK(H5Dget_space(ds)));
  H5_CHECK(H5Sselect_none(fs));
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) j++;
    TP_CHECK(i == 0 || rows[i] > rows[i - 1]);
    hsize_t start[3] = {static_cast<hsize_t>(rows[i]), layer_slot, 0};
    hsize_t count[3] = {j - i, 1, static_cast<hsize_t>(g.hidden)};
    H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, nullptr, count, nullptr));
    i = j;
  }
  hsize_t mdims[2] = {rows.size(), static_cast<hsize_t>(g.hidden)};
  Hid ms(H5_CHECK(H5Screate_simple(2, mdims, nullptr)));
  H5_CHECK(H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out.data()));
  return out;
}

}  // namespace tp
