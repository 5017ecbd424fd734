// `thinkprobe reduce`'s measurements: for every model x intervention cell of an archive, behaviour
// (ASR / ORR with CIs, per source and category), out-of-fold probes per captured position and layer
// (harmful / benign / pooled groups), and the refusal valley (norm-Fisher per think_span point), as the
// results.json document (schemas/results.schema.json). Activations are read one layer of one cell at a
// time. Doesn't: write files, draw plots or print (cmd_reduce.cpp, analysis/plot_report.py).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/job_spec.h"

namespace tp {

// A direction of the residual space, named as in directions.safetensors: "<model>/<intervention>/<position>/<layer>/dom|probe".
struct NamedVector {
  std::string name;
  std::vector<float> v;  // [hidden]
};

// span_mode: the job's capture.span_mode (labels the valley curve). Undefined numbers are null with a
// `why`; a cell or position that cannot be probed says why in the cell's `notes`, never an exception.
// Cells (model x intervention, in archive order) are shared out over `size` processes: this one computes
// cell i when i % size == rank, so the returned "cells" hold only those, each with its "index" (the
// gather removes it). directions (if given) receives each probed layer's two directions, fitted on all
// of the cell's probe rows.
nlohmann::json reduce_archive(const std::string& archive_path, const ReduceSpec& spec, const std::string& span_mode,
                              std::vector<NamedVector>* directions = nullptr, int rank = 0, int size = 1);

// The settings block of results.json: spec's fields and the choices reduce makes beyond them.
nlohmann::json reduce_settings_json(const ReduceSpec& spec);

// ReduceSpec from a resolved job's JSON (its "reduce" object; defaults for keys it lacks) and
// "reduce.key=value" overrides, checked by the fields' Rules (reduce_spec.cpp). tp::Error on a bad key or value.
ReduceSpec reduce_spec_from_job(const nlohmann::json& job, const std::vector<std::string>& overrides);

}  // namespace tp
