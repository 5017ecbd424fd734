// A list of PCRE2 patterns (case-insensitive, UTF-8) compiled once and matched in order: the one mechanism
// behind the rule judge's refusal patterns and the stance labeller's lexicon. No lists of its own.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tp {

struct PatternSetImpl;
using PatternSet = std::shared_ptr<const PatternSetImpl>;

// tp::Error "<what>: '<pattern>' does not compile at offset N: <reason>" for the first bad pattern.
PatternSet pattern_set_new(const std::vector<std::string>& patterns, const std::string& what);
// Index of the first pattern that matches somewhere in text, or -1.
int pattern_first_match(const PatternSet& set, std::string_view text);

}  // namespace tp
