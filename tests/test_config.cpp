// Job YAML loading and validation: each class of config error comes back with its message, the file,
// line:column and key path; all errors at once; defaults, precedence of overrides, relative paths.
#include <catch2/catch.hpp>

#include <filesystem>

#include "config/job_spec.h"
#include "helpers.h"
#include "run_unit.h"
#include "util/text.h"
#include "util/check.h"

using namespace tp;
namespace fs = std::filesystem;

namespace {

// A folder that passes the checkpoint-folder check (the files' contents are not read by validation).
std::string stub_model(const std::string& dir) {
  test::write_text(dir + "/config.json", "{}");
  test::write_text(dir + "/tokenizer.json", "{}");
  test::write_text(dir + "/model.safetensors", "");
  return dir;
}

// A valid job in a fresh folder: model in ./m, prompts in ./p.jsonl.
std::string job_dir(const std::string& name) {
  std::string d = test::temp_dir("config-" + name);
  stub_model(d + "/m");
  test::write_text(d + "/p.jsonl",
                   "{\"id\": \"a\", \"prompt\": \"How do I bake bread?\", \"label\": \"benign\", \"category\": \"food\", \"source\": \"T\"}\n"
                   "{\"id\": \"b\", \"prompt\": \"Describe a harmful act.\", \"label\": \"harmful\", \"category\": \"x\", \"source\": \"T\"}\n");
  return d;
}

const char* kValid =
    "job:\n"
    "  name: t\n"
    "  seed: 7\n"
    "models:\n"
    "  - id: m1\n"
    "    path: m\n"
    "prompt_sets:\n"
    "  - id: p\n"
    "    path: p.jsonl\n";

std::vector<Diagnostic> load_errors(const std::string& dir, const std::string& yaml, std::vector<std::string> overrides = {}) {
  test::write_text(dir + "/job.yaml", yaml);
  std::vector<Diagnostic> errors;
  job_load(dir + "/job.yaml", overrides, errors);
  return errors;
}

}  // namespace

TEST_CASE("a valid job loads with defaults and paths resolved against the job file", "[config]") {
  std::string d = job_dir("valid");
  test::write_text(d + "/job.yaml", kValid);
  LoadedJob job = job_load_or_throw(d + "/job.yaml");
  const JobSpec& s = job.spec;
  CHECK(s.job.name == "t");
  CHECK(s.job.seed == 7);
  REQUIRE(s.models.size() == 1);
  CHECK(s.models[0].path == fs::path(d + "/m").lexically_normal().string());
  CHECK(s.models[0].dtype == "auto");
  CHECK(s.sampling.temperature == Approx(0.6));
  CHECK(s.capture.positions == std::vector<std::string>{"think_first"});
  // no interventions given: one baseline of type none is added
  REQUIRE(s.interventions.size() == 1);
  CHECK(s.interventions[0].id == "baseline");
  CHECK(s.interventions[0].type == "none");
  CHECK(s.job.output_dir == fs::path(d + "/out/t").lexically_normal().string());
  CHECK(job.yaml_text == kValid);
}

TEST_CASE("a model's sampling starts from the job's and overrides only the keys it gives", "[config]") {
  std::string d = job_dir("sampling");
  test::write_text(d + "/job.yaml", std::string(kValid) +
                                        "  - id: p2\n    path: p.jsonl\n"
                                        "sampling: {temperature: 0.9, top_k: 5}\n");
  test::write_text(d + "/job.yaml", std::string("job: {name: t}\n"
                                                "sampling: {temperature: 0.9, top_k: 5, samples_per_prompt: 3}\n"
                                                "models:\n"
                                                "  - {id: a, path: m}\n"
                                                "  - {id: b, path: m, sampling: {temperature: 0.0}}\n"
                                                "prompt_sets: [{id: p, path: p.jsonl}]\n"));
  LoadedJob job = job_load_or_throw(d + "/job.yaml");
  CHECK(job.spec.models[0].sampling.temperature == Approx(0.9));
  CHECK(job.spec.models[1].sampling.temperature == 0.0);
  CHECK(job.spec.models[1].sampling.top_k == 5);
  CHECK(job.spec.models[1].sampling.samples_per_prompt == 3);
}

