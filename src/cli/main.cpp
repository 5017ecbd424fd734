// thinkprobe's entry point: registers the subcommands, parses the command line, runs the chosen one,
// and is the one place that catches errors (STYLE.md rule 8): a user error prints "thinkprobe: <what>"
// plus an optional HINT line and exits 2 (under mpirun: MPI_Abort, so no rank waits forever); nothing
// else is caught.
#include <cstdio>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "dist/comm.h"
#include "util/build_info.h"
#include "util/check.h"
#include "util/log.h"

int main(int argc, char** argv) {
  CLI::App app{"thinkprobe: does a reasoning model deliberate about safety while it thinks?\n"
               "Sweeps models x interventions x prompts on MPI/Slurm, captures hidden states to HDF5,\n"
               "and measures probes, refusal rates and lock-in.", "thinkprobe"};
  app.set_version_flag("--version", std::string("thinkprobe ") + tp::build_version() + " (" + tp::build_commit() + ")");
  app.require_subcommand(1);

  std::vector<std::pair<CLI::App*, tp::CommandRun>> commands;
  auto add = [&](tp::CommandRun (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    tp::CommandRun run = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(tp::add_validate);
  add(tp::add_plan);
  add(tp::add_submit);
  add(tp::add_status);
  add(tp::add_tokenize);
  add(tp::add_make_test_model);
  add(tp::add_logits);
  add(tp::add_run);
  add(tp::add_archive);
  add(tp::add_inspect);
  add(tp::add_reduce);
  add(tp::add_generate);
  add(tp::add_demo_model);

  CLI11_PARSE(app, argc, argv);
  tp::log_init(0, 1);
  int status = 0;
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) status = run();
  } catch (const tp::Error& e) {
    std::string where = tp::log_size() > 1 ? fmt::format(" [rank {}]", tp::log_rank()) : "";
    std::fprintf(stderr, "thinkprobe%s: %s\n", where.c_str(), e.what());
    if (!e.hint.empty()) std::fprintf(stderr, "HINT: %s\n", e.hint.c_str());
    // under mpirun the other ranks would wait for this one forever: take them all down
    if (tp::comm_active() && tp::log_size() > 1) tp::comm_abort(2);
    status = 2;
  }
  tp::comm_finalize();  // `run` is the only command that starts MPI
  return status;
}
