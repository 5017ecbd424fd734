// Generation loop (see generate.h). Per iteration: admit queued requests into free slots (prefill them,
// or fork the cache of a slot holding the same prompt), draw their first tokens, then one decode step
// over every live slot. Each sample draws only from its own Rng, so its tokens do not depend on its
// batch neighbours or on the slot it lands in. A decode policy (GenOptions::policy) acts per slot through
// three mechanics: replacing a draw (redrawn from the same logits under a new rule), forced ids (pending),
// and a rewind (the slot's output and cache length cut back; stale cache positions are masked by position).
#include "generate/generate.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>

#include <ATen/ATen.h>

#include "capture/recorder.h"
#include "model/device_memory.h"
#include "util/check.h"

namespace tp {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::EOS: return "eos";
    case StopReason::ANSWER_BUDGET: return "answer_budget";
    case StopReason::LENGTH: return "length";
  }
  return "?";
}

namespace {

enum class Phase { OPENING, THINK, ANSWER };

struct Seq {
  int64_t req = -1;               // request index; -1 = free slot
  int64_t len = 0;                // positions in the cache
  std::optional<Rng> rng;
  Phase phase = Phase::OPENING;
  int64_t n_think = 0, n_answer = 0;
  int64_t think_limit = 0;        // thinking tokens before the force-close: the budget (extended thinking raises it)
  std::deque<int64_t> pending;    // forced tokens still to take
  bool done = false;
  at::Tensor prompt_logits;       // [V] float32 logits after the prompt (for forks)
  // decode policy state (intervene/decode_policy.h)
  bool extended = false;          // extended thinking: the natural end was seen (close and EOS banned while thinking)
  RemindState remind;
  PsrState psr;
  int64_t reflect_mark = -1;      // PSR: output index where the running reflection begins (-1: none)
  int64_t n_reflected = 0;        // PSR: reflection tokens generated so far
};

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Appends the chosen token and advances the thinking/answer state machine.
void accept(Seq& s, Sample& out, const TokenDraw& d, bool forced, const StopRules& r) {
  const int64_t i = int64_t(out.tokens.size()), t = d.token;
  out.tokens.push_back(t);
  out.logprobs.push_back(d.logprob);
  out.entropy.push_back(d.entropy);
  out.forced.push_back(forced ? 1 : 0);
  auto start_thinking = [&](int64_t begin) {
    s.phase = Phase::THINK;
    out.think_begin = begin;
    if (r.max_think_tokens == 0) s.pending.assign(r.force_close_ids.begin(), r.force_close_ids.end()), out.think_forced_close = true;
  };
  if (s.phase == Phase::OPENING) {
    if (contains(r.eos_ids, t)) return void((s.done = true, out.stop = StopReason::EOS));
    if (i < int64_t(r.think_open_ids.size()) && t == r.think_open_ids[i]) {
      if (i == 0) out.think_open = 0;
      if (i + 1 == int64_t(r.think_open_ids.size())) start_thinking(i + 1);
      return;
    }
    if (i > 0) start_thinking(i);           // opener written partly: thinking starts here
    else s.phase = Phase::ANSWER, out.answer_begin = 0;  // the model skipped thinking
  }
  if (s.phase == Phase::THINK) {
    if (t == r.think_close_id) {
      out.think_end = i, out.answer_begin = i + 1, s.phase = Phase::ANSWER;
      return;
    }
    if (contains(r.eos_ids, t)) return void((s.done = true, out.stop = StopReason::EOS));
    if (++s.n_think >= s.think_limit && !forced && s.pending.empty()) {
      s.pending.assign(r.force_close_ids.begin(), r.force_close_ids.end());
      out.think_forced_close = true;
    }
    return;
  }
  if (contains(r.eos_ids, t)) return void((s.done = true, out.stop = StopReason::EOS));
  if (++s.n_answer >= r.max_answer_tokens) s.done = true, out.stop = StopReason::ANSWER_BUDGET;
}

// Forgets output tokens from k on (k within the thinking): the slot's next feed is token k-1 again (the
// prompt's last token when k = 0), which rewrites the cache from there; later positions are never attended.
void rewind(Seq& s, Sample& out, int64_t k, int64_t n_prompt) {
  out.tokens.resize(k), out.logprobs.resize(k), out.entropy.resize(k), out.forced.resize(k);
  s.len = n_prompt + k - 1;
  s.n_think = k - out.think_begin;
}

// Capture tags of output token i (about to be fed).
uint8_t token_tags(const Sample& o, int64_t i) {
  uint8_t tags = 0;
  if (i == o.think_open) tags |= capture_bit(CapturePos::THINK_OPEN);
  if (i == o.think_begin) tags |= capture_bit(CapturePos::THINK_FIRST);
  if (o.think_begin >= 0 && i >= o.think_begin && (o.think_end < 0 || i < o.think_end)) tags |= capture_bit(CapturePos::THINK_SPAN);
  if (i == o.think_end) tags |= capture_bit(CapturePos::THINK_CLOSE);
  if (i == o.answer_begin) tags |= capture_bit(CapturePos::ANSWER_FIRST);
  return tags;
}

}  // namespace

