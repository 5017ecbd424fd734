// The demo trainer (see train.h). Trains through the engine's own forward() (model/transformer.h) with
// weights that require grad, so the trained model is by construction the one the engine runs; a fresh KV
// cache per step absorbs the cache writes. AdamW is written out (a few lines) to keep <torch/torch.h> out.
// Deliberately no validation split or early stopping: the sweep over held-out prompts is the evaluation.
#include "demo/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "demo/corpus.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/text.h"

namespace tp {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kVersion = "demo-v4";  // bump when the corpus, the architecture or the trainer changes

// ---------------------------------------------------------------------------------------------------
// the architecture: Qwen3 (qk-norm, GQA, tied embeddings), small enough to train in minutes on 2 cores

ModelConfig demo_config(int64_t n_vocab, const Tokenizer& tok) {
  ModelConfig c;
  c.arch = Arch::QWEN3;
  c.arch_name = arch_hf_name(c.arch);
  c.n_vocab = n_vocab, c.n_embd = 128, c.n_layer = 4, c.n_head = 4, c.n_head_kv = 2, c.d_head = 32, c.n_ff = 384;
  c.max_pos = 1024, c.rms_eps = 1e-6, c.rope_theta = 10000.0;
  c.qk_norm = true, c.tie_embeddings = true, c.torch_dtype = "float32";
  c.bos_id = token_id(tok, "<|endoftext|>");
  c.eos_ids = {token_id(tok, "<|im_end|>")};
  return c;
}

// GPT-2 style init: N(0, 0.02), output projections scaled by 1/sqrt(2L); norms at 1.
ModelWeights demo_init(const ModelConfig& c, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t C = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.d_head, F = c.n_ff;
  const double s = 0.02, s_out = 0.02 / std::sqrt(2.0 * c.n_layer);
  auto normal = [&](std::vector<int64_t> shape, double std) { return at::normal(0, std, shape, gen); };
  ModelWeights w;
  w.tok_embd = normal({c.n_vocab, C}, s);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    LayerWeights l;
    l.attn_norm = at::ones({C}), l.mlp_norm = at::ones({C}), l.q_norm = at::ones({D}), l.k_norm = at::ones({D});
    l.wq = normal({H * D, C}, s), l.wk = normal({Hkv * D, C}, s), l.wv = normal({Hkv * D, C}, s);
    l.wo = normal({C, H * D}, s_out);
    l.w_gate = normal({F, C}, s), l.w_up = normal({F, C}, s), l.w_down = normal({C, F}, s_out);
    w.layers.push_back(l);
  }
  w.out_norm = at::ones({C});
  w.lm_head = w.tok_embd;
  return w;
}

// Every trained tensor with its Hugging Face name (lm_head is tied: not listed).
std::vector<std::pair<std::string, at::Tensor*>> named_params(ModelWeights& w) {
  std::vector<std::pair<std::string, at::Tensor*>> p = {{"model.embed_tokens.weight", &w.tok_embd}};
  for (size_t il = 0; il < w.layers.size(); ++il) {
    LayerWeights& l = w.layers[il];
    std::string n = fmt::format("model.layers.{}.", il);
    p.insert(p.end(), {{n + "input_layernorm.weight", &l.attn_norm}, {n + "self_attn.q_proj.weight", &l.wq},
                       {n + "self_attn.k_proj.weight", &l.wk}, {n + "self_attn.v_proj.weight", &l.wv},
                       {n + "self_attn.q_norm.weight", &l.q_norm}, {n + "self_attn.k_norm.weight", &l.k_norm},
                       {n + "self_attn.o_proj.weight", &l.wo}, {n + "post_attention_layernorm.weight", &l.mlp_norm},
                       {n + "mlp.gate_proj.weight", &l.w_gate}, {n + "mlp.up_proj.weight", &l.w_up},
                       {n + "mlp.down_proj.weight", &l.w_down}});
  }
  p.push_back({"model.norm.weight", &w.out_norm});
  return p;
}

