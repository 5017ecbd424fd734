// `thinkprobe archive pack OUTDIR [-o FILE]`: one self-contained HDF5 file from a run's archive.h5 and
// shards, for archiving or sharing (same layout, virtual datasets materialised, activations gzip'd).
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "archive/assemble.h"
#include "cli/commands.h"
#include "util/check.h"

namespace tp {

CommandRun add_archive(CLI::App& app) {
  auto* cmd = app.add_subcommand("archive", "work with a run's archive");
  cmd->require_subcommand(1);
  auto* pack = cmd->add_subcommand("pack", "write one self-contained file from OUTDIR/archive.h5 and its shards");
  struct Opts {
    std::string outdir, output;
  };
  auto o = std::make_shared<Opts>();
  pack->add_option("outdir", o->outdir, "the job's output folder (holds archive.h5)")->required();
  pack->add_option("-o,--output", o->output, "the packed file (default OUTDIR/archive-packed.h5)");
  return [o]() {
    std::string in = o->outdir + "/archive.h5";
    if (!std::filesystem::exists(in))
      throw Error(o->outdir + " has no archive.h5", "it is written when thinkprobe run finishes; rerun the job to finish (it resumes)");
    std::string out = o->output.empty() ? o->outdir + "/archive-packed.h5" : o->output;
    int64_t rows = archive_pack(in, out);
    std::printf("packed %lld samples into %s (%.1f MB)\n", static_cast<long long>(rows), out.c_str(),
                static_cast<double>(std::filesystem::file_size(out)) / 1e6);
    return 0;
  };
}

}  // namespace tp
