// LoRA adapters in PEFT layout (adapter_config.json + adapter_model.safetensors), merged into loaded
// weights: W += scale * B @ A per targeted linear, scale = lora_alpha / r (or / sqrt(r) with use_rslora),
// computed in float32 and rounded once to the compute dtype. Targets: the attention and MLP projections
// (q/k/v/o_proj, gate/up/down_proj). Deliberately no DoRA, no LoRA biases, no rank/alpha patterns and no
// modules_to_save: those are tp::Errors naming the file, not silently different models.
// Called by the engine runner and `thinkprobe generate --adapter` after model_load; tests.
#pragma once
#include <string>
#include <vector>

#include "model/transformer.h"

namespace tp {

// Merges the adapter in dir into m's weights. tp::Error naming the file and tensor for a malformed adapter:
// missing config keys or tensors, an A without its B, shapes that do not fit the model, an unknown module.
void lora_merge(Model& m, const std::string& dir);

// The adapter's files whose content decides the merged model (for the archive's hashes), relative to dir.
std::vector<std::string> lora_files(const std::string& dir);

}  // namespace tp
