// Prompt-set readers (JSONL, CSV), record checks, filters and de-duplication (see prompt_set.h).
#include "prompts/prompt_set.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "util/check.h"
#include "util/hash.h"
#include "util/text.h"

namespace tp {

const char* label_name(Label l) { return l == Label::HARMFUL ? "harmful" : "benign"; }

namespace {

// One record as read from the file, before its fields are checked.
struct RawRecord {
  int line;
  std::string id, text, label, category, source;
  bool has_id;
};

struct Reader {
  const PromptSetSpec& spec;
  std::vector<Diagnostic>& errors;
  void error(int line, std::string msg) { errors.push_back({spec.path, {line, 0}, "", std::move(msg)}); }
};

// JSONL: one object per line; blank lines are allowed and skipped.
std::vector<RawRecord> read_jsonl(const std::string& text, Reader& rd) {
  std::vector<RawRecord> out;
  size_t start = 0;
  int line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view raw(text.data() + start, end - start);
    start = end + 1;
    line++;
    if (trim(raw).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(raw);
    } catch (const nlohmann::json::parse_error& e) {
      rd.error(line, fmt::format("not valid JSON: {}", e.what()));
      continue;
    }
    if (!j.is_object()) { rd.error(line, "expected a JSON object {id, prompt, label, category, source}"); continue; }
    RawRecord r{line, "", "", "", "", "", false};
    bool ok = true;
    auto field = [&](const char* key, std::string& dst, bool required) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) {
        if (required) { rd.error(line, fmt::format("missing field '{}'", key)); ok = false; }
        return false;
      }
      if (it->is_string()) dst = it->get<std::string>();
      else if (it->is_number_integer() && std::string(key) == "id") dst = std::to_string(it->get<int64_t>());
      else { rd.error(line, fmt::format("field '{}' must be a string", key)); ok = false; }
      return true;
    };
    r.has_id = field("id", r.id, true);
    field("prompt", r.text, true);
    field("label", r.label, true);
    field("category", r.category, false);
    field("source", r.source, false);
    if (ok) out.push_back(std::move(r));
  }
  return out;
}

// CSV (RFC 4180): quoted fields may hold commas, quotes ("") and newlines. Returns rows with their line.
std::vector<std::pair<int, std::vector<std::string>>> parse_csv(const std::string& text, Reader& rd) {
  std::vector<std::pair<int, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, any = false;
  int line = 1, row_line = 1;
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') { cell += '"'; i++; }
      else if (c == '"') quoted = false;
      else { if (c == '\n') line++; cell += c; }
      continue;
    }
    if (c == '"' && cell.empty()) { quoted = true; any = true; }
    else if (c == ',') { row.push_back(std::move(cell)); cell.clear(); any = true; }
    else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    else if (c == '\n') {
      if (any || !cell.empty()) { row.push_back(std::move(cell)); rows.emplace_back(row_line, std::move(row)); }
      row.clear(); cell.clear(); any = false;
      row_line = ++line;
    } else { cell += c; any = true; }
  }
  if (quoted) rd.error(row_line, "unterminated quoted field");
  if (any || !cell.empty()) { row.push_back(std::move(cell)); rows.emplace_back(row_line, std::move(row)); }
  return rows;
}

