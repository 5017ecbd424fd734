// Work-unit expansion and seeds (see work_unit.h).
#include "prompts/work_unit.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/hash.h"

namespace tp {

uint64_t sample_seed(uint64_t job_seed, const std::string& set_id, const std::string& prompt_id, int32_t sample_index) {
  return derive_seed(job_seed, {"sample", set_id, prompt_id, std::to_string(sample_index)});
}

const char* unit_kind_name(UnitKind k) {
  switch (k) {
    case UnitKind::SAMPLES: return "samples";
    case UnitKind::NESTED: return "nested";
    case UnitKind::REPLAY: return "replay";
  }
  return "?";
}

std::vector<WorkUnit> plan_units(const JobSpec& job, const std::vector<PromptSet>& sets) {
  std::vector<WorkUnit> units;
  const int64_t per_unit = job.run.prompts_per_unit;
  for (size_t m = 0; m < job.models.size(); m++) {
    const ModelSpec& model = job.models[m];
    const int32_t n_samples = static_cast<int32_t>(model.sampling.samples_per_prompt);
    const int32_t sample_step = job.run.samples_per_unit > 0 ? static_cast<int32_t>(std::min<int64_t>(job.run.samples_per_unit, n_samples)) : n_samples;
    for (size_t iv = 0; iv < job.interventions.size(); iv++) {
      for (size_t s = 0; s < sets.size(); s++) {
        const auto& prompts = sets[s].prompts;
        for (size_t b = 0; b < prompts.size(); b += per_unit) {
          size_t e = std::min(prompts.size(), b + static_cast<size_t>(per_unit));
          for (int32_t s0 = 0; s0 < n_samples; s0 += sample_step) {
            WorkUnit u;
            u.model = static_cast<int32_t>(m);
            u.intervention = static_cast<int32_t>(iv);
            u.prompt_set = static_cast<int32_t>(s);
            for (size_t p = b; p < e; p++) u.prompts.push_back(static_cast<int32_t>(p));
            u.sample_begin = s0;
            u.sample_end = std::min(n_samples, s0 + sample_step);
            u.id = fmt::format("{}/{}/{}/{}+{}/s{}-{}", model.id, job.interventions[iv].id, sets[s].id, prompts[b].id, e - b,
                               u.sample_begin, u.sample_end);
            u.key = fnv1a64(u.id);
            units.push_back(std::move(u));
          }
          auto protocol = [&](UnitKind kind, int32_t rollouts) {
            WorkUnit u = units.back();
            u.kind = kind;
            u.sample_begin = 0;
            u.sample_end = rollouts;
            u.id = fmt::format("{}/{}/{}/{}+{}/{}", model.id, job.interventions[iv].id, sets[s].id, prompts[b].id, e - b, unit_kind_name(kind));
            u.key = fnv1a64(u.id);
            units.push_back(std::move(u));
          };
          if (job.protocols.nested_branching.enabled) protocol(UnitKind::NESTED, n_samples);
          if (job.protocols.cut_replay.enabled) protocol(UnitKind::REPLAY, static_cast<int32_t>(job.protocols.cut_replay.rollouts));
        }
      }
    }
  }
  return units;
}

std::string plan_fingerprint(const JobSpec& job, const std::vector<PromptSet>& sets, const std::vector<WorkUnit>& units) {
  Sha256 h;
  auto add = [&](const std::string& s) { h.update(s.data(), s.size()); h.update("\n", 1); };
  nlohmann::json science = job_to_json(job);
  // Where things run and where the output goes do not change the samples.
  for (const char* k : {"run", "slurm", "reduce"}) science.erase(k);
  science["job"].erase("output_dir");
  science["job"].erase("description");
  for (auto& m : science["models"]) { m.erase("device"); m.erase("path"); }  // content, not location
  for (auto& p : science["prompt_sets"]) p.erase("path");                      // prompts are hashed below
  for (auto& j : science["judge"]["judges"]) { j.erase("device"); j.erase("path"); }  // guard checkpoints: as models
  science["tie_min_votes"] = job.reduce.tie_min_votes;  // decides the stored refused column
  add(science.dump());
  for (const auto& set : sets)
    for (const auto& p : set.prompts) add(set.id + "\t" + p.id + "\t" + label_name(p.label) + "\t" + sha256_hex(p.text));
  for (const auto& u : units) add(u.id);
  return h.hex_digest();
}

}  // namespace tp
