// `thinkprobe validate JOB.yaml [section.key=value ...]`: checks a job without running anything and lists
// every problem with file:line:column and key path. --resolved prints the job with defaults filled in;
// --schema prints the JSON Schema of job files (schemas/job.schema.json is that output), --reference the
// key reference (docs/job-reference.md).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "config/job_spec.h"

namespace tp {

CommandRun add_validate(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "check a job file and list every problem in it");
  struct Opts {
    std::string job;
    std::vector<std::string> overrides;
    bool resolved = false, schema = false, reference = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("job", o->job, "job YAML file");
  cmd->add_option("overrides", o->overrides, "section.key=value overrides, applied over the YAML");
  cmd->add_flag("--resolved", o->resolved, "print the resolved job (defaults filled in, paths absolute) as JSON");
  cmd->add_flag("--schema", o->schema, "print the JSON Schema of job files and exit");
  cmd->add_flag("--reference", o->reference, "print the reference of every job key (markdown) and exit");
  return [o]() {
    if (o->schema) {
      std::printf("%s\n", job_json_schema().dump(2).c_str());
      return 0;
    }
    if (o->reference) {
      std::printf("%s", job_reference_markdown().c_str());
      return 0;
    }
    if (o->job.empty()) {
      std::fprintf(stderr, "thinkprobe validate: a job file is required\n");
      return 2;
    }
    std::vector<Diagnostic> errors;
    LoadedJob job = job_load(o->job, o->overrides, errors);
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (!errors.empty()) {
      std::fprintf(stderr, "%s: %zu problem%s\n", o->job.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
      return 1;
    }
    if (o->resolved) std::printf("%s\n", job_to_json(job.spec).dump(2).c_str());
    else std::printf("%s: ok\n", o->job.c_str());
    return 0;
  };
}

}  // namespace tp