std::vector<RawRecord> read_csv(const std::string& text, Reader& rd) {
  std::vector<RawRecord> out;
  auto rows = parse_csv(text, rd);
  if (rows.empty()) return out;
  const auto& header = rows[0].second;
  const CsvColumns& cols = rd.spec.columns;
  auto column = [&](const std::string& name, bool required) -> int {
    if (name.empty()) return -1;
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<int>(it - header.begin());
    if (required) rd.error(rows[0].first, fmt::format("no column '{}' in the header (columns: {})", name, join(header, ", ")));
    return -1;
  };
  int c_id = column(cols.id, false), c_prompt = column(cols.prompt, true), c_label = column(cols.label, true),
      c_cat = column(cols.category, false), c_src = column(cols.source, false);
  if (c_prompt < 0 || c_label < 0) return out;
  for (size_t r = 1; r < rows.size(); r++) {
    const auto& [line, cells] = rows[r];
    if (cells.size() != header.size()) {
      rd.error(line, fmt::format("{} fields, but the header has {}", cells.size(), header.size()));
      continue;
    }
    RawRecord rec{line, "", cells[c_prompt], cells[c_label], c_cat >= 0 ? cells[c_cat] : "", c_src >= 0 ? cells[c_src] : "", c_id >= 0};
    rec.id = c_id >= 0 ? cells[c_id] : fmt::format("{}-{:04}", rd.spec.id, r);
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace

PromptSet prompt_set_load(const PromptSetSpec& spec, std::vector<Diagnostic>& errors) {
  PromptSet set;
  set.id = spec.id;
  set.path = spec.path;
  Reader rd{spec, errors};
  std::string text;
  try {
    text = read_file(spec.path);
  } catch (const Error& e) {
    errors.push_back({spec.path, {}, "", e.what()});
    return set;
  }
  std::string format = spec.format;
  if (format == "auto") {
    std::string ext = to_lower(std::filesystem::path(spec.path).extension().string());
    if (ext == ".jsonl" || ext == ".json") format = "jsonl";
    else if (ext == ".csv") format = "csv";
    else {
      errors.push_back({spec.path, {}, "", fmt::format("cannot tell the format from the extension '{}': set format: jsonl or csv", ext)});
      return set;
    }
  }
  size_t n_errors_before = errors.size();
  // Invalid UTF-8 is reported per line, so a bad byte names its line, not the whole file.
  {
    int line = 1;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + start, end - start);
      if (size_t bad = utf8_invalid_offset(l); bad != std::string_view::npos) {
        errors.push_back({spec.path, {line, static_cast<int>(bad) + 1}, "", "invalid UTF-8"});
        text.replace(start + bad, 1, "?");  // keep reading the rest; the record is rejected below
      }
      start = end + 1;
      line++;
    }
  }
  std::vector<RawRecord> raw = format == "csv" ? read_csv(text, rd) : read_jsonl(text, rd);
  set.n_in_file = raw.size();

  std::map<std::string, int> id_line;
  std::set<int> bad_lines;
  for (size_t i = n_errors_before; i < errors.size(); i++) bad_lines.insert(errors[i].pos.line);
  for (auto& r : raw) {
    bool ok = !bad_lines.count(r.line);
    if (r.id.empty()) { rd.error(r.line, "empty id"); ok = false; }
    auto [it, fresh] = id_line.emplace(r.id, r.line);
    if (!fresh) { rd.error(r.line, fmt::format("duplicate id '{}' (first on line {})", r.id, it->second)); ok = false; }
    if (trim(r.text).empty()) { rd.error(r.line, fmt::format("empty prompt (id '{}')", r.id)); ok = false; }
    Label label = Label::BENIGN;
    auto in = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), r.label) != v.end(); };
    if (in(spec.label_values.harmful)) label = Label::HARMFUL;
    else if (in(spec.label_values.benign)) label = Label::BENIGN;
    else {
      rd.error(r.line, fmt::format("label '{}' (id '{}') is neither harmful ({}) nor benign ({})", r.label, r.id,
                                   join(spec.label_values.harmful, ", "), join(spec.label_values.benign, ", ")));
      ok = false;
    }
    if (!ok) continue;
    set.prompts.push_back({r.id, r.text, label, r.category, r.source.empty() ? (spec.source.empty() ? spec.id : spec.source) : r.source, r.line});
  }

  // Filters, in a fixed order on id-sorted prompts: label, categories, seeded sample, limit.
  std::sort(set.prompts.begin(), set.prompts.end(), [](const Prompt& a, const Prompt& b) { return a.id < b.id; });
  const PromptFilter& f = spec.filter;
  auto& ps = set.prompts;
  if (f.label != "any") {
    Label want = f.label == "harmful" ? Label::HARMFUL : Label::BENIGN;
    ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const Prompt& p) { return p.label != want; }), ps.end());
  }
  if (!f.categories.empty())
    ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const Prompt& p) {
               return std::find(f.categories.begin(), f.categories.end(), p.category) == f.categories.end();
             }), ps.end());
  if (f.sample.n > 0 && static_cast<size_t>(f.sample.n) < ps.size()) {
    // Seeded by the set id and each prompt's id, not by file position: rank each prompt by a hash and
    // keep the n smallest. Adding a prompt to the file never changes which others are picked.
    std::vector<std::pair<uint64_t, size_t>> keyed;
    for (size_t i = 0; i < ps.size(); i++) keyed.emplace_back(derive_seed(static_cast<uint64_t>(f.sample.seed), {spec.id, ps[i].id}), i);
    std::sort(keyed.begin(), keyed.end());
    std::vector<Prompt> picked;
    for (int64_t i = 0; i < f.sample.n; i++) picked.push_back(std::move(ps[keyed[i].second]));
    std::sort(picked.begin(), picked.end(), [](const Prompt& a, const Prompt& b) { return a.id < b.id; });
    ps = std::move(picked);
  }
  if (f.limit > 0 && static_cast<size_t>(f.limit) < ps.size()) ps.resize(f.limit);
  return set;
}

std::vector<PromptSet> prompt_sets_load(const JobSpec& job, std::vector<Diagnostic>& errors) {
  std::vector<PromptSet> sets;
  for (const auto& spec : job.prompt_sets) sets.push_back(prompt_set_load(spec, errors));
  if (job.job.dedupe_prompts) {
    // Identical texts (after trimming, case-insensitive) keep their first occurrence in job order.
    std::set<std::string> seen;
    for (auto& set : sets) {
      auto& ps = set.prompts;
      size_t before = ps.size();
      ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const Prompt& p) { return !seen.insert(to_lower(trim(p.text))).second; }), ps.end());
      set.n_duplicates_dropped = before - ps.size();
    }
  }
  return sets;
}

}  // namespace tp
