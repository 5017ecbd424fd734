// Who runs what: the MPI-free bookkeeping of a sweep (STYLE.md rule 9). Each unit is PENDING, IN_FLIGHT,
// DONE or FAILED. Workers pull; a worker gets the next pending unit (plan order) of the model it holds
// while any remain (model affinity), else switches to the model with the most pending work per worker
// already on it, and each switch is counted. A unit that throws goes back to the queue for another
// worker, up to max_retries times, then is FAILED with its error. Units journaled as done in an earlier
// attempt start DONE (resume). Driven by coordinator.cpp and by Catch2 tests with fake ranks; knows
// nothing about MPI, files or models.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace tp {

enum class UnitState : int8_t { PENDING, IN_FLIGHT, DONE, FAILED };

struct Schedule {
  std::vector<int32_t> unit_model;      // [units] model index of each unit
  std::vector<UnitState> state;         // [units]
  std::vector<int32_t> tries;           // [units] failed attempts so far
  std::vector<std::vector<int32_t>> failed_on;  // [units] ranks where the unit failed
  std::vector<std::string> error;       // [units] last error
  std::vector<int32_t> runner;          // [units] rank running it (IN_FLIGHT) or that ran it (DONE)
  std::vector<std::deque<int32_t>> pending;  // [models] pending units in plan order (retries at the front)
  std::vector<int32_t> worker_model;    // [ranks] model each worker holds (-1: none)
  std::vector<int32_t> worker_switches; // [ranks] model loads per worker
  int32_t n_workers = 0;
  int64_t max_retries = 0;
  int64_t n_pending = 0, n_in_flight = 0, n_done = 0, n_failed = 0, n_resumed = 0;
  int64_t n_switches = 0;               // model loads after a worker's first
};

// workers: the ranks that run units (1..size-1 under MPI, {0} in a single process).
Schedule schedule_make(const std::vector<int32_t>& unit_model, const std::vector<int32_t>& workers, int64_t max_retries);
// Before the first assignment: a unit the journal records as done.
void schedule_mark_resumed(Schedule& s, int32_t unit);
// The next unit for rank, or -1 if there is nothing it may run now (everything left is in flight, or
// is a retry that already failed on this rank while other workers remain).
int32_t schedule_next(Schedule& s, int32_t rank);
void schedule_done(Schedule& s, int32_t rank, int32_t unit);
// Returns true if the unit is now FAILED for good, false if it was queued for a retry.
bool schedule_failed(Schedule& s, int32_t rank, int32_t unit, const std::string& error);
// Nothing pending and nothing in flight: the sweep is over.
bool schedule_finished(const Schedule& s);

}  // namespace tp
