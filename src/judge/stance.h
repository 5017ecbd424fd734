// Stance of a thinking trace, chunk by chunk (paper section 1.10): the thinking is split into sentences,
// packed into chunks of at most 200 characters (chunks of 20 or fewer dropped), each chunk labelled +1
// (comply / engage), 0 (neutral) or -1 (refuse / safety concern) by a rule lexicon (PCRE2, case-
// insensitive; the first matching list wins, refusal before compliance), and the stance changes found
// (carry-forward, run-length segments, salient transitions). Pure functions; the model labeller's prompt
// and parser are in stance_judge.h, its run in judges.h. Used by the worker's stance labelling (judges.cpp),
// the cut-replay protocol (protocols/) and the reducer's oscillation counts.
#pragma once
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "judge/patterns.h"

namespace tp {

struct StanceChunking {
  size_t max_chars = 200;  // a chunk holds whole sentences up to this many bytes (a longer sentence is a chunk alone)
  size_t min_chars = 21;   // chunks shorter than this are dropped (paper: <= 20 dropped)
};
// Sentences split after [.!?] followed by whitespace (the paper's (?<=[.!?])\s+), greedily packed
// (joined by one space) into chunks.
std::vector<std::string> stance_chunks(std::string_view thinking, const StanceChunking& c = {});

struct StanceLexicon {
  std::vector<std::string> refuse, comply;  // patterns; a chunk matching none is neutral
  PatternSet refuse_set, comply_set;  // compiled
};
const std::vector<std::string>& stance_default_refuse_patterns();
const std::vector<std::string>& stance_default_comply_patterns();
// Empty lists take the defaults. tp::Error naming the pattern when one does not compile.
StanceLexicon stance_lexicon_new(const std::vector<std::string>& refuse = {}, const std::vector<std::string>& comply = {});
int8_t stance_label(const StanceLexicon& lx, std::string_view chunk);  // -1, 0, +1
// No label: a panel without a majority, or a labeller whose output was malformed.
inline constexpr int8_t STANCE_NONE = INT8_MIN;

// A salient transition between two adjacent segments of opposite nonzero sign (L_pre = L_min = 1).
struct StanceTransition {
  int32_t pre_cut;   // chunks up to the end of the first segment: the "pre" prefix is chunks[:pre_cut]
  int32_t post_cut;  // chunks up to the end of the second segment: the "post" prefix
  int8_t from, to;   // signs of the two segments
};
// Zeros carry the previous nonzero sign forward (leading zeros stay a 0 segment); the result is run-length
// encoded; each adjacent pair of segments with opposite nonzero signs is a transition, in trace order.
std::vector<StanceTransition> stance_transitions(const std::vector<int8_t>& labels);

// Labels and transitions of one trace. Excluded (not labelled, no transitions) when it has more than
// max_chunks chunks; unresolved (no transitions) when a label is STANCE_NONE: the paper drops both.
struct StanceTrace {
  std::vector<std::string> chunks;
  std::vector<int8_t> labels;  // one per chunk; empty when excluded
  std::vector<StanceTransition> transitions;
  bool excluded = false;    // more than max_chunks chunks (the paper's degenerate loops)
  bool unresolved = false;  // a label is STANCE_NONE
};
StanceTrace stance_trace(const StanceLexicon& lx, std::string_view thinking, int64_t max_chunks = 120, const StanceChunking& c = {});
// The rest of a trace from its labels (excluded already set): unresolved, and the transitions of a
// trace that is neither excluded nor unresolved.
void stance_trace_finish(StanceTrace& t);

// The text of the prefix chunks[:cut], as the paper joins it.
std::string stance_prefix_text(const std::vector<std::string>& chunks, int32_t cut);

}  // namespace tp
