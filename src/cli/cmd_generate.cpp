// `thinkprobe generate --model DIR [--adapter LORA_DIR] --prompt TEXT [--system S] [--prefill P] [--no-think] [--seed N] [sampling
// options]`: renders the model's chat template around the prompt, samples one continuation and prints the
// thinking and the answer separately, with the stop reason. `--prompt-ids 1,2,3` instead takes an already
// rendered prompt as token ids and prints ids (stop options by hand). --verbose adds per-token
// log-probabilities and entropies.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "engine_runner.h"
#include "generate/generate.h"
#include "model/lora.h"
#include "util/check.h"

namespace tp {

static std::vector<int64_t> parse_ids(const std::string& s, const char* opt) {
  std::vector<int64_t> ids;
  size_t p = 0;
  while (p < s.size()) {
    size_t q = s.find(',', p);
    std::string tok = s.substr(p, q == std::string::npos ? std::string::npos : q - p);
    try {
      ids.push_back(std::stoll(tok));
    } catch (const std::exception&) {
      throw Error(fmt::format("{}: '{}' is not an integer", opt, tok));
    }
    p = q == std::string::npos ? s.size() : q + 1;
  }
  return ids;
}

static std::string join_ids(const std::vector<int64_t>& v, int64_t b, int64_t e) {
  std::string s;
  for (int64_t i = std::max<int64_t>(b, 0); i < e && i < int64_t(v.size()); ++i) s += (s.empty() ? "" : ",") + std::to_string(v[i]);
  return s;
}

CommandRun add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "sample one continuation of a prompt and print the thinking and the answer");
  struct Opts {
    std::string model, adapter, prompt, system, prefill, prompt_ids, eos_ids, open_ids, force_ids, dtype = "auto", device = "auto";
    bool no_think = false;
    uint64_t seed = 0;
    SamplerConfig s;
    StopRules stop;
    int threads = 0;
    bool verbose = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "Hugging Face checkpoint folder")->required();
  cmd->add_option("--adapter", o->adapter, "LoRA adapter folder (PEFT layout) merged into the weights");
  auto* text = cmd->add_option("--prompt", o->prompt, "the user message; the model's chat template is rendered around it");
  auto* ids = cmd->add_option("--prompt-ids", o->prompt_ids, "comma-separated prompt token ids (an already rendered chat prompt)");
  text->excludes(ids);
  cmd->add_option("--system", o->system, "system message (with --prompt)");
  cmd->add_option("--prefill", o->prefill, "text placed at the start of the thinking (with --prompt)");
  cmd->add_flag("--no-think", o->no_think, "the template's thinking-off form (with --prompt)");
  cmd->add_option("--seed", o->seed, "the sample's seed")->capture_default_str();
  cmd->add_option("--temperature", o->s.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", o->s.top_p, "nucleus mass (1 = off)")->capture_default_str();
  cmd->add_option("--top-k", o->s.top_k, "keep the k most likely (0 = off)")->capture_default_str();
  cmd->add_option("--max-think", o->stop.max_think_tokens, "thinking budget")->capture_default_str();
  cmd->add_option("--max-answer", o->stop.max_answer_tokens, "answer budget")->capture_default_str();
  cmd->add_option("--eos-ids", o->eos_ids, "stop ids (default: config.json eos_token_id)");
  cmd->add_option("--think-open-ids", o->open_ids, "the thinking opener as the model writes it");
  cmd->add_flag("--prompt-opens-think", o->stop.prompt_opens_think, "the prompt already ends with the opener");
  cmd->add_option("--think-close-id", o->stop.think_close_id, "the id that closes thinking");
  cmd->add_option("--force-close-ids", o->force_ids, "ids appended when the thinking budget is spent");
  cmd->add_option("--dtype", o->dtype, "auto, float32 or bfloat16")->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu or cuda:N")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0 = libtorch default)");
  cmd->add_flag("--verbose", o->verbose, "also print per-token log-probabilities and entropies");
  return [o]() {
    if (o->threads > 0) at::set_num_threads(o->threads);
    at::Device device = device_from_name(o->device, 0);
    Model m = model_load(o->model, dtype_from_name(o->dtype, device), device);
    if (!o->adapter.empty()) lora_merge(m, o->adapter);
    GenOptions g;
    g.sampling = o->s;
    g.batch_size = 1;
    if (!o->prompt.empty()) {
      Tokenizer tok = tokenizer_load(o->model);
      ChatTemplate tmpl = chat_template_for(o->model, tok);
      ChatInput in{o->system, o->prompt, o->prefill, !o->no_think};
      RenderedPrompt rp = render(tmpl, tok, in);
      g.stop = chat_stop_rules(tmpl, tok, o->stop.max_think_tokens, o->stop.max_answer_tokens);
      g.stop.prompt_opens_think = rp.think_open_at_end;
      Sample s = generate(m, {{std::vector<int64_t>(rp.ids.begin(), rp.ids.end()), o->seed}}, g)[0];
      SampleText t = sample_text(tok, tmpl, rp, o->prefill, s);
      std::printf("thinking:\n%s\n\nanswer:\n%s\n\nstop: %s%s\n", t.thinking.c_str(), t.answer.c_str(), stop_reason_name(s.stop),
                  s.think_forced_close ? " (thinking force-closed at the budget)" : "");
      return 0;
    }
    if (o->prompt_ids.empty()) throw Error("generate: give --prompt TEXT or --prompt-ids 1,2,3");
    g.stop = o->stop;
    g.stop.eos_ids = o->eos_ids.empty() ? m.cfg.eos_ids : parse_ids(o->eos_ids, "--eos-ids");
    if (!o->open_ids.empty()) g.stop.think_open_ids = parse_ids(o->open_ids, "--think-open-ids");
    if (!o->force_ids.empty()) g.stop.force_close_ids = parse_ids(o->force_ids, "--force-close-ids");
    Sample s = generate(m, {{parse_ids(o->prompt_ids, "--prompt-ids"), o->seed}}, g)[0];
    const int64_t n = int64_t(s.tokens.size());
    std::printf("thinking: [%s]%s\n", join_ids(s.tokens, s.think_begin, s.think_end < 0 ? (s.think_begin < 0 ? 0 : n) : s.think_end).c_str(),
                s.think_forced_close ? " (force-closed at the budget)" : "");
    std::printf("answer: [%s]\n", join_ids(s.tokens, s.answer_begin < 0 ? n : s.answer_begin, n).c_str());
    std::printf("stop: %s\n", stop_reason_name(s.stop));
    if (o->verbose)
      for (int64_t i = 0; i < n; ++i)
        std::printf("%ld\t%ld\tlogprob %.4f\tentropy %.4f%s\n", long(i), long(s.tokens[i]), s.logprobs[i], s.entropy[i], s.forced[i] ? "\tforced" : "");
    return 0;
  };
}

}  // namespace tp
