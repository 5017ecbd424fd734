// Loads a job YAML into JobSpec by walking each struct's visit() list (job_spec.h), then checks what
// one field alone cannot show: unique ids, capture layer syntax, model folders, and every prompt set.
// All problems are collected and reported together, each with file:line:column and the key path.
// Precedence: "section.key=value" overrides from the command line > YAML > defaults.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "config/job_spec.h"
#include "judge/stance.h"
#include "prompts/prompt_set.h"
#include "util/check.h"
#include "util/text.h"

namespace fs = std::filesystem;

namespace tp {

std::string Diagnostic::str() const {
  std::string where = file;
  if (pos.line > 0) where += fmt::format(":{}:{}", pos.line, pos.column);
  if (!path.empty()) where += ": " + path;
  return where + ": " + message;
}

SourcePos LoadedJob::pos_of(const std::string& path) const {
  // The key itself, else the nearest enclosing key that was written (an item of a list, a section).
  for (std::string p = path; !p.empty();) {
    for (const auto& [key, pos] : positions)
      if (key == p) return pos;
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return {};
}

namespace {

struct Ctx {
  std::string file;  // the job file, for messages
  std::vector<std::string> overridden;  // key paths set on the command line
  std::string dir;   // relative paths resolve against it
  std::vector<Diagnostic>* errors;
  std::vector<std::pair<std::string, SourcePos>>* positions;
};

SourcePos pos_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::string fmt_num(double x) {
  if (x == static_cast<double>(static_cast<int64_t>(x)) && std::abs(x) < 1e15) return std::to_string(static_cast<int64_t>(x));
  return fmt::format("{}", x);
}

nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& item : n) j.push_back(yaml_to_json(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: always a string
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == 0 && errno == 0) return i;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == 0) return d;
      if (s == "true" || s == "false") return s == "true";
      return s;
    }
    default:
      return nullptr;
  }
}

// Keys that moved to another section: their new path (an error that says where), or "".
std::string moved_key(const std::string& path) {
  static const std::pair<const char*, const char*> moved[] = {
      {"protocols.cut_replay.refuse_patterns", "judge.stance.refuse_patterns"},
      {"protocols.cut_replay.comply_patterns", "judge.stance.comply_patterns"},
      {"protocols.cut_replay.max_chunks", "judge.stance.max_chunks"},
  };
  for (const auto& [from, to] : moved)
    if (path == from) return to;
  return "";
}

// Walks one struct's visit() list against one YAML map.
class YamlReader {
 public:
  YamlReader(YAML::Node node, std::string path, Ctx& ctx) : node_(std::move(node)), path_(std::move(path)), ctx_(ctx) {}

  template <class T>
  void operator()(const char* name, T& value, const char* help, const Rule& r) {
    names_.push_back(name);
    std::string path = path_.empty() ? name : path_ + "." + name;
    YAML::Node child = node_[name];
    if (!child || child.IsNull()) {
      if (r.required) error(node_, path_, fmt::format("missing required key '{}' ({})", name, help));
      return;
    }
    ctx_.positions->emplace_back(path, pos_of(child));
    help_ = help;
    read(child, path, value, r);
  }

  // Keys in the map that no field claimed.
  void check_unknown() {
    for (const auto& kv : node_) {
      std::string key = kv.first.as<std::string>();
      if (std::find(names_.begin(), names_.end(), key) != names_.end()) continue;
      const std::string full = path_.empty() ? key : path_ + "." + key;
      if (std::string to = moved_key(full); !to.empty()) {
        error(kv.first, full, fmt::format("'{}' moved to '{}'", full, to));
        continue;
      }
      std::string hint = did_you_mean(key, names_);
      std::string msg = fmt::format("unknown key '{}'", key);
      msg += hint.empty() ? fmt::format(" (known keys: {})", join(names_, ", ")) : fmt::format("; did you mean '{}'?", hint);
      error(kv.first, path_.empty() ? key : path_ + "." + key, msg);
    }
  }

