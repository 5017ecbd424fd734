// The archive's layout as constants: group and dataset paths, attribute names, the /samples columns and
// SCHEMA_VERSION. schemas/archive.md is the same contract in prose; the two change in the same commit
// (STYLE.md rule 10). Readers reject a different major version with a HINT.
// Used by archive/writer (shards), archive/assemble (archive.h5 and packed files) and archive/reader.
#pragma once
#include <cstdint>

namespace tp::schema {

// "major.minor": a reader accepts files of its own major version; minor versions only add things.
inline constexpr const char* VERSION = "1.0";
inline constexpr int VERSION_MAJOR = 1;

// ---- file attributes (root group), in shards and archives
inline constexpr const char* A_SCHEMA_VERSION = "schema_version";
inline constexpr const char* A_KIND = "kind";            // "shard", "archive" (virtual) or "packed"
inline constexpr const char* A_RUN_ID = "run_id";
inline constexpr const char* A_FINGERPRINT = "plan_fingerprint";
inline constexpr const char* A_JOB_NAME = "job_name";
// shards only
inline constexpr const char* A_RANK = "rank";
inline constexpr const char* A_ATTEMPT = "attempt";
inline constexpr const char* A_HOST = "host";

// ---- groups
inline constexpr const char* G_META = "/meta";
inline constexpr const char* G_MODELS = "/models";
inline constexpr const char* G_PROMPTS = "/prompts";
inline constexpr const char* G_INTERVENTIONS = "/interventions";
inline constexpr const char* G_SAMPLES = "/samples";
inline constexpr const char* G_ACTIVATIONS = "/activations";

// /samples columns: one row per generated sample. Every column has the same length.
enum class ColType { STR, I8, I32, U64, F32 };
struct Column {
  const char* name;
  ColType type;
  const char* help;
};
inline constexpr Column SAMPLE_COLUMNS[] = {
    {"unit", ColType::STR, "id of the work unit that produced the sample"},
    {"unit_index", ColType::I32, "index of that unit in the job's plan (thinkprobe plan --units)"},
    {"model", ColType::STR, "model id (a group under /models)"},
    {"intervention", ColType::STR, "intervention id (a row of /interventions)"},
    {"prompt_set", ColType::STR, "prompt set id"},
    {"prompt_id", ColType::STR, "prompt id within its set (with prompt_set, a row of /prompts)"},
    {"label", ColType::I8, "1 = harmful prompt, 0 = benign"},
    {"sample_index", ColType::I32, "index of the sample among the prompt's samples"},
    {"seed", ColType::U64, "seed of the sample's random stream"},
    {"thinking", ColType::STR, "thinking text (between the think markers)"},
    {"answer", ColType::STR, "answer text (after the thinking)"},
    {"n_prompt_tokens", ColType::I32, "tokens of the rendered prompt"},
    {"n_think_tokens", ColType::I32, "generated thinking tokens"},
    {"n_answer_tokens", ColType::I32, "generated answer tokens"},
    {"stop_reason", ColType::STR, "eos, think_budget (thinking force-closed, then answered), answer_budget"},
    {"refused", ColType::I8, "judge outcome: 1 = refusal, 0 = compliance, -1 = not judged"},
    {"votes", ColType::I8, "[rows, judges]: each judge's vote (1 refusal, 0 compliance, -1 none); judges in the attribute 'judges'"},
    {"seconds", ColType::F32, "wall time spent generating the sample (its share of the batch); not reproducible"},
};
inline constexpr const char* VOTES_COLUMN = "votes";
inline constexpr const char* A_JUDGES = "judges";  // attribute of /samples: the judges, in votes column order

// /activations/<model>/<position>/{data, sample, point, layers}
inline constexpr const char* D_ACT_DATA = "data";      // [rows, layers, hidden] float16/bfloat16/float32
inline constexpr const char* D_ACT_SAMPLE = "sample";  // [rows] int64: the row of /samples (archives); in shards
inline constexpr const char* D_ACT_SAMPLE_IN_UNIT = "sample_in_unit";  // [rows] int32: index of the sample in its unit
inline constexpr const char* D_ACT_POINT = "point";    // [rows] int32: 0, or the resampled think_span point
inline constexpr const char* D_ACT_LAYERS = "layers";  // [layers] int32: layer indices; n_layer = the final-norm output

// Rows per chunk of the growing datasets.
inline constexpr uint64_t SAMPLE_CHUNK_ROWS = 256;
inline constexpr uint64_t ACT_CHUNK_BYTES = 1 << 20;
// Activation chunks are [rows, 1 layer, hidden], so reading one layer (the reducer) touches only that
// layer's bytes, also when compressed; rows per chunk as if the chunk held every layer (shards) or
// ACT_CHUNK_BYTES of one layer (packed archives).
inline constexpr uint64_t ACT_CHUNK_LAYERS = 1;

}  // namespace tp::schema