TEST_CASE("YAML syntax errors name file, line and column", "[config]") {
  std::string d = job_dir("syntax");
  auto errors = load_errors(d, "job:\n  name: t\nmodels: [\n  - id: x\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == d + "/job.yaml");
  CHECK(errors[0].pos.line >= 3);
  CHECK_THAT(errors[0].message, Catch::Contains("YAML syntax error"));
}

TEST_CASE("unknown keys are errors with a did-you-mean and their position", "[config]") {
  std::string d = job_dir("unknown");
  auto errors = load_errors(d, std::string(kValid) + "sampling:\n  tempreature: 0.5\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].pos.line == 11);
  CHECK(errors[0].pos.column == 3);
  CHECK(errors[0].path == "sampling.tempreature");
  CHECK(errors[0].message == "unknown key 'tempreature'; did you mean 'temperature'?");
  CHECK(errors[0].str() == d + "/job.yaml:11:3: sampling.tempreature: unknown key 'tempreature'; did you mean 'temperature'?");

  // far from every known key: the known keys are listed instead
  errors = load_errors(d, std::string(kValid) + "zzzzzz: 1\n");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].message, Catch::StartsWith("unknown key 'zzzzzz' (known keys: job, sampling, models"));
}

TEST_CASE("types, ranges and choices are checked", "[config]") {
  std::string d = job_dir("types");
  auto errors = load_errors(d, std::string(kValid) +
                                   "sampling:\n"
                                   "  temperature: hot\n"      // line 11
                                   "  top_p: 1.5\n"            // line 12
                                   "  samples_per_prompt: 2.5\n"
                                   "capture:\n"
                                   "  dtype: float8\n"         // line 15
                                   "  final_norm: maybe\n"
                                   "  layers: [0, '3:x']\n");
  REQUIRE(errors.size() == 6);
  CHECK(errors[0].str() == d + "/job.yaml:11:16: sampling.temperature: expected a number, got 'hot'");
  CHECK(errors[1].str() == d + "/job.yaml:12:10: sampling.top_p: must be between 0 and 1 (got 1.5)");
  CHECK(errors[2].message == "expected an integer, got '2.5'");
  CHECK(errors[3].message == "'float8' is not one of: float16, bfloat16, float32; did you mean 'float16'?");
  CHECK(errors[4].message == "expected true or false, got 'maybe'");
  CHECK(errors[5].path == "capture.layers[1]");
  CHECK_THAT(errors[5].message, Catch::StartsWith("'3:x' is not valid here: residual-stream layers to keep"));
}

TEST_CASE("a mapping where a value is expected, and a value where a list is expected", "[config]") {
  std::string d = job_dir("shapes");
  auto errors = load_errors(d, "job: {name: t}\nmodels: {id: a}\nprompt_sets:\n  - id: p\n    path: [p.jsonl]\n");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].str() == d + "/job.yaml:2:9: models: expected a list");
  CHECK(errors[1].str() == d + "/job.yaml:5:11: prompt_sets[0].path: expected a string, got a list");
}

TEST_CASE("missing required keys, missing files and folders, duplicate ids: all reported at once", "[config]") {
  std::string d = job_dir("missing");
  auto errors = load_errors(d,
                            "job: {seed: 1}\n"
                            "models:\n"
                            "  - {id: a, path: nowhere}\n"
                            "  - {id: a, path: m}\n"
                            "  - {path: m}\n"
                            "prompt_sets:\n"
                            "  - {id: p, path: missing.jsonl}\n");
  std::vector<std::string> msgs;
  for (auto& e : errors) msgs.push_back(e.str());
  REQUIRE(errors.size() == 5);
  CHECK(msgs[0] == d + "/job.yaml:1:6: job: missing required key 'name' (name of the job)");
  CHECK(msgs[1] == d + "/job.yaml:3:19: models[0].path: no such folder: " + d + "/nowhere");
  CHECK(msgs[2] == d + "/job.yaml:4:10: models[1].id: duplicate id 'a'");
  CHECK(msgs[3] == d + "/job.yaml:5:5: models[2]: missing required key 'id' (name of the model in plans, logs and the archive)");
  CHECK(msgs[4] == d + "/job.yaml:7:19: prompt_sets[0].path: no such file: " + d + "/missing.jsonl");
}

