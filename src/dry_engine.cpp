// The dry engine (see dry_engine.h).
#include "dry_engine.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "judge/guard_format.h"
#include "judge/rule_judge.h"
#include "judge/judges.h"
#include "protocols/protocols.h"
#include "reduce/metrics.h"
#include "util/check.h"
#include "util/hash.h"

namespace tp {

namespace {

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (exp <= 0) return static_cast<uint16_t>(sign);          // tiny values flush to zero (values here are in [-1, 1))
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if ((mant >> 12) & 1u) h++;                                 // round half up
  return static_cast<uint16_t>(h);
}

uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // round to nearest even
}

void put(std::vector<uint8_t>& out, ActDtype t, float v) {
  if (t == ActDtype::F32) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
  } else {
    uint16_t h = t == ActDtype::F16 ? float_to_half(v) : float_to_bf16(v);
    out.push_back(static_cast<uint8_t>(h & 0xff));
    out.push_back(static_cast<uint8_t>(h >> 8));
  }
}

// n random words; with sentence > 0, a full stop after every `sentence` words (so stance chunks form).
std::string words(Rng& rng, int n, int sentence = 0) {
  static const char* vocab[] = {"so", "the", "user", "asks", "about", "this", "hmm", "maybe", "i", "should", "consider", "safety",
                                "request", "answer", "help", "careful", "wait", "then", "ok", "steps"};
  std::string s;
  for (int i = 0; i < n; i++) {
    if (i) s += sentence > 0 && i % sentence == 0 ? ". " : " ";
    s += vocab[rng.below(sizeof vocab / sizeof vocab[0])];
  }
  return s;
}

// Votes as the job's judges might give them, from the sample's seed: the rule judge agrees with the planted
// outcome; a guard judge agrees with probability 0.85, abstains (a malformed output) with 0.05, and flags
// a truncated answer with 0.1, its raw output being a canned text its own parser reads back.
void dry_judge(const JobSpec& job, Judged& row, uint64_t seed, bool refuse, const std::string& model_id) {
  for (const auto& j : job.judge.judges) {
    Rng rng(derive_seed(seed, {"dry-judge", model_id, j.id}));
    int8_t vote = refuse ? 1 : 0;
    std::string raw = j.kind == "rule" && refuse ? rule_judge_default_patterns()[2] : "";
    int8_t truncated = 0;
    if (j.kind != "rule") {
      double u = rng.uniform();
      vote = u < 0.05 ? -1 : u < 0.90 ? vote : static_cast<int8_t>(1 - vote);
      truncated = rng.uniform() < 0.1 ? 1 : 0;
      raw = vote < 0 ? "Safety: Safe\nCategories: None\nRefusal: maybe" : vote == 1 ? "Safety: Safe\nCategories: None\nRefusal: Yes"
                                                                                  : "Safety: Unsafe\nCategories: Violent\nRefusal: No";
      JudgeKind kind = judge_kind_from_name(j.kind);
      if (kind != JudgeKind::QWEN3GUARD_GEN) raw = vote < 0 ? "malformed" : vote == 1 ? "response refusal: yes <score>yes</score> {\"response_refusal\":\"yes\"}"
                                                                             : "response refusal: no <score>no</score> {\"response_refusal\":\"no\"}";
      TP_CHECK(guard_parse(kind, raw) == vote);
    }
    row.votes.push_back(vote);
    row.judge_truncated.push_back(truncated);
    row.judge_outputs.push_back(raw);
  }
  row.refused = majority_label(row.votes.data(), row.votes.size(), static_cast<int>(job.reduce.tie_min_votes));
  row.soft = static_cast<float>(soft_label(row.votes.data(), row.votes.size()));
}

// The dry engine's stance labellers: the job's, with every model labeller standing in as the rule lexicon
// (no model runs dry); its outputs have the model labellers' JSON form.
std::shared_ptr<JudgeSet> dry_stance_labellers(const JobSpec& job) {
  JudgeSpec spec;
  spec.judges.clear();
  spec.stance = job.judge.stance;
  for (auto& l : spec.stance.labellers) l.kind = "rule";
  return judges_new(spec, 0);
}

