// The subcommands of the thinkprobe executable. Each lives in its own cmd_<name>.cpp, registers its
// options on the CLI11 app, and returns the process exit code when run. main.cpp lists them.
#pragma once
#include <functional>

namespace CLI { class App; }

namespace tp {

using CommandRun = std::function<int()>;
// Each add_* adds one subcommand to app and returns what runs it when it is the one chosen.
CommandRun add_validate(CLI::App& app);
CommandRun add_plan(CLI::App& app);
CommandRun add_submit(CLI::App& app);
CommandRun add_status(CLI::App& app);
CommandRun add_tokenize(CLI::App& app);
CommandRun add_make_test_model(CLI::App& app);
CommandRun add_logits(CLI::App& app);
CommandRun add_run(CLI::App& app);
CommandRun add_archive(CLI::App& app);
CommandRun add_inspect(CLI::App& app);
CommandRun add_generate(CLI::App& app);
CommandRun add_reduce(CLI::App& app);
CommandRun add_demo_model(CLI::App& app);

}  // namespace tp
