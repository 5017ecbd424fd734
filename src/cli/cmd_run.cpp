// `thinkprobe run JOB.yaml [section.key=value ...]`: the sweep, under mpirun/srun (rank 0 coordinates,
// ranks 1..N-1 run units) or as a single process. Resumes by default over an existing output folder.
// The only command that initialises MPI. Rank 0 checks the job and the output folder first and tells
// the other ranks whether to go on, so a bad job prints one message, not one per rank.
// --dry-engine runs the dry engine (dry_engine.h) instead of models.
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "dist/comm.h"
#include "dist/sweep.h"
#include "dry_engine.h"
#include "engine_runner.h"
#include "util/check.h"
#include "util/log.h"

namespace tp {

CommandRun add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "run a job's sweep (under mpirun/srun: rank 0 coordinates, the other ranks run units); "
                                        "reruns resume. Exit status: 0 every unit done, 3 stopped early by SIGUSR1/SIGTERM (units left; requeue), "
                                        "4 some units failed (listed; a rerun retries them), 2 an error");
  struct Opts {
    std::string job;
    std::vector<std::string> overrides;
    bool dry = false, force = false;
    std::string model;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("job", o->job, "job YAML file")->required();
  cmd->add_option("overrides", o->overrides, "section.key=value overrides, applied over the YAML");
  cmd->add_flag("--dry-engine", o->dry,
                "no model is loaded: each sample is a deterministic placeholder derived from its seed, with fake activations of a "
                "small fixed width; for checking a cluster setup, the scheduler, the archive and resume");
  cmd->add_option("--model", o->model, "run only this model's units, as a job of its own, into OUTDIR/<model id> "
                                       "(what `thinkprobe submit --array` runs in each array task)");
  cmd->add_flag("--force", o->force, "if the output folder holds a run of another job, move it to OUTDIR/superseded/<run id> and start a new run");
  return [o]() {
    Comm comm = comm_init(nullptr, nullptr);
    log_init(comm.rank, comm.size);
    sweep_catch_stop_signal();
    std::optional<LoadedJob> job;
    std::vector<PromptSet> sets;
    std::vector<WorkUnit> units;
    std::string fingerprint;
    auto load = [&]() {
      job = job_load_or_throw(o->job, o->overrides);
      if (!o->model.empty()) job_select_model(*job, o->model);
      std::vector<Diagnostic> errors;  // already checked by job_load
      sets = prompt_sets_load(job->spec, errors);
      units = plan_units(job->spec, sets);
      fingerprint = plan_fingerprint(job->spec, sets, units);
    };

    struct Go {
      int32_t status, attempt;
      char run_id[96];
    } go{};
    Prepared prep;
    if (comm.rank == 0) {
      try {
        load();
        prep = sweep_prepare(job->spec.job.output_dir, job->spec, units, fingerprint, o->force);
        go.attempt = prep.attempt;
        prep.run_id.copy(go.run_id, sizeof go.run_id - 1);
      } catch (const Error& e) {
        if (comm.size == 1) throw;
        std::fprintf(stderr, "thinkprobe: %s\n", e.what());
        if (!e.hint.empty()) std::fprintf(stderr, "HINT: %s\n", e.hint.c_str());
        go.status = 2;
      }
    }
    if (comm.size > 1) comm_bcast(&go, sizeof go);
    if (go.status != 0) return static_cast<int>(go.status);
    if (comm.rank > 0) load();
    std::vector<std::string> hosts = comm_all_hosts();

    Sweep sw;
    sw.job = &*job;
    sw.sets = &sets;
    sw.units = &units;
    sw.outdir = job->spec.job.output_dir;
    sw.run_id = go.run_id;
    sw.fingerprint = fingerprint;
    sw.attempt = go.attempt;
    // Rank 0 of a multi-rank run loads no model. A worker's device is its GPU slot on the node; the node's
    // cores are shared among its ranks unless run.threads says otherwise.
    std::optional<UnitRunner> runner;
    if (comm.rank > 0 || comm.size == 1) {
      int threads = job->spec.run.threads > 0 ? static_cast<int>(job->spec.run.threads)
                                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, comm.local_size));
      runner = o->dry ? dry_runner(job->spec, sets, comm.rank) : engine_runner(job->spec, sets, comm.gpu_slot, threads);
    }
    return sweep_run(sw, comm, comm.rank == 0 ? &prep : nullptr, runner ? &*runner : nullptr, hosts);
  };
}

}  // namespace tp
