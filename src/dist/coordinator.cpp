// Rank 0's work loop under MPI (see sweep.h): answer RequestWork / UnitDone / UnitFailed from the schedule,
// journal finished and failed units (group commit: one fsync per JOURNAL_SYNC_S), stop workers when
// nothing is left.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include <fmt/format.h>

#include "archive/writer.h"
#include "dist/sweep.h"
#include "util/check.h"
#include "util/log.h"

namespace tp {

namespace {

constexpr double JOURNAL_SYNC_S = 0.05;

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string hms(double s) {
  long t = static_cast<long>(s + 0.5);
  return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
}

}  // namespace

Progress progress_start() {
  Progress p;
  p.t_start = p.t_last = now_s();
  p.tty = isatty(2);
  if (const char* e = std::getenv("THINKPROBE_PROGRESS_SECONDS")) p.every = std::atof(e);
  return p;
}

void progress_update(Progress& p, const SweepStats& st, bool force) {
  double t = now_s();
  if (!force && t - p.t_last < (p.tty ? 0.25 : p.every)) return;
  p.t_last = t;
  double el = t - p.t_start;
  int64_t finished = st.units_done + st.units_failed;
  int64_t left = st.units_total - st.units_resumed - finished;
  int64_t done_now = st.units_done - st.units_resumed + st.units_failed;
  std::string eta = done_now > 0 ? hms(el / done_now * left) : "?";
  std::string line = fmt::format("units {}/{}  samples {}  tokens/s {:.0f}  ETA {}  failed {}", st.units_done, st.units_total, st.samples,
                                 el > 0 ? st.tokens / el : 0.0, eta, st.units_failed);
  if (p.tty) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), force ? "\n" : "");
  else spdlog::info("{}", line);
}

SweepStats coordinator_loop(const Sweep& sw, int n_ranks, int64_t units_per_request, Schedule& s, Journal& journal) {
  const auto& units = *sw.units;
  SweepStats st;
  st.units_total = static_cast<int64_t>(units.size());
  st.units_resumed = st.units_done = s.n_resumed;
  const int k = static_cast<int>(std::clamp<int64_t>(units_per_request, 1, MAX_UNITS_PER_ASSIGN));
  Progress progress = progress_start();
  std::set<int> waiting;  // workers with nothing to do right now
  int n_stopped = 0;
  std::set<std::string> devices;
  double t0 = now_s();

  // Give rank its next units, tell it to stop, or park it until something changes.
  auto serve = [&](int rank) {
    AssignUnits a{};
    st.stopped_early = st.stopped_early || sweep_stop_requested();
    while (a.n < k && !st.stopped_early) {
      int32_t u = schedule_next(s, rank);
      if (u < 0) break;
      a.units[a.n++] = u;
    }
    if (a.n > 0) {
      waiting.erase(rank);
      comm_send(rank, Tag::ASSIGN_UNITS, &a, static_cast<int>(offsetof(AssignUnits, units) + sizeof(int32_t) * a.n));
    } else if (schedule_finished(s) || st.stopped_early) {  // a requesting worker has nothing in flight
      waiting.erase(rank);
      Stop stop{0};
      comm_send(rank, Tag::STOP, stop);
      n_stopped++;
    } else {
      waiting.insert(rank);
    }
  };

  // Group commit: done lines are written and fsync'd together, at most JOURNAL_SYNC_S after the first of
  // them. A unit counts as finished only once synced, so a crash in between only means a few units redone.
  double t_synced = now_s();
  auto maybe_sync = [&](bool now) {
    if (journal.buffer.empty()) return;
    double t = now_s();
    if (!now && t - t_synced < JOURNAL_SYNC_S) return;
    journal_sync(journal);
    t_synced = t;
  };

  int idle = 0;
  while (n_stopped < n_ranks - 1) {
    Envelope env;
    if (!comm_iprobe(env)) {
      maybe_sync(false);
      if (sweep_stop_requested() && !waiting.empty())
        for (int r : std::vector<int>(waiting.begin(), waiting.end())) serve(r);
      // spin briefly for low latency under load, then back off so an idle coordinator costs no core
      if (++idle > 200) {
        struct timespec ts{0, 50000};
        nanosleep(&ts, nullptr);
      }
      progress_update(progress, st, false);
      continue;
    }
    idle = 0;
    bool changed = false;
    do {
      const int src = env.source;
      switch (env.tag) {
        case Tag::REQUEST_WORK: {
          comm_recv<RequestWork>(env);
          serve(src);
          break;
        }
        case Tag::UNIT_DONE: {
          UnitDone m = comm_recv<UnitDone>(env);
          schedule_done(s, src, m.unit);
          JournalDone d;
          d.unit = units[m.unit].id;
          d.index = m.unit;
          d.attempt = sw.attempt;
          d.rank = src;
          d.shard = shard_name(sw.attempt, src);
          d.sample_begin = m.sample_begin;
          d.n_samples = m.n_samples;
          d.act_begin.assign(m.act_begin, m.act_begin + m.n_positions);
          d.act_n.assign(m.act_n, m.act_n + m.n_positions);
          d.n_tokens = m.n_tokens;
          d.seconds = m.seconds;
          d.device = std::string(m.device, strnlen(m.device, sizeof m.device));
          devices.insert(d.device);
          journal_append(journal, journal_done_json(d));
          st.units_done++;
          st.samples += m.n_samples;
          st.tokens += m.n_tokens;
          changed = true;
          if (m.wants_more) serve(src);
          break;
        }
        case Tag::UNIT_FAILED: {
          UnitFailed m = comm_recv<UnitFailed>(env);
          std::string err(m.error, strnlen(m.error, sizeof m.error));
          bool final = schedule_failed(s, src, m.unit, err);
          spdlog::warn("unit {} failed on rank {} (try {} of {}): {}", units[m.unit].id, src, s.tries[m.unit], s.max_retries + 1, err);
          if (final) {
            JournalFailed f{units[m.unit].id, m.unit, sw.attempt, s.tries[m.unit], err};
            journal_append(journal, journal_failed_json(f));
            st.units_failed++;
            st.failures.push_back(f);
          }
          changed = true;
          if (m.wants_more) serve(src);
          break;
        }
        default:
          TP_CHECK_MSG(false, "unexpected message tag {} from rank {}", static_cast<int>(env.tag), src);
      }
    } while (comm_iprobe(env));
    maybe_sync(false);
    if (changed)
      for (int r : std::vector<int>(waiting.begin(), waiting.end())) serve(r);
    progress_update(progress, st, false);
  }
  maybe_sync(true);
  st.seconds = now_s() - t0;
  st.model_switches = s.n_switches;
  st.devices.assign(devices.begin(), devices.end());
  progress_update(progress, st, true);
  return st;
}

}  // namespace tp
