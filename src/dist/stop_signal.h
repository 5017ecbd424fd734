// Graceful stop on SIGUSR1 (Slurm's warning before the time limit), SIGTERM (scancel, scontrol requeue,
// preemption) and SIGINT (Ctrl-C): the sweep stops handing out units, lets running ones finish, flushes
// journal and shards, writes the archive of what is done and exits with kExitStopped, so that a rerun (or
// the requeued job) resumes. A second SIGINT ends the process at once. Every rank installs the handlers;
// only rank 0 (or a single process) acts on them, workers finish their unit and are told to stop.
#pragma once

namespace tp {

inline constexpr int kExitStopped = 75;  // EX_TEMPFAIL: stopped early, resumable (the sbatch template requeues)

void stop_signal_install();
bool stop_requested();
int stop_signal_number();  // the signal that asked, 0 if none

}  // namespace tp
