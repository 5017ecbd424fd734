// Shard writing (see writer.h).
#include "archive/writer.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive/schema.h"
#include "util/build_info.h"
#include "util/check.h"

namespace tp {

namespace {


}  // namespace

hid_t column_h5_type(schema::ColType t) {
  switch (t) {
    case schema::ColType::STR: return h5_str_type();
    case schema::ColType::I8: return H5T_STD_I8LE;
    case schema::ColType::I32: return H5T_STD_I32LE;
    case schema::ColType::U64: return H5T_STD_U64LE;
    case schema::ColType::F32: return H5T_IEEE_F32LE;
  }
  return -1;
}

std::string shard_name(int32_t attempt, int32_t rank) { return fmt::format("shards/a{}-rank{}.h5", attempt, rank); }

hid_t act_h5_type(ActDtype t) {
  switch (t) {
    case ActDtype::F32: return H5T_IEEE_F32LE;
    case ActDtype::F16: return h5_f16_type();
    case ActDtype::BF16: return h5_bf16_type();
  }
  return -1;
}

ShardWriter shard_create(const std::string& path, const ShardInfo& info, const std::vector<std::string>& judges) {
  ShardWriter w;
  w.path = path;
  w.file = h5_file_create(path);
  h5_attr_write(w.file, schema::A_SCHEMA_VERSION, schema::VERSION);
  h5_attr_write(w.file, schema::A_KIND, "shard");
  h5_attr_write(w.file, schema::A_RUN_ID, info.run_id);
  h5_attr_write(w.file, schema::A_FINGERPRINT, info.fingerprint);
  h5_attr_write(w.file, schema::A_JOB_NAME, info.job_name);
  h5_attr_write(w.file, schema::A_RANK, info.rank);
  h5_attr_write(w.file, schema::A_ATTEMPT, info.attempt);
  h5_attr_write(w.file, schema::A_HOST, info.host);
  h5_attr_write(w.file, "thinkprobe_version", build_version());
  Hid samples = h5_group_create(w.file, schema::G_SAMPLES);
  h5_attr_write(samples, schema::A_JUDGES, judges);
  w.n_judges = judges.size();
  for (const auto& c : schema::SAMPLE_COLUMNS) {
    std::vector<hsize_t> inner;
    if (c.per_judge) inner.push_back(judges.size());
    w.columns.push_back(h5_dataset_create(samples, c.name, column_h5_type(c.type), inner, schema::SAMPLE_CHUNK_ROWS));
  }
  Hid branches = h5_group_create(w.file, schema::G_BRANCHES);
  for (const auto& c : schema::BRANCH_COLUMNS) {
    std::vector<hsize_t> inner;
    if (c.per_judge) inner.push_back(judges.size());
    w.branch_columns.push_back(h5_dataset_create(branches, c.name, column_h5_type(c.type), inner, schema::SAMPLE_CHUNK_ROWS));
  }
  h5_flush_durable(w.file);
  return w;
}

namespace {

// The judge columns of one row (Judged: samples and branches alike), appended to the unit's gathered arrays.
void gather_judged(const Judged& r, size_t n_judges, const std::string& unit_id, std::vector<int8_t>& votes,
                   std::vector<int8_t>& truncated, std::string& outputs, float& soft) {
  TP_CHECK_MSG(r.votes.size() == n_judges && r.judge_truncated.size() == n_judges && r.judge_outputs.size() == n_judges,
               "unit {}: judge columns of {} votes for {} judges", unit_id, r.votes.size(), n_judges);
  votes.insert(votes.end(), r.votes.begin(), r.votes.end());
  truncated.insert(truncated.end(), r.judge_truncated.begin(), r.judge_truncated.end());
  outputs = nlohmann::json(r.judge_outputs).dump();
  soft = r.soft;
}

// A protocol unit's answers, appended to /branches.
UnitRows append_branches(ShardWriter& w, const JobSpec& job, const PromptSet& set, const WorkUnit& unit, int32_t unit_index,
                         const UnitResult& res) {
  TP_CHECK_MSG(res.samples.empty() && res.activations.empty(), "protocol unit {} returned samples", unit.id);
  const size_t n = res.branches.size();
  std::vector<std::string> s_unit(n, unit.id), s_model(n, job.models[unit.model].id), s_iv(n, job.interventions[unit.intervention].id),
      s_set(n, set.id), s_prompt(n), s_protocol(n), s_side(n), s_answer(n), s_stop(n);
  std::vector<int32_t> i_unit(n, unit_index), i_rollout(n), i_cut(n), i_trans(n), i_rtok(n), i_ptok(n), i_cont(n), i_atok(n);
  std::vector<int8_t> i_label(n), i_refused(n), i_votes, i_trunc;
  std::vector<std::string> s_outputs(n);
  std::vector<float> f_soft(n);
  std::vector<uint64_t> i_rseed(n), i_seed(n);
  for (size_t i = 0; i < n; i++) {
    const BranchRow& r = res.branches[i];
    const Prompt& p = set.prompts[r.prompt];
    s_prompt[i] = p.id;
    i_label[i] = static_cast<int8_t>(p.label == Label::HARMFUL);
    i_rollout[i] = r.rollout;
    i_rseed[i] = r.rollout_seed;
    s_protocol[i] = r.protocol;
    i_cut[i] = r.cut;
    i_trans[i] = r.transition;
    s_side[i] = r.side;
    i_rtok[i] = r.n_rollout_think_tokens;
    i_ptok[i] = r.n_prefix_tokens;
    i_cont[i] = r.continuation;
    i_seed[i] = r.seed;
    s_answer[i] = r.answer;
    i_atok[i] = r.n_answer_tokens;
    s_stop[i] = r.stop_reason;
    i_refused[i] = r.refused;
    gather_judged(r, w.n_judges, unit.id, i_votes, i_trunc, s_outputs[i], f_soft[i]);
  }
  UnitRows out;
  out.sample_begin = w.n_branches;
  out.n_samples = static_cast<int64_t>(n);
  int c = 0;
  auto& col = w.branch_columns;
  h5_append_strings(col[c++], s_unit);
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_unit.data());
  h5_append_strings(col[c++], s_model);
  h5_append_strings(col[c++], s_iv);
  h5_append_strings(col[c++], s_set);
  h5_append_strings(col[c++], s_prompt);
  h5_append(col[c++], H5T_NATIVE_INT8, n, i_label.data());
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_rollout.data());
  h5_append(col[c++], H5T_NATIVE_UINT64, n, i_rseed.data());
  h5_append_strings(col[c++], s_protocol);
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_cut.data());
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_trans.data());
  h5_append_strings(col[c++], s_side);
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_rtok.data());
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_ptok.data());
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_cont.data());
  h5_append(col[c++], H5T_NATIVE_UINT64, n, i_seed.data());
  h5_append_strings(col[c++], s_answer);
  h5_append(col[c++], H5T_NATIVE_INT32, n, i_atok.data());
  h5_append_strings(col[c++], s_stop);
  h5_append(col[c++], H5T_NATIVE_INT8, n, i_refused.data());
  h5_append(col[c++], H5T_NATIVE_INT8, n, i_votes.data());
  h5_append(col[c++], H5T_NATIVE_FLOAT, n, f_soft.data());
  h5_append(col[c++], H5T_NATIVE_INT8, n, i_trunc.data());
  h5_append_strings(col[c++], s_outputs);
  TP_CHECK(c == static_cast<int>(std::size(schema::BRANCH_COLUMNS)));
  w.n_branches += static_cast<int64_t>(n);
  out.act_begin.assign(job.capture.positions.size(), 0);
  out.act_n.assign(job.capture.positions.size(), 0);
  h5_flush_durable(w.file);
  w.n_units++;
  return out;
}

}  // namespace