TEST_CASE("a folder that is not a checkpoint is named with what it lacks", "[config]") {
  std::string d = job_dir("notckpt");
  fs::create_directories(d + "/empty");
  auto errors = load_errors(d, std::string(kValid), {"models[0].path=empty"});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == "command line");
  CHECK(errors[0].message == d + "/empty is not a Hugging Face checkpoint folder: it has no config.json, tokenizer.json, *.safetensors");
}

TEST_CASE("ids must be usable as names; intervention params are checked by type", "[config]") {
  std::string d = job_dir("ids");
  auto errors = load_errors(d, "job: {name: 'my job'}\nmodels: [{id: m1, path: m}]\nprompt_sets: [{id: p, path: p.jsonl}]\n"
                               "interventions:\n  - {id: base, type: none, params: {alpha: 1}}\n  - {id: steer, type: steerng}\n"
                               "  - {id: sys, type: system_prompt}\n  - {id: b, type: think_budget, params: {tokens: -3}}\n");
  REQUIRE(errors.size() == 5);
  CHECK(errors[0].message == "'my job' may only use letters, digits, '_', '-' and '.'");
  CHECK(errors[1].str() == d + "/job.yaml:5:36: interventions[0].params: params.alpha: type none takes no parameter 'alpha' (it takes none)");
  CHECK(errors[2].path == "interventions[1].type");
  CHECK_THAT(errors[2].message, Catch::StartsWith("'steerng' is not one of: none, system_prompt"));
  CHECK(errors[3].message == "params.text: required by type system_prompt");
  CHECK(errors[4].message == "params.tokens: expected an integer >= 0, got -3");
}

TEST_CASE("command-line overrides win over the YAML, which wins over defaults", "[config]") {
  std::string d = job_dir("overrides");
  test::write_text(d + "/job.yaml", std::string(kValid) + "sampling: {temperature: 0.3, top_k: 9}\n");
  LoadedJob job = job_load_or_throw(d + "/job.yaml", {"sampling.temperature=0", "capture.layers=[0, -1]", "run.batch_size=4"});
  CHECK(job.spec.sampling.temperature == 0.0);
  CHECK(job.spec.models[0].sampling.temperature == 0.0);  // models inherit the overridden value
  CHECK(job.spec.sampling.top_k == 9);                      // YAML over default
  CHECK(job.spec.sampling.top_p == Approx(0.95));           // default
  CHECK(job.spec.capture.layers == std::vector<std::string>{"0", "-1"});
  CHECK(job.spec.run.batch_size == 4);

  std::vector<Diagnostic> errors;
  job_load(d + "/job.yaml", {"sampling.temperature=-1", "nonsense"}, errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].str() == "command line: override 'nonsense' must look like section.key=value");
  CHECK(errors[1].str() == "command line: sampling.temperature: must be between 0 and 100 (got -1)");
}

TEST_CASE("job_load_or_throw lists every problem in one error with a hint", "[config]") {
  std::string d = job_dir("throw");
  test::write_text(d + "/job.yaml", std::string(kValid) + "run: {batch_size: 0, max_retries: -1}\n");
  try {
    job_load_or_throw(d + "/job.yaml");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith(d + "/job.yaml has 2 problems:"));
    CHECK_THAT(what, Catch::Contains("run.batch_size: must be between 1 and 65536 (got 0)"));
    CHECK_THAT(what, Catch::Contains("run.max_retries: must be between 0 and 100 (got -1)"));
    CHECK_THAT(e.hint, Catch::Contains("thinkprobe validate"));
  }
}

TEST_CASE("a missing or non-UTF-8 job file is one clear error", "[config]") {
  std::string d = job_dir("unreadable");
  std::vector<Diagnostic> errors;
  job_load(d + "/absent.yaml", {}, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str() == d + "/absent.yaml: no such job file");
  errors = load_errors(d, std::string("job: {name: t}\n# caf\xe9\n"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].str() == d + "/job.yaml:2:6: invalid UTF-8");
}

