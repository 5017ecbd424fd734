// What a config field accepts, declared next to the field in its struct's visit() (job_spec.h).
// The YAML reader enforces it, the schema writer turns it into JSON Schema, the help printer shows it.
#pragma once
#include <limits>
#include <string>
#include <vector>

namespace tp {

enum class PathKind { NONE, INPUT_FILE, INPUT_DIR, OUTPUT_DIR };

struct Rule {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // allowed values of a string or of each item of a string list
  bool required = false;
  bool identifier = false;           // [A-Za-z0-9_.-]+ : ids that become HDF5 group names and file names
  bool nonempty = false;             // lists and strings
  PathKind path = PathKind::NONE;    // resolved relative to the job file's folder
  std::string pattern;               // ECMAScript regex a string (or each list item) must match whole
  bool integers_too = false;         // a list of strings whose items may also be written as integers

  Rule& range(double l, double h) { lo = l; hi = h; return *this; }
  Rule& at_least(double l) { lo = l; return *this; }
  Rule& one_of(std::vector<std::string> c) { choices = std::move(c); return *this; }
  Rule& req() { required = true; return *this; }
  Rule& id() { identifier = true; nonempty = true; return *this; }
  Rule& not_empty() { nonempty = true; return *this; }
  Rule& file() { path = PathKind::INPUT_FILE; return *this; }
  Rule& dir() { path = PathKind::INPUT_DIR; return *this; }
  Rule& out_dir() { path = PathKind::OUTPUT_DIR; return *this; }
  Rule& matches(std::string re) { pattern = std::move(re); return *this; }
  Rule& or_integers() { integers_too = true; return *this; }
};

inline Rule rule() { return Rule{}; }

}  // namespace tp
