// The dry engine (`thinkprobe run JOB --dry-engine`): no model is loaded; each sample is a deterministic
// placeholder derived from its seed, with fake activations of a small fixed width (DRY_N_LAYER layers of
// DRY_HIDDEN), honouring capture.layers / positions / span_points / dtype. For checking a cluster setup,
// the scheduler, the archive and resume: its output depends only on the job and the seeds, never on the
// rank, so runs over any number of ranks must give identical archives. Like real sampling, it depends on
// the sample's seed and the model, not on the intervention: "none" cells reproduce each other exactly.
// Test hooks, read from the environment: THINKPROBE_DRY_ENGINE_DELAY_MS (sleep per unit) and
// THINKPROBE_DRY_ENGINE_FAIL=<substring>[@rank] (units whose id contains it throw, on that rank only if given).
#pragma once
#include <vector>

#include "prompts/prompt_set.h"
#include "run_unit.h"

namespace tp {

inline constexpr int32_t DRY_N_LAYER = 4;
inline constexpr int64_t DRY_HIDDEN = 8;

UnitRunner dry_runner(const JobSpec& job, const std::vector<PromptSet>& sets, int rank);

}  // namespace tp