  template <class S>
  static void read_struct(const YAML::Node& n, const std::string& path, S& s, Ctx& ctx) {
    if (!n.IsMap()) {
      ctx.errors->push_back({ctx.file, pos_of(n), path, "expected a mapping of keys to values"});
      return;
    }
    YamlReader r(n, path, ctx);
    s.visit(r);
    r.check_unknown();
  }

 private:
  void error(const YAML::Node& at, const std::string& path, std::string msg) {
    for (const auto& o : ctx_.overridden)
      if (path == o || path.rfind(o + ".", 0) == 0 || path.rfind(o + "[", 0) == 0) {
        ctx_.errors->push_back({"command line", {}, path, std::move(msg)});
        return;
      }
    ctx_.errors->push_back({ctx_.file, pos_of(at), path, std::move(msg)});
  }

  bool scalar(const YAML::Node& n, const std::string& path, const char* what) {
    if (n.IsScalar()) return true;
    error(n, path, fmt::format("expected {}, got a {}", what, n.IsMap() ? "mapping" : n.IsSequence() ? "list" : "null"));
    return false;
  }

  void check_range(const YAML::Node& n, const std::string& path, double x, const Rule& r) {
    if (x < r.lo || x > r.hi) {
      std::string bound = std::isinf(r.hi) ? fmt::format("must be >= {}", fmt_num(r.lo))
                                           : fmt::format("must be between {} and {}", fmt_num(r.lo), fmt_num(r.hi));
      error(n, path, fmt::format("{} (got {})", bound, n.Scalar()));
    }
  }

  void check_string(const YAML::Node& n, const std::string& path, std::string& s, const Rule& r) {
    if (r.nonempty && s.empty()) error(n, path, "must not be empty");
    if (!r.choices.empty() && std::find(r.choices.begin(), r.choices.end(), s) == r.choices.end()) {
      std::string hint = did_you_mean(s, r.choices);
      error(n, path, fmt::format("'{}' is not one of: {}{}", s, join(r.choices, ", "),
                                 hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    if (!r.pattern.empty() && !std::regex_match(s, std::regex(r.pattern)))
      error(n, path, fmt::format("'{}' is not valid here: {}", s, help_));
    if (r.identifier && !s.empty()) {
      bool ok = std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; });
      if (!ok) error(n, path, fmt::format("'{}' may only use letters, digits, '_', '-' and '.'", s));
    }
    if (r.path != PathKind::NONE && !s.empty()) {
      fs::path p(s);
      if (p.is_relative()) p = fs::path(ctx_.dir) / p;
      s = p.lexically_normal().string();
      std::error_code ec;
      if (r.path == PathKind::INPUT_FILE && !fs::is_regular_file(s, ec))
        error(n, path, fmt::format("no such file: {}", s));
      if (r.path == PathKind::INPUT_DIR && !fs::is_directory(s, ec))
        error(n, path, fmt::format("no such folder: {}", s));
    }
  }

  void read(const YAML::Node& n, const std::string& path, bool& v, const Rule&) {
    if (!scalar(n, path, "true or false")) return;
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "yes") v = true;
    else if (s == "false" || s == "False" || s == "no") v = false;
    else error(n, path, fmt::format("expected true or false, got '{}'", s));
  }

