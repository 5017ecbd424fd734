// Two error tiers (STYLE.md rule 8).
//  - tp::Error: a user or environment problem (bad YAML, missing file, corrupt archive). Thrown, caught
//    once in main, printed as one line "what: where" plus an optional "HINT: ..." line.
//  - TP_CHECK(cond): a programmer invariant. Aborts with the expression, file and line.
// Provides: tp::Error, tp::errorf, TP_CHECK, TP_CHECK_MSG.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace tp {

struct Error : std::runtime_error {
  std::string hint;  // what the user can do about it; empty if nothing useful can be said
  explicit Error(std::string msg, std::string hint_ = {}) : std::runtime_error(std::move(msg)), hint(std::move(hint_)) {}
};

template <typename... Args>
[[noreturn]] void errorf(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  std::fprintf(stderr, "thinkprobe: internal check failed: %s at %s:%d %s\n", expr, file, line, msg.c_str());
  std::abort();
}

}  // namespace tp

#define TP_CHECK(cond) \
  do { if (!(cond)) ::tp::check_failed(#cond, __FILE__, __LINE__, ""); } while (0)
#define TP_CHECK_MSG(cond, ...) \
  do { if (!(cond)) ::tp::check_failed(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); } while (0)
