// Benchmarks of the distributed sweep and the archive (bench/dist_bench.sh runs them; bench/RESULTS.md
// has the figures). Three modes:
//   mpirun -np N dist_bench dispatch UNITS K   the real coordinator loop (schedule + journal with fsync)
//       against no-op workers that answer each assignment at once; K units per request. Prints units/s.
//   mpirun -np N dist_bench efficiency UNITS MIN_MS MAX_MS   workers sleep a per-unit duration drawn
//       log-uniform from [MIN_MS, MAX_MS] (seeded); efficiency = sum of durations / (workers x makespan).
//   dist_bench write DIR UNITS GZIP PROMPTS    shard_append of units of realistic size (16 samples, 2 KB of
//       text each, think_first + 16 span points of 8 layers x 2048 float16) with flush + fsync per unit,
//       against the reference: write() + fsync of the same payload bytes to a plain file; the two take
//       turns unit by unit, 11 rounds, and the medians of the rounds are compared.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "archive/writer.h"
#include "dist/comm.h"
#include "dist/sweep.h"
#include "util/hash.h"
#include "util/log.h"

using namespace tp;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_s() {  // user + system CPU time of this process
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Write requests and bytes the block device holding a path has completed (/sys/dev/block/M:m/stat: fields
// 5 and 7 are writes completed and sectors written); zeros where the counters cannot be read.
struct DiskWrites { long requests = 0; double bytes = 0; };
std::string block_stat_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  return "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + "/stat";
}
DiskWrites disk_writes(const std::string& stat_path) {
  DiskWrites d;
  std::FILE* f = stat_path.empty() ? nullptr : std::fopen(stat_path.c_str(), "r");
  if (!f) return d;
  long v[7] = {0};
  for (long& x : v)
    if (std::fscanf(f, "%ld", &x) != 1) break;
  std::fclose(f);
  d.requests = v[4];
  d.bytes = 512.0 * v[6];
  return d;
}

double g_min_ms = 2, g_max_ms = 40;
double unit_ms(int32_t u) {  // log-uniform in [g_min_ms, g_max_ms]
  Rng r(static_cast<uint64_t>(u) + 1);
  return g_min_ms * std::pow(g_max_ms / g_min_ms, r.uniform());
}

std::vector<WorkUnit> fake_units(int n, int n_models) {
  std::vector<WorkUnit> units(n);
  for (int i = 0; i < n; i++) {
    units[i].id = "u" + std::to_string(i);
    units[i].model = i * n_models / n;  // plan order: grouped by model
  }
  return units;
}

// A worker that does nothing (dispatch) or sleeps the unit's duration (efficiency).
void bench_worker(bool sleep) {
  double nominal = 0, slept = 0, t_first = 0, t_last = 0;
  RequestWork req{-1};
  comm_send(0, Tag::REQUEST_WORK, req);
  while (true) {
    AssignUnits a{};
    if (comm_recv_any_tag(0, &a, sizeof a) == Tag::STOP) break;
    for (int i = 0; i < a.n; i++) {
      double t0 = now_s();
      if (t_first == 0) t_first = t0;
      if (sleep) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(unit_ms(a.units[i])));
      nominal += unit_ms(a.units[i]) / 1e3;
      slept += now_s() - t0;
      t_last = now_s();
      UnitDone d{};
      d.unit = a.units[i];
      d.seconds = t_last - t0;  // as run: the sleep overshoots its nominal length on a busy VM
      d.wants_more = i + 1 == a.n;
      std::strcpy(d.device, "noop");
      comm_send(0, Tag::UNIT_DONE, d);
    }
  }
  if (std::getenv("DIST_BENCH_DEBUG"))  // where a worker's time went: units as planned, as slept, first to last
    std::fprintf(stderr, "worker: nominal %.3f slept %.3f span %.3f\n", nominal, slept, t_last - t_first);
}

