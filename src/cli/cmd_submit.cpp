// `thinkprobe submit JOB.yaml [section.key=value ...] [--dry-run]`: validates the job, renders its sbatch
// script from the template (slurm/thinkprobe.sbatch, or slurm.template_file) into OUTDIR/slurm/, shows it,
// submits it with sbatch and records the job id in OUTDIR/slurm/jobs.tsv (read by `thinkprobe status`).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "config/job_spec.h"
#include "slurm/sbatch.h"
#include "util/check.h"
#include "util/process.h"
#include "util/text.h"

namespace fs = std::filesystem;

namespace tp {

namespace {

// The template that ships with this thinkprobe: beside the build tree or the installation.
std::string default_template(const std::string& exe) {
  fs::path dir = fs::path(exe).parent_path();
  for (fs::path p : {dir / ".." / "slurm" / "thinkprobe.sbatch", dir / ".." / "share" / "thinkprobe" / "slurm" / "thinkprobe.sbatch"})
    if (fs::is_regular_file(p)) return fs::canonical(p).string();
  throw Error(fmt::format("no sbatch template found beside {} (looked for ../slurm/thinkprobe.sbatch)", exe),
              "set slurm.template_file in the job to the template to use");
}

std::string utc_stamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&t));
  return buf;
}

}  // namespace

CommandRun add_submit(CLI::App& app) {
  auto* cmd = app.add_subcommand("submit", "render the job's sbatch script and submit it to Slurm");
  struct Opts {
    std::string job;
    std::vector<std::string> overrides;
    bool dry_run = false, dry_engine = false, array = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("job", o->job, "job YAML file")->required();
  cmd->add_option("overrides", o->overrides, "section.key=value overrides, applied over the YAML and passed on to the run");
  cmd->add_flag("--dry-run", o->dry_run, "render and show the script, do not submit");
  cmd->add_flag("--array", o->array, "one independent job per model (a Slurm array; each writes OUTDIR/<model id>)");
  cmd->add_flag("--dry-engine", o->dry_engine, "the job runs `thinkprobe run --dry-engine` (no models: checks the cluster setup)");
  return [o]() {
    LoadedJob job = job_load_or_throw(o->job, o->overrides);
    std::string exe = self_exe_path();
    std::string tmpl_path = job.spec.slurm.template_file.empty() ? default_template(exe) : job.spec.slurm.template_file;
    std::string script = sbatch_render(read_file(tmpl_path), tmpl_path, sbatch_values(job, exe, o->overrides, o->dry_engine, o->array));

    fs::path dir = fs::path(job.spec.job.output_dir) / "slurm";
    fs::create_directories(dir);
    fs::path script_path = dir / fmt::format("{}-{}.sbatch", job.spec.job.name, utc_stamp());
    write_file_atomic(script_path.string(), script);
    std::printf("%s", script.c_str());
    std::printf("# written to %s\n", script_path.c_str());
    if (o->dry_run) return 0;

    ProcessResult r = process_run({"sbatch", "--parsable", script_path.string()});
    if (r.status != 0)
      throw Error(fmt::format("sbatch {} failed (exit {}): {}", script_path.string(), r.status, std::string(trim(r.err + r.out))),
                  r.status == 127 ? "sbatch is not on PATH: run submit on a Slurm login node" : "");
    std::string id(trim(r.out.substr(0, r.out.find(';'))));
    std::ofstream(dir / "jobs.tsv", std::ios::app) << id << "\t" << utc_stamp() << "\t" << script_path.string() << "\n";
    std::printf("submitted batch job %s\n", id.c_str());
    return 0;
  };
}

}  // namespace tp
