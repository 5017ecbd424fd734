// `thinkprobe status OUTDIR`: where a (Slurm) run stands. Combines the run journal (units done, failed,
// attempts) with what Slurm says of the jobs `thinkprobe submit` recorded in OUTDIR/slurm/jobs.tsv:
// squeue while a job is queued or running, scontrol while its record lasts, sacct when accounting exists
// (status never depends on sacct alone: many clusters, and test clusters, run without it).
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "dist/journal.h"
#include "util/check.h"
#include "util/process.h"
#include "util/text.h"

namespace tp {

namespace {

// State, elapsed time, restarts and reason of one Slurm job, from whichever source still knows it.
std::string slurm_job_state(const std::string& id) {
  ProcessResult q = process_run({"squeue", "-h", "-j", id, "-o", "%T %M %r"});
  if (q.status == 0 && !trim(q.out).empty()) return std::string(trim(q.out));
  ProcessResult c = process_run({"scontrol", "show", "job", id});
  if (c.status == 0) {
    std::string state, restarts, exit_code;
    std::istringstream words(c.out);
    for (std::string w; words >> w;) {
      if (w.rfind("JobState=", 0) == 0) state = w.substr(9);
      if (w.rfind("Restarts=", 0) == 0) restarts = w.substr(9);
      if (w.rfind("ExitCode=", 0) == 0) exit_code = w.substr(9);
    }
    if (!state.empty()) return fmt::format("{} exit {} restarts {}", state, exit_code, restarts);
  }
  ProcessResult a = process_run({"sacct", "-n", "-X", "-j", id, "-o", "State,ExitCode,Elapsed"});
  if (a.status == 0 && !trim(a.out).empty()) return std::string(trim(a.out));
  if (q.status == 127 && c.status == 127) return "unknown (no Slurm commands on PATH)";
  return "unknown to Slurm now (finished long ago, and no accounting)";
}

}  // namespace

CommandRun add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "where a run stands: units done and failed (journal) and its Slurm jobs");
  auto outdir = std::make_shared<std::string>();
  cmd->add_option("outdir", *outdir, "the job's output folder")->required();
  return [outdir]() {
    JournalState js = journal_read(*outdir + "/journal.jsonl");
    if (!js.exists) std::printf("%s: no run journal yet (the run has not started)\n", outdir->c_str());
    else {
      int64_t total = js.attempts.empty() ? 0 : js.attempts.back().value("units", 0);
      std::printf("run %s of job %s: %zu/%lld units done, %zu failed in the last attempt, %zu attempts\n", js.run_id.c_str(),
                  js.job_name.c_str(), js.done.size(), static_cast<long long>(total), js.failed.size(), js.attempts.size());
      for (const auto& a : js.attempts)
        std::printf("  attempt %d: started %s on %d ranks%s\n", a.value("attempt", 0), a.value("start", "?").c_str(), a.value("ranks", 0),
                    a.contains("end") ? fmt::format(", ended {}", a["end"].get<std::string>()).c_str() : ", not finished");
      for (const auto& f : js.failed) std::printf("  failed: %s after %d tries: %s\n", f.unit.c_str(), f.tries, f.error.c_str());
    }
    std::ifstream jobs(*outdir + "/slurm/jobs.tsv");
    for (std::string line; std::getline(jobs, line);) {
      std::string id = line.substr(0, line.find('\t'));
      std::printf("slurm job %s: %s\n", id.c_str(), slurm_job_state(id).c_str());
    }
    return 0;
  };
}

}  // namespace tp
