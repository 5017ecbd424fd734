// Checked reading of shards and archives (see reader.h).
#include "archive/reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "archive/schema.h"
#include "util/check.h"

namespace tp {

namespace {

// Rows of a table group (/samples or /branches) of a shard: a writer killed between the appends of one
// unit leaves columns of unequal length past its last durable unit; the journal's ranges decide what
// counts, so the shortest column is what the shard holds.
template <size_t N>
int64_t shortest_column(hid_t group, const schema::Column (&columns)[N]) {
  int64_t n = -1;
  for (const auto& c : columns) {
    int64_t rows = static_cast<int64_t>(h5_dims(h5_dataset_open(group, c.name))[0]);
    n = n < 0 ? rows : std::min(n, rows);
  }
  return n;
}

}  // namespace

Hid archive_file_open(const std::string& path, const std::string& what) {
  Hid f;
  try {
    f = h5_file_open(path);
  } catch (const Error& e) {
    throw Error(fmt::format("{} {} is corrupt or truncated: {}", what, path, e.what()),
                what == "shard" ? "move the shard aside (mv it to a .bad name) and rerun the job: the units journaled in it are then redone"
                                : "rebuild it from the run folder with thinkprobe run (it resumes and only rewrites archive.h5)");
  }
  if (!h5_attr_exists(f, schema::A_SCHEMA_VERSION))
    throw Error(fmt::format("{} {} has no '{}' attribute: not written by thinkprobe", what, path, schema::A_SCHEMA_VERSION));
  std::string v = h5_attr_string(f, schema::A_SCHEMA_VERSION);
  if (std::atoi(v.c_str()) != schema::VERSION_MAJOR)
    throw Error(fmt::format("{} {} has archive schema version {}; this thinkprobe reads {}.x", what, path, v, schema::VERSION_MAJOR),
                "read it with the thinkprobe version that wrote it (attribute thinkprobe_version), or with h5py following its schemas/archive.md");
  return f;
}

ShardSummary shard_check(const std::string& path, const std::string& fingerprint) {
  ShardSummary s;
  s.path = path;
  Hid f = archive_file_open(path, "shard");
  try {
    if (h5_attr_string(f, schema::A_FINGERPRINT) != fingerprint)
      throw Error(fmt::format("shard {} belongs to another job (plan fingerprint differs)", path),
                  "it was copied in from another run folder; move it out");
    s.n_samples = shortest_column(h5_group_open(f, schema::G_SAMPLES), schema::SAMPLE_COLUMNS);
    if (h5_exists(f, schema::G_BRANCHES)) s.n_branches = shortest_column(h5_group_open(f, schema::G_BRANCHES), schema::BRANCH_COLUMNS);
    if (h5_exists(f, schema::G_ACTIVATIONS)) {
      Hid acts = h5_group_open(f, schema::G_ACTIVATIONS);
      for (const auto& model : h5_children(acts)) {
        Hid mg = h5_group_open(acts, model);
        for (const auto& pos : h5_children(mg)) {
          Hid g = h5_group_open(mg, pos);
          int64_t rows = static_cast<int64_t>(h5_dims(h5_dataset_open(g, schema::D_ACT_DATA))[0]);
          for (const char* name : {schema::D_ACT_SAMPLE_IN_UNIT, schema::D_ACT_POINT}) {
            int64_t r = static_cast<int64_t>(h5_dims(h5_dataset_open(g, name))[0]);
            rows = std::min(rows, r);
          }
          s.act_rows[model + "/" + pos] = rows;
        }
      }
    }
  } catch (const Error& e) {
    if (std::string(e.what()).rfind("HDF5:", 0) == 0)
      throw Error(fmt::format("shard {} is corrupt: {}", path, e.what()),
                  "move the shard aside (mv it to a .bad name) and rerun the job: the units journaled in it are then redone");
    throw;
  }
  return s;
}

ArchiveSummary archive_summary(const std::string& path) {
  ArchiveSummary a;
  Hid f = archive_file_open(path, "archive");
  a.kind = h5_attr_string(f, schema::A_KIND);
  a.schema_version = h5_attr_string(f, schema::A_SCHEMA_VERSION);
  a.run_id = h5_attr_string(f, schema::A_RUN_ID);
  a.job_name = h5_attr_string(f, schema::A_JOB_NAME);
  a.fingerprint = h5_attr_string(f, schema::A_FINGERPRINT);
  Hid meta = h5_group_open(f, schema::G_META);
  a.version = h5_attr_string(meta, "thinkprobe_version");
  a.commit = h5_attr_string(meta, "git_commit");
  a.start = h5_attr_string(meta, "start_time");
  a.end = h5_attr_string(meta, "end_time");
  a.models = h5_children(h5_group_open(f, schema::G_MODELS));
  Hid ivs = h5_group_open(f, schema::G_INTERVENTIONS);
  Hid iv_ids = h5_dataset_open(ivs, "id");
  a.interventions = h5_read_strings(iv_ids, 0, h5_dims(iv_ids)[0]);
  Hid samples = h5_group_open(f, schema::G_SAMPLES);
  Hid unit = h5_dataset_open(samples, "unit");
  a.n_samples = static_cast<int64_t>(h5_dims(unit)[0]);
  if (h5_exists(f, schema::G_BRANCHES))
    a.n_branches = static_cast<int64_t>(h5_dims(h5_dataset_open(f, std::string(schema::G_BRANCHES) + "/unit"))[0]);
  if (a.n_samples > 0) {
    auto model = h5_read_strings(h5_dataset_open(samples, "model"), 0, a.n_samples);
    auto iv = h5_read_strings(h5_dataset_open(samples, "intervention"), 0, a.n_samples);
    std::vector<int8_t> label(a.n_samples), refused(a.n_samples);
    h5_read_rows(h5_dataset_open(samples, "label"), H5T_NATIVE_INT8, 0, a.n_samples, label.data());
    h5_read_rows(h5_dataset_open(samples, "refused"), H5T_NATIVE_INT8, 0, a.n_samples, refused.data());
    for (int64_t i = 0; i < a.n_samples; i++) {
      std::string cell = fmt::format("{} {} {}", model[i], iv[i], label[i] ? "harmful" : "benign");
      a.samples_by_cell[cell]++;
      a.refused_by_cell[cell] += refused[i] == 1;
    }
  }
  if (h5_exists(f, schema::G_ACTIVATIONS)) {
    Hid acts = h5_group_open(f, schema::G_ACTIVATIONS);
    for (const auto& model : h5_children(acts))
      for (const auto& pos : h5_children(h5_group_open(acts, model)))
        a.activations[model + "/" + pos] = h5_dims(h5_dataset_open(acts, model + "/" + pos + "/" + schema::D_ACT_DATA));
  }
  return a;
}

}  // namespace tp
