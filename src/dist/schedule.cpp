// Scheduling bookkeeping (see schedule.h).
#include "dist/schedule.h"

#include <algorithm>

#include "util/check.h"

namespace tp {

Schedule schedule_make(const std::vector<int32_t>& unit_model, const std::vector<int32_t>& workers, int64_t max_retries) {
  Schedule s;
  size_t n = unit_model.size();
  s.unit_model = unit_model;
  s.state.assign(n, UnitState::PENDING);
  s.tries.assign(n, 0);
  s.failed_on.resize(n);
  s.error.resize(n);
  s.runner.assign(n, -1);
  int32_t n_models = 0;
  for (int32_t m : unit_model) n_models = std::max(n_models, m + 1);
  s.pending.resize(n_models);
  for (size_t u = 0; u < n; u++) s.pending[unit_model[u]].push_back(static_cast<int32_t>(u));
  int32_t max_rank = 0;
  for (int32_t w : workers) max_rank = std::max(max_rank, w);
  s.worker_model.assign(max_rank + 1, -1);
  s.worker_switches.assign(max_rank + 1, 0);
  s.n_workers = static_cast<int32_t>(workers.size());
  s.max_retries = max_retries;
  s.n_pending = static_cast<int64_t>(n);
  return s;
}

void schedule_mark_resumed(Schedule& s, int32_t unit) {
  TP_CHECK(s.state[unit] == UnitState::PENDING);
  auto& q = s.pending[s.unit_model[unit]];
  q.erase(std::find(q.begin(), q.end(), unit));
  s.state[unit] = UnitState::DONE;
  s.n_pending--;
  s.n_done++;
  s.n_resumed++;
}

namespace {

// The first unit of model m's queue that rank may take: a retry is kept away from a rank it failed on
// unless every worker has failed it.
int32_t take_from(Schedule& s, int32_t m, int32_t rank) {
  auto& q = s.pending[m];
  for (auto it = q.begin(); it != q.end(); ++it) {
    const auto& bad = s.failed_on[*it];
    bool avoid = std::find(bad.begin(), bad.end(), rank) != bad.end() && static_cast<int32_t>(bad.size()) < s.n_workers;
    if (avoid) continue;
    int32_t u = *it;
    q.erase(it);
    return u;
  }
  return -1;
}

}  // namespace

int32_t schedule_next(Schedule& s, int32_t rank) {
  TP_CHECK(rank >= 0 && rank < static_cast<int32_t>(s.worker_model.size()));
  int32_t held = s.worker_model[rank];
  int32_t u = held >= 0 ? take_from(s, held, rank) : -1;
  if (u < 0) {
    // Switch to the model with the most pending units per worker already holding it (ties: lower index).
    std::vector<int32_t> holders(s.pending.size(), 0);
    for (int32_t m : s.worker_model)
      if (m >= 0) holders[m]++;
    std::vector<int32_t> order;
    for (int32_t m = 0; m < static_cast<int32_t>(s.pending.size()); m++)
      if (m != held && !s.pending[m].empty()) order.push_back(m);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return s.pending[a].size() * (holders[b] + 1) > s.pending[b].size() * (holders[a] + 1);
    });
    for (int32_t m : order)
      if ((u = take_from(s, m, rank)) >= 0) break;
    if (u < 0) return -1;
    if (held >= 0) s.n_switches++;
    s.worker_switches[rank]++;
    s.worker_model[rank] = s.unit_model[u];
  }
  s.state[u] = UnitState::IN_FLIGHT;
  s.runner[u] = rank;
  s.n_pending--;
  s.n_in_flight++;
  return u;
}

void schedule_done(Schedule& s, int32_t rank, int32_t unit) {
  TP_CHECK_MSG(s.state[unit] == UnitState::IN_FLIGHT && s.runner[unit] == rank, "unit {} reported done by rank {} but not assigned to it", unit,
               rank);
  s.state[unit] = UnitState::DONE;
  s.n_in_flight--;
  s.n_done++;
}

bool schedule_failed(Schedule& s, int32_t rank, int32_t unit, const std::string& error) {
  TP_CHECK_MSG(s.state[unit] == UnitState::IN_FLIGHT && s.runner[unit] == rank, "unit {} reported failed by rank {} but not assigned to it",
               unit, rank);
  s.n_in_flight--;
  s.tries[unit]++;
  s.failed_on[unit].push_back(rank);
  s.error[unit] = error;
  if (s.tries[unit] > s.max_retries) {
    s.state[unit] = UnitState::FAILED;
    s.n_failed++;
    return true;
  }
  s.state[unit] = UnitState::PENDING;
  s.pending[s.unit_model[unit]].push_front(unit);
  s.n_pending++;
  return false;
}

bool schedule_finished(const Schedule& s) { return s.n_pending == 0 && s.n_in_flight == 0; }

}  // namespace tp
