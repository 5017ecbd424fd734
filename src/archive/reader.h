// Opening what the writer and assemble made, with checks that turn damage into clear messages: a shard
// or archive that HDF5 cannot open (corrupt, truncated) names the file and says what to do; another
// schema major version is refused with a HINT; a shard with fewer rows than the journal records is
// reported as truncated. Also a summary of an archive for `thinkprobe inspect`.
// Does not assemble archives (archive/assemble does).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "archive/h5.h"

namespace tp {

// Opens an HDF5 file thinkprobe wrote and checks its schema_version (tp::Error + HINT otherwise).
// what: "shard", "archive" in messages.
Hid archive_file_open(const std::string& path, const std::string& what);

struct ShardSummary {
  std::string path;
  int64_t n_samples = 0;                      // rows of /samples (every column checked)
  int64_t n_branches = 0;                     // rows of /branches (every column checked; 0 in shards before schema 1.1)
  std::map<std::string, int64_t> act_rows;    // "<model>/<position>" -> rows (data, sample_in_unit, point checked)
};
// Opens a shard, checks its schema version and plan fingerprint, and counts the rows every dataset of
// /samples and of each activation group holds (the shortest of them). The caller compares them with the
// journal: more rows than journaled is a writer killed mid-unit (ignored), fewer is damage.
ShardSummary shard_check(const std::string& path, const std::string& fingerprint);

struct ArchiveSummary {
  std::string kind, schema_version, run_id, job_name, fingerprint, version, commit, start, end;
  int64_t n_samples = 0;
  int64_t n_branches = 0;  // rows of /branches (protocol answers)
  std::vector<std::string> models, interventions;
  std::map<std::string, std::vector<hsize_t>> activations;  // "<model>/<position>" -> dims of data
  std::map<std::string, int64_t> refused_by_cell;           // "<model> <intervention> harmful|benign" -> refusals
  std::map<std::string, int64_t> samples_by_cell;
};
ArchiveSummary archive_summary(const std::string& path);

}  // namespace tp
