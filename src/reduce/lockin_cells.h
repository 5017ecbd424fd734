// Lock-in statistics of one model x intervention cell from an archive (paper sections 1.9, 1.10): reads
// /branches (the protocol units' answers) and the cell's /samples, and builds the "lockin" object of
// results.json with the pure functions of lockin.h: the within-prefix variance curve (B = 0 from the
// samples, one point per nested cut), the cut-replay pairs with Fisher + Holm verdicts and their summary,
// and oscillations per trace (the samples' stored stance labels; the lexicon over the thinking for archives
// older than schema 1.2).
// Doesn't: print, plot, or read activations. Called by reducer.cpp once per cell.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/h5.h"
#include "config/job_spec.h"
#include "judge/stance.h"
#include "reduce/archive_input.h"

namespace tp {

struct BranchTable {
  int64_t n = 0;
  std::vector<std::string> model, intervention, prompt_set, prompt_id, protocol, side;
  std::vector<int32_t> rollout, cut, transition;
  std::vector<int8_t> refused;
};
// /branches (empty when the archive has none: schema 1.0 or no protocols); refused = the majority of each
// row's votes under tie_min_votes (reduce.tie_min_votes), as for /samples.
BranchTable read_branch_table(hid_t file, int64_t tie_min_votes);

// Each /samples row's stance (labels, excluded, unresolved, transitions; no chunk texts) from its
// stance_labels column; archives before schema 1.2 have none, and their rows are labelled here by the run's
// lexicon (protocols.cut_replay patterns and max_chunks, as those runs had them). path names the file in errors.
std::vector<StanceTrace> read_stance(hid_t file, const std::string& path, int64_t n);

struct LockinInput {
  const BranchTable& branches;
  const SampleTable& samples;
  const std::vector<StanceTrace>& stance;  // /samples rows' stance (read_stance), row for row
};
// Sets the cell's within_prefix, deliberation and oscillations (schemas/results.schema.json).
// sample_rows: the cell's /samples rows. Holm runs over the cell's cut pairs.
void lockin_cell_json(const LockinInput& in, const std::string& model, const std::string& iv, const std::vector<int64_t>& sample_rows,
                      const ReduceSpec& spec, nlohmann::json& cj);
// Pools the cells' cut verdict counts (their deliberation.summary) into one summary: the paper's ~74%.
nlohmann::json lockin_pooled_json(const nlohmann::json& cells);

}  // namespace tp