int sweep_bench(const Comm& comm, bool sleep, int n_units, int k) {
  std::vector<WorkUnit> units = fake_units(n_units, 4);
  if (comm.rank > 0) {
    bench_worker(sleep);
    return 0;
  }
  std::string dir = "/tmp/dist_bench_journal";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Journal j = journal_open(dir + "/journal.jsonl", JournalState{}, {{"event", "header"}});
  Sweep sw;
  sw.units = &units;
  std::vector<int32_t> unit_model, workers;
  for (const auto& u : units) unit_model.push_back(u.model);
  for (int r = 1; r < comm.size; r++) workers.push_back(r);
  Schedule s = schedule_make(unit_model, workers, 0);
  double t0 = now_s();
  SweepStats st = coordinator_loop(sw, comm.size, k, s, j);
  double t = now_s() - t0;
  if (!sleep) {
    std::printf("dispatch: %d units to %d no-op workers, %d per request: %.3f s, %.0f units/s (journal written and fsync'd every 50 ms), %lld model switches\n",
                n_units, comm.size - 1, k, t, n_units / t, static_cast<long long>(st.model_switches));
  } else {
    double work = 0, ran = 0;
    for (int i = 0; i < n_units; i++) work += unit_ms(i) / 1e3;
    std::ifstream in(dir + "/journal.jsonl");  // the units' durations as the workers reported them
    for (std::string line; std::getline(in, line);) {
      nlohmann::json e = nlohmann::json::parse(line);
      if (e["event"] == "done") ran += e["seconds"].get<double>();
    }
    const int workers = comm.size - 1;
    double ideal = work / workers;
    std::printf("efficiency: %d units of %g..%g ms (log-uniform) over %d workers (%d ranks): makespan %.3f s, ideal %.3f s, efficiency %.1f%%; "
                "the units took %.3f s as run (sleeps %.1f%% past their length), so the schedule kept workers busy %.1f%% of the makespan\n",
                n_units, g_min_ms, g_max_ms, workers, comm.size, t, ideal, 100.0 * ideal / t, ran, 100.0 * (ran / work - 1),
                100.0 * ran / workers / t);
  }
  return 0;
}

