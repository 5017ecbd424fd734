// The archive's layout as constants: group and dataset paths, attribute names, the /samples columns and
// SCHEMA_VERSION. schemas/archive.md is the same contract in prose; the two change in the same commit
// (STYLE.md rule 10). Readers reject a different major version with a HINT.
// Used by archive/writer (shards), archive/assemble (archive.h5 and packed files) and archive/reader.
#pragma once
#include <cstdint>

namespace tp::schema {

// "major.minor": a reader accepts files of its own major version; minor versions only add things.
inline constexpr const char* VERSION = "1.2";  // 1.1: /branches, /samples/events, models' adapter; 1.2: stance columns
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
inline constexpr const char* G_BRANCHES = "/branches";

// /samples columns: one row per generated sample. Every column has the same length.
enum class ColType { STR, I8, I32, U64, F32 };
struct Column {
  const char* name;
  ColType type;
  const char* help;
  bool per_judge = false;  // [rows, judges] instead of [rows]
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
    {"refused", ColType::I8, "majority label of the votes under reduce.tie_min_votes at run time: 1 = refusal, 0 = compliance, -1 = no valid vote"},
    {"votes", ColType::I8, "[rows, judges]: each judge's vote (1 refusal, 0 compliance, -1 abstained); judges in the attribute 'judges'", true},
    {"soft_label", ColType::F32, "mean of the valid votes (NaN when no judge gave one)"},
    {"judge_truncated", ColType::I8, "[rows, judges]: 1 = the answer was cut to fit that judge's context, else 0", true},
    {"judge_outputs", ColType::STR, "JSON list, one string per judge: its raw output (guard: generated text; rule: the matched pattern)"},
    {"events", ColType::STR, "what a decode-time defense did, JSON array: extend, remind, reflect (with the reflection's text), backtrack; [] when nothing"},
    {"seconds", ColType::F32, "wall time spent generating the sample (its share of the batch); not reproducible"},
    {"stance_labels", ColType::STR, "JSON: the thinking's stance chunk labels (1 comply, 0 neutral, -1 refuse; null = no panel majority or a malformed output), or null when it has more than judge.stance.max_chunks chunks"},
    {"stance_outputs", ColType::STR, "JSON list, one string per judge.stance.labellers entry: its raw output (model: generated text; rule: {\"labels\":[...]}); \"\" when not asked"},
};
// /branches columns: one row per answer of a cut-and-resample protocol unit (protocols.* of the job).
inline constexpr Column BRANCH_COLUMNS[] = {
    {"unit", ColType::STR, "id of the protocol unit that produced the answer"},
    {"unit_index", ColType::I32, "index of that unit in the job's plan"},
    {"model", ColType::STR, "model id"},
    {"intervention", ColType::STR, "intervention id"},
    {"prompt_set", ColType::STR, "prompt set id"},
    {"prompt_id", ColType::STR, "prompt id within its set"},
    {"label", ColType::I8, "1 = harmful prompt, 0 = benign"},
    {"rollout", ColType::I32, "sample index of the rollout that was cut (the /samples row with the same model, intervention, prompt and sample_index)"},
    {"rollout_seed", ColType::U64, "seed of that rollout (its /samples seed)"},
    {"protocol", ColType::STR, "nested (nested branching) or replay (cut replay)"},
    {"cut", ColType::I32, "nested: B, percent of the natural thinking kept; replay: stance chunks kept"},
    {"transition", ColType::I32, "replay: index of the stance change within the rollout; nested: -1"},
    {"side", ColType::STR, "replay: pre (prefix ends before the change) or post (after it); nested: empty"},
    {"n_rollout_think_tokens", ColType::I32, "natural thinking length of the rollout (tokens)"},
    {"n_prefix_tokens", ColType::I32, "thinking tokens kept before the force-close"},
    {"continuation", ColType::I32, "index of the answer among the answers of its prefix"},
    {"seed", ColType::U64, "seed of the answer's random stream"},
    {"answer", ColType::STR, "answer text"},
    {"n_answer_tokens", ColType::I32, "generated answer tokens"},
    {"stop_reason", ColType::STR, "eos, answer_budget"},
    {"refused", ColType::I8, "majority label of the votes under reduce.tie_min_votes at run time: 1 = refusal, 0 = compliance, -1 = no valid vote"},
    {"votes", ColType::I8, "[rows, judges]: each judge's vote (1 refusal, 0 compliance, -1 abstained); judges in the attribute 'judges' of /samples", true},
    {"soft_label", ColType::F32, "mean of the valid votes (NaN when no judge gave one)"},
    {"judge_truncated", ColType::I8, "[rows, judges]: 1 = the answer was cut to fit that judge's context, else 0", true},
    {"judge_outputs", ColType::STR, "JSON list, one string per judge: its raw output"},
};

inline constexpr const char* VOTES_COLUMN = "votes";
inline constexpr const char* A_JUDGES = "judges";  // attribute of /samples: the judges, in votes column order
inline constexpr const char* A_JUDGE_KINDS = "judge_kinds";  // attribute of /samples: each judge's kind, same order
inline constexpr const char* G_JUDGES = "/judges";  // /judges/<judge id>: kind, settings; guard models also files + sha256

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
// layer's bytes, also when compressed; rows per chunk: ACT_CHUNK_BYTES of one layer (packed archives, and
// uncompressed shards: at most ACT_CHUNK_ROWS_MAX rows), or as if the chunk held every layer (compressed
// shards: at most ACT_CHUNK_ROWS_GZIP rows).
inline constexpr uint64_t ACT_CHUNK_LAYERS = 1;
inline constexpr uint64_t ACT_CHUNK_ROWS_MAX = 4096;
inline constexpr uint64_t ACT_CHUNK_ROWS_GZIP = 64;

}  // namespace tp::schema
