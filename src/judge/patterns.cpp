// PCRE2 pattern lists (see patterns.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "judge/patterns.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "util/check.h"

namespace tp {

struct PatternSetImpl {
  std::vector<pcre2_code*> codes;
  ~PatternSetImpl() {
    for (auto* c : codes) pcre2_code_free(c);
  }
};

PatternSet pattern_set_new(const std::vector<std::string>& patterns, const std::string& what) {
  auto set = std::make_shared<PatternSetImpl>();
  for (const auto& p : patterns) {
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_CASELESS | PCRE2_UTF, &err, &off, nullptr);
    if (!c) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw Error(fmt::format("{}: '{}' does not compile at offset {}: {}", what, p, off, reinterpret_cast<char*>(msg)));
    }
    set->codes.push_back(c);
  }
  return set;
}

int pattern_first_match(const PatternSet& set, std::string_view text) {
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  int hit = -1;
  for (size_t i = 0; i < set->codes.size() && hit < 0; i++)
    if (pcre2_match(set->codes[i], reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, md, nullptr) >= 0) hit = static_cast<int>(i);
  pcre2_match_data_free(md);
  return hit;
}

}  // namespace tp
