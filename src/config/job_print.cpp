// The other two walks over the job structs' visit() lists: the resolved job as JSON (printed by
// `validate --resolved`, stored in the archive) and the JSON Schema of the job file (schemas/job.schema.json
// is this output, checked by a test, so the schema and the parser cannot drift apart).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/job_spec.h"

namespace tp {

namespace {

struct JsonWriter {
  nlohmann::json out = nlohmann::json::object();

  template <class T>
  void operator()(const char* name, const T& value, const char*, const Rule&) { out[name] = to_json(value); }

  template <class T>
  static nlohmann::json to_json(const T& v) {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> || std::is_same_v<T, double> ||
                  std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>> ||
                  std::is_same_v<T, nlohmann::json>) {
      return nlohmann::json(v);
    } else if constexpr (is_vector<T>::value) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : v) a.push_back(to_json(item));
      return a;
    } else {
      JsonWriter w;
      const_cast<T&>(v).visit(w);  // visit() only reads here
      return w.out;
    }
  }

  template <class T> struct is_vector : std::false_type {};
  template <class T> struct is_vector<std::vector<T>> : std::true_type {};
};

struct SchemaWriter {
  nlohmann::json props = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();

  template <class T>
  void operator()(const char* name, const T& value, const char* help, const Rule& r) {
    nlohmann::json s = schema_of(value, r);
    s["description"] = help;
    if constexpr (!std::is_same_v<T, nlohmann::json> && !JsonWriter::is_vector<T>::value) {
      if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> || std::is_same_v<T, double> || std::is_same_v<T, std::string>)
        if (!r.required) s["default"] = value;
    }
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      s["default"] = value;
    }
    if (r.required) required.push_back(name);
    props[name] = s;
  }

  static void add_bounds(nlohmann::json& s, const Rule& r) {
    if (std::isfinite(r.lo)) s["minimum"] = r.lo;
    if (std::isfinite(r.hi)) s["maximum"] = r.hi;
  }
  static nlohmann::json string_schema(const Rule& r) {
    nlohmann::json s = {{"type", "string"}};
    if (!r.choices.empty()) s["enum"] = r.choices;
    if (!r.pattern.empty()) s["pattern"] = "^(" + r.pattern + ")$";
    if (r.identifier) s["pattern"] = "^[A-Za-z0-9_.-]+$";
    if (r.nonempty) s["minLength"] = 1;
    return s;
  }

  template <class T>
  static nlohmann::json schema_of(const T& v, const Rule& r) {
    nlohmann::json s;
    if constexpr (std::is_same_v<T, bool>) {
      s = {{"type", "boolean"}};
    } else if constexpr (std::is_same_v<T, int64_t>) {
      s = {{"type", "integer"}};
      add_bounds(s, r);
    } else if constexpr (std::is_same_v<T, double>) {
      s = {{"type", "number"}};
      add_bounds(s, r);
    } else if constexpr (std::is_same_v<T, std::string>) {
      s = string_schema(r);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      nlohmann::json item = string_schema(r);
      item.erase("minLength");
      if (r.integers_too) item = {{"oneOf", {item, {{"type", "integer"}}}}};
      nlohmann::json list = {{"type", "array"}, {"items", item}};
      if (r.nonempty) list["minItems"] = 1;
      s = {{"oneOf", {item, list}}};  // a single value stands for a list of one
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      s = {{"type", "object"}};
    } else if constexpr (JsonWriter::is_vector<T>::value) {
      s = {{"type", "array"}, {"items", struct_schema(typename T::value_type{})}};
      if (r.nonempty) s["minItems"] = 1;
    } else {
      s = struct_schema(v);
    }
    return s;
  }

  template <class S>
  static nlohmann::json struct_schema(const S& v) {
    SchemaWriter w;
    const_cast<S&>(v).visit(w);
    nlohmann::json s = {{"type", "object"}, {"properties", w.props}, {"additionalProperties", false}};
    if (!w.required.empty()) s["required"] = w.required;
    return s;
  }
};

}  // namespace

// One table row per key, sections in visit() order, nested keys as a.b.c.
void reference_rows(const nlohmann::json& schema, const std::string& prefix, std::string& out) {
  const auto& props = schema.contains("items") ? schema["items"]["properties"] : schema["properties"];
  std::vector<std::string> required;
  const auto& holder = schema.contains("items") ? schema["items"] : schema;
  if (holder.contains("required")) required = holder["required"].get<std::vector<std::string>>();
  for (const auto& [name, p] : props.items()) {
    std::string key = prefix + name;
    bool is_list_of_structs = p.value("type", "") == "array" && p.contains("items") && p["items"].contains("properties");
    bool is_struct = p.value("type", "") == "object" && p.contains("properties");
    std::string type = is_list_of_structs ? "list of mappings" : is_struct ? "mapping" : p.value("type", "");
    const nlohmann::json& scalar = p.contains("oneOf") ? p["oneOf"][0] : p;
    if (scalar.contains("enum"))
      type = "one of: " + fmt::format("{}", fmt::join(scalar["enum"].get<std::vector<std::string>>(), ", "));
    if (p.contains("oneOf")) type = (type.empty() ? "string" : type) + " (or a list of them)";
    std::string def = std::find(required.begin(), required.end(), name) != required.end() ? "required"
                      : p.contains("default") ? (p["default"] == "" ? std::string("(empty)")
                                                 : "`" + (p["default"].is_string() ? p["default"].get<std::string>() : p["default"].dump()) + "`")
                                              : "";
    auto num = [&](const char* k) { return p.contains(k) ? fmt::format("{:g}", p[k].get<double>()) : std::string(); };
    std::string range = p.contains("minimum") || p.contains("maximum") ? fmt::format(" [{}, {}]", num("minimum"), num("maximum")) : "";
    out += fmt::format("| `{}` | {}{} | {} | {} |\n", key, type, range, def, p.value("description", ""));
    if (is_struct) reference_rows(p, key + ".", out);
    if (is_list_of_structs) reference_rows(p, key + "[].", out);
  }
}

nlohmann::json job_to_json(const JobSpec& spec) { return JsonWriter::to_json(spec); }

nlohmann::json job_json_schema() {
  nlohmann::json s = SchemaWriter::struct_schema(JobSpec{});
  s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  s["$id"] = "https://github.com/thinkprobe/thinkprobe/schemas/job.schema.json";
  s["title"] = "thinkprobe job";
  s["description"] = "A thinkprobe job: models x prompt sets x interventions, sampling, capture, run, judge, reduce, slurm. "
                     "Generated by `thinkprobe validate --schema`; docs/job.md explains each key.";
  return s;
}

std::string job_reference_markdown() {
  nlohmann::json schema = job_json_schema();
  std::string out =
      "<!-- generated by `thinkprobe validate --reference`; a test keeps it equal to the parser's field lists -->\n"
      "# Job file keys\n\n"
      "Every key a job file accepts, with its type, default and meaning. docs/job.md explains how they fit together.\n\n";
  for (const auto& [section, p] : schema["properties"].items()) {
    out += fmt::format("## `{}`\n\n{}\n\n| key | type | default | meaning |\n|---|---|---|---|\n", section, p.value("description", ""));
    reference_rows(p, section + (p.value("type", "") == "array" ? "[]." : "."), out);
    out += "\n";
  }
  return out;
}

}  // namespace tp
