// archive.h5 and packed archives. archive_write presents every finished unit's rows, in plan order, as one
// dataset per /samples column and per activation group, through HDF5 virtual datasets over the shards
// (plus small real datasets: metadata, prompts, interventions, and each activation row's /samples row).
// Rows a killed writer left beyond its last journaled unit, and rows of units redone elsewhere, are never
// mapped, so the archive holds every unit exactly once, in an order that does not depend on the ranks.
// archive_pack copies an archive into one self-contained file (virtual data materialised).
// The metadata comes from the job (archive_meta_make); the placement of units from the journal.
// Called by coordinator.cpp (archive_write) and cmd_archive.cpp (archive_pack).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/job_spec.h"
#include "prompts/prompt_set.h"

namespace tp {

struct ArchiveMeta {
  std::string run_id, fingerprint, job_name, job_yaml, job_resolved, start_time, end_time;
  nlohmann::json attempts = nlohmann::json::array();  // per attempt: number, start, end, ranks, hosts by rank
  struct Model {
    std::string id, path, config_json, dtype, device_kind, adapter;
    std::vector<std::string> files, sha256;  // tokenizer.json, every *.safetensors, adapter/<file> of a LoRA adapter; sha256 each
  };
  std::vector<Model> models;
  struct Judge {
    std::string id, kind, settings_json;  // settings: the judge's entry of the resolved job, JSON
    Model model;                          // guard models: checkpoint, files and sha256 (id empty for the rule judge)
  };
  std::vector<Judge> judge_meta;
  std::vector<std::string> judges, positions;  // judges: their ids, in votes column order
  std::vector<std::string> p_set, p_id, p_text, p_category, p_source;
  std::vector<int8_t> p_label;
  std::vector<std::string> iv_id, iv_type, iv_description, iv_params;
};

// Everything but times, attempts and device kinds, from the job (hashes every weight file of models and
// guard judges: slow for big models).
ArchiveMeta archive_meta_make(const LoadedJob& job, const std::vector<PromptSet>& sets, const std::string& run_id,
                              const std::string& fingerprint);

// Where a finished unit's rows are (from its journal "done" line).
struct PlacedUnit {
  int32_t index = 0, model = 0;
  std::string shard;  // relative to OUTDIR
  int64_t sample_begin = 0, n_samples = 0;  // rows of the unit's table: /samples, or /branches when branches
  std::vector<int64_t> act_begin, act_n;  // per capture position
  bool branches = false;                  // a protocol unit (rows of /branches)
};

// Writes path (normally OUTDIR/archive.h5, via a temporary file and rename). units: in plan order.
void archive_write(const std::string& outdir, const std::string& path, const ArchiveMeta& meta, const std::vector<PlacedUnit>& units);
// A self-contained copy of the archive at in_path; returns the number of /samples rows.
int64_t archive_pack(const std::string& in_path, const std::string& out_path);

}  // namespace tp
