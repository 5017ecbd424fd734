// The CLI as a user runs it: exit codes, every problem listed at once, the plan table and JSON, --version
// and --help of each subcommand.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace tp;

namespace {

std::string setup(const std::string& name, const std::string& extra) {
  std::string d = test::temp_dir("cli-" + name);
  for (const char* f : {"config.json", "tokenizer.json", "model.safetensors"}) test::write_text(d + "/m/" + f, "{}");
  test::write_text(d + "/job.yaml", "job: {name: cli, seed: 3}\n"
                                    "models: [{id: m, path: m}]\n"
                                    "prompt_sets:\n"
                                    "  - {id: xs, path: " + test::shared_dir() + "/data/prompts/xstest.jsonl, filter: {limit: 10}}\n"
                                    "sampling: {samples_per_prompt: 2, max_think_tokens: 100, max_answer_tokens: 20}\n"
                                    "run: {prompts_per_unit: 4}\n" + extra);
  return d;
}

}  // namespace

TEST_CASE("validate: ok exits 0, problems exit 1 and are all listed", "[cli]") {
  std::string d = setup("validate", "");
  auto r = test::run_cmd(test::cli() + " validate " + d + "/job.yaml");
  CHECK(r.status == 0);
  CHECK(r.output == d + "/job.yaml: ok\n");

  d = setup("validate-bad", "capture: {positions: [think_frist], dtype: f16}\nextra: 1\n");
  r = test::run_cmd(test::cli() + " validate " + d + "/job.yaml");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("job.yaml:7:23: capture.positions[0]: 'think_frist' is not one of"));
  CHECK_THAT(r.output, Catch::Contains("did you mean 'think_first'?"));
  CHECK_THAT(r.output, Catch::Contains("job.yaml:7:44: capture.dtype: 'f16' is not one of: float16, bfloat16, float32"));
  CHECK_THAT(r.output, Catch::Contains("job.yaml:8:1: extra: unknown key 'extra'"));
  CHECK_THAT(r.output, Catch::Contains("job.yaml: 3 problems"));
}

TEST_CASE("plan prints units, samples and tokens per cell", "[cli]") {
  std::string d = setup("plan", "");
  auto r = test::run_cmd(test::cli() + " plan " + d + "/job.yaml");
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("prompt set xs                  10 prompts"));
  // 10 prompts / 4 per unit = 3 units; 20 samples; at most 20 x 120 generated tokens
  CHECK_THAT(r.output, Catch::Matches("(.|\n)*m +baseline +xs +3 +10 +20 .*2.4k(.|\n)*"));

  r = test::run_cmd(test::cli() + " plan --json --units " + d + "/job.yaml run.prompts_per_unit=5");
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["total"]["units"] == 2);
  CHECK(j["total"]["samples"] == 20);
  CHECK(j["total"]["max_generated_tokens"] == 2400.0);
  CHECK(j["units"][0]["id"] == "m/baseline/xs/xstest-0001+5/s0-2");
  CHECK(j["fingerprint"].get<std::string>().size() == 64);

  r = test::run_cmd(test::cli() + " plan " + d + "/job.yaml sampling.top_p=2");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Catch::Contains("command line: sampling.top_p: must be between 0 and 1 (got 2)"));
  CHECK_THAT(r.output, Catch::Contains("HINT: "));
}

TEST_CASE("the version flag and the help of each subcommand", "[cli]") {
  auto r = test::run_cmd(test::cli() + " --version");
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::StartsWith("thinkprobe 0.1.0 ("));
  for (const char* sub : {"validate", "plan"}) {
    r = test::run_cmd(test::cli() + " " + sub + " --help");
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("overrides"));
  }
  r = test::run_cmd(test::cli() + " frobnicate");
  CHECK(r.status != 0);
}

TEST_CASE("generate: text in, thinking and answer out, budgets reported", "[cli]") {
  std::string d = test::temp_dir("cli-generate");
  REQUIRE(test::run_cmd(test::cli() + " make-test-model " + d + "/m").status == 0);
  auto r = test::run_cmd(test::cli() + " generate --model " + d + "/m --prompt 'How do I bake bread?' --prefill 'Okay, let me see.' "
                         "--max-think 4 --max-answer 3 --seed 3");
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::StartsWith("thinking:\nOkay, let me see."));
  CHECK_THAT(r.output, Catch::Contains("\n\nanswer:\n"));
  CHECK_THAT(r.output, Catch::Contains("stop: answer_budget (thinking force-closed at the budget)"));
  // the same seed gives the same text
  CHECK(test::run_cmd(test::cli() + " generate --model " + d + "/m --prompt 'How do I bake bread?' --prefill 'Okay, let me see.' "
                      "--max-think 4 --max-answer 3 --seed 3").output == r.output);
  r = test::run_cmd(test::cli() + " generate --model " + d + "/m");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Catch::Contains("give --prompt TEXT or --prompt-ids"));
}