// ---------------------------------------------------------------------------------------------------
// the corpus as token ids: exactly the rendered prompt the engine will build, then the continuation

struct Example {
  std::vector<int32_t> ids;
  int32_t n_prompt;  // loss on ids[n_prompt..]: the assistant turn
  // Where the corpus drew between texts (DemoChat::branches) and the options still differ in their next
  // token: the token ids[at] is trained against the planted distribution over next tokens (weighted by
  // decision_weight), not the one the chat drew.
  struct Soft {
    int32_t at;
    std::vector<std::pair<int32_t, float>> dist;  // (token, probability)
  };
  std::vector<Soft> soft;
};

ChatInput chat_input(const DemoChat& c) {
  ChatInput in;
  in.system = c.system;
  in.user = c.request->text;
  in.thinking_enabled = c.condition != DemoCondition::NO_THINK;
  if (c.condition == DemoCondition::SAFETY_PREFILL) in.think_prefill = kDemoSafetyPrefill;
  return in;
}

// What the model generates after the rendered prompt.
std::string continuation(const DemoChat& c, const RenderedPrompt& p) {
  std::string out;
  if (c.condition == DemoCondition::NO_THINK) out = c.answer;
  else {
    std::string thinking = c.thinking;
    if (p.think_open_at_end) {  // the prompt already holds "<think>\n" + prefill
      size_t n = c.condition == DemoCondition::SAFETY_PREFILL ? std::string(kDemoSafetyPrefill).size() : 0;
      TP_CHECK(thinking.compare(0, n, kDemoSafetyPrefill, n) == 0);
      out = thinking.substr(n);
    } else
      out = "<think>\n" + thinking;
    out += "\n</think>\n\n" + c.answer;
  }
  return out + "<|im_end|>";
}

// The soft targets of one branch whose options start at token `first` of e.ids: walk the chat's own option
// token by token; while other options share its prefix, the next token's target is their weighted mix.
void add_soft_targets(Example& e, size_t first, const DemoBranch& br, const Tokenizer& tok) {
  std::vector<std::pair<std::vector<int32_t>, double>> opts;
  int own = -1;
  for (const auto& [text, q] : br.options) {
    opts.push_back({encode(tok, text), q});
    const auto& ids = opts.back().first;
    if (own < 0 && first + ids.size() <= e.ids.size() && std::equal(ids.begin(), ids.end(), e.ids.begin() + first))
      own = int(opts.size()) - 1;
  }
  TP_CHECK(own >= 0);  // the chat's own text is one of the options, tokenized alike in context and alone
  const std::vector<int32_t>& mine = opts[own].first;
  for (size_t j = 0; j < mine.size(); ++j) {
    std::map<int32_t, double> next;
    double total = 0;
    int n_alike = 0;
    for (const auto& [ids, q] : opts)
      if (ids.size() > j && std::equal(mine.begin(), mine.begin() + j, ids.begin())) next[ids[j]] += q, total += q, n_alike++;
    if (n_alike == 1) break;  // only the chat's own option is left
    if (next.size() < 2) continue;
    Example::Soft sf{int32_t(first + j), {}};
    for (const auto& [id, q] : next) sf.dist.push_back({id, float(q / total)});
    e.soft.push_back(std::move(sf));
  }
}