  void read(const YAML::Node& n, const std::string& path, int64_t& v, const Rule& r) {
    if (!scalar(n, path, "an integer")) return;
    const std::string& s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != 0 || errno != 0) return error(n, path, fmt::format("expected an integer, got '{}'", s));
    check_range(n, path, static_cast<double>(x), r);
    v = x;
  }

  void read(const YAML::Node& n, const std::string& path, double& v, const Rule& r) {
    if (!scalar(n, path, "a number")) return;
    const std::string& s = n.Scalar();
    char* end = nullptr;
    double x = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != 0 || !std::isfinite(x)) return error(n, path, fmt::format("expected a number, got '{}'", s));
    check_range(n, path, x, r);
    v = x;
  }

  void read(const YAML::Node& n, const std::string& path, std::string& v, const Rule& r) {
    if (!scalar(n, path, "a string")) return;
    v = n.Scalar();
    check_string(n, path, v, r);
  }

  void read(const YAML::Node& n, const std::string& path, std::vector<std::string>& v, const Rule& r) {
    v.clear();
    if (n.IsScalar()) {  // a single value stands for a list of one
      v.push_back(n.Scalar());
      check_string(n, path, v.back(), r);
    } else if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); i++) {
        std::string item_path = fmt::format("{}[{}]", path, i);
        if (!scalar(n[i], item_path, "a string")) continue;
        v.push_back(n[i].Scalar());
        check_string(n[i], item_path, v.back(), r);
      }
    } else {
      return error(n, path, "expected a list");
    }
    if (r.nonempty && v.empty()) error(n, path, "must not be empty");
  }

  void read(const YAML::Node& n, const std::string& path, nlohmann::json& v, const Rule&) {
    if (!n.IsMap()) return error(n, path, "expected a mapping of parameter names to values");
    v = yaml_to_json(n);
  }

  template <class S>
  void read(const YAML::Node& n, const std::string& path, S& v, const Rule&) {
    read_struct(n, path, v, ctx_);
  }

  template <class S>
  void read(const YAML::Node& n, const std::string& path, std::vector<S>& v, const Rule& r) {
    if (!n.IsSequence()) return error(n, path, "expected a list");
    v.assign(n.size(), S{});
    for (size_t i = 0; i < n.size(); i++) {
      std::string item = fmt::format("{}[{}]", path, i);
      ctx_.positions->emplace_back(item, pos_of(n[i]));
      read_struct(n[i], item, v[i], ctx_);
    }
    if (r.nonempty && v.empty()) error(n, path, "must not be empty");
  }

  YAML::Node node_;
  std::string path_;
  Ctx& ctx_;
  std::vector<std::string> names_;
  const char* help_ = "";  // help of the field being read, for messages
};

// "a.b[2].c=value": sets that node in the YAML tree (creating maps on the way), value parsed as YAML.
void apply_override(YAML::Node root, const std::string& text, std::vector<Diagnostic>& errors) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    errors.push_back({"command line", {}, "", fmt::format("override '{}' must look like section.key=value", text)});
    return;
  }
  std::string key = text.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    errors.push_back({"command line", {}, key, fmt::format("override value is not valid YAML: {}", e.msg)});
    return;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= key.size()) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // yaml-cpp pitfall: `node = other` assigns through to the referenced node; only construction and
  // reset() rebind a handle. So walk by constructing new handles, never by assigning one to another.
  std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
    std::string part = parts[i];
    int index = -1;
    if (size_t lb = part.find('['); lb != std::string::npos && part.back() == ']') {
      index = std::atoi(part.substr(lb + 1).c_str());
      part = part.substr(0, lb);
    }
    bool last = i + 1 == parts.size();
    if (index < 0) {
      if (last) { node[part] = value; return; }
      if (!node[part] || node[part].IsNull()) node[part] = YAML::Node(YAML::NodeType::Map);
      set(node[part], i + 1);
      return;
    }
    YAML::Node list(node[part]);
    if (!list.IsSequence() || index >= static_cast<int>(list.size())) {
      errors.push_back({"command line", {}, key, fmt::format("override: {} has no item {}", part, index)});
      return;
    }
    if (last) { list[index] = value; return; }
    set(list[index], i + 1);
  };
  set(root, 0);
}

template <class T>
void check_unique_ids(const std::vector<T>& items, const char* section, const LoadedJob& job, std::vector<Diagnostic>& errors) {
  std::set<std::string> seen;
  for (size_t i = 0; i < items.size(); i++) {
    if (items[i].id.empty()) continue;
    std::string path = fmt::format("{}[{}].id", section, i);
    if (!seen.insert(items[i].id).second)
      errors.push_back({job.file, job.pos_of(path), path, fmt::format("duplicate id '{}'", items[i].id)});
  }
}

