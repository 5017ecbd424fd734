// `thinkprobe plan JOB.yaml [section.key=value ...]`: the expanded work of a job, without running it:
// units and samples per model x intervention x prompt set, and the tokens it will process. --units lists
// every unit with its id; --json prints the same as JSON.
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "config/job_spec.h"
#include "prompts/prompt_set.h"
#include "prompts/work_unit.h"
#include "util/text.h"

namespace tp {

namespace {

std::string human(double x) {
  if (x >= 1e9) return fmt::format("{:.1f}G", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.1f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

}  // namespace

CommandRun add_plan(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "print the work a job expands to, and the tokens it will generate");
  struct Opts {
    std::string job;
    std::vector<std::string> overrides;
    bool units = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("job", o->job, "job YAML file")->required();
  cmd->add_option("overrides", o->overrides, "section.key=value overrides, applied over the YAML");
  cmd->add_flag("--units", o->units, "list every work unit");
  cmd->add_flag("--json", o->json, "print the plan as JSON");
  return [o]() {
    LoadedJob job = job_load_or_throw(o->job, o->overrides);
    const JobSpec& s = job.spec;
    std::vector<Diagnostic> errors;  // already checked by job_load
    std::vector<PromptSet> sets = prompt_sets_load(s, errors);
    std::vector<WorkUnit> units = plan_units(s, sets);

    // Prompt tokens are estimated at 4 bytes per token until the model's tokenizer is consulted;
    // generated tokens are the upper bound that the budgets allow.
    struct Row { int64_t units = 0, prompts = 0, samples = 0; double prompt_tokens = 0, max_gen_tokens = 0; };
    std::map<std::tuple<int, int, int>, Row> rows;
    for (const auto& u : units) {
      Row& r = rows[{u.model, u.intervention, u.prompt_set}];
      const SamplingSpec& sp = s.models[u.model].sampling;
      r.units++;
      if (u.kind != UnitKind::SAMPLES) continue;  // protocol units: their answers depend on the rollouts (docs/protocols.md)
      if (u.sample_begin == 0) r.prompts += static_cast<int64_t>(u.prompts.size());
      r.samples += u.n_samples();
      for (int32_t p : u.prompts) r.prompt_tokens += (sets[u.prompt_set].prompts[p].text.size() / 4.0 + 16) * (u.sample_end - u.sample_begin);
      r.max_gen_tokens += static_cast<double>(u.n_samples()) * (sp.max_think_tokens + sp.max_answer_tokens);
    }
    Row total;
    for (const auto& [k, r] : rows) {
      total.units += r.units; total.prompts += r.prompts; total.samples += r.samples;
      total.prompt_tokens += r.prompt_tokens; total.max_gen_tokens += r.max_gen_tokens;
    }
    std::string fingerprint = plan_fingerprint(s, sets, units);

    if (o->json) {
      nlohmann::json j = {{"job", s.job.name}, {"fingerprint", fingerprint}, {"cells", nlohmann::json::array()},
                          {"total", {{"units", total.units}, {"samples", total.samples}, {"prompt_tokens_est", total.prompt_tokens},
                                     {"max_generated_tokens", total.max_gen_tokens}}}};
      for (const auto& [k, r] : rows)
        j["cells"].push_back({{"model", s.models[std::get<0>(k)].id}, {"intervention", s.interventions[std::get<1>(k)].id},
                              {"prompt_set", s.prompt_sets[std::get<2>(k)].id}, {"units", r.units}, {"prompts", r.prompts},
                              {"samples", r.samples}, {"prompt_tokens_est", r.prompt_tokens}, {"max_generated_tokens", r.max_gen_tokens}});
      if (o->units) {
        j["units"] = nlohmann::json::array();
        for (const auto& u : units) j["units"].push_back({{"id", u.id}, {"samples", u.n_samples()}});
      }
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("job %s (seed %lld) -> %s\n", s.job.name.c_str(), static_cast<long long>(s.job.seed), s.job.output_dir.c_str());
    for (size_t i = 0; i < sets.size(); i++) {
      int64_t harmful = 0;
      for (const auto& p : sets[i].prompts) harmful += p.label == Label::HARMFUL;
      std::printf("prompt set %-16s %5zu prompts (%lld harmful, %lld benign) of %zu in %s%s\n", sets[i].id.c_str(), sets[i].prompts.size(),
                  static_cast<long long>(harmful), static_cast<long long>(sets[i].prompts.size() - harmful), sets[i].n_in_file,
                  sets[i].path.c_str(),
                  sets[i].n_duplicates_dropped ? fmt::format(", {} duplicates dropped", sets[i].n_duplicates_dropped).c_str() : "");
    }
    std::printf("\n%-20s %-16s %-16s %7s %8s %9s %12s %14s\n", "model", "intervention", "prompt set", "units", "prompts", "samples",
                "prompt tok~", "generated tok<=");
    for (const auto& [k, r] : rows)
      std::printf("%-20s %-16s %-16s %7lld %8lld %9lld %12s %14s\n", s.models[std::get<0>(k)].id.c_str(),
                  s.interventions[std::get<1>(k)].id.c_str(), s.prompt_sets[std::get<2>(k)].id.c_str(), static_cast<long long>(r.units),
                  static_cast<long long>(r.prompts), static_cast<long long>(r.samples), human(r.prompt_tokens).c_str(),
                  human(r.max_gen_tokens).c_str());
    std::printf("%-20s %-16s %-16s %7lld %8s %9lld %12s %14s\n", "total", "", "", static_cast<long long>(total.units), "",
                static_cast<long long>(total.samples), human(total.prompt_tokens).c_str(), human(total.max_gen_tokens).c_str());
    std::printf("\nplan fingerprint %s\n", fingerprint.c_str());
    if (o->units)
      for (const auto& u : units)
        std::printf("unit %016llx %s (%s)\n", static_cast<unsigned long long>(u.key), u.id.c_str(),
                    u.kind == UnitKind::SAMPLES ? fmt::format("{} samples", u.n_samples()).c_str() : unit_kind_name(u.kind));
    return 0;
  };
}

}  // namespace tp