// A dry sample: thinking, answer, judgement and stance labels drawn from the sample's seed and the model.
SampleRow dry_sample(const JobSpec& job, JudgeSet& stance, const PromptSet& set, int32_t p, int32_t s, const std::string& model_id) {
  const Prompt& prompt = set.prompts[p];
  SampleRow row;
  row.prompt = p;
  row.sample_index = s;
  row.seed = sample_seed(static_cast<uint64_t>(job.job.seed), set.id, prompt.id, s);
  Rng rng(derive_seed(row.seed, {"dry", model_id}));
  int n_think = 3 + static_cast<int>(rng.below(30)), n_answer = 2 + static_cast<int>(rng.below(12));
  row.thinking = fmt::format("[dry {:016x}] {}", row.seed, words(rng, n_think, 6));
  bool refuse = rng.uniform() < (prompt.label == Label::HARMFUL ? 0.8 : 0.1);
  row.answer = refuse ? "I can't help with that. " + words(rng, n_answer) : "Sure: " + words(rng, n_answer);
  row.n_prompt_tokens = static_cast<int32_t>(prompt.text.size() / 4 + 16);
  row.n_think_tokens = n_think;
  row.n_answer_tokens = n_answer + 2;
  row.stop_reason = "eos";
  dry_judge(job, row, row.seed, refuse, model_id);
  stance_set(row, stance_run(stance, {{model_id, prompt.text, row.thinking}}, 1)[0]);
  return row;
}

// A dry protocol unit: the same rollouts (dry_sample), cut where the real engine would cut them, and
// answers whose refusal leans toward the rollout's own as the cut grows.
UnitResult dry_protocol(const JobSpec& job, JudgeSet& stance, const PromptSet& set, const WorkUnit& unit, const std::string& model_id) {
  UnitResult res;
  const bool nested = unit.kind == UnitKind::NESTED;
  const auto& nb = job.protocols.nested_branching;
  const auto& cr = job.protocols.cut_replay;
  for (int32_t p : unit.prompts) {
    const Prompt& prompt = set.prompts[p];
    std::vector<int32_t> idx;
    if (nested) idx = nested_rollouts(static_cast<uint64_t>(job.job.seed), model_id, set.id, prompt.id, unit.sample_end, static_cast<int32_t>(nb.prefixes));
    else for (int32_t s = unit.sample_begin; s < unit.sample_end; s++) idx.push_back(s);
    for (int32_t s : idx) {
      SampleRow ro = dry_sample(job, stance, set, p, s, model_id);
      BranchRow base;
      base.prompt = p;
      base.rollout = s;
      base.rollout_seed = ro.seed;
      base.protocol = unit_kind_name(unit.kind);
      base.n_rollout_think_tokens = ro.n_think_tokens;
      auto add = [&](BranchRow row, double lean, int64_t n) {  // lean: weight of the rollout's own outcome
        for (int32_t j = 0; j < n; j++) {
          row.continuation = j;
          row.seed = continuation_seed(ro.seed, row.protocol, row.cut, row.transition, row.side, j);
          Rng rng(derive_seed(row.seed, {"dry", model_id}));
          double q = lean * (ro.refused == 1) + (1 - lean) * (prompt.label == Label::HARMFUL ? 0.8 : 0.1);
          const bool refuse = rng.uniform() < q;
          row.answer = refuse ? "I can't help with that." : "Sure: " + words(rng, 3);
          row.n_answer_tokens = refuse ? 6 : 5;
          row.stop_reason = "eos";
          static_cast<Judged&>(row) = Judged{};
          dry_judge(job, row, row.seed, refuse, model_id);
          res.n_tokens += row.n_answer_tokens;
          res.branches.push_back(row);
        }
      };
      if (nested) {
        for (int32_t b : nested_cuts(job)) {
          BranchRow row = base;
          row.cut = b;
          row.n_prefix_tokens = static_cast<int32_t>(nested_cut_tokens(b, ro.n_think_tokens));
          add(row, b / 100.0, nb.answers);
        }
      } else {
        StanceTrace st = stance_run(stance, {{model_id, prompt.text, ro.thinking}}, 1)[0].trace;
        for (BranchRow& row : replay_rows(base, st.transitions)) {
          row.n_prefix_tokens = static_cast<int32_t>(stance_prefix_text(st.chunks, row.cut).size() / 4);
          add(row, 0.9, cr.answers);
        }
      }
    }
  }
  return res;
}

}  // namespace

