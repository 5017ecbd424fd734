// Rank 0 before and after the work loop, and the run as a whole (see sweep.h).
#include "dist/sweep.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "archive/assemble.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "util/check.h"
#include "util/log.h"

namespace fs = std::filesystem;

namespace tp {

namespace {

std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ") {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string journal_path(const std::string& outdir) { return outdir + "/journal.jsonl"; }

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

void sweep_catch_stop_signal() {
  // SIGUSR1: Slurm's warning before the time limit; SIGTERM: scancel, preemption, scontrol requeue (slurmstepd
  // sends it to every task); SIGINT: Ctrl-C, where a second one ends the process at once.
  std::signal(SIGUSR1, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) {
    if (g_stop) std::_Exit(130);
    g_stop = 1;
  });
}

bool sweep_stop_requested() { return g_stop != 0; }

Prepared sweep_prepare(const std::string& outdir, const JobSpec& spec, const std::vector<WorkUnit>& units, const std::string& fingerprint,
                       bool force) {
  fs::create_directories(fs::path(outdir) / "shards");
  Prepared p;
  p.journal = journal_read(journal_path(outdir));
  if (p.journal.exists && p.journal.fingerprint != fingerprint) {
    if (!force)
      throw Error(fmt::format("{} holds run {} of another job{} (plan fingerprint {}..., this job {}...): refusing to mix them", outdir,
                              p.journal.run_id, p.journal.job_name.empty() ? "" : " '" + p.journal.job_name + "'",
                              p.journal.fingerprint.substr(0, 12), fingerprint.substr(0, 12)),
                  "set another job.output_dir (or job.output_dir=... on the command line), or pass --force to start a new run id there "
                  "(the old run is moved to " + outdir + "/superseded/" + p.journal.run_id + ")");
    fs::path old = fs::path(outdir) / "superseded" / p.journal.run_id;
    fs::create_directories(old);
    for (const char* name : {"journal.jsonl", "shards", "archive.h5"})
      if (fs::exists(fs::path(outdir) / name)) fs::rename(fs::path(outdir) / name, old / name);
    fs::create_directories(fs::path(outdir) / "shards");
    spdlog::warn("--force: the previous run {} of {} was moved to {}", p.journal.run_id, outdir, old.string());
    p.journal = JournalState{};
  }
  p.run_id = p.journal.exists ? p.journal.run_id : utc_now("%Y%m%dT%H%M%SZ") + "-" + fingerprint.substr(0, 8);
  p.attempt = static_cast<int32_t>(p.journal.attempts.size()) + 1;

  // Every shard the journal points at must hold the rows it says; a missing shard's units are redone.
  std::map<std::string, std::vector<const JournalDone*>> by_shard;
  for (const auto& [id, d] : p.journal.done) by_shard[d.shard].push_back(&d);
  std::vector<std::string> lost;
  for (const auto& [shard, dones] : by_shard) {
    std::string path = outdir + "/" + shard;
    if (!fs::exists(path)) {
      spdlog::warn("{} is gone: its {} journaled units will be redone", path, dones.size());
      for (const JournalDone* d : dones) lost.push_back(d->unit);
      continue;
    }
    ShardSummary sum = shard_check(path, fingerprint);
    for (const JournalDone* d : dones) {
      if (d->index < 0 || d->index >= static_cast<int32_t>(units.size()) || units[d->index].id != d->unit)
        throw Error(fmt::format("{}: unit {} is journaled at plan index {}, which this job does not have", journal_path(outdir), d->unit, d->index),
                    "the journal does not match the plan; rerun with --force for a fresh run");
      bool ok = d->sample_begin + d->n_samples <= (units[d->index].kind == UnitKind::SAMPLES ? sum.n_samples : sum.n_branches);
      const std::string& model = spec.models[units[d->index].model].id;
      for (size_t k = 0; k < d->act_n.size() && k < spec.capture.positions.size() && ok; k++) {
        if (d->act_n[k] == 0) continue;
        auto it = sum.act_rows.find(model + "/" + spec.capture.positions[k]);
        ok = it != sum.act_rows.end() && d->act_begin[k] + d->act_n[k] <= it->second;
      }
      if (!ok)
        throw Error(fmt::format("shard {} is truncated: the journal records rows of unit {} that it does not hold ({} sample rows)", path,
                                d->unit, sum.n_samples),
                    "move the shard aside (mv it to a .bad name) and rerun the job: the units journaled in it are then redone");
    }
  }
  for (const auto& id : lost) p.journal.done.erase(id);
  if (!lost.empty()) {  // record it, so the next read of the journal agrees
    JournalState existing = p.journal;
    Journal j = journal_open(journal_path(outdir), existing, {});
    for (const auto& id : lost) journal_append(j, {{"event", "lost"}, {"unit", id}});
    journal_sync(j);
  }
  for (const auto& [id, d] : p.journal.done) p.resumed.push_back(d.index);
  return p;
}

int sweep_run(const Sweep& sw, const Comm& comm, const Prepared* prep, UnitRunner* runner, const std::vector<std::string>& hosts) {
  const JobSpec& spec = sw.job->spec;
  if (comm.rank > 0) {
    worker_loop(sw, comm.rank, *runner);
    comm_barrier();
    return 0;
  }
  TP_CHECK(prep);
  const auto& units = *sw.units;
  nlohmann::json header = {{"event", "header"}, {"format", JOURNAL_FORMAT}, {"fingerprint", sw.fingerprint},
                           {"run_id", sw.run_id}, {"job", spec.job.name}, {"created", utc_now()}};
  Journal journal = journal_open(journal_path(sw.outdir), prep->journal, header);
  std::string start = utc_now();
  journal_append(journal, {{"event", "attempt"}, {"attempt", sw.attempt}, {"start", start}, {"ranks", comm.size}, {"hosts", hosts}, {"units", units.size()}});
  journal_sync(journal);

  std::vector<int32_t> unit_model, workers;
  for (const auto& u : units) unit_model.push_back(u.model);
  for (int r = comm.size == 1 ? 0 : 1; r < comm.size; r++) workers.push_back(r);
  Schedule s = schedule_make(unit_model, workers, spec.run.max_retries);
  for (int32_t u : prep->resumed) schedule_mark_resumed(s, u);
  spdlog::info("run {} attempt {}: {} units ({} finished earlier), {} worker{}, output {}", sw.run_id, sw.attempt, units.size(),
               prep->resumed.size(), workers.size(), workers.size() == 1 ? "" : "s", sw.outdir);

  SweepStats st = comm.size == 1 ? sweep_local(sw, *runner, s, journal) : coordinator_loop(sw, comm.size, spec.run.units_per_request, s, journal);
  if (comm.size > 1) comm_barrier();  // every worker has closed its shard
  journal_append(journal, {{"event", "end"}, {"attempt", sw.attempt}, {"time", utc_now()}});
  journal_sync(journal);

  // archive.h5 from the journal: every finished unit, in plan order
  JournalState js = journal_read(journal_path(sw.outdir));
  std::vector<PlacedUnit> placed;
  std::map<int32_t, std::set<std::string>> devices;
  for (const auto& [id, d] : js.done) {
    placed.push_back({d.index, units[d.index].model, d.shard, d.sample_begin, d.n_samples, d.act_begin, d.act_n,
                      units[d.index].kind != UnitKind::SAMPLES});
    devices[units[d.index].model].insert(d.device);
  }
  std::sort(placed.begin(), placed.end(), [](const PlacedUnit& a, const PlacedUnit& b) { return a.index < b.index; });
  ArchiveMeta meta = archive_meta_make(*sw.job, *sw.sets, sw.run_id, sw.fingerprint);
  meta.start_time = js.attempts.empty() ? start : js.attempts.front().value("start", start);
  meta.end_time = utc_now();
  meta.attempts = js.attempts;
  for (size_t m = 0; m < meta.models.size(); m++) {
    std::vector<std::string> kinds(devices[static_cast<int32_t>(m)].begin(), devices[static_cast<int32_t>(m)].end());
    meta.models[m].device_kind = fmt::format("{}", fmt::join(kinds, ","));
    meta.models[m].dtype = runner && !runner->dtype.empty() ? runner->dtype : spec.models[m].dtype;
  }
  std::string archive = sw.outdir + "/archive.h5";
  archive_write(sw.outdir, archive, meta, placed);

  std::printf("run %s attempt %d: %lld/%zu units done (%lld from earlier attempts), %lld failed; %lld samples, %lld tokens in %.1f s; "
              "%lld model switches\narchive: %s\n",
              sw.run_id.c_str(), sw.attempt, static_cast<long long>(st.units_done), units.size(), static_cast<long long>(st.units_resumed),
              static_cast<long long>(st.units_failed), static_cast<long long>(st.samples), static_cast<long long>(st.tokens), st.seconds,
              static_cast<long long>(st.model_switches), archive.c_str());
  if (!st.failures.empty()) {
    std::printf("failed units (rerun the job to retry them):\n");
    for (const auto& f : st.failures) std::printf("  %s after %d tries: %s\n", f.unit.c_str(), f.tries, f.error.c_str());
  }
  int64_t left = static_cast<int64_t>(units.size()) - st.units_done - st.units_failed;
  if (st.stopped_early && left > 0)
    std::printf("stopped early by a signal with %lld units left: rerun the job (or requeue it) to go on\n", static_cast<long long>(left));
  std::fflush(stdout);
  if (st.stopped_early && left > 0) return EXIT_STOPPED_EARLY;
  return st.failures.empty() ? 0 : EXIT_UNITS_FAILED;
}

}  // namespace tp