GenPlan generate_plan(const Model& m, const std::vector<GenRequest>& reqs, const GenOptions& opt) {
  const StopRules& r = opt.stop;
  int64_t longest = 0;
  for (const auto& q : reqs) longest = std::max<int64_t>(longest, int64_t(q.prompt.size()));
  GenPlan p;
  p.t_max = longest + int64_t(r.think_open_ids.size()) + r.max_think_tokens + int64_t(r.force_close_ids.size()) + r.max_answer_tokens + 1;
  if (opt.policy) p.t_max += decode_policy_extra_positions(*opt.policy, r.max_think_tokens);
  p.n_slot = std::max<int64_t>(1, std::min<int64_t>(opt.batch_size, int64_t(reqs.size())));
  int64_t budget = opt.kv_budget_bytes;
  if (budget == 0) budget = m.device.is_cpu() ? host_available_bytes() / 2 : m.kv_budget_default;  // 0: unknown, no cap
  if (budget > 0) {
    int64_t per_slot = kv_cache_bytes_per_token(m.cfg, m.dtype) * p.t_max;
    int64_t fit = budget / per_slot;
    if (fit < 1)
      throw Error(fmt::format("KV cache budget of {} MiB cannot hold one sequence of {} tokens ({} MiB)", budget >> 20,
                              p.t_max, per_slot >> 20),
                  "raise run.kv_cache_mb, or lower sampling.max_think_tokens / max_answer_tokens");
    p.n_slot = std::min(p.n_slot, fit);
  }
  return p;
}

