// `thinkprobe reduce OUTDIR [--out DIR] [reduce.key=value ...]`: the archive's measurements
// (reduce/reducer.h) as OUTDIR/reduce/results.json, the probes' directions as directions.safetensors, a
// self-contained report.html drawn by analysis/plot_report.py (skipped, with the reason, when Python or
// matplotlib is missing), and a summary table on stdout. Settings: the reduce section of the job stored
// in the archive, plus overrides. Under mpirun the cells are shared out; rank 0 gathers and writes.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <sys/resource.h>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "archive/reader.h"
#include "cli/commands.h"
#include "dist/comm.h"
#include "reduce/reduce_gather.h"
#include "reduce/reducer.h"
#include "util/build_info.h"
#include "util/check.h"
#include "util/process.h"
#include "util/text.h"

namespace fs = std::filesystem;

namespace tp {

namespace {

// analysis/plot_report.py: $THINKPROBE_PLOT, else next to the source tree the executable was built in.
std::string find_plotter() {
  if (const char* p = std::getenv("THINKPROBE_PLOT")) return p;
  fs::path exe = fs::path(self_exe_path()).parent_path();
  for (const fs::path& c : {exe / "../analysis/plot_report.py", exe / "../share/thinkprobe/analysis/plot_report.py"})
    if (fs::exists(c)) return fs::weakly_canonical(c).string();
  return "";
}

std::string fmt_rate(const nlohmann::json& e) {
  if (e["value"].is_null()) return "-";
  return fmt::format("{:.3f} [{:.3f},{:.3f}]", e["value"].get<double>(), e["lo"].is_null() ? NAN : e["lo"].get<double>(),
                     e["hi"].is_null() ? NAN : e["hi"].get<double>());
}

// One line per cell: n, ASR and ORR (majority), and the headline probe: pooled, at think_first (the
// paper's first thinking token; else the first probed position) and the highest captured layer.
void print_summary(const nlohmann::json& r) {
  std::printf("%-16s %-14s %6s  %-22s %-22s %s\n", "model", "intervention", "n", "ASR [95% CI]", "ORR [95% CI]",
              "pooled probe AUROC [95% CI] (position, last layer)");
  for (const auto& c : r["cells"]) {
    std::string asr = "-", orr = "-", probe = "-";
    for (const auto& b : c["behaviour"])
      if (b["by"] == "all") (b["metric"] == "asr" ? asr : orr) = fmt_rate(b["majority"]);
    const nlohmann::json* head = nullptr;
    for (const auto& p : c["probes"]) {
      if (p["group"] != "pooled") continue;
      const bool better_pos = head && p["position"] == "think_first" && (*head)["position"] != "think_first";
      const bool same_pos_higher = head && p["position"] == (*head)["position"] && p["layer"] > (*head)["layer"];
      if (!head || better_pos || same_pos_higher) head = &p;
    }
    if (head)
      probe = fmt::format("{} ({}, layer {})", fmt_rate((*head)["auroc"]), (*head)["position"].get<std::string>(), (*head)["layer"].get<int>());
    else if (!c["notes"].empty())
      probe = c["notes"][0]["why"].get<std::string>();
    std::printf("%-16s %-14s %6lld  %-22s %-22s %s\n", c["model"].get<std::string>().c_str(), c["intervention"].get<std::string>().c_str(),
                static_cast<long long>(c["n"]["samples"].get<int64_t>()), asr.c_str(), orr.c_str(), probe.c_str());
  }
}

struct ReduceOpts {
  std::string outdir, out;
  std::vector<std::string> overrides;
};
int reduce_main(const ReduceOpts& opts, const Comm& comm) {
  const ReduceOpts* o = &opts;
  const bool is_file = fs::is_regular_file(o->outdir);
  const std::string archive = is_file ? o->outdir : o->outdir + "/archive.h5";
  if (!fs::exists(archive))
    throw Error(archive + " does not exist", "give a run folder whose run finished (thinkprobe status OUTDIR), or an archive file");
  nlohmann::json job;
  {
    Hid f = archive_file_open(archive, "archive");
    std::string text = h5_read_text(f, "/meta/job_resolved");
    job = nlohmann::json::parse(text, nullptr, false);
    if (job.is_discarded()) throw Error(archive + ": /meta/job_resolved is not JSON", "the archive is damaged");
  }
  ReduceSpec spec = reduce_spec_from_job(job, o->overrides);
  int64_t threads = job.contains("run") ? job["run"].value("threads", int64_t{0}) : 0;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()) / std::max(1, comm.local_size));
  at::set_num_threads(static_cast<int>(threads > 0 ? threads : std::max(1, cores)));
  std::string span_mode = job.contains("capture") ? job["capture"].value("span_mode", std::string("hop")) : "hop";

  std::vector<NamedVector> dirs;
  nlohmann::json r = reduce_archive(archive, spec, span_mode, &dirs, comm.rank, comm.size);
  reduce_gather(r, dirs, comm.rank, comm.size);
  if (comm.rank != 0) {
    comm_finalize();
    return 0;
  }
  r["thinkprobe_version"] = std::string(build_version()) + " " + build_commit();
  r["job"] = job;
  const std::string out = o->out.empty() ? (is_file ? fs::path(archive).parent_path().string() : o->outdir) + "/reduce" : o->out;
  fs::create_directories(out);
  write_file_atomic(out + "/results.json", r.dump(1) + "\n");
  directions_write(out + "/directions.safetensors", dirs, archive);
  comm_finalize();
  print_summary(r);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("results: %s/results.json\ndirections: %s/directions.safetensors (%zu tensors)\npeak memory: %.0f MB (rank 0 of %d)\n",
              out.c_str(), out.c_str(), dirs.size(), ru.ru_maxrss / 1024.0, comm.size);

  const std::string plotter = find_plotter();
  const char* py = std::getenv("THINKPROBE_PYTHON");
  if (plotter.empty()) {
    std::printf("report: skipped (analysis/plot_report.py not found; set THINKPROBE_PLOT)\n");
    return 0;
  }
  ProcessResult p = process_run({py ? py : "/usr/bin/python3", plotter, out + "/results.json", out + "/report.html"});
  if (p.status == 0) std::printf("report: %s/report.html\n", out.c_str());
  else std::printf("report: skipped (%s exited %d: %s)\n", plotter.c_str(), p.status, p.err.empty() ? p.out.c_str() : p.err.c_str());
  return 0;
}

}  // namespace

CommandRun add_reduce(CLI::App& app) {
  auto* cmd = app.add_subcommand("reduce", "measure a finished run: behaviour (ASR/ORR), probes per position and layer, the refusal "
                                           "valley; writes results.json and report.html");
  auto o = std::make_shared<ReduceOpts>();
  cmd->add_option("outdir", o->outdir, "the run folder (holds archive.h5), or an archive .h5 file")->required();
  cmd->add_option("overrides", o->overrides, "reduce.key=value overrides of the job's reduce section");
  cmd->add_option("--out", o->out, "where to write results.json and report.html (default OUTDIR/reduce)");
  return [o]() {
    Comm comm = comm_init(nullptr, nullptr);
    try {
      return reduce_main(*o, comm);
    } catch (...) {
      if (comm.size > 1) {  // the other ranks would wait for this one's cells forever
        try { throw; } catch (const std::exception& e) { std::fprintf(stderr, "error (reduce rank %d): %s\n", comm.rank, e.what()); }
        comm_abort(1);
      }
      throw;
    }
  };
}

}  // namespace tp
