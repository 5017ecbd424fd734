// The real unit runner: loads a checkpoint (weights, tokenizer, chat template) on this worker's device,
// renders each prompt with the cell's intervention, generates thinking and answer with the engine,
// judges the answer, and returns the rows and captured hidden states the archive stores.
// The sweep (dist/) calls it through the UnitRunner interface (run_unit.h); the dry engine is its stand-in.
#pragma once
#include <vector>

#include "prompts/prompt_set.h"
#include "run_unit.h"

namespace tp {

// device_index: which accelerator of this node the worker uses (its index among the node's workers);
// threads: CPU threads for libtorch (0 = leave libtorch's default).
UnitRunner engine_runner(const JobSpec& job, const std::vector<PromptSet>& sets, int device_index, int threads);

}  // namespace tp