UnitRows shard_append(ShardWriter& w, const JobSpec& job, const std::vector<PromptSet>& sets, const WorkUnit& unit, int32_t unit_index,
                      const UnitResult& res) {
  const PromptSet& set = sets[unit.prompt_set];
  if (unit.kind != UnitKind::SAMPLES) return append_branches(w, job, set, unit, unit_index, res);
  const size_t n = res.samples.size();
  TP_CHECK_MSG(static_cast<int64_t>(n) == unit.n_samples(), "unit {}: runner returned {} samples, expected {}", unit.id, n, unit.n_samples());
  // Gather each column as a contiguous array, then append it (schema::SAMPLE_COLUMNS order).
  std::vector<std::string> s_unit(n, unit.id), s_model(n, job.models[unit.model].id), s_iv(n, job.interventions[unit.intervention].id),
      s_set(n, set.id), s_prompt(n), s_think(n), s_answer(n), s_stop(n), s_events(n), s_stance(n), s_stance_out(n);
  std::vector<int32_t> i_unit(n, unit_index), i_sample(n), i_ptok(n), i_ttok(n), i_atok(n);
  std::vector<int8_t> i_label(n), i_refused(n), i_votes, i_trunc;
  std::vector<std::string> s_outputs(n);
  std::vector<float> f_soft(n);
  std::vector<uint64_t> i_seed(n);
  std::vector<float> f_sec(n);
  for (size_t i = 0; i < n; i++) {
    const SampleRow& r = res.samples[i];
    const Prompt& p = set.prompts[r.prompt];
    s_prompt[i] = p.id;
    s_think[i] = r.thinking;
    s_answer[i] = r.answer;
    s_stop[i] = r.stop_reason;
    i_label[i] = static_cast<int8_t>(p.label == Label::HARMFUL);
    i_sample[i] = r.sample_index;
    i_seed[i] = r.seed;
    i_ptok[i] = r.n_prompt_tokens;
    i_ttok[i] = r.n_think_tokens;
    i_atok[i] = r.n_answer_tokens;
    i_refused[i] = r.refused;
    gather_judged(r, w.n_judges, unit.id, i_votes, i_trunc, s_outputs[i], f_soft[i]);
    s_events[i] = r.events;
    f_sec[i] = r.seconds;
    s_stance[i] = r.stance_labels;
    s_stance_out[i] = r.stance_outputs;
  }
  UnitRows out;
  out.sample_begin = w.n_samples;
  out.n_samples = static_cast<int64_t>(n);
  int c = 0;
  h5_append_strings(w.columns[c++], s_unit);
  h5_append(w.columns[c++], H5T_NATIVE_INT32, n, i_unit.data());
  h5_append_strings(w.columns[c++], s_model);
  h5_append_strings(w.columns[c++], s_iv);
  h5_append_strings(w.columns[c++], s_set);
  h5_append_strings(w.columns[c++], s_prompt);
  h5_append(w.columns[c++], H5T_NATIVE_INT8, n, i_label.data());
  h5_append(w.columns[c++], H5T_NATIVE_INT32, n, i_sample.data());
  h5_append(w.columns[c++], H5T_NATIVE_UINT64, n, i_seed.data());
  h5_append_strings(w.columns[c++], s_think);
  h5_append_strings(w.columns[c++], s_answer);
  h5_append(w.columns[c++], H5T_NATIVE_INT32, n, i_ptok.data());
  h5_append(w.columns[c++], H5T_NATIVE_INT32, n, i_ttok.data());
  h5_append(w.columns[c++], H5T_NATIVE_INT32, n, i_atok.data());
  h5_append_strings(w.columns[c++], s_stop);
  h5_append(w.columns[c++], H5T_NATIVE_INT8, n, i_refused.data());
  h5_append(w.columns[c++], H5T_NATIVE_INT8, n, i_votes.data());
  h5_append(w.columns[c++], H5T_NATIVE_FLOAT, n, f_soft.data());
  h5_append(w.columns[c++], H5T_NATIVE_INT8, n, i_trunc.data());
  h5_append_strings(w.columns[c++], s_outputs);
  h5_append_strings(w.columns[c++], s_events);
  h5_append(w.columns[c++], H5T_NATIVE_FLOAT, n, f_sec.data());
  h5_append_strings(w.columns[c++], s_stance);
  h5_append_strings(w.columns[c++], s_stance_out);
  TP_CHECK(c == static_cast<int>(std::size(schema::SAMPLE_COLUMNS)));
  w.n_samples += static_cast<int64_t>(n);

  const std::string& model_id = job.models[unit.model].id;
  out.act_begin.assign(job.capture.positions.size(), 0);
  out.act_n.assign(job.capture.positions.size(), 0);
  for (const ActivationBlock& b : res.activations) {
    const std::string& pos = job.capture.positions[b.position];
    std::string key = model_id + "/" + pos;
    auto it = w.acts.find(key);
    if (it == w.acts.end()) {
      ShardWriter::Act a;
      Hid g = h5_group_create(w.file, std::string(schema::G_ACTIVATIONS) + "/" + key);
      // A chunk (one layer) holds ACT_CHUNK_BYTES, so a unit's rows reach the file in few large writes
      // (schema.h). Compressed shards keep ACT_CHUNK_BYTES over all layers: a unit that appends to a
      // partial compressed chunk decompresses and compresses it again.
      size_t layer_bytes = static_cast<size_t>(b.hidden) * act_dtype_size(b.dtype);
      size_t chunk_row_bytes = job.capture.gzip > 0 ? layer_bytes * b.layers.size() : layer_bytes;
      hsize_t chunk = std::clamp<hsize_t>(schema::ACT_CHUNK_BYTES / std::max<size_t>(chunk_row_bytes, 1), 1,
                                          job.capture.gzip > 0 ? schema::ACT_CHUNK_ROWS_GZIP : schema::ACT_CHUNK_ROWS_MAX);
      a.data = h5_dataset_create(g, schema::D_ACT_DATA, act_h5_type(b.dtype), {b.layers.size(), static_cast<hsize_t>(b.hidden)}, chunk,
                                 static_cast<int>(job.capture.gzip), {schema::ACT_CHUNK_LAYERS, static_cast<hsize_t>(b.hidden)});
      a.sample_in_unit = h5_dataset_create(g, schema::D_ACT_SAMPLE_IN_UNIT, H5T_STD_I32LE, {}, 1024);
      a.point = h5_dataset_create(g, schema::D_ACT_POINT, H5T_STD_I32LE, {}, 1024);
      h5_write_column(g, schema::D_ACT_LAYERS, H5T_NATIVE_INT32, b.layers.size(), b.layers.data());
      a.layers = b.layers;
      a.hidden = b.hidden;
      it = w.acts.emplace(key, std::move(a)).first;
    }
    ShardWriter::Act& a = it->second;
    if (a.layers != b.layers || a.hidden != b.hidden)
      throw Error(fmt::format("unit {}: activations at {} changed shape within model {} ({} layers x {} wide, was {} x {})", unit.id, pos,
                              model_id, b.layers.size(), b.hidden, a.layers.size(), a.hidden));
    TP_CHECK(b.point.size() == b.sample_in_unit.size());
    TP_CHECK(b.data.size() == b.layers.size());
    std::vector<const void*> layers;
    for (const auto& l : b.data) {
      TP_CHECK(l.size() == static_cast<size_t>(b.rows()) * b.hidden * act_dtype_size(b.dtype));
      layers.push_back(l.data());
    }
    hsize_t begin = h5_append_layers(a.data, act_h5_type(b.dtype), b.rows(), layers);
    h5_append(a.sample_in_unit, H5T_NATIVE_INT32, b.rows(), b.sample_in_unit.data());
    h5_append(a.point, H5T_NATIVE_INT32, b.rows(), b.point.data());
    out.act_begin[b.position] = static_cast<int64_t>(begin);
    out.act_n[b.position] = b.rows();
  }
  h5_flush_durable(w.file);
  w.n_units++;
  return out;
}

void shard_close(ShardWriter& w) {
  if (!w.file.valid()) return;
  h5_flush_durable(w.file);
  w.columns.clear();
  w.branch_columns.clear();
  w.acts.clear();
  w.file.reset();
}

}  // namespace tp
