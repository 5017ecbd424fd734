// Logging with the MPI rank in every line. Rank and size are the only process-wide state (STYLE.md rule 7);
// dist/ sets them once after MPI_Init. Plain pattern (no colour codes) so redirected logs parse.
// Provides: log_init, log_rank, tp::log (spdlog logger).
#pragma once
#include <spdlog/spdlog.h>

namespace tp {
void log_init(int rank, int size);   // call once; before it, logs say [rank 0]
int log_rank();
int log_size();
}  // namespace tp