void check_job(LoadedJob& job, std::vector<Diagnostic>& errors) {
  JobSpec& s = job.spec;
  auto at = [&](const std::string& path, std::string msg) {
    for (const auto& o : job.overridden)
      if (path == o || path.rfind(o + ".", 0) == 0) return errors.push_back({"command line", {}, path, std::move(msg)});
    errors.push_back({job.file, job.pos_of(path), path, std::move(msg)});
  };

  if (s.interventions.empty()) {
    InterventionSpec baseline;
    baseline.id = "baseline";
    baseline.description = "no intervention (added because the job lists none)";
    s.interventions.push_back(baseline);
  }
  check_unique_ids(s.models, "models", job, errors);
  check_unique_ids(s.prompt_sets, "prompt_sets", job, errors);
  check_unique_ids(s.interventions, "interventions", job, errors);

  for (size_t i = 0; i < s.interventions.size(); i++) {
    auto& iv = s.interventions[i];
    auto problems = intervention_check(iv.type, iv.params);
    for (const auto& p : intervention_resolve_paths(iv.type, iv.params, job.dir)) problems.push_back(p);
    for (const auto& problem : problems) at(fmt::format("interventions[{}].params", i), problem);
  }
  auto check_checkpoint = [&](const std::string& dir, const std::string& path) {
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) return;
    std::vector<std::string> missing;
    for (const char* need : {"config.json", "tokenizer.json"})
      if (!fs::exists(fs::path(dir) / need, ec)) missing.push_back(need);
    bool any_weights = false;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") any_weights = true;
    if (!any_weights) missing.push_back("*.safetensors");
    if (!missing.empty()) at(path, fmt::format("{} is not a Hugging Face checkpoint folder: it has no {}", dir, join(missing, ", ")));
  };
  for (size_t i = 0; i < s.models.size(); i++) check_checkpoint(s.models[i].path, fmt::format("models[{}].path", i));
  check_unique_ids(s.judge.judges, "judge.judges", job, errors);
  for (size_t i = 0; i < s.judge.judges.size(); i++) {
    const auto& j = s.judge.judges[i];
    std::string path = fmt::format("judge.judges[{}]", i);
    const auto kinds = judge_kinds();
    if (j.kind == "rule" || std::find(kinds.begin(), kinds.end(), j.kind) == kinds.end()) continue;
    if (!judge_kind_runnable(j.kind))
      at(path + ".kind", fmt::format("{} cannot run in thinkprobe's engine yet ({}); runnable judge kinds: {}", j.kind,
                                     judge_kind_missing(j.kind), join(judge_kinds_runnable(), ", ")));
    if (j.path.empty()) at(path + ".path", fmt::format("a {} judge needs the checkpoint folder of its guard model", j.kind));
    check_checkpoint(j.path, path + ".path");
  }
  // stance lexicon patterns compile here, not first on a worker; model labellers need a checkpoint
  const StanceSpec& st = s.judge.stance;
  for (const auto& [key, list] : {std::pair{"refuse_patterns", &st.refuse_patterns}, std::pair{"comply_patterns", &st.comply_patterns}})
    for (size_t i = 0; i < list->size(); i++) {
      try {
        stance_lexicon_new(key[0] == 'r' ? std::vector<std::string>{(*list)[i]} : std::vector<std::string>{},
                           key[0] == 'c' ? std::vector<std::string>{(*list)[i]} : std::vector<std::string>{});
      } catch (const Error& e) {
        at(fmt::format("judge.stance.{}[{}]", key, i), e.what());
      }
    }
  check_unique_ids(st.labellers, "judge.stance.labellers", job, errors);
  for (size_t i = 0; i < st.labellers.size(); i++) {
    if (st.labellers[i].kind != "model") continue;
    std::string path = fmt::format("judge.stance.labellers[{}].path", i);
    if (st.labellers[i].path.empty()) at(path, "a model labeller needs the checkpoint folder of its model");
    check_checkpoint(st.labellers[i].path, path);
  }
  if (!st.prompt_template.empty() && st.prompt_template.find("{chunks}") == std::string::npos)
    at("judge.stance.prompt_template", "the template has no {chunks}: the labeller would never see the thinking");
  if (s.job.output_dir.empty() && !s.job.name.empty())
    s.job.output_dir = (fs::path(job.dir) / "out" / s.job.name).lexically_normal().string();

  // Each prompt file is loaded and checked line by line; its problems point into that file.
  std::vector<Diagnostic> prompt_errors;
  bool sets_ok = std::all_of(s.prompt_sets.begin(), s.prompt_sets.end(), [](const PromptSetSpec& p) {
    std::error_code ec;
    return !p.path.empty() && fs::is_regular_file(p.path, ec);
  });
  if (sets_ok) prompt_sets_load(s, prompt_errors);
  errors.insert(errors.end(), prompt_errors.begin(), prompt_errors.end());
}

}  // namespace

