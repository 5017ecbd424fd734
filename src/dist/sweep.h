// The distributed sweep, `thinkprobe run`: what rank 0 does before, during and after the work loop, and
// what the workers do. Rank 0 (sweep.cpp) prepares the run folder (resume from the journal, refusal of
// another job's folder, shard checks), coordinates (coordinator.cpp: dispatch with affinity, journal,
// progress) and writes archive.h5 at the end; ranks 1..N-1 run units (worker.cpp). A single process
// does both in one loop (sweep_local). The runner (run_unit.h) is the only part that touches models.
// Called by cli/cmd_run.cpp and bench/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/job_spec.h"
#include "dist/comm.h"
#include "dist/journal.h"
#include "dist/schedule.h"
#include "prompts/prompt_set.h"
#include "prompts/work_unit.h"
#include "run_unit.h"

namespace tp {

// What every rank knows about the run.
struct Sweep {
  const LoadedJob* job = nullptr;
  const std::vector<PromptSet>* sets = nullptr;
  const std::vector<WorkUnit>* units = nullptr;
  std::string outdir, run_id, fingerprint;
  int32_t attempt = 1;
};

// Rank 0, before any work: the run folder's state. Throws tp::Error (with a HINT) for a folder that holds
// another job's run (unless force: the old run is moved to OUTDIR/superseded/<run id>), a damaged journal,
// or a corrupt or truncated shard. Units whose shard has gone are journaled "lost" and redone.
struct Prepared {
  std::string run_id;
  int32_t attempt = 1;
  JournalState journal;
  std::vector<int32_t> resumed;  // plan indices of units finished in earlier attempts
};
Prepared sweep_prepare(const std::string& outdir, const JobSpec& spec, const std::vector<WorkUnit>& units, const std::string& fingerprint,
                       bool force);

// SIGUSR1 (Slurm's warning before the time limit, forwarded by srun and mpirun to every rank), SIGTERM
// (scancel, preemption, scontrol requeue) or a first SIGINT asks the sweep to stop early: rank 0 hands out no more units, running units finish and are journaled, the
// archive is written, and the exit status is EXIT_STOPPED_EARLY. Other ranks ignore the signal and wait
// for Stop. The flag is the only process-wide state here besides rank and size.
void sweep_catch_stop_signal();
bool sweep_stop_requested();

struct SweepStats {
  int64_t units_total = 0, units_done = 0, units_resumed = 0, units_failed = 0;
  int64_t samples = 0, tokens = 0, model_switches = 0;
  bool stopped_early = false;
  double seconds = 0;
  std::vector<std::string> devices;  // device kinds workers reported
  std::vector<JournalFailed> failures;
};

// Rank 0's loop under MPI: answers workers until every unit is done or failed and every worker is stopped.
SweepStats coordinator_loop(const Sweep& sw, int n_ranks, int64_t units_per_request, Schedule& s, Journal& journal);
// Ranks >= 1: pull units, run them, append to this rank's shard, report.
void worker_loop(const Sweep& sw, int rank, UnitRunner& runner);
// One process: the same bookkeeping without messages.
SweepStats sweep_local(const Sweep& sw, UnitRunner& runner, Schedule& s, Journal& journal);

// The whole run on one rank (dispatches to the above); returns the process exit code:
// 0 every unit done; 3 stopped early by a signal (units left: requeue or rerun); 4 some units failed
// (listed in the summary; a rerun retries them).
inline constexpr int EXIT_STOPPED_EARLY = 3;
inline constexpr int EXIT_UNITS_FAILED = 4;
int sweep_run(const Sweep& sw, const Comm& comm, const Prepared* prep, UnitRunner* runner, const std::vector<std::string>& hosts);

// Progress on rank 0: a live line on a terminal, a log line every THINKPROBE_PROGRESS_SECONDS (30) otherwise.
struct Progress {
  double t_start = 0, t_last = 0;
  bool tty = false;
  double every = 30;
};
Progress progress_start();
void progress_update(Progress& p, const SweepStats& st, bool force);

}  // namespace tp
