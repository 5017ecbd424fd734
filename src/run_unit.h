// The unit-runner interface between the sweep (dist/) and whatever produces samples: given a work unit of
// the job, a runner returns one SampleRow per (prompt, sample index) of the unit, in prompt-major order,
// and one ActivationBlock per capture position, already in the capture dtype. The worker calls
// load_model when it takes a unit of a model it does not hold (model affinity keeps that rare) and run
// for every unit; a runner throws (tp::Error or std::exception) when a unit cannot be done, and the
// coordinator retries the unit elsewhere. The real engine fills the same rows as the dry engine
// (dry_engine.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/job_spec.h"
#include "prompts/work_unit.h"

namespace tp {

// What the job's judges said of an answer (judge/judges.h fills it); samples and protocol answers carry it.
struct Judged {
  int8_t refused = -1;       // majority label: 1 refusal, 0 compliance, -1 no valid vote
  std::vector<int8_t> votes; // one per judge (job_judges order): 1, 0, -1 abstained
  float soft = -1;           // mean of the valid votes; NaN when none
  std::vector<int8_t> judge_truncated;     // one per judge: 1 = answer cut to fit its context
  std::vector<std::string> judge_outputs;  // one per judge: its raw output
};

struct SampleRow : Judged {
  int32_t prompt = 0;        // index into the unit's prompt set (as in WorkUnit::prompts)
  int32_t sample_index = 0;
  uint64_t seed = 0;
  std::string thinking, answer;
  int32_t n_prompt_tokens = 0, n_think_tokens = 0, n_answer_tokens = 0;
  std::string stop_reason;   // eos, think_budget, answer_budget
  std::string events = "[]"; // what a decode-time defense did (JSON array, intervene/decode_policy.h)
  std::string stance_labels = "null";   // the thinking's chunk labels (JSON, judge/stance_format.h); null = not labelled
  std::string stance_outputs = "[]";    // JSON list, one raw output per stance labeller
  float seconds = 0;
};

// One answer of a cut-and-resample protocol unit (a row of /branches): a rollout of a prompt cut at a
// point of its thinking, force-closed, and continued with its own seed.
struct BranchRow : Judged {
  int32_t prompt = 0;           // index into the unit's prompt set
  int32_t rollout = 0;          // sample index of the rollout that was cut (its /samples row has the same seed)
  uint64_t rollout_seed = 0;
  std::string protocol;         // "nested" or "replay"
  int32_t cut = 0;              // nested: B, the percent of the thinking kept; replay: chunks kept
  int32_t transition = -1;      // replay: index of the stance change in the rollout; nested: -1
  std::string side;             // replay: "pre" or "post"; nested: ""
  int32_t n_rollout_think_tokens = 0;  // the rollout's natural thinking length (tokens)
  int32_t n_prefix_tokens = 0;  // thinking tokens kept before the force-close
  int32_t continuation = 0;     // index of the answer among the prefix's answers
  uint64_t seed = 0;            // seed of the continuation's random stream
  std::string answer;
  int32_t n_answer_tokens = 0;
  std::string stop_reason;
};

enum class ActDtype : int8_t { F32, F16, BF16 };
ActDtype act_dtype(const std::string& capture_dtype);  // "float32" / "float16" / "bfloat16"
size_t act_dtype_size(ActDtype t);

// The hidden states kept at one position for the samples of a unit: rows x layers x hidden, held one layer
// at a time, as the archive's chunks hold them (the shard writes each layer straight from its buffer).
struct ActivationBlock {
  int32_t position = 0;                 // index into job.capture.positions
  std::vector<int32_t> layers;          // layer indices; n_layer stands for the final-norm output
  int64_t hidden = 0;
  ActDtype dtype = ActDtype::F32;
  std::vector<int32_t> sample_in_unit;  // [rows] which SampleRow each row belongs to
  std::vector<int32_t> point;           // [rows] 0, or the resampled think_span point
  std::vector<std::vector<uint8_t>> data;  // [layers] of [rows, hidden] in dtype, row-major
  int64_t rows() const { return static_cast<int64_t>(sample_in_unit.size()); }
};
// A block with no rows yet and one empty buffer per layer (what the shard writer expects, rows or not).
ActivationBlock activation_block(int32_t position, const std::vector<int32_t>& layers, int64_t hidden, ActDtype dtype);

struct UnitResult {
  std::vector<SampleRow> samples;
  std::vector<BranchRow> branches;  // protocol units only
  std::vector<ActivationBlock> activations;
  int64_t n_tokens = 0;  // tokens generated (for tokens/s)
};

struct UnitRunner {
  std::string device_kind;                          // "cpu", "cuda", "dry": recorded per model in the archive
  std::string dtype;                                // compute dtype, recorded per model
  std::function<void(int32_t model)> load_model;    // make model the one held (frees the previous)
  std::function<UnitResult(const WorkUnit& unit)> run;
};

// The judges whose votes each SampleRow carries, in order: the ids of judge.judges.
std::vector<std::string> job_judges(const JobSpec& job);

// The archive's layer list of a capture plan (capture/capture_plan.h) for a model of n_layer layers: the
// plan's layers, then n_layer standing for the final-norm output when the plan keeps it.
std::vector<int32_t> archive_layers(const CaptureSpec& capture, int64_t n_layer);

}  // namespace tp
