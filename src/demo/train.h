// Trains the demo model: the synthetic corpus (demo/corpus.h) -> a tiny byte-level BPE tokenizer in Qwen3's
// format -> a small Qwen3-architecture decoder trained on CPU (next-token loss on the assistant turn, the
// outcome-choosing tokens against the corpus's planted probabilities, AdamW, cosine schedule) -> a Hugging Face folder that model_load()/tokenizer_load() read like any checkpoint,
// plus demo_prompts.jsonl (the held-out requests) and ground_truth.json (the planted numbers).
// Deterministic for a given seed and thread count on a given machine. Called by `thinkprobe demo-model`.
#pragma once
#include <cstdint>
#include <string>

namespace tp {

struct DemoTrainOptions {
  uint64_t seed = 1;
  int steps = 400;       // optimizer steps
  int batch = 16;        // chats per step
  int n_chats = 6000;    // training corpus size
  int threads = 1;       // at::set_num_threads (2 spins badly when the cores are shared)
  int n_merges = 500;    // BPE merges: sub-word pieces, so that held-out words are made of trained tokens
  double lr = 6e-3;      // peak learning rate (linear warm-up, cosine decay to 10%)
  double decision_weight = 5;  // loss weight of the tokens that choose the outcome (trained against the planted
                               // distribution at the corpus's branches): > 1 learns the rates in fewer steps
};

struct DemoTrainResult {
  bool cached = false;   // the folder already held a model with the same fingerprint: nothing was done
  double seconds = 0;    // wall time of the training loop
  double final_loss = 0; // mean loss of the last 20 steps (nats per assistant token)
  std::string fingerprint;
};

DemoTrainResult demo_model_train(const std::string& dir, const DemoTrainOptions& o);

}  // namespace tp