int write_bench(const std::string& dir, int n_units, int gzip, const std::string& prompts) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  JobSpec job;
  job.job.name = "bench";
  job.models.resize(1);
  job.models[0].id = "m";
  job.models[0].sampling.samples_per_prompt = 4;
  job.interventions.resize(1);
  job.interventions[0].id = "base";
  PromptSetSpec p;
  p.id = "adv";
  p.path = prompts;
  job.prompt_sets = {p};
  job.run.prompts_per_unit = 4;
  job.capture.positions = {"think_first", "think_span"};
  job.capture.gzip = gzip;
  std::vector<Diagnostic> errors;
  std::vector<PromptSet> sets = prompt_sets_load(job, errors);
  std::vector<WorkUnit> units = plan_units(job, sets);
  const int64_t L = 8, C = 2048, P = 16;
  Rng rng(1);
  std::vector<UnitResult> results;
  size_t payload = 0;
  for (int u = 0; u < n_units; u++) {
    UnitResult r;
    for (int32_t pi : units[u].prompts)
      for (int32_t s = 0; s < 4; s++) {
        SampleRow row;
        row.prompt = pi;
        row.sample_index = s;
        row.thinking = std::string(1800, 'a' + static_cast<char>(rng.below(26)));
        row.answer = std::string(200, 'b');
        row.stop_reason = "eos";
        row.votes = {1};
        row.judge_truncated = {0};
        row.judge_outputs = {"I can't"};
        payload += 2000 + 60;  // texts + numeric columns
        r.samples.push_back(row);
      }
    for (int pos = 0; pos < 2; pos++) {
      std::vector<int32_t> layers(L);
      std::iota(layers.begin(), layers.end(), 0);
      ActivationBlock b = activation_block(pos, layers, C, ActDtype::F16);
      int64_t points = pos == 1 ? P : 1;
      for (int32_t s = 0; s < 16; s++)
        for (int64_t q = 0; q < points; q++) {
          b.sample_in_unit.push_back(s);
          b.point.push_back(static_cast<int32_t>(q));
        }
      for (auto& layer : b.data) {
        layer.resize(b.sample_in_unit.size() * C * 2);
        for (size_t i = 0; i < layer.size(); i += 2) {  // halves of N(0,1)-like values: random mantissas, narrow exponents
          uint16_t h = static_cast<uint16_t>((rng.next() & 0x83ff) | (0x3400 + (rng.below(6) << 10)));
          std::memcpy(&layer[i], &h, 2);
        }
        payload += layer.size();
      }
      payload += 8 * b.sample_in_unit.size();
      r.activations.push_back(std::move(b));
    }
    results.push_back(std::move(r));
  }
  // The reference: the same payload bytes, appended to a plain file with one fsync per unit.
  auto raw_unit = [](int fd, const UnitResult& r) {
    for (const auto& s : r.samples) {
      (void)!::write(fd, s.thinking.data(), s.thinking.size());
      (void)!::write(fd, s.answer.data(), s.answer.size());
      char numeric[60] = {0};
      (void)!::write(fd, numeric, sizeof numeric);
    }
    for (const auto& b : r.activations) {
      for (const auto& layer : b.data) (void)!::write(fd, layer.data(), layer.size());
      (void)!::write(fd, b.sample_in_unit.data(), 4 * b.sample_in_unit.size());
      (void)!::write(fd, b.point.data(), 4 * b.point.size());
    }
    ::fsync(fd);
  };
  // The two writers take turns unit by unit, so that both meet the disk in the same state: this virtio
  // disk's speed drifts by +-10% within seconds, which made whole-round alternation too noisy to compare.
  // Each round starts both without their files (freeing the previous round's page cache is not timed); the
  // shard's time includes its create and close. The disk's write requests around each unit come from the
  // block device's counters.
  const std::string stat_path = block_stat_path(dir);
  struct Side { double t = 0, cpu = 0; DiskWrites io; };
  auto timed = [&](Side& side, const auto& f) {
    DiskWrites d0 = disk_writes(stat_path);
    double t0 = now_s(), c0 = cpu_s();
    f();
    side.t += now_s() - t0;
    side.cpu += cpu_s() - c0;
    DiskWrites d1 = disk_writes(stat_path);
    side.io.requests += d1.requests - d0.requests;
    side.io.bytes += d1.bytes - d0.bytes;
  };
  const int rounds = 11;
  std::vector<Side> raw(rounds), shard(rounds);
  for (int round = 0; round < rounds; round++) {
    std::filesystem::remove(dir + "/raw.bin");
    std::filesystem::remove(dir + "/shard.h5");
    int fd = -1;
    ShardWriter w;
    timed(raw[round], [&] { fd = ::open((dir + "/raw.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644); });
    timed(shard[round], [&] { w = shard_create(dir + "/shard.h5", {"run", "fp", "bench", "host", 1, 1}, {"rule"}); });
    for (int u = 0; u < n_units; u++) {  // who goes first alternates: the second finds the unit's bytes in the CPU's cache
      auto raw_u = [&] { timed(raw[round], [&] { raw_unit(fd, results[u]); }); };
      auto shard_u = [&] { timed(shard[round], [&] { shard_append(w, job, sets, units[u], u, results[u]); }); };
      if ((u + round) % 2 == 0) raw_u(), shard_u();
      else shard_u(), raw_u();
    }
    timed(raw[round], [&] { ::close(fd); });
    timed(shard[round], [&] { shard_close(w); });
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> t_raw, t_shard, ratio;
  for (int i = 0; i < rounds; i++) {
    t_raw.push_back(raw[i].t);
    t_shard.push_back(shard[i].t);
    ratio.push_back(raw[i].t / shard[i].t);
  }
  auto per_unit = [&](const std::vector<Side>& v, auto field) {
    double sum = 0;
    for (const Side& x : v) sum += field(x);
    return sum / rounds / n_units;
  };
  double mb = payload / 1e6, tr = median(t_raw), ts = median(t_shard);
  std::printf("write (gzip %d): %d units, %.1f MB payload, %d rounds, units alternating: raw write+fsync %.3f s (%.0f MB/s), shard %.3f s "
              "(%.0f MB/s, file %.1f MB): shard/raw speed %.2f (rounds %.2f-%.2f); per unit: CPU raw %.2f ms, shard %.2f ms; "
              "disk write requests raw %.1f, shard %.1f; MB written raw %.2f, shard %.2f\n",
              gzip, n_units, mb, rounds, tr, mb / tr, ts, mb / ts, std::filesystem::file_size(dir + "/shard.h5") / 1e6, tr / ts,
              *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()),
              1e3 * per_unit(raw, [](const Side& x) { return x.cpu; }), 1e3 * per_unit(shard, [](const Side& x) { return x.cpu; }),
              per_unit(raw, [](const Side& x) { return double(x.io.requests); }), per_unit(shard, [](const Side& x) { return double(x.io.requests); }),
              per_unit(raw, [](const Side& x) { return x.io.bytes / 1e6; }), per_unit(shard, [](const Side& x) { return x.io.bytes / 1e6; }));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dist_bench dispatch UNITS K | efficiency UNITS MIN_MS MAX_MS | write DIR UNITS GZIP PROMPTS.jsonl\n");
    return 2;
  }
  std::string mode = argv[1];
  if (mode == "write") return write_bench(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), argv[5]);
  Comm comm = comm_init(&argc, &argv);
  log_init(comm.rank, comm.size);
  spdlog::set_level(spdlog::level::warn);
  bool eff = mode == "efficiency";
  if (eff && argc > 4) {
    g_min_ms = std::atof(argv[3]);
    g_max_ms = std::atof(argv[4]);
  }
  int rc = sweep_bench(comm, eff, std::atoi(argv[2]), !eff && argc > 3 ? std::atoi(argv[3]) : 1);
  comm_finalize();
  return rc;
}
