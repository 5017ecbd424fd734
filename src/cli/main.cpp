// thinkprobe's entry point: registers the subcommands, parses the command line, runs the chosen one,
// and is the one place that catches errors (STYLE.md rule 8): a user error prints "thinkprobe: <what>"
// plus an optional HINT line and exits 2; nothing else is caught.
#include <cstdio>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
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
  add(tp::add_make_test_model);
  add(tp::add_logits);
  add(tp::add_generate);

  CLI11_PARSE(app, argc, argv);
  tp::log_init(0, 1);
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const tp::Error& e) {
    std::fprintf(stderr, "thinkprobe: %s\n", e.what());
    if (!e.hint.empty()) std::fprintf(stderr, "HINT: %s\n", e.hint.c_str());
    return 2;
  }
  return 0;
}
