// The ranks that run units (see sweep.h): worker_loop under MPI (pull, run, append to the shard, report),
// and sweep_local, the same work in one process with the schedule consulted directly.
#include <chrono>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "archive/writer.h"
#include "dist/comm.h"
#include "dist/sweep.h"
#include "util/check.h"
#include "util/log.h"

namespace tp {

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Runs one unit, keeping the model held across units (affinity); returns the error text if it threw.
std::optional<std::string> run_one(UnitRunner& runner, int32_t& loaded, const WorkUnit& unit, UnitResult& out) {
  try {
    if (unit.model != loaded) {
      loaded = -1;
      runner.load_model(unit.model);
      loaded = unit.model;
    }
    out = runner.run(unit);
    return std::nullopt;
  } catch (const Error& e) {
    return std::string(e.what()) + (e.hint.empty() ? "" : " (HINT: " + e.hint + ")");
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

// The shard of this rank and attempt, created at the first finished unit.
ShardWriter& shard_of(std::optional<ShardWriter>& w, const Sweep& sw, int rank) {
  if (!w) {
    ShardInfo info{sw.run_id, sw.fingerprint, sw.job->spec.job.name, host_name(), rank, sw.attempt};
    w = shard_create(sw.outdir + "/" + shard_name(sw.attempt, rank), info, job_judges(sw.job->spec));
  }
  return *w;
}

}  // namespace

void worker_loop(const Sweep& sw, int rank, UnitRunner& runner) {
  const auto& units = *sw.units;
  std::optional<ShardWriter> shard;
  int32_t loaded = -1;
  RequestWork req{loaded};
  comm_send(0, Tag::REQUEST_WORK, req);
  while (true) {
    AssignUnits a{};
    if (comm_recv_any_tag(0, &a, sizeof a) == Tag::STOP) break;
    for (int i = 0; i < a.n; i++) {
      const WorkUnit& unit = units[a.units[i]];
      const int32_t wants_more = i + 1 == a.n;
      double t0 = now_s();
      UnitResult res;
      if (auto err = run_one(runner, loaded, unit, res)) {
        UnitFailed f{};
        f.unit = a.units[i];
        f.loaded_model = loaded;
        f.wants_more = wants_more;
        err->copy(f.error, sizeof f.error - 1);
        comm_send(0, Tag::UNIT_FAILED, f);
        continue;
      }
      UnitRows rows = shard_append(shard_of(shard, sw, rank), sw.job->spec, *sw.sets, unit, a.units[i], res);
      UnitDone d{};
      d.unit = a.units[i];
      d.loaded_model = loaded;
      d.wants_more = wants_more;
      d.n_positions = static_cast<int32_t>(rows.act_begin.size());
      TP_CHECK(d.n_positions <= MAX_POSITIONS);
      d.sample_begin = rows.sample_begin;
      d.n_samples = rows.n_samples;
      std::copy(rows.act_begin.begin(), rows.act_begin.end(), d.act_begin);
      std::copy(rows.act_n.begin(), rows.act_n.end(), d.act_n);
      d.n_tokens = res.n_tokens;
      d.seconds = now_s() - t0;
      runner.device_kind.copy(d.device, sizeof d.device - 1);
      comm_send(0, Tag::UNIT_DONE, d);
    }
  }
  if (shard) shard_close(*shard);
}

SweepStats sweep_local(const Sweep& sw, UnitRunner& runner, Schedule& s, Journal& journal) {
  const auto& units = *sw.units;
  SweepStats st;
  st.units_total = static_cast<int64_t>(units.size());
  st.units_resumed = st.units_done = s.n_resumed;
  Progress progress = progress_start();
  std::optional<ShardWriter> shard;
  int32_t loaded = -1;
  double t_begin = now_s();
  for (int32_t u; !(st.stopped_early = sweep_stop_requested()) && (u = schedule_next(s, 0)) >= 0;) {
    const WorkUnit& unit = units[u];
    double t0 = now_s();
    UnitResult res;
    if (auto err = run_one(runner, loaded, unit, res)) {
      spdlog::warn("unit {} failed (try {} of {}): {}", unit.id, s.tries[u] + 1, s.max_retries + 1, *err);
      if (schedule_failed(s, 0, u, *err)) {
        JournalFailed f{unit.id, u, sw.attempt, s.tries[u], *err};
        journal_append(journal, journal_failed_json(f));
        journal_sync(journal);
        st.units_failed++;
        st.failures.push_back(f);
      }
      continue;
    }
    UnitRows rows = shard_append(shard_of(shard, sw, 0), sw.job->spec, *sw.sets, unit, u, res);
    schedule_done(s, 0, u);
    JournalDone d;
    d.unit = unit.id;
    d.index = u;
    d.attempt = sw.attempt;
    d.rank = 0;
    d.shard = shard_name(sw.attempt, 0);
    d.sample_begin = rows.sample_begin;
    d.n_samples = rows.n_samples;
    d.act_begin = rows.act_begin;
    d.act_n = rows.act_n;
    d.n_tokens = res.n_tokens;
    d.seconds = now_s() - t0;
    d.device = runner.device_kind;
    journal_append(journal, journal_done_json(d));
    journal_sync(journal);
    st.units_done++;
    st.samples += rows.n_samples;
    st.tokens += res.n_tokens;
    progress_update(progress, st, false);
  }
  if (shard) shard_close(*shard);
  st.seconds = now_s() - t_begin;
  st.model_switches = s.n_switches;
  st.devices = {runner.device_kind};
  progress_update(progress, st, true);
  return st;
}

}  // namespace tp