UnitRunner dry_runner(const JobSpec& job, const std::vector<PromptSet>& sets, int rank) {
  UnitRunner r;
  r.device_kind = "dry";
  r.dtype = "float32";
  r.load_model = [](int32_t) {};
  const char* delay = std::getenv("THINKPROBE_DRY_ENGINE_DELAY_MS");
  int delay_ms = delay ? std::atoi(delay) : 0;
  std::string fail = std::getenv("THINKPROBE_DRY_ENGINE_FAIL") ? std::getenv("THINKPROBE_DRY_ENGINE_FAIL") : "";
  int fail_rank = -1;
  if (size_t at = fail.find('@'); at != std::string::npos) {
    fail_rank = std::atoi(fail.c_str() + at + 1);
    fail = fail.substr(0, at);
  }
  std::vector<int32_t> layers = archive_layers(job.capture, DRY_N_LAYER);
  std::shared_ptr<JudgeSet> stance = dry_stance_labellers(job);
  r.run = [&job, &sets, delay_ms, fail, fail_rank, rank, layers, stance](const WorkUnit& unit) {
    auto t0 = std::chrono::steady_clock::now();
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (!fail.empty() && unit.id.find(fail) != std::string::npos && (fail_rank < 0 || fail_rank == rank))
      throw Error(fmt::format("dry engine: injected failure in unit {} on rank {}", unit.id, rank));
    const PromptSet& set = sets[unit.prompt_set];
    const std::string& model_id = job.models[unit.model].id;
    if (unit.kind != UnitKind::SAMPLES) return dry_protocol(job, *stance, set, unit, model_id);
    const CaptureSpec& cap = job.capture;
    ActDtype dtype = act_dtype(cap.dtype);
    UnitResult res;
    for (size_t p = 0; p < cap.positions.size(); p++)
      res.activations.push_back(activation_block(static_cast<int32_t>(p), layers, DRY_HIDDEN, dtype));
    for (int32_t p : unit.prompts) {
      for (int32_t s = unit.sample_begin; s < unit.sample_end; s++) {
        SampleRow row = dry_sample(job, *stance, set, p, s, model_id);
        res.n_tokens += row.n_think_tokens + row.n_answer_tokens;
        int32_t sample_in_unit = static_cast<int32_t>(res.samples.size());
        for (auto& b : res.activations) {
          const std::string& pos = cap.positions[b.position];
          int32_t points = pos == "think_span" ? static_cast<int32_t>(cap.span_points) : 1;
          for (int32_t pt = 0; pt < points; pt++) {
            Rng a(derive_seed(row.seed, {"dry-act", model_id, pos, std::to_string(pt)}));
            b.sample_in_unit.push_back(sample_in_unit);
            b.point.push_back(pt);
            for (auto& layer : b.data)
              for (int64_t c = 0; c < b.hidden; c++) put(layer, dtype, static_cast<float>(a.uniform() * 2 - 1));
          }
        }
        res.samples.push_back(std::move(row));
      }
    }
    float seconds = std::chrono::duration<float>(std::chrono::steady_clock::now() - t0).count();
    for (auto& row : res.samples) row.seconds = seconds / static_cast<float>(res.samples.size());
    return res;
  };
  return r;
}

}  // namespace tp