std::vector<Sample> generate(const Model& m, const std::vector<GenRequest>& reqs, const GenOptions& opt, CaptureRecorder* capture) {
  const StopRules& r = opt.stop;
  for (const auto& q : reqs) {
    if (q.prompt.empty()) throw Error("generate: a request has an empty prompt");
    for (int64_t id : q.prompt)
      if (id < 0 || id >= m.cfg.n_vocab) throw Error(fmt::format("generate: prompt token {} is outside the vocabulary [0, {})", id, m.cfg.n_vocab));
  }
  c10::InferenceMode inference;
  const GenPlan plan = generate_plan(m, reqs, opt);
  KVCache kv = kv_cache_new(m.cfg, plan.n_slot, plan.t_max, m.dtype, m.device);
  std::vector<Seq> slots(plan.n_slot);
  std::vector<Sample> out(reqs.size());
  size_t next_req = 0;
  auto tokens_tensor = [&](const std::vector<int64_t>& v, int64_t B, int64_t T) {
    return at::tensor(v, at::kLong).view({B, T}).to(m.device);
  };
  auto finish = [&](Seq& s) {
    if (capture) capture_finish_sample(*capture, s.req);
    s = Seq();
  };

  // ---- decode policy (opt.policy): its decisions are intervene/decode_policy.h's; here the mechanics
  const DecodePolicy* pol = opt.policy;
  std::vector<int64_t> close_and_eos = r.eos_ids;  // extended thinking bans these until its force-close
  if (r.think_close_id >= 0) close_and_eos.push_back(r.think_close_id);
  // PSR: a reflection token of slot s. When the reflection is complete, the verdict decides how much of the
  // output to keep, and the reflection itself is always cut away.
  auto reflect = [&](Seq& s, const TokenDraw& d, bool forced) {
    Sample& o = out[s.req];
    o.tokens.push_back(d.token), o.logprobs.push_back(d.logprob), o.entropy.push_back(d.entropy), o.forced.push_back(forced);
    if (forced || (++s.n_reflected < pol->psr_reflect_tokens && !contains(r.eos_ids, d.token))) return;
    const int64_t mark = s.reflect_mark, think_at = mark - o.think_begin;
    std::vector<int64_t> ids(o.tokens.begin() + mark + int64_t(pol->psr_prompt_ids.size()), o.tokens.end());
    PsrVerdict v = pol->psr_judge ? pol->psr_judge(ids) : PsrVerdict::UNCLEAR;
    int64_t keep = psr_after_verdict(s.psr, v, mark, o.think_begin);
    o.events.push_back({DecodeEventKind::REFLECT, think_at, int64_t(v), 0, std::move(ids)});
    if (keep < mark) o.events.push_back({DecodeEventKind::BACKTRACK, think_at, keep - o.think_begin, 0, {}});
    const int64_t n_prompt = int64_t(reqs[s.req].prompt.size());
    rewind(s, o, keep, n_prompt);
    if (capture) capture_rewind(*capture, s.req, n_prompt + keep);
    s.reflect_mark = -1, s.n_reflected = 0;
  };
  // Takes slot s's drawn token. Returns true when the policy replaced the draw: s's rule or pending changed,
  // and the token is drawn again from the same logits.
  auto take = [&](Seq& s, const TokenDraw& d, bool forced) {
    if (s.reflect_mark >= 0) return reflect(s, d, forced), false;
    Sample& o = out[s.req];
    if (pol && !forced && s.phase == Phase::THINK) {
      if (pol->kind == DecodeKind::EXTEND && !s.extended && (d.token == r.think_close_id || contains(r.eos_ids, d.token))) {
        s.extended = true;
        const int64_t extra = extend_extra_tokens(pol->extend_ratio, s.n_think);
        o.events.push_back({DecodeEventKind::EXTEND, s.n_think, extra, 0, {}});
        if (extra > 0) return s.think_limit = s.n_think + extra, true;
      }
      if (pol->kind == DecodeKind::REMIND && saferemind_step(*pol, s.remind, d.entropy)) {
        o.events.push_back({DecodeEventKind::REMIND, s.n_think, d.token, d.entropy, {}});
        s.pending.assign(pol->remind_ids.begin(), pol->remind_ids.end());
        return true;
      }
    }
    accept(s, o, d, forced, r);
    if (pol && pol->kind == DecodeKind::PSR && !forced && !s.done && s.phase == Phase::THINK && s.pending.empty() &&
        psr_should_reflect(*pol, s.psr, s.n_think)) {
      s.reflect_mark = int64_t(o.tokens.size());
      s.pending.assign(pol->psr_prompt_ids.begin(), pol->psr_prompt_ids.end());
    }
    return false;
  };
  // Draws the next token of each slot in rows from logits [rows, V] and takes it.
  std::function<void(const std::vector<int64_t>&, const at::Tensor&)> draw_rows = [&](const std::vector<int64_t>& rows, const at::Tensor& logits) {
    std::vector<Rng*> rngs;
    std::vector<int64_t> forced;
    std::vector<DrawRule> rules;
    for (int64_t sl : rows) {
      Seq& s = slots[sl];
      rngs.push_back(&*s.rng);
      forced.push_back(s.pending.empty() ? -1 : s.pending.front());
      if (pol) rules.push_back({s.reflect_mark >= 0, s.extended && s.phase == Phase::THINK ? close_and_eos : std::vector<int64_t>()});
    }
    std::vector<TokenDraw> draws = sampler_draw(logits, opt.sampling, rngs, forced, rules);
    std::vector<int64_t> again_rows, again_idx;
    for (size_t b = 0; b < rows.size(); ++b) {
      Seq& s = slots[rows[b]];
      if (forced[b] >= 0) s.pending.pop_front();
      if (take(s, draws[b], forced[b] >= 0)) again_rows.push_back(rows[b]), again_idx.push_back(int64_t(b));
    }
    if (!again_rows.empty()) draw_rows(again_rows, logits.index_select(0, at::tensor(again_idx, at::kLong).to(logits.device())));
  };

  while (true) {
    // ---- admit: free slots take the next requests, in order
    std::vector<int64_t> admitted;
    for (int64_t sl = 0; sl < plan.n_slot && next_req < reqs.size(); ++sl)
      if (slots[sl].req < 0) {
        Seq& s = slots[sl];
        s.req = int64_t(next_req++);
        s.rng.emplace(reqs[s.req].seed);
        s.len = int64_t(reqs[s.req].prompt.size());
        s.think_limit = r.max_think_tokens;
        if (r.prompt_opens_think) {
          s.phase = Phase::THINK;
          out[s.req].think_begin = 0;
          if (r.max_think_tokens == 0) s.pending.assign(r.force_close_ids.begin(), r.force_close_ids.end()), out[s.req].think_forced_close = true;
        }
        admitted.push_back(sl);
      }
    if (!admitted.empty()) {
      // prefix sharing: a slot whose prompt another live (or earlier admitted) slot holds forks its cache
      std::vector<int64_t> leaders, fork_src(plan.n_slot, -1);
      for (int64_t sl : admitted) {
        const auto& prompt = reqs[slots[sl].req].prompt;
        if (opt.share_prefixes)
          for (int64_t o = 0; o < plan.n_slot && fork_src[sl] < 0; ++o)
            if (o != sl && slots[o].req >= 0 && fork_src[o] < 0 && reqs[slots[o].req].prompt == prompt &&
                (slots[o].prompt_logits.defined() || std::find(leaders.begin(), leaders.end(), o) != leaders.end()))
              fork_src[sl] = o;
        if (fork_src[sl] < 0) leaders.push_back(sl);
      }
      // chunked, batched prefill of the leaders (right padding, per-row lengths)
      std::vector<int64_t> done_tok(plan.n_slot, 0);
      while (true) {
        std::vector<int64_t> rows;
        int64_t T = 0;
        for (int64_t sl : leaders) {
          int64_t left = int64_t(reqs[slots[sl].req].prompt.size()) - done_tok[sl];
          if (left > 0) rows.push_back(sl), T = std::max(T, std::min(left, opt.prefill_chunk));
        }
        if (rows.empty()) break;
        const int64_t B = int64_t(rows.size());
        std::vector<int64_t> tok(B * T, 0), start(B), n_real(B);
        std::vector<CapturePoint> points;
        for (int64_t b = 0; b < B; ++b) {
          const auto& prompt = reqs[slots[rows[b]].req].prompt;
          const int64_t P = int64_t(prompt.size());
          start[b] = done_tok[rows[b]];
          n_real[b] = std::min(T, P - start[b]);
          std::copy(prompt.begin() + start[b], prompt.begin() + start[b] + n_real[b], tok.begin() + b * T);
          const int64_t open_pos = r.prompt_opens_think && !r.think_open_ids.empty() ? P - int64_t(r.think_open_ids.size()) : -1;
          for (int64_t t = 0; t < n_real[b] && capture; ++t) {
            uint8_t tags = ((start[b] + t == P - 1 ? capture_bit(CapturePos::PROMPT_END) : 0) |
                            (start[b] + t == open_pos ? capture_bit(CapturePos::THINK_OPEN) : 0)) & capture->plan.positions;
            if (tags) points.push_back({b, t, slots[rows[b]].req, start[b] + t, tags});
          }
        }
        const Hooks* hooks = capture ? capture_begin_forward(*capture, std::move(points)) : nullptr;
        at::Tensor logits = forward(m, kv, {tokens_tensor(tok, B, T), rows, start, n_real, opt.steer}, hooks, false);
        for (int64_t b = 0; b < B; ++b) {
          if (opt.prefill_tokens) *opt.prefill_tokens += n_real[b];
          done_tok[rows[b]] += n_real[b];
          if (done_tok[rows[b]] == int64_t(reqs[slots[rows[b]].req].prompt.size())) slots[rows[b]].prompt_logits = logits[b];
        }
      }
      for (int64_t sl : admitted) {
        int64_t src = fork_src[sl];
        if (src < 0) continue;
        kv_cache_fork(kv, src, {sl}, slots[sl].len);
        slots[sl].prompt_logits = slots[src].prompt_logits;
        if (capture && capture->samples.count(slots[src].req)) {  // the prompt's states come with the fork
          SampleActivations& to = capture->samples[slots[sl].req];
          const SampleActivations& from = capture->samples[slots[src].req];
          for (CapturePos p : {CapturePos::PROMPT_END, CapturePos::THINK_OPEN})
            if (from.at[int(p)].defined() && (p == CapturePos::PROMPT_END || r.prompt_opens_think))
              to.at[int(p)] = from.at[int(p)].clone();
        }
      }
      // first tokens, drawn from the prompt logits
      std::vector<at::Tensor> rows_logits;
      for (int64_t sl : admitted) rows_logits.push_back(slots[sl].prompt_logits);
      draw_rows(admitted, at::stack(rows_logits));
    }
    for (auto& s : slots)
      if (s.req >= 0 && s.done) finish(s);

    // ---- one decode step over every live slot
    std::vector<int64_t> rows, tok, start, n_real;
    std::vector<CapturePoint> points;
    for (int64_t sl = 0; sl < plan.n_slot; ++sl) {
      Seq& s = slots[sl];
      if (s.req < 0) continue;
      if (s.len + 1 > plan.t_max) {
        out[s.req].stop = StopReason::LENGTH;
        finish(s);
        continue;
      }
      const Sample& o = out[s.req];
      const int64_t i = int64_t(o.tokens.size()) - 1;  // -1: rewound to the prompt, whose last token is fed again
      if (capture && i >= 0) {
        uint8_t tags = token_tags(o, i) & capture->plan.positions;
        if (tags) points.push_back({int64_t(rows.size()), 0, s.req, s.len, tags});
      }
      rows.push_back(sl), tok.push_back(i >= 0 ? o.tokens.back() : reqs[s.req].prompt.back()), start.push_back(s.len), n_real.push_back(1);
    }
    if (rows.empty()) {
      if (next_req >= reqs.size()) break;
      continue;
    }
    const int64_t B = int64_t(rows.size());
    const Hooks* hooks = capture ? capture_begin_forward(*capture, std::move(points)) : nullptr;
    at::Tensor logits = forward(m, kv, {tokens_tensor(tok, B, 1), rows, start, n_real, opt.steer}, hooks, false);
    for (int64_t sl : rows) slots[sl].len += 1;
    draw_rows(rows, logits);
    for (int64_t sl : rows)
      if (slots[sl].done) finish(slots[sl]);
  }
  return out;
}

}  // namespace tp
