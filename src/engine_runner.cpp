// The real unit runner (see engine_runner.h): prompt -> intervention -> chat template -> generate ->
// thinking / answer text -> judge (answers) and stance labels (thinking) -> activation blocks.
#include "engine_runner.h"

#include <chrono>
#include <memory>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "capture/capture_plan.h"
#include "capture/recorder.h"
#include "generate/generate.h"
#include "intervene/decode_policy.h"
#include "intervene/intervention.h"
#include "intervene/steering.h"
#include "judge/judges.h"
#include "model/lora.h"
#include "model/transformer.h"
#include "model/weights.h"
#include "protocols/protocols.h"
#include "tokenizer/chat_template.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/text.h"

namespace tp {

namespace {

struct Loaded {
  int32_t model = -1;
  std::unique_ptr<Model> m;
  Tokenizer tok;
  ChatTemplate tmpl;
};

std::vector<int64_t> to_i64(const std::vector<int32_t>& v) { return {v.begin(), v.end()}; }
std::vector<int32_t> to_i32(const std::vector<int64_t>& v, size_t b, size_t e) {
  std::vector<int32_t> out;
  for (size_t i = b; i < e && i < v.size(); i++) out.push_back(static_cast<int32_t>(v[i]));
  return out;
}

CapturePos capture_pos(const std::string& name) {
  for (int i = 0; i < kNumCapturePos; i++)
    if (name == capture_pos_name(CapturePos(i))) return CapturePos(i);
  throw Error(fmt::format("capture.positions: unknown position '{}'", name));
}

}  // namespace

StopRules chat_stop_rules(const ChatTemplate& t, const Tokenizer& tok, int64_t max_think_tokens, int64_t max_answer_tokens) {
  StopRules r;
  r.eos_ids = to_i64(t.stop_ids);
  if (t.family == ChatFamily::HARMONY) {
    r.think_open_ids.push_back(t.channel_id);
    for (int32_t id : t.analysis_ids) r.think_open_ids.push_back(id);
    r.think_open_ids.push_back(t.message_id);
    r.think_close_id = t.end_id;
  } else {
    r.think_open_ids = {t.think_open_id};
    for (int32_t id : encode(tok, "\n")) r.think_open_ids.push_back(id);
    r.think_close_id = t.think_close_id;
  }
  r.force_close_ids = to_i64(t.force_close_ids);
  r.max_think_tokens = max_think_tokens;
  r.max_answer_tokens = max_answer_tokens;
  return r;
}

void cell_gen_init(CellGen& c, const JobSpec& job, const WorkUnit& unit, const Model& m, const ChatTemplate& t, const Tokenizer& tok,
                   bool prompt_opens_think) {
  const InterventionSpec& iv = job.interventions[unit.intervention];
  const SamplingSpec sampling = intervention_sampling(iv, job.models[unit.model].sampling);
  GenOptions& opt = c.opt;
  opt = GenOptions{};
  opt.sampling = {sampling.temperature, sampling.top_p, sampling.top_k};
  opt.stop = chat_stop_rules(t, tok, sampling.max_think_tokens, sampling.max_answer_tokens);
  opt.stop.prompt_opens_think = prompt_opens_think;
  opt.batch_size = job.run.batch_size;
  opt.kv_budget_bytes = job.run.kv_cache_mb << 20;
  if (iv.type == "steering") {
    c.steer = steering_for(iv, m);
    opt.steer = &c.steer;
  }
  if (is_decode_policy(iv.type)) {
    c.policy = decode_policy_for(iv, tok);
    opt.policy = &c.policy;
  }
}

SampleText sample_text(const Tokenizer& tok, const ChatTemplate& t, const RenderedPrompt& prompt, const std::string& prefill, const Sample& s) {
  SampleText out;
  size_t n = s.tokens.size();
  if (s.think_begin >= 0) {
    size_t end = s.think_end >= 0 ? static_cast<size_t>(s.think_end) : n;
    out.thinking = prefill + decode(tok, to_i32(s.tokens, static_cast<size_t>(s.think_begin), end));
  }
  out.answer = prompt.answer_open_at_end ? std::string(trim(decode(tok, to_i32(s.tokens, 0, n), true)))
                                         : strip_thinking(t, prompt, decode(tok, to_i32(s.tokens, 0, n)));
  return out;
}

UnitRunner engine_runner(const JobSpec& job, const std::vector<PromptSet>& sets, int device_index, int threads) {
  if (threads > 0) at::set_num_threads(threads);
  auto held = std::make_shared<Loaded>();
  std::shared_ptr<JudgeSet> judges = judges_new(job.judge, device_index);  // guard models load on first use, then stay
  auto dtype_name = [](at::ScalarType t) { return t == at::kBFloat16 ? "bfloat16" : t == at::kHalf ? "float16" : "float32"; };
  UnitRunner r;
  {  // what the archive records: the first model's device kind and dtype (every model resolves the same way)
    at::Device device = device_from_name(job.models[0].device, device_index);
    r.device_kind = device.is_cuda() ? "cuda" : "cpu";
    r.dtype = dtype_name(dtype_from_name(job.models[0].dtype, device));
  }
  r.load_model = [&job, held, device_index, dtype_name](int32_t model) {
    const ModelSpec& spec = job.models[model];
    held->m.reset();  // free the previous model before loading the next
    at::Device device = device_from_name(spec.device, device_index);
    at::ScalarType dtype = dtype_from_name(spec.dtype, device);
    auto t0 = std::chrono::steady_clock::now();
    held->m = std::make_unique<Model>(model_load(spec.path, dtype, device));
    if (!spec.adapter.empty()) lora_merge(*held->m, spec.adapter);
    held->tok = tokenizer_load(spec.path);
    held->tmpl = chat_template_for(spec.path, held->tok, spec.chat_template);
    held->model = model;
    spdlog::info("loaded model {} ({} layers, {}) on {} as {} in {:.1f} s", spec.id, held->m->cfg.n_layer, chat_family_name(held->tmpl.family),
                 device.str(), dtype_name(dtype), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  r.run = [&job, &sets, held, judges](const WorkUnit& unit) {
    TP_CHECK(held->model == unit.model);
    auto t0 = std::chrono::steady_clock::now();
    const Model& m = *held->m;
    const PromptSet& set = sets[unit.prompt_set];
    const InterventionSpec& iv = job.interventions[unit.intervention];
    if (unit.kind != UnitKind::SAMPLES) return run_protocol_unit(job, sets, unit, {m, held->tok, held->tmpl, *judges});

    // One rendered prompt per prompt of the unit; one request per (prompt, sample index), prompt-major.
    std::vector<RenderedPrompt> rendered;
    std::vector<std::string> prefills;  // thinking text the prompt already holds (think_prefill)
    std::vector<GenRequest> reqs;
    UnitResult res;
    for (int32_t p : unit.prompts) {
      const Prompt& prompt = set.prompts[p];
      ChatInput in = intervention_chat_input(iv, prompt.text);
      rendered.push_back(render(held->tmpl, held->tok, in));
      prefills.push_back(in.think_prefill);
      for (int32_t s = unit.sample_begin; s < unit.sample_end; s++) {
        SampleRow row;
        row.prompt = p;
        row.sample_index = s;
        row.seed = sample_seed(static_cast<uint64_t>(job.job.seed), set.id, prompt.id, s);
        reqs.push_back({to_i64(rendered.back().ids), row.seed});
        res.samples.push_back(std::move(row));
      }
    }
    CellGen cell;
    cell_gen_init(cell, job, unit, m, held->tmpl, held->tok, rendered.front().think_open_at_end);
    const GenOptions& opt = cell.opt;

    CapturePlan plan = capture_plan_from_spec(job.capture, m.cfg.n_layer);
    CaptureRecorder rec;
    capture_recorder_init(rec, plan, m.cfg.n_layer);
    std::vector<Sample> out = generate(m, reqs, opt, plan.empty() ? nullptr : &rec);

    const int32_t per_prompt = unit.sample_end - unit.sample_begin;
    for (size_t i = 0; i < out.size(); i++) {
      const Sample& g = out[i];
      SampleRow& row = res.samples[i];
      const RenderedPrompt& rp = rendered[i / per_prompt];
      row.n_prompt_tokens = static_cast<int32_t>(rp.ids.size());
      size_t n = g.tokens.size();
      SampleText text = sample_text(held->tok, held->tmpl, rp, prefills[i / per_prompt], g);
      row.thinking = std::move(text.thinking);
      row.answer = std::move(text.answer);
      if (g.think_begin >= 0) row.n_think_tokens = static_cast<int32_t>((g.think_end >= 0 ? static_cast<size_t>(g.think_end) : n) - g.think_begin);
      row.n_answer_tokens = g.answer_begin >= 0 ? static_cast<int32_t>(n - g.answer_begin) : 0;
      row.stop_reason = std::string(g.think_forced_close ? "think_budget," : "") + stop_reason_name(g.stop);
      row.events = decode_events_json(g.events, held->tok).dump();
      res.n_tokens += static_cast<int64_t>(n);
    }
    std::vector<JudgeInput> judged;
    for (const SampleRow& row : res.samples) judged.push_back({set.prompts[row.prompt].text, row.answer});
    judge_rows(*judges, judged, job.run.batch_size, job.reduce.tie_min_votes, res.samples);
    std::vector<StanceInput> stance;
    for (const SampleRow& row : res.samples) stance.push_back({job.models[unit.model].id, set.prompts[row.prompt].text, row.thinking});
    std::vector<StanceResult> labelled = stance_run(*judges, stance, job.run.batch_size);
    for (size_t i = 0; i < labelled.size(); i++) stance_set(res.samples[i], labelled[i]);
    // Captured states: one block per capture position, rows in sample order.
    std::vector<int32_t> layers = archive_layers(job.capture, m.cfg.n_layer);
    for (size_t pi = 0; pi < job.capture.positions.size(); pi++) {
      ActivationBlock b = activation_block(static_cast<int32_t>(pi), layers, m.cfg.n_embd, act_dtype(job.capture.dtype));
      CapturePos pos = capture_pos(job.capture.positions[pi]);
      for (size_t i = 0; i < out.size(); i++) {
        auto it = rec.samples.find(static_cast<int64_t>(i));
        if (it == rec.samples.end() || !it->second.at[int(pos)].defined()) continue;  // never reached (e.g. no thinking)
        capture_append_block(b, it->second.at[int(pos)], static_cast<int32_t>(i), pos == CapturePos::THINK_SPAN);
      }
      res.activations.push_back(std::move(b));
    }
    float seconds = std::chrono::duration<float>(std::chrono::steady_clock::now() - t0).count();
    for (auto& row : res.samples) row.seconds = seconds / static_cast<float>(res.samples.size());
    return res;
  };
  return r;
}

}  // namespace tp