LoadedJob job_load(const std::string& file, const std::vector<std::string>& overrides, std::vector<Diagnostic>& errors) {
  LoadedJob job;
  job.file = file;
  job.dir = fs::absolute(fs::path(file)).parent_path().lexically_normal().string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    errors.push_back({file, {}, "", "no such job file"});
    return job;
  }
  job.yaml_text = read_file(file);
  if (size_t bad = utf8_invalid_offset(job.yaml_text); bad != std::string::npos) {
    size_t line_start = job.yaml_text.rfind('\n', bad == 0 ? 0 : bad - 1);
    line_start = (line_start == std::string::npos || bad == 0) ? 0 : line_start + 1;
    int line = 1 + static_cast<int>(std::count(job.yaml_text.begin(), job.yaml_text.begin() + bad, '\n'));
    errors.push_back({file, {line, static_cast<int>(bad - line_start) + 1}, "", "invalid UTF-8"});
    return job;
  }
  YAML::Node root;
  try {
    root = YAML::Load(job.yaml_text);
  } catch (const YAML::Exception& e) {
    errors.push_back({file, {e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg});
    return job;
  }
  if (!root.IsMap()) {
    errors.push_back({file, pos_of(root), "", "a job file must be a mapping with sections job, models, prompt_sets, ..."});
    return job;
  }
  for (const auto& o : overrides) {
    apply_override(root, o, errors);
    job.overridden.push_back(o.substr(0, o.find('=')));
  }

  Ctx ctx{file, job.overridden, job.dir, &errors, &job.positions};
  YamlReader::read_struct(root, "", job.spec, ctx);
  // A model's sampling starts from the job's sampling section; keys the model gives override it.
  // (The first pass above already reported errors in those keys; this pass only layers the values.)
  if (YAML::Node models = root["models"]; models && models.IsSequence()) {
    std::vector<Diagnostic> ignored;
    std::vector<std::pair<std::string, SourcePos>> ignored_pos;
    Ctx quiet{file, {}, job.dir, &ignored, &ignored_pos};
    for (size_t i = 0; i < job.spec.models.size() && i < models.size(); i++) {
      job.spec.models[i].sampling = job.spec.sampling;
      if (models[i].IsMap() && models[i]["sampling"])
        YamlReader::read_struct(models[i]["sampling"], "", job.spec.models[i].sampling, quiet);
    }
  }
  check_job(job, errors);
  // Problems in the job file in file order; those of prompt files and the command line after them.
  std::stable_sort(errors.begin(), errors.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    auto rank = [&](const Diagnostic& d) { return d.file == file ? 0 : 1; };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return rank(a) == 0 && a.pos.line < b.pos.line;
  });
  return job;
}

void job_select_model(LoadedJob& job, const std::string& model_id) {
  std::vector<std::string> ids;
  for (const auto& m : job.spec.models) {
    ids.push_back(m.id);
    if (m.id != model_id) continue;
    ModelSpec keep = m;
    job.spec.models = {keep};
    job.spec.job.output_dir = (fs::path(job.spec.job.output_dir) / model_id).string();
    return;
  }
  throw Error(fmt::format("{}: no model '{}' (models: {})", job.file, model_id, join(ids, ", ")));
}

LoadedJob job_load_or_throw(const std::string& file, const std::vector<std::string>& overrides) {
  std::vector<Diagnostic> errors;
  LoadedJob job = job_load(file, overrides, errors);
  if (!errors.empty()) {
    std::vector<std::string> lines;
    for (const auto& e : errors) lines.push_back(e.str());
    throw Error(fmt::format("{} has {} problem{}:\n  {}", file, errors.size(), errors.size() == 1 ? "" : "s", join(lines, "\n  ")),
                "thinkprobe validate " + file + " lists the same problems; docs/job.md describes every key");
  }
  return job;
}

}  // namespace tp
