// The scheduler driven with fake ranks, no MPI: every unit runs exactly once, workers keep their model
// while it has work (affinity), retries go to another worker and then fail, resumed units never run.
// The reference in each case is the plan itself (units and their models) and hand-worked orders.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "dist/schedule.h"
#include "util/hash.h"

using namespace tp;

namespace {

std::vector<int32_t> models_of(const std::vector<int32_t>& per_model) {
  std::vector<int32_t> m;
  for (size_t i = 0; i < per_model.size(); i++)
    for (int32_t k = 0; k < per_model[i]; k++) m.push_back(static_cast<int32_t>(i));
  return m;
}

}  // namespace

TEST_CASE("fake ranks finishing in random order run every unit exactly once, with model affinity", "[schedule]") {
  std::vector<int32_t> unit_model = models_of({20, 7, 13});
  std::vector<int32_t> workers{1, 2, 3, 4};
  Schedule s = schedule_make(unit_model, workers, 2);
  Rng rng(5);
  std::map<int32_t, int32_t> in_flight;  // rank -> unit
  std::map<int32_t, int> runs;
  std::set<int32_t> idle(workers.begin(), workers.end());
  int steps = 0;
  while (!schedule_finished(s)) {
    REQUIRE(++steps < 1000);
    int32_t w = workers[rng.below(workers.size())];
    if (in_flight.count(w)) {
      schedule_done(s, w, in_flight[w]);
      in_flight.erase(w);
    }
    int32_t held = s.worker_model[w];
    bool held_has_work = held >= 0 && !s.pending[held].empty();
    int32_t u = schedule_next(s, w);
    if (u < 0) continue;
    if (held_has_work) CHECK(unit_model[u] == held);  // affinity: never leave a model with work left
    in_flight[w] = u;
    runs[u]++;
  }
  CHECK(runs.size() == unit_model.size());
  for (const auto& [u, n] : runs) CHECK(n == 1);
  CHECK(s.n_done == static_cast<int64_t>(unit_model.size()));
  CHECK(s.n_failed == 0);
  // with affinity a worker only switches when its model runs dry: far fewer loads than units
  int loads = 0;
  for (int32_t w : workers) loads += s.worker_switches[w];
  CHECK(loads <= 3 + static_cast<int>(workers.size()) * 2);
}

TEST_CASE("a free worker takes the model with the most pending units per worker holding it", "[schedule]") {
  Schedule s = schedule_make(models_of({10, 4, 6}), {1, 2, 3}, 0);
  CHECK(s.unit_model[schedule_next(s, 1)] == 0);  // 10/1 > 6/1 > 4/1
  CHECK(s.unit_model[schedule_next(s, 2)] == 2);  // model 0: 9/2 = 4.5 < 6/1
  CHECK(s.unit_model[schedule_next(s, 3)] == 0);  // 9/2 = 4.5 > 5/2 = 2.5 and > 4/1
  CHECK(s.worker_switches[1] == 1);
  CHECK(s.n_switches == 0);  // first loads are not switches
}

TEST_CASE("a failed unit is retried on another worker, then recorded as failed with its error", "[schedule]") {
  Schedule s = schedule_make(models_of({3}), {1, 2}, 1);
  REQUIRE(schedule_next(s, 1) == 0);
  REQUIRE(schedule_next(s, 2) == 1);
  CHECK_FALSE(schedule_failed(s, 1, 0, "out of memory"));  // first failure: queued again
  CHECK(s.state[0] == UnitState::PENDING);
  CHECK(schedule_next(s, 1) == 2);     // rank 1 skips the unit it failed
  schedule_done(s, 2, 1);
  CHECK(schedule_next(s, 2) == 0);     // rank 2 takes the retry
  CHECK(schedule_failed(s, 2, 0, "NaN logits"));  // second failure: over max_retries = 1
  CHECK(s.state[0] == UnitState::FAILED);
  CHECK(s.error[0] == "NaN logits");
  CHECK(s.tries[0] == 2);
  CHECK_FALSE(schedule_finished(s));   // unit 2 still in flight
  schedule_done(s, 1, 2);
  CHECK(schedule_finished(s));
  CHECK(s.n_done == 2);
  CHECK(s.n_failed == 1);
}

TEST_CASE("a retry that failed on every worker may go back to any of them", "[schedule]") {
  Schedule s = schedule_make(models_of({1}), {0}, 2);  // a single process
  for (int i = 0; i < 2; i++) {
    REQUIRE(schedule_next(s, 0) == 0);
    CHECK_FALSE(schedule_failed(s, 0, 0, "boom"));
  }
  REQUIRE(schedule_next(s, 0) == 0);
  CHECK(schedule_failed(s, 0, 0, "boom"));
  CHECK(schedule_next(s, 0) == -1);
  CHECK(schedule_finished(s));
}

TEST_CASE("a worker waits while the only work left is in flight elsewhere", "[schedule]") {
  Schedule s = schedule_make(models_of({1, 1}), {1, 2, 3}, 3);
  REQUIRE(schedule_next(s, 1) >= 0);
  REQUIRE(schedule_next(s, 2) >= 0);
  CHECK(schedule_next(s, 3) == -1);
  CHECK_FALSE(schedule_finished(s));
}

TEST_CASE("units the journal records as done are never assigned", "[schedule]") {
  Schedule s = schedule_make(models_of({6, 6}), {1, 2}, 0);
  for (int32_t u : {0, 1, 2, 7, 11}) schedule_mark_resumed(s, u);
  CHECK(s.n_resumed == 5);
  std::set<int32_t> got;
  for (int32_t u; (u = schedule_next(s, 1 + static_cast<int32_t>(got.size() % 2))) >= 0;) {
    got.insert(u);
    schedule_done(s, s.runner[u], u);
  }
  CHECK(got == std::set<int32_t>{3, 4, 5, 6, 8, 9, 10});
  CHECK(schedule_finished(s));
}
