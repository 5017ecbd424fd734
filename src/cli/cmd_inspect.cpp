// `thinkprobe inspect OUTDIR | FILE.h5`: what a run folder or an archive holds: the run's attempts and
// progress from its journal (also while the run is going on), the shards, and the archive's samples,
// refusal counts per model x intervention x label, and activation shapes.
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "archive/reader.h"
#include "cli/commands.h"
#include "dist/journal.h"
#include "util/check.h"

namespace fs = std::filesystem;

namespace tp {

namespace {

void print_journal(const std::string& outdir) {
  JournalState js = journal_read(outdir + "/journal.jsonl");
  if (!js.exists) throw Error(outdir + " has no journal.jsonl: not a thinkprobe run folder", "give the job's output folder, or an .h5 archive");
  std::printf("run %s of job %s (created %s)\n", js.run_id.c_str(), js.job_name.c_str(), js.created.c_str());
  int64_t total = 0;
  for (const auto& a : js.attempts) {
    total = a.value("units", int64_t{0});
    std::printf("  attempt %d: started %s, %s, %d ranks on %s\n", a.value("attempt", 0), a.value("start", "").c_str(),
                a.contains("end") ? ("ended " + a["end"].get<std::string>()).c_str() : "not finished (running, or killed)",
                a.value("ranks", 0), fmt::format("{}", fmt::join(a.value("hosts", std::vector<std::string>{}), ",")).c_str());
  }
  int64_t samples = 0, answers = 0;  // protocol units (ids ending /nested, /replay) journal /branches rows
  auto ends_with = [](const std::string& s, const std::string& x) { return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0; };
  for (const auto& [id, d] : js.done) (ends_with(id, "/nested") || ends_with(id, "/replay") ? answers : samples) += d.n_samples;
  std::printf("units done %zu / %lld, samples %lld, protocol answers %lld, failed in the last attempt %zu\n", js.done.size(),
              static_cast<long long>(total), static_cast<long long>(samples), static_cast<long long>(answers), js.failed.size());
  for (const auto& f : js.failed) std::printf("  failed %s after %d tries: %s\n", f.unit.c_str(), f.tries, f.error.c_str());
  if (fs::exists(outdir + "/shards"))
    for (const auto& e : fs::directory_iterator(outdir + "/shards"))
      std::printf("  shard %s %.2f MB\n", e.path().filename().c_str(), static_cast<double>(fs::file_size(e.path())) / 1e6);
}

void print_archive(const std::string& path) {
  ArchiveSummary a = archive_summary(path);
  std::printf("%s: %s, schema %s, run %s of job %s, thinkprobe %s (%s), %s .. %s\n", path.c_str(), a.kind.c_str(), a.schema_version.c_str(),
              a.run_id.c_str(), a.job_name.c_str(), a.version.c_str(), a.commit.c_str(), a.start.c_str(), a.end.c_str());
  std::printf("samples %lld; protocol answers (/branches) %lld; models %s; interventions %s\n", static_cast<long long>(a.n_samples),
              static_cast<long long>(a.n_branches), fmt::format("{}", fmt::join(a.models, ",")).c_str(),
              fmt::format("{}", fmt::join(a.interventions, ",")).c_str());
  for (const auto& [cell, n] : a.samples_by_cell)
    std::printf("  %-48s %6lld samples, refused %5.1f%%\n", cell.c_str(), static_cast<long long>(n), 100.0 * a.refused_by_cell[cell] / n);
  for (const auto& [key, dims] : a.activations)
    std::printf("  activations %-32s [%s]\n", key.c_str(), fmt::format("{}", fmt::join(dims, ", ")).c_str());
}

}  // namespace

CommandRun add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "summarise a run folder (also while it runs) or an archive file");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "the job's output folder, or an archive .h5 file")->required();
  return [path]() {
    if (fs::is_directory(*path)) {
      print_journal(*path);
      if (fs::exists(*path + "/archive.h5")) print_archive(*path + "/archive.h5");
    } else {
      print_archive(*path);
    }
    return 0;
  };
}

}  // namespace tp
