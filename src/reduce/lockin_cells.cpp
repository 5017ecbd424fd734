// Lock-in statistics of a cell from the archive (see lockin_cells.h).
#include "reduce/lockin_cells.h"

#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "archive/schema.h"
#include "judge/stance_format.h"
#include "reduce/lockin.h"
#include "reduce/metrics.h"
#include "util/hash.h"

namespace tp {

using nlohmann::json;

namespace {

json num(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json summary_json(const LockinSummary& s) {
  return {{"n", s.n}, {"locked_not_sig", s.locked_not_sig}, {"locked_sig", s.locked_sig}, {"wavering_not_sig", s.wavering_not_sig},
          {"wavering_sig", s.wavering_sig}, {"share_locked", num(s.share_locked)}, {"share_not_sig", num(s.share_not_sig)}};
}

}  // namespace

std::vector<StanceTrace> read_stance(hid_t file, const std::string& path, int64_t n) {
  std::vector<StanceTrace> out(static_cast<size_t>(n));
  const std::string samples = schema::G_SAMPLES;
  if (h5_exists(file, samples + "/stance_labels")) {
    std::vector<std::string> labels = h5_read_strings(h5_dataset_open(file, samples + "/stance_labels"), 0, static_cast<hsize_t>(n));
    for (int64_t i = 0; i < n; i++) stance_labels_from_json(labels[i], out[i], fmt::format("{} /samples row {}", path, i));
    return out;
  }
  // schema 1.0 / 1.1: no stored labels; the run's lexicon (then under protocols.cut_replay) over the thinking
  json replay = json::parse(h5_read_text(h5_group_open(file, schema::G_META), "job_resolved")).value("protocols", json::object()).value("cut_replay", json::object());
  StanceLexicon lexicon = stance_lexicon_new(replay.value("refuse_patterns", std::vector<std::string>{}), replay.value("comply_patterns", std::vector<std::string>{}));
  std::vector<std::string> thinking = h5_read_strings(h5_dataset_open(file, samples + "/thinking"), 0, static_cast<hsize_t>(n));
  for (int64_t i = 0; i < n; i++) out[i] = stance_trace(lexicon, thinking[i], replay.value("max_chunks", int64_t{120}));
  return out;
}

BranchTable read_branch_table(hid_t file, int64_t tie_min_votes) {
  BranchTable b;
  if (!h5_exists(file, schema::G_BRANCHES)) return b;
  Hid g = h5_group_open(file, schema::G_BRANCHES);
  const hsize_t n = h5_dims(h5_dataset_open(g, "unit"))[0];
  b.n = static_cast<int64_t>(n);
  auto strings = [&](const char* name) { return h5_read_strings(h5_dataset_open(g, name), 0, n); };
  auto ints = [&](const char* name) {
    std::vector<int32_t> v(n);
    h5_read_rows(h5_dataset_open(g, name), H5T_NATIVE_INT32, 0, n, v.data());
    return v;
  };
  b.model = strings("model");
  b.intervention = strings("intervention");
  b.prompt_set = strings("prompt_set");
  b.prompt_id = strings("prompt_id");
  b.protocol = strings("protocol");
  b.side = strings("side");
  b.rollout = ints("rollout");
  b.cut = ints("cut");
  b.transition = ints("transition");
  // labels: the majority of the stored votes under this reduce's tie rule, as for /samples
  Hid votes = h5_dataset_open(g, schema::VOTES_COLUMN);
  const std::vector<hsize_t> dims = h5_dims(votes);
  const size_t n_judges = dims.size() > 1 ? dims[1] : 1;
  std::vector<int8_t> v(n * n_judges);
  h5_read_rows(votes, H5T_NATIVE_INT8, 0, n, v.data());
  b.refused.resize(n);
  for (size_t i = 0; i < n; i++) b.refused[i] = majority_label(&v[i * n_judges], n_judges, static_cast<int>(tie_min_votes));
  return b;
}

void lockin_cell_json(const LockinInput& in, const std::string& model, const std::string& iv, const std::vector<int64_t>& sample_rows,
                      const ReduceSpec& spec, json& cj) {
  const BranchTable& b = in.branches;
  const SampleTable& t = in.samples;
  // ---- within-prefix variance: B = 0 is each prompt's samples (an empty prefix), then one prefix per
  // (prompt, rollout, cut) of the nested rows. Prefixes in first-appearance order (archive order).
  using Key = std::tuple<std::string, std::string, int32_t, int32_t>;  // set, prompt, rollout, cut
  std::map<Key, size_t> at;
  std::vector<PrefixOutcome> prefixes;
  auto count = [&](const Key& k, int32_t cut, int8_t refused) {
    if (refused < 0) return;
    auto it = at.find(k);
    if (it == at.end()) {
      it = at.emplace(k, prefixes.size()).first;
      prefixes.push_back({cut, 0, 0});
    }
    prefixes[it->second].refusals += refused == 1;
    prefixes[it->second].n += 1;
  };
  for (int64_t i : sample_rows) count({t.prompt_set[i], t.prompt_id[i], -1, 0}, 0, t.refused[i]);
  // ---- cut replay pairs: (prompt, rollout, transition) -> pre / post comply counts
  using PairKey = std::tuple<std::string, std::string, int32_t, int32_t>;  // set, prompt, rollout, transition
  std::map<PairKey, size_t> pair_at;
  std::vector<CutPair> pairs;
  std::vector<PairKey> pair_keys;
  for (int64_t i = 0; i < b.n; i++) {
    if (b.model[i] != model || b.intervention[i] != iv) continue;
    if (b.protocol[i] == "nested") {
      count({b.prompt_set[i], b.prompt_id[i], b.rollout[i], b.cut[i]}, b.cut[i], b.refused[i]);
    } else if (b.protocol[i] == "replay" && b.refused[i] >= 0) {
      PairKey k{b.prompt_set[i], b.prompt_id[i], b.rollout[i], b.transition[i]};
      auto it = pair_at.find(k);
      if (it == pair_at.end()) {
        it = pair_at.emplace(k, pairs.size()).first;
        pairs.push_back({0, 0, 0, 0});
        pair_keys.push_back(k);
      }
      CutPair& c = pairs[it->second];
      const bool comply = b.refused[i] == 0;
      if (b.side[i] == "pre") c.comply_pre += comply, c.n_pre += 1;
      else c.comply_post += comply, c.n_post += 1;
    }
  }
  json curve = json::array();
  for (const WpvPoint& p : within_prefix_curve(prefixes, spec.behaviour_bootstrap, derive_seed(spec.seed, {"within_prefix", model, iv})))
    curve.push_back({{"cut_percent", p.cut_percent},
                     {"variance", {{"value", num(p.mean)}, {"lo", num(p.lo)}, {"hi", num(p.hi)}, {"n", p.n_prefixes}}},
                     {"random_reference", num(p.random_reference)}});

  // the /samples row of each cut trace, when the rollout is one of the samples
  std::map<std::tuple<std::string, std::string, int32_t>, int64_t> sample_row;
  for (int64_t i : sample_rows) sample_row[{t.prompt_set[i], t.prompt_id[i], t.sample_index[i]}] = i;
  const double alpha = 0.05;
  std::vector<CutVerdict> verdicts = classify_cuts(pairs, spec.locked_rule == "both" ? LockedRule::BOTH : LockedRule::PRE, alpha);
  json cuts = json::array();
  for (size_t k = 0; k < pairs.size(); k++) {
    const CutVerdict& v = verdicts[k];
    const auto& [set, prompt, rollout, transition] = pair_keys[k];
    json c = {{"prompt_set", set}, {"prompt_id", prompt}, {"rollout", rollout}, {"transition", transition},
              {"comply_pre", num(v.comply_pre)}, {"n_pre", pairs[k].n_pre}, {"comply_post", num(v.comply_post)}, {"n_post", pairs[k].n_post},
              {"p", v.p}, {"p_holm", v.p_holm}, {"locked", v.locked}, {"significant", v.significant}};
    if (auto it = sample_row.find({set, prompt, rollout}); it != sample_row.end()) c["sample"] = it->second;
    cuts.push_back(std::move(c));
  }

  // ---- oscillations: salient stance transitions per trace of the cell's samples
  int64_t traces = 0, excluded = 0, unresolved = 0, transitions = 0;
  for (int64_t i : sample_rows) {
    const StanceTrace& st = in.stance[i];
    if (st.excluded || st.unresolved) {
      excluded += st.excluded;
      unresolved += st.unresolved;
      continue;
    }
    traces++;
    transitions += static_cast<int64_t>(st.transitions.size());
  }
  cj["within_prefix"] = curve;
  cj["deliberation"] = {{"alpha", alpha}, {"summary", summary_json(summarise_cuts(verdicts))}, {"cuts", cuts}};
  cj["oscillations"] = {{"traces", traces}, {"excluded", excluded}, {"unresolved", unresolved}, {"transitions", transitions},
                        {"per_trace", traces ? json(double(transitions) / double(traces)) : json(nullptr)}};
}

json lockin_pooled_json(const json& cells) {
  LockinSummary s;
  for (const auto& c : cells) {
    if (!c.contains("deliberation")) continue;
    const json& x = c["deliberation"]["summary"];
    s.n += x["n"].get<int64_t>();
    s.locked_not_sig += x["locked_not_sig"].get<int64_t>();
    s.locked_sig += x["locked_sig"].get<int64_t>();
    s.wavering_not_sig += x["wavering_not_sig"].get<int64_t>();
    s.wavering_sig += x["wavering_sig"].get<int64_t>();
  }
  s.share_locked = s.n ? double(s.locked_sig + s.locked_not_sig) / double(s.n) : std::nan("");
  s.share_not_sig = s.n ? double(s.locked_not_sig + s.wavering_not_sig) / double(s.n) : std::nan("");
  return summary_json(s);
}

}  // namespace tp
