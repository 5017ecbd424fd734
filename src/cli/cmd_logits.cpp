// `thinkprobe logits --model DIR [--adapter LORA_DIR] --ids 1,2,3 --out FILE.npy [--hidden-out H.npy]`: one forward pass over
// the given token ids; writes float32 logits [T, V] (and optionally the hidden states [L+1, T, C]: rows
// 0..L-1 the residual stream after each layer, row L the final-norm output) as .npy. Used by the
// float64 reference tests (tests/engine_reference.cmake).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "util/check.h"
#include "util/npy.h"

namespace tp {

CommandRun add_logits(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "write the logits of one forward pass as .npy");
  struct Opts {
    std::string model, adapter, ids, out, hidden_out, dtype = "float32", device = "cpu";
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "Hugging Face checkpoint folder")->required();
  cmd->add_option("--adapter", o->adapter, "LoRA adapter folder (PEFT layout) merged into the weights");
  cmd->add_option("--ids", o->ids, "comma-separated token ids")->required();
  cmd->add_option("--out", o->out, "output .npy file: float32 logits [T, vocab]")->required();
  cmd->add_option("--hidden-out", o->hidden_out, "also write hidden states [L+1, T, C] (float32) here");
  cmd->add_option("--dtype", o->dtype, "float32, bfloat16 or auto")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda:N or auto")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0 = libtorch default)");
  return [o]() {
    if (o->threads > 0) at::set_num_threads(o->threads);
    std::vector<int64_t> ids;
    size_t p = 0;
    while (p < o->ids.size()) {
      size_t q = o->ids.find(',', p);
      std::string tok = o->ids.substr(p, q == std::string::npos ? std::string::npos : q - p);
      try {
        ids.push_back(std::stoll(tok));
      } catch (const std::exception&) {
        throw Error(fmt::format("--ids: '{}' is not an integer", tok));
      }
      p = q == std::string::npos ? o->ids.size() : q + 1;
    }
    if (ids.empty()) throw Error("--ids: no token ids given");
    at::Device device = device_from_name(o->device, 0);
    Model m = model_load(o->model, dtype_from_name(o->dtype, device), device);
    if (!o->adapter.empty()) lora_merge(m, o->adapter);
    for (int64_t id : ids)
      if (id < 0 || id >= m.cfg.n_vocab) throw Error(fmt::format("--ids: {} is outside the vocabulary [0, {})", id, m.cfg.n_vocab));
    c10::InferenceMode guard;
    const int64_t T = int64_t(ids.size()), L = m.cfg.n_layer, C = m.cfg.n_embd;
    KVCache kv = kv_cache_new(m.cfg, 1, T, m.dtype, m.device);
    ForwardBatch fb{at::tensor(ids, at::kLong).view({1, T}).to(device), {0}, {0}, {T}};
    at::Tensor hidden = at::zeros({L + 1, T, C}, at::kFloat);
    Hooks hooks;
    hooks.want_resid.assign(L, 1);
    hooks.want_final_norm = true;
    hooks.observe = [&](HookSite, int64_t il, const at::Tensor& x) { hidden[il].copy_(x[0].to(at::kFloat).cpu()); };
    at::Tensor logits = forward(m, kv, fb, o->hidden_out.empty() ? nullptr : &hooks, /*all_positions=*/true)[0].cpu().contiguous();
    npy_write_f32(o->out, logits.data_ptr<float>(), {T, m.cfg.n_vocab});
    if (!o->hidden_out.empty()) npy_write_f32(o->hidden_out, hidden.data_ptr<float>(), {L + 1, T, C});
    return 0;
  };
}

}  // namespace tp
