// Behaviour rates of one model x intervention cell as pure functions: ASR (comply rate on harmful
// prompts) and ORR (refusal rate on benign prompts), with majority and soft labels, overall, per source
// and per category, each with a seeded percentile bootstrap CI. The reducer builds the rows from the
// archive's judge votes (metrics.h majority_label / soft_label); this file does no I/O.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tp {

struct BehaviourRow {
  uint64_t prompt;   // prompt id hash: rows of one prompt are resampled together when by_prompt
  bool harmful;      // the prompt's pool: harmful (ASR) or benign (ORR)
  int32_t source;    // index into the caller's list of sources (prompt set / benchmark)
  int32_t category;  // index into the caller's list of categories
  int8_t refusal;    // majority label: 1 refuse, 0 comply, -1 no verdict (left out)
  double soft;       // soft label in [0, 1]; NaN when no verdict
};

struct RateCi {
  double value, lo, hi;  // NaN when n = 0
  int64_t n;             // rows with a verdict
};

struct BehaviourCell {
  std::string metric;  // "asr" or "orr"
  std::string by;      // "all", "source" or "category"
  int32_t key;         // the source or category index; -1 for "all"
  RateCi majority, soft;
};

// Every (metric, by, key) cell with at least one row, in a fixed order: asr before orr; all, then
// sources, then categories, by index. Each cell's bootstrap draws n_boot resamples with a seed derived
// from (seed, metric, by, key), so a cell's CI does not depend on which other cells exist. by_prompt:
// resample prompts (all their rollouts together) instead of rows.
std::vector<BehaviourCell> behaviour_rates(const std::vector<BehaviourRow>& rows, int64_t n_boot, uint64_t seed,
                                           bool by_prompt, double level = 0.95);

}  // namespace tp