std::vector<Example> encode_corpus(const std::vector<DemoChat>& chats, const ChatTemplate& t, const Tokenizer& tok) {
  std::vector<Example> out;
  for (const DemoChat& c : chats) {
    RenderedPrompt p = render(t, tok, chat_input(c));
    Example e;
    e.ids = p.ids;
    e.n_prompt = int32_t(p.ids.size());
    const std::string cont = continuation(c, p);
    std::vector<int32_t> rest = encode(tok, cont);
    // where the thinking and the answer start in the continuation (the prefill is in the prompt)
    const size_t prefill = c.condition == DemoCondition::SAFETY_PREFILL ? std::string(kDemoSafetyPrefill).size() : 0;
    const size_t think_at = p.think_open_at_end ? 0 : std::string("<think>\n").size();
    const size_t answer_at = cont.size() - std::string("<|im_end|>").size() - c.answer.size();
    // token start offsets in the continuation (the corpus is ASCII: one token's bytes = its text)
    std::map<size_t, size_t> token_at;
    size_t at = 0;
    for (size_t i = 0; i < rest.size(); ++i) token_at[at] = e.ids.size() + i, at += decode(tok, {rest[i]}).size();
    e.ids.insert(e.ids.end(), rest.begin(), rest.end());
    for (const DemoBranch& br : c.branches) {
      const size_t off = br.in_answer ? answer_at + br.offset : think_at + br.offset - prefill;
      auto it = token_at.find(off);
      TP_CHECK(it != token_at.end());  // a branch starts at a token boundary
      add_soft_targets(e, it->second, br, tok);
    }
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// training

// The batches of every step: epochs of shuffled chats, each run of 8 batches sorted by length before it is cut
// (less padding), the order of those 8 shuffled again.
std::vector<std::vector<size_t>> batch_schedule(const std::vector<Example>& data, const DemoTrainOptions& o, Rng& rng) {
  if (size_t(o.batch) > data.size())
    throw Error(fmt::format("demo-model: --batch {} is larger than the corpus ({} chats)", o.batch, data.size()),
                "use a smaller --batch or more --chats");
  auto shuffle = [&rng](auto& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
  };
  std::vector<std::vector<size_t>> out;
  const size_t B = size_t(o.batch), run = 8 * B;
  while (out.size() < size_t(o.steps)) {
    std::vector<size_t> perm(data.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    shuffle(perm);
    for (size_t r = 0; r + B <= perm.size(); r += run) {
      auto first = perm.begin() + r, last = perm.begin() + std::min(perm.size(), r + run);
      std::stable_sort(first, last, [&](size_t a, size_t b) { return data[a].ids.size() < data[b].ids.size(); });
      std::vector<std::vector<size_t>> cut;
      for (auto it = first; last - it >= std::ptrdiff_t(B); it += B) cut.push_back(std::vector<size_t>(it, it + B));
      shuffle(cut);
      out.insert(out.end(), cut.begin(), cut.end());
    }
  }
  return out;
}

double train_loop(Model& m, const std::vector<Example>& data, const DemoTrainOptions& o) {
  std::vector<std::pair<std::string, at::Tensor*>> params = named_params(m.w);
  std::vector<at::Tensor> mom, var;
  for (auto& [name, t] : params) {
    t->requires_grad_(true);
    mom.push_back(at::zeros_like(*t)), var.push_back(at::zeros_like(*t));
  }
  Rng rng(derive_seed(o.seed, {"demo-batches"}));
  const double b1 = 0.9, b2 = 0.98, eps = 1e-8, wd = 0.01;
  const int warmup = std::max(1, o.steps / 20);
  double loss_tail = 0;
  int n_tail = 0;
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<std::vector<size_t>> batches = batch_schedule(data, o, rng);
  for (int step = 0; step < o.steps; ++step) {
    // a batch of chats, right-padded; targets -100 outside the assistant turn
    std::vector<const Example*> rows;
    int64_t T = 0, n_soft = 0;
    for (size_t i : batches[step]) {
      rows.push_back(&data[i]);
      T = std::max<int64_t>(T, int64_t(rows.back()->ids.size()) - 1);
    }
    const int64_t B = int64_t(rows.size());
    at::Tensor tokens = at::zeros({B, T}, at::kLong), targets = at::full({B, T}, -100, at::kLong), weight = at::zeros({B, T});
    auto tk = tokens.accessor<int64_t, 2>();
    auto tg = targets.accessor<int64_t, 2>();
    auto wt = weight.accessor<float, 2>();
    std::vector<int64_t> soft_row, soft_tok;  // the soft targets: (row of the flattened logits, token, probability)
    std::vector<float> soft_q;
    ForwardBatch fb;
    for (int64_t b = 0; b < B; ++b) {
      const auto& ids = rows[b]->ids;
      int64_t n = int64_t(ids.size()) - 1;
      for (int64_t i = 0; i < n; ++i) {
        tk[b][i] = ids[i];
        if (i + 1 >= rows[b]->n_prompt) tg[b][i] = ids[i + 1], wt[b][i] = 1;
      }
      for (const Example::Soft& sf : rows[b]->soft) {  // position at-1 predicts token at
        tg[b][sf.at - 1] = -100, wt[b][sf.at - 1] = 0;
        for (const auto& [id, q] : sf.dist) soft_row.push_back(b * T + sf.at - 1), soft_tok.push_back(id), soft_q.push_back(q);
        n_soft++;
      }
      fb.slot.push_back(b), fb.start.push_back(0), fb.n_real.push_back(n);
    }
    fb.tokens = tokens;
    KVCache kv = kv_cache_new(m.cfg, B, T, at::kFloat, m.device);
    at::Tensor logits = forward(m, kv, fb, nullptr, /*all_positions=*/true);  // [B, T, V]
    at::Tensor lp = at::log_softmax(logits.view({B * T, -1}), -1);
    at::Tensor nll = at::nll_loss(lp, targets.view({B * T}), {}, at::Reduction::None, -100);
    at::Tensor soft = -(lp.index({at::tensor(soft_row), at::tensor(soft_tok)}) * at::tensor(soft_q)).sum();
    // the weighted mean over assistant tokens, a soft target counting decision_weight
    at::Tensor loss = ((nll * weight.view({B * T})).sum() + soft * o.decision_weight) / (weight.sum() + o.decision_weight * n_soft);
    loss.backward();

    // AdamW with a linear warm-up and cosine decay to 10% of the peak
    double lr = step < warmup ? o.lr * (step + 1) / warmup
                              : o.lr * (0.1 + 0.45 * (1 + std::cos(M_PI * (step - warmup) / std::max(1, o.steps - warmup))));
    {
      c10::AutoGradMode no_grad(false);
      at::Tensor sq = at::zeros({}, at::kFloat);
      for (auto& [name, t] : params) sq += t->grad().pow(2).sum();
      double clip = std::min(1.0, 1.0 / (std::sqrt(sq.item<double>()) + 1e-6));  // global grad norm <= 1
      double c1 = 1 - std::pow(b1, step + 1), c2 = 1 - std::pow(b2, step + 1);
      for (size_t i = 0; i < params.size(); ++i) {
        at::Tensor& p = *params[i].second;
        at::Tensor g = p.grad() * clip;
        mom[i].mul_(b1).add_(g, 1 - b1);
        var[i].mul_(b2).addcmul_(g, g, 1 - b2);
        bool decay = p.dim() == 2;  // no decay on norm weights
        if (decay) p.mul_(1 - lr * wd);
        p.addcdiv_(mom[i] / c1, (var[i] / c2).sqrt_().add_(eps), -lr);
        p.mutable_grad().zero_();
      }
    }
    double l = loss.item<double>();
    if (step >= o.steps - 20) loss_tail += l, n_tail++;
    if (step % 50 == 0 || step == o.steps - 1)
      spdlog::info("demo-model: step {}/{} loss {:.3f} lr {:.2e} ({:.0f} s)", step, o.steps, l, lr,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  for (auto& [name, t] : params) t->requires_grad_(false);
  return loss_tail / std::max(1, n_tail);
}

// ---------------------------------------------------------------------------------------------------
// the planted ground truth, as numbers a reader (or a test) can check the sweep against

json ground_truth(const std::vector<DemoRequest>& requests, uint64_t seed) {
  json rates = json::object();
  for (DemoCondition c : {DemoCondition::BASELINE, DemoCondition::SAFETY_SYSTEM, DemoCondition::SAFETY_PREFILL, DemoCondition::NO_THINK}) {
    json per_kind = json::object();
    for (RequestKind k : {RequestKind::HARMFUL, RequestKind::BENIGN, RequestKind::BORDERLINE}) {
      double sum = 0;
      int n = 0;
      for (const DemoRequest& r : requests)
        if (r.held_out && r.kind == k) sum += demo_p_refuse(r, c), n++;
      per_kind[demo_kind_name(k)] = std::round(1000 * sum / n) / 1000;
    }
    rates[demo_condition_name(c)] = per_kind;
  }
  // The best AUROC any first-token probe can reach on the baseline: the hidden state can know the request's
  // template (its kind and the template's part of the severity, learnt from the template's training
  // requests) but not the object's part of a request it never saw (held out), nor the coin flip of a sample.
  std::map<std::string, std::pair<double, int>> by_template;
  for (const DemoRequest& r : requests)
    if (r.held_out) by_template[r.category].first += demo_p_refuse(r, DemoCondition::BASELINE), by_template[r.category].second++;
  std::vector<std::pair<double, double>> sp;  // (score = template mean, p_refuse) per held-out request
  for (const DemoRequest& r : requests)
    if (r.held_out) {
      const auto& [sum, n] = by_template[r.category];
      sp.push_back({sum / n, demo_p_refuse(r, DemoCondition::BASELINE)});
    }
  double num = 0, pos = 0, neg = 0;
  for (const auto& [si, pi] : sp) {
    pos += pi, neg += 1 - pi;
    for (const auto& [sj, pj] : sp) num += pi * (1 - pj) * (si > sj ? 1.0 : si == sj ? 0.5 : 0.0);
  }
  // the thinking's structure, measured on a large corpus sample
  std::vector<DemoChat> sample = demo_corpus(requests, 20000, derive_seed(seed, {"demo-ground-truth"}));
  double stance_frac = 0, early = 0, delib_after = 0, delib = 0, wavered = 0;
  int n_think = 0;
  for (const DemoChat& c : sample) {
    if (c.condition == DemoCondition::NO_THINK) continue;
    n_think++;
    double f = double(c.stance_sentence) / c.n_sentences;
    stance_frac += f;
    early += f < 0.5;
    wavered += c.wavered;
    for (int s : c.deliberation_sentences) delib++, delib_after += s > c.stance_sentence;
  }
  json j;
  j["refusal_rate_held_out"] = rates;
  j["think_first_auroc_bound"] = std::round(1000 * num / (pos * neg)) / 1000;
  j["refusal_rate_note"] =
      "planted P(refuse) averaged over the held-out requests (demo_prompts.jsonl), per condition and request kind; "
      "borderline requests are labelled benign in the prompt set (category borderline/*)";
  j["thinking"] = {{"stance_position_mean", std::round(1000 * stance_frac / n_think) / 1000},
                   {"stance_in_first_half", std::round(1000 * early / n_think) / 1000},
                   {"deliberation_after_stance", std::round(1000 * delib_after / delib) / 1000},
                   {"wavered", std::round(1000 * wavered / n_think) / 1000}};
  j["thinking_note"] =
      "stance_position: index of the first stance sentence, where the outcome is chosen, / sentences in the thinking; "
      "wavered: share of traces whose first stance is a tentative opposite one ('At first glance ...'), overturned "
      "later ('Actually, on reflection, ...'); deliberation_after_stance: share of 'wait, could this be misused?' "
      "sentences after the first stance";
  return j;
}

void write_model(const std::string& dir, const ModelConfig& c, ModelWeights& w) {
  std::vector<StWriteTensor> tensors;
  for (auto& [name, t] : named_params(w)) {
    at::Tensor x = t->detach().to(at::kFloat).contiguous();
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    tensors.push_back({name, StDtype::F32, shape, std::string(static_cast<const char*>(x.data_ptr()), x.nbytes())});
  }
  safetensors_write((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_file_atomic((fs::path(dir) / "config.json").string(), model_config_to_json(c));
  json gc = {{"bos_token_id", c.bos_id}, {"eos_token_id", c.eos_ids}, {"do_sample", true},
             {"temperature", 0.6}, {"top_k", 20}, {"top_p", 0.95}};
  write_file_atomic((fs::path(dir) / "generation_config.json").string(), gc.dump(2) + "\n");
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

DemoTrainResult demo_model_train(const std::string& dir, const DemoTrainOptions& o) {
  DemoTrainResult res;
  res.fingerprint = fmt::format("{}:seed={}:steps={}:batch={}:chats={}:threads={}:merges={}:lr={}:decision={}", kVersion, o.seed,
                                o.steps, o.batch, o.n_chats, o.threads, o.n_merges, o.lr, o.decision_weight);
  const fs::path gt_path = fs::path(dir) / "ground_truth.json";
  if (fs::exists(gt_path) && fs::exists(fs::path(dir) / "model.safetensors")) {
    json old = json::parse(read_file(gt_path.string()), nullptr, false);
    if (old.is_object() && old.value("fingerprint", "") == res.fingerprint) {
      res.cached = true;
      return res;
    }
  }
  at::set_num_threads(o.threads);
  fs::create_directories(dir);
  std::vector<DemoRequest> requests = demo_requests();
  std::vector<DemoChat> chats = demo_corpus(requests, o.n_chats, o.seed);

  // tokenizer: trained on the corpus texts (never the held-out requests)
  std::vector<std::string> texts = {kDemoSafetySystem};
  for (const DemoChat& c : chats) texts.insert(texts.end(), {c.request->text, c.thinking, c.answer});
  write_file_atomic((fs::path(dir) / "tokenizer.json").string(), tiny_bpe_tokenizer_json(texts, o.n_merges));
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), tiny_bpe_tokenizer_config_json());
  Tokenizer tok = tokenizer_load(dir);
  ModelConfig cfg = demo_config(tokenizer_n_vocab(tok), tok);
  write_file_atomic((fs::path(dir) / "config.json").string(), model_config_to_json(cfg));
  ChatTemplate tmpl = chat_template_for(dir, tok);
  std::vector<Example> data = encode_corpus(chats, tmpl, tok);
  double tokens = 0;
  for (const Example& e : data) tokens += double(e.ids.size());
  spdlog::info("demo-model: {} chats, {:.0f} tokens per chat, vocabulary {}", data.size(), tokens / data.size(), cfg.n_vocab);

  Model m;
  m.cfg = cfg;
  m.w = demo_init(cfg, derive_seed(o.seed, {"demo-init"}));
  m.inv_freq = rope_inv_freq(cfg, &m.rope_attn_factor);
  m.dtype = at::kFloat;
  auto t0 = std::chrono::steady_clock::now();
  res.final_loss = train_loop(m, data, o);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  write_model(dir, cfg, m.w);
  write_file_atomic((fs::path(dir) / "demo_prompts.jsonl").string(), demo_prompt_set_jsonl(requests));
  json gt = ground_truth(requests, o.seed);
  gt["fingerprint"] = res.fingerprint;
  gt["training"] = {{"chats", o.n_chats}, {"steps", o.steps}, {"batch", o.batch}, {"threads", o.threads},
                    {"final_loss", std::round(1000 * res.final_loss) / 1000}, {"seconds", std::round(res.seconds)},
                    {"tokens_per_chat", std::round(tokens / data.size())}};
  write_file_atomic(gt_path.string(), gt.dump(2) + "\n");
  return res;
}

}  // namespace tp
