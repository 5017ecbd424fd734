// Builds the Steering of a `steering` intervention (intervention.h) for a loaded model: reads v from its
// .safetensors file, checks its shape against the model, scales it by alpha and places it at the layers.
// Errors name the file and tensor. Called by the engine runner; forward() applies the result.
#pragma once
#include "config/job_spec.h"
#include "model/transformer.h"

namespace tp {

Steering steering_for(const InterventionSpec& iv, const Model& m);

}  // namespace tp
