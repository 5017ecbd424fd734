// Work units: the deterministic expansion of a job into model x intervention x prompt set x prompt batch
// x sample range. A unit's id and every sample's seed derive from the job seed and stable identifiers
// (model, intervention, set and prompt ids, sample index), never from a rank or an order of arrival, so
// any number of ranks produces the same samples. Pure functions: tested without MPI.
// Sample seeds leave out the model and the intervention on purpose: every model x intervention cell sees
// the same random stream for the same (prompt, sample), so differences between cells are the
// intervention's, not sampling noise, and a no-op intervention reproduces the baseline bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/job_spec.h"
#include "prompts/prompt_set.h"

namespace tp {

// SAMPLES: generate samples (rows of /samples). NESTED, REPLAY: the cut-and-resample protocols
// (protocols/protocols.h), rows of /branches; they regenerate the rollouts they cut from their sample seeds.
enum class UnitKind : int8_t { SAMPLES, NESTED, REPLAY };
const char* unit_kind_name(UnitKind k);  // "samples", "nested", "replay"

struct WorkUnit {
  std::string id;            // "<model>/<intervention>/<set>/<first prompt id>+<n>/s<begin>-<end>" (protocols: .../nested, .../replay)
  UnitKind kind = UnitKind::SAMPLES;
  uint64_t key;              // fnv1a64 of id
  int32_t model;             // index into JobSpec::models
  int32_t intervention;      // index into JobSpec::interventions
  int32_t prompt_set;        // index into JobSpec::prompt_sets (and the loaded sets)
  std::vector<int32_t> prompts;  // indices into that set's (id-sorted) prompts
  int32_t sample_begin;      // sample indices [begin, end) of each prompt (protocols: the rollouts they may cut)
  int32_t sample_end;
  int64_t n_samples() const {  // rows of /samples the unit writes (protocol units write /branches rows only)
    return kind == UnitKind::SAMPLES ? static_cast<int64_t>(prompts.size()) * (sample_end - sample_begin) : 0;
  }
};

uint64_t sample_seed(uint64_t job_seed, const std::string& set_id, const std::string& prompt_id, int32_t sample_index);

// Units in a canonical order (model, intervention, set, batch, sample range, then the batch's protocol
// units when protocols are enabled): grouped by model so that a worker that keeps a model loaded finds the
// next unit of that model next to the last.
std::vector<WorkUnit> plan_units(const JobSpec& job, const std::vector<PromptSet>& sets);

// A stable fingerprint of everything that decides which samples a job produces (units, seeds, prompts,
// models, interventions, sampling, capture). A rerun over an existing output folder must match it.
std::string plan_fingerprint(const JobSpec& job, const std::vector<PromptSet>& sets, const std::vector<WorkUnit>& units);

}  // namespace tp