TEST_CASE("the resolved job round-trips every section", "[config]") {
  std::string d = job_dir("json");
  test::write_text(d + "/job.yaml", kValid);
  nlohmann::json j = job_to_json(job_load_or_throw(d + "/job.yaml").spec);
  for (const char* k : {"job", "sampling", "models", "prompt_sets", "interventions", "capture", "run", "judge", "reduce", "slurm"})
    CHECK(j.contains(k));
  CHECK(j["models"][0]["sampling"]["top_k"] == 20);
  CHECK(j["prompt_sets"][0]["filter"]["label"] == "any");
}

TEST_CASE("intervention params: types, required keys, steering files resolved against the job", "[config]") {
  std::string d = job_dir("interventions");
  test::write_text(d + "/v.safetensors", "x");
  LoadedJob job = [&] {
    test::write_text(d + "/job.yaml", std::string(kValid) +
                                          "interventions:\n"
                                          "  - {id: sys, type: system_prompt, params: {text: Be safe.}}\n"
                                          "  - {id: st, type: steering, params: {file: v.safetensors, alpha: -4, layers: '2:5'}}\n");
    return job_load_or_throw(d + "/job.yaml");
  }();
  CHECK(job.spec.interventions[1].params["file"] == fs::path(d + "/v.safetensors").lexically_normal().string());
  auto errors = load_errors(d, std::string(kValid) + "interventions:\n"
                                                     "  - {id: st, type: steering, params: {file: nope.safetensors, alpha: x, layers: 'a:b'}}\n");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].message == "params.alpha: expected a number, got \"x\"");
  CHECK(errors[1].message == "params.layers: expected a layer index or a range a:b (end exclusive), got \"a:b\"");
  CHECK(errors[2].message == "params.file: no such file: " + d + "/nope.safetensors");
}

TEST_CASE("judges: default rule judge, a list with a guard model, and what is wrong with a list", "[config][judge]") {
  std::string d = job_dir("judges");
  test::write_text(d + "/job.yaml", kValid);
  LoadedJob plain = job_load_or_throw(d + "/job.yaml");
  REQUIRE(plain.spec.judge.judges.size() == 1);
  CHECK(plain.spec.judge.judges[0].id == "rule");
  CHECK(plain.spec.judge.judges[0].kind == "rule");
  CHECK(job_judges(plain.spec) == std::vector<std::string>{"rule"});

  test::write_text(d + "/job.yaml", std::string(kValid) +
                                        "judge:\n"
                                        "  judges:\n"
                                        "    - {id: rule, kind: rule, refusal_patterns: ['^no\\b']}\n"
                                        "    - {id: qg, kind: qwen3guard_gen, path: m, max_new_tokens: 64}\n");
  LoadedJob two = job_load_or_throw(d + "/job.yaml");
  REQUIRE(two.spec.judge.judges.size() == 2);
  CHECK(two.spec.judge.judges[1].path == fs::path(d + "/m").lexically_normal().string());
  CHECK(two.spec.judge.judges[1].max_new_tokens == 64);
  CHECK(job_judges(two.spec) == std::vector<std::string>{"rule", "qg"});

  auto errors = load_errors(d, std::string(kValid) +
                                   "judge:\n"
                                   "  judges:\n"
                                   "    - {id: a, kind: qwen3guard_gen}\n"
                                   "    - {id: a, kind: wildguard, path: m}\n"
                                   "    - {id: c, kind: llamaguard}\n");
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.path + ": " + e.message);
  INFO(join(got, "\n"));
  REQUIRE(errors.size() == 4);
  CHECK(got[0] == "judge.judges[0].path: a qwen3guard_gen judge needs the checkpoint folder of its guard model");
  CHECK(got[1] == "judge.judges[1].id: duplicate id 'a'");
  CHECK(got[2].rfind("judge.judges[1].kind: wildguard cannot run in thinkprobe's engine yet (Mistral-7B", 0) == 0);
  CHECK(got[2].find("runnable judge kinds: rule, qwen3guard_gen") != std::string::npos);
  CHECK(got[3] == "judge.judges[2].kind: 'llamaguard' is not one of: rule, qwen3guard_gen, wildguard, granite_guardian, gpt_oss_safeguard");
  CHECK(load_errors(d, std::string(kValid) + "judge: {judges: []}\n").size() == 1);
}
