// Lock-in statistics from the cut-and-resample units, as pure functions (paper sections 1.9, 1.10):
// the within-prefix variance curve over cut fractions with bootstrap CIs and the random reference, and
// the deliberation cuts (before / after a stance change) tested with two-sided Fisher exact tests, Holm-
// corrected, classified locked / wavering x significant / not, with the share of locked deliberations
// (the paper's ~74%). The reducer builds the inputs from archived answers; no I/O here.
#pragma once
#include <cstdint>
#include <vector>

namespace tp {

// --- Within-prefix variance ---------------------------------------------------------------------------
struct PrefixOutcome {
  int32_t cut_percent;  // B: the prefix keeps B% of the natural thinking (0 and 100 are the baselines)
  int64_t refusals;     // continuations of this prefix whose majority label is refusal
  int64_t n;            // continuations judged
};
struct WpvPoint {
  int32_t cut_percent;
  double mean, lo, hi;      // mean of 4 q (1 - q) over prefixes, percentile bootstrap CI over prefixes
  int64_t n_prefixes;
  double random_reference;  // 4 p(1-p)(N-1)/N with p = 1/2 and N the median continuation count (0.875 for N = 8)
};
// One point per cut fraction present, ascending. Prefixes with n = 0 are left out. Each point's
// bootstrap uses Rng(derive_seed(seed, {cut_percent})).
std::vector<WpvPoint> within_prefix_curve(const std::vector<PrefixOutcome>& prefixes, int64_t n_boot,
                                          uint64_t seed, double level = 0.95);

// --- Deliberation cuts --------------------------------------------------------------------------------
enum class LockedRule { PRE, BOTH };  // locked when the comply rate before the change (PRE), or on both sides, is saturated

struct CutPair {  // one stance change: K answers resampled from the prefix before it and after it
  int64_t comply_pre, n_pre;
  int64_t comply_post, n_post;
};
struct CutVerdict {
  double comply_pre, comply_post;  // fractions
  double p, p_holm;                // Fisher exact on [[comply_pre, refuse_pre], [comply_post, refuse_post]]; Holm-adjusted
  bool locked, significant;        // significant: p_holm < alpha
};
// Verdicts in input order. Holm runs over all the given cuts (pass one model's pooled cuts, or one
// model x split, as the analysis wants). Locked: rate <= lock_eps or >= 1 - lock_eps (paper: 0.05).
std::vector<CutVerdict> classify_cuts(const std::vector<CutPair>& cuts, LockedRule rule, double alpha = 0.05,
                                      double lock_eps = 0.05);

struct LockinSummary {
  int64_t n = 0;
  int64_t locked_not_sig = 0;    // "theater"
  int64_t locked_sig = 0;        // "hard flip"
  int64_t wavering_not_sig = 0;  // "noise"
  int64_t wavering_sig = 0;      // "soft causal"
  double share_locked = 0;       // (locked_not_sig + locked_sig) / n; NaN when n = 0
  double share_not_sig = 0;      // "performative": not significant / n; NaN when n = 0
};
LockinSummary summarise_cuts(const std::vector<CutVerdict>& verdicts);

}  // namespace tp
