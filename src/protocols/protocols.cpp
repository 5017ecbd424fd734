// Nested branching and cut replay units (see protocols.h).
#include "protocols/protocols.h"

#include <algorithm>
#include <numeric>

#include "engine_runner.h"
#include "intervene/decode_policy.h"
#include "intervene/intervention.h"
#include "judge/judges.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/text.h"

namespace tp {

std::vector<int32_t> nested_rollouts(uint64_t job_seed, const std::string& model, const std::string& set, const std::string& prompt,
                                     int32_t k, int32_t m) {
  std::vector<int32_t> idx(static_cast<size_t>(std::max(k, 0)));
  std::iota(idx.begin(), idx.end(), 0);
  if (m >= k) return idx;
  Rng rng(derive_seed(job_seed, {"nested", model, set, prompt}));
  for (int32_t i = 0; i < m; i++) std::swap(idx[i], idx[i + static_cast<int32_t>(rng.below(static_cast<uint64_t>(k - i)))]);
  idx.resize(static_cast<size_t>(m));
  std::sort(idx.begin(), idx.end());
  return idx;
}

int64_t nested_cut_tokens(int32_t percent, int64_t natural) {
  if (percent > 100) return natural + extend_extra_tokens((percent - 100) / 100.0, natural);
  return std::min(natural, std::max<int64_t>(1, static_cast<int64_t>(percent) * natural / 100));
}

uint64_t continuation_seed(uint64_t rollout_seed, const std::string& protocol, int32_t cut, int32_t transition, const std::string& side,
                           int32_t index) {
  return derive_seed(rollout_seed, {protocol, std::to_string(cut), std::to_string(transition), side, std::to_string(index)});
}

std::vector<int32_t> nested_cuts(const JobSpec& job) {
  std::vector<int32_t> out;
  for (const auto& c : job.protocols.nested_branching.cuts) out.push_back(static_cast<int32_t>(std::stoi(c)));
  return out;
}

std::vector<BranchRow> replay_rows(const BranchRow& base, const std::vector<StanceTransition>& transitions) {
  std::vector<BranchRow> out;
  for (size_t t = 0; t < transitions.size(); t++)
    for (const char* side : {"pre", "post"}) {
      BranchRow& row = out.emplace_back(base);
      row.transition = static_cast<int32_t>(t);
      row.side = side;
      row.cut = side[1] == 'r' ? transitions[t].pre_cut : transitions[t].post_cut;
    }
  return out;
}

namespace {

std::vector<int64_t> to_i64(const std::vector<int32_t>& v) { return {v.begin(), v.end()}; }

struct Rollout {
  size_t prompt_pos;  // index into the unit's prompts
  int32_t index;      // sample index
  uint64_t seed;
};

}  // namespace

UnitResult run_protocol_unit(const JobSpec& job, const std::vector<PromptSet>& sets, const WorkUnit& unit, const ProtocolEngine& e) {
  TP_CHECK(unit.kind != UnitKind::SAMPLES);
  const bool nested = unit.kind == UnitKind::NESTED;
  const PromptSet& set = sets[unit.prompt_set];
  const InterventionSpec& iv = job.interventions[unit.intervention];
  const std::string& model_id = job.models[unit.model].id;
  const uint64_t job_seed = static_cast<uint64_t>(job.job.seed);
  const auto& nb = job.protocols.nested_branching;
  const auto& cr = job.protocols.cut_replay;

  // ---- the rollouts, regenerated exactly as the sample units generate them
  std::vector<ChatInput> inputs;
  std::vector<RenderedPrompt> rendered;
  std::vector<Rollout> rollouts;
  std::vector<GenRequest> reqs;
  for (int32_t p : unit.prompts) {
    const Prompt& prompt = set.prompts[p];
    inputs.push_back(intervention_chat_input(iv, prompt.text));
    rendered.push_back(render(e.tmpl, e.tok, inputs.back()));
    std::vector<int32_t> idx;
    if (nested) idx = nested_rollouts(job_seed, model_id, set.id, prompt.id, unit.sample_end, static_cast<int32_t>(nb.prefixes));
    else for (int32_t s = unit.sample_begin; s < unit.sample_end; s++) idx.push_back(s);
    for (int32_t s : idx) {
      uint64_t seed = sample_seed(job_seed, set.id, prompt.id, s);
      rollouts.push_back({rendered.size() - 1, s, seed});
      reqs.push_back({to_i64(rendered.back().ids), seed});
    }
  }
  CellGen cell;
  cell_gen_init(cell, job, unit, e.m, e.tmpl, e.tok, rendered.front().think_open_at_end);
  GenOptions& opt = cell.opt;
  opt.share_prefixes = e.share_prefixes;
  opt.prefill_tokens = e.prefill_tokens;
  const std::vector<Sample> gen = generate(e.m, reqs, opt);

  // ---- cuts B > 100: the rollouts that ended their thinking themselves, regenerated under extended
  // thinking with the largest ratio (same seeds: the natural part is the same; with the close and EOS banned,
  // a smaller extension is a prefix of the largest), then cut after nat + int((B - 100)/100 x nat) tokens
  std::vector<int32_t> cuts;
  if (nested) cuts = nested_cuts(job);
  const int32_t max_cut = cuts.empty() ? 0 : *std::max_element(cuts.begin(), cuts.end());
  std::vector<Sample> extended(gen.size());
  if (max_cut > 100) {
    if (opt.policy)
      throw Error(fmt::format("protocols.nested_branching.cuts: cut {} extends the thinking, which intervention '{}' ({}) already steers at decode time",
                              max_cut, iv.id, iv.type),
                  "use cuts up to 100 in a job with decode-time interventions, or run the extension in a job of its own");
    DecodePolicy extend;
    extend.kind = DecodeKind::EXTEND;
    extend.extend_ratio = (max_cut - 100) / 100.0;
    GenOptions xopt = opt;
    xopt.policy = &extend;
    xopt.stop.max_answer_tokens = 1;  // only the thinking is kept
    std::vector<GenRequest> xreqs;
    std::vector<size_t> xat;
    for (size_t r = 0; r < gen.size(); r++)
      if (gen[r].think_begin >= 0 && !gen[r].think_forced_close && (gen[r].think_end >= 0 || gen[r].stop == StopReason::EOS))
        xreqs.push_back(reqs[r]), xat.push_back(r);
    std::vector<Sample> xs = generate(e.m, xreqs, xopt);
    for (size_t i = 0; i < xs.size(); i++) extended[xat[i]] = std::move(xs[i]);
  }

  // ---- the continuation prompts: a cut of the thinking, then the force-close
  const std::vector<int64_t> close = to_i64(e.tmpl.force_close_ids);
  UnitResult res;
  std::vector<GenRequest> creqs;
  std::vector<StanceResult> stance;  // replay: the rollouts' stance, labelled as the samples' are (judge.stance)
  if (!nested) {
    std::vector<StanceInput> in;
    for (size_t r = 0; r < rollouts.size(); r++)
      in.push_back({model_id, set.prompts[unit.prompts[rollouts[r].prompt_pos]].text,
                    sample_text(e.tok, e.tmpl, rendered[rollouts[r].prompt_pos], inputs[rollouts[r].prompt_pos].think_prefill, gen[r]).thinking});
    stance = stance_run(e.judges, in, job.run.batch_size);
  }
  for (size_t r = 0; r < rollouts.size(); r++) {
    const Sample& g = gen[r];
    const Rollout& ro = rollouts[r];
    if (g.think_begin < 0) continue;  // no thinking to cut
    const int64_t natural = (g.think_end >= 0 ? g.think_end : static_cast<int64_t>(g.tokens.size())) - g.think_begin;
    BranchRow base;
    base.prompt = unit.prompts[ro.prompt_pos];
    base.rollout = ro.index;
    base.rollout_seed = ro.seed;
    base.protocol = unit_kind_name(unit.kind);
    base.n_rollout_think_tokens = static_cast<int32_t>(natural);
    auto add = [&](BranchRow row, std::vector<int64_t> prompt, int64_t n_answers) {
      for (int32_t j = 0; j < n_answers; j++) {
        row.continuation = j;
        row.seed = continuation_seed(ro.seed, row.protocol, row.cut, row.transition, row.side, j);
        creqs.push_back({prompt, row.seed});
        res.branches.push_back(row);
      }
    };
    if (nested) {
      // an end-of-turn inside the thinking counts toward its length (as in /samples) but is never kept
      const int64_t cuttable = natural - (g.think_end < 0 && g.stop == StopReason::EOS ? 1 : 0);
      if (cuttable <= 0) continue;
      const Sample& x = extended[r];
      for (int32_t b : cuts) {
        // B > 100 only for a rollout whose thinking ended before its budget; nat from its extension event
        if (b > 100 && (x.events.empty() || x.events[0].kind != DecodeEventKind::EXTEND)) continue;
        const Sample& src = b > 100 ? x : g;
        BranchRow row = base;
        row.cut = b;
        int64_t keep = b > 100 ? nested_cut_tokens(b, x.events[0].think_tokens) : std::min(cuttable, nested_cut_tokens(b, natural));
        row.n_prefix_tokens = static_cast<int32_t>(keep);
        std::vector<int64_t> prompt = to_i64(rendered[ro.prompt_pos].ids);
        prompt.insert(prompt.end(), src.tokens.begin(), src.tokens.begin() + src.think_begin + keep);
        prompt.insert(prompt.end(), close.begin(), close.end());
        if (e.continuation_prompts) e.continuation_prompts->push_back(prompt);
        add(row, std::move(prompt), nb.answers);
      }
    } else {
      const StanceTrace& st = stance[r].trace;
      for (BranchRow& row : replay_rows(base, st.transitions)) {
        ChatInput in = inputs[ro.prompt_pos];
        in.think_prefill = stance_prefix_text(st.chunks, row.cut);
        row.n_prefix_tokens = static_cast<int32_t>(encode(e.tok, in.think_prefill).size());
        std::vector<int64_t> prompt = to_i64(render(e.tmpl, e.tok, in).ids);
        prompt.insert(prompt.end(), close.begin(), close.end());
        add(row, std::move(prompt), cr.answers);
      }
    }
  }
  if (creqs.empty()) return res;

  // ---- the answers: no more thinking, the protocol's answer budget; judged like samples
  GenOptions copt = opt;
  copt.stop.prompt_opens_think = false;
  copt.stop.max_think_tokens = 0;
  copt.stop.max_answer_tokens = nested ? nb.max_answer_tokens : cr.max_answer_tokens;
  const std::vector<Sample> answers = generate(e.m, creqs, copt);
  for (size_t i = 0; i < answers.size(); i++) {
    const Sample& g = answers[i];
    BranchRow& row = res.branches[i];
    const size_t n = g.tokens.size(), b = g.answer_begin >= 0 ? static_cast<size_t>(g.answer_begin) : n;
    std::vector<int32_t> ids(g.tokens.begin() + static_cast<std::ptrdiff_t>(b), g.tokens.end());
    row.answer = std::string(trim(decode(e.tok, ids, true)));
    row.n_answer_tokens = static_cast<int32_t>(n - b);
    row.stop_reason = stop_reason_name(g.stop);
    res.n_tokens += static_cast<int64_t>(n);
  }
  std::vector<JudgeInput> judged;
  for (const BranchRow& row : res.branches) judged.push_back({set.prompts[row.prompt].text, row.answer});
  judge_rows(e.judges, judged, job.run.batch_size, job.reduce.tie_min_votes, res.branches);
  return res;
}

}  // namespace tp
