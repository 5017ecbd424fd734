// `thinkprobe demo-model OUTDIR [--seed N] [--steps N] [--batch N] [--lr X] [--threads N] ...`: trains the embedded demo model on
// CPU and writes it in Hugging Face layout (demo/train.h); a folder that already holds the same model
// (same fingerprint) is left as it is. docs/demo.md describes what is planted in it.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "demo/train.h"

namespace tp {

CommandRun add_demo_model(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo-model", "train the small demo reasoning model on CPU (Hugging Face layout)");
  struct Opts {
    std::string dir;
    DemoTrainOptions t;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("dir", o->dir, "output folder")->required();
  cmd->add_option("--seed", o->t.seed, "seed of the corpus, the initial weights and the batches")->capture_default_str();
  cmd->add_option("--steps", o->t.steps, "optimizer steps")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--chats", o->t.n_chats, "training chats in the synthetic corpus")->capture_default_str()->check(CLI::Range(100, 10000000));
  cmd->add_option("--batch", o->t.batch, "chats per optimizer step")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--merges", o->t.n_merges, "BPE merges of the demo tokenizer")->capture_default_str()->check(CLI::Range(0, 4000));
  cmd->add_option("--lr", o->t.lr, "peak learning rate")->capture_default_str()->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--decision-weight", o->t.decision_weight, "loss weight of the tokens that choose the outcome")->capture_default_str()->check(CLI::Range(1.0, 100.0));
  cmd->add_option("--threads", o->t.threads, "CPU threads")->capture_default_str()->check(CLI::Range(1, 1024));
  return [o]() {
    DemoTrainResult r = demo_model_train(o->dir, o->t);
    if (r.cached)
      fmt::print("{}: already holds the demo model ({}); nothing to do\n", o->dir, r.fingerprint);
    else
      fmt::print("{}: demo model trained in {:.0f} s (final loss {:.3f} nats/token)\n", o->dir, r.seconds, r.final_loss);
    return 0;
  };
}

}  // namespace tp
