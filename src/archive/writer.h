// A worker's shard: one HDF5 file per rank and attempt (OUTDIR/shards/a<attempt>-rank<rank>.h5), never
// shared between processes, so no collective HDF5 calls are needed (STYLE.md rule 10). The shard has the
// archive's /samples columns and /activations/<model>/<position> datasets, all growing along axis 0 in
// chunks (activations shuffled + gzip'd when capture.gzip > 0). shard_append writes one unit's rows and
// makes them durable (flush + fsync) before it returns, so the coordinator may journal the unit.
// Does not know which units are finished (the journal does) and never rewrites earlier rows.
// Used by worker.cpp and the archive tests; the layout constants are in archive/schema.h.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "archive/h5.h"
#include "archive/schema.h"
#include "prompts/prompt_set.h"
#include "run_unit.h"

namespace tp {

struct ShardInfo {
  std::string run_id, fingerprint, job_name, host;
  int32_t rank = 0, attempt = 0;
};

struct ShardWriter {
  std::string path;
  Hid file;
  std::vector<Hid> columns;                 // schema::SAMPLE_COLUMNS order
  std::vector<Hid> branch_columns;          // schema::BRANCH_COLUMNS order
  struct Act { Hid data, sample_in_unit, point; std::vector<int32_t> layers; int64_t hidden = 0; };
  std::map<std::string, Act> acts;          // "<model>/<position>"
  size_t n_judges = 0;
  int64_t n_units = 0, n_samples = 0, n_branches = 0;
};

// Where each part of a unit's rows went in the shard. sample_begin / n_samples: rows of the unit's table,
// /samples for sample units, /branches for protocol units (WorkUnit::kind).
struct UnitRows {
  int64_t sample_begin = 0, n_samples = 0;
  std::vector<int64_t> act_begin, act_n;    // per capture position
};

ShardWriter shard_create(const std::string& path, const ShardInfo& info, const std::vector<std::string>& judges);
UnitRows shard_append(ShardWriter& w, const JobSpec& job, const std::vector<PromptSet>& sets, const WorkUnit& unit, int32_t unit_index,
                      const UnitResult& result);
void shard_close(ShardWriter& w);

std::string shard_name(int32_t attempt, int32_t rank);  // "shards/a<attempt>-rank<rank>.h5", relative to OUTDIR
hid_t act_h5_type(ActDtype t);
// The HDF5 file type of a /samples column (shards and archive.h5 use the same).
hid_t column_h5_type(schema::ColType t);

}  // namespace tp
