// archive.h5 over the shards, and packing (see assemble.h).
#include "archive/assemble.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "archive/h5.h"
#include "archive/reader.h"
#include "archive/schema.h"
#include "archive/writer.h"
#include "model/lora.h"
#include "util/build_info.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/text.h"

namespace fs = std::filesystem;

namespace tp {

ArchiveMeta archive_meta_make(const LoadedJob& job, const std::vector<PromptSet>& sets, const std::string& run_id,
                              const std::string& fingerprint) {
  const JobSpec& s = job.spec;
  ArchiveMeta m;
  m.run_id = run_id;
  m.fingerprint = fingerprint;
  m.job_name = s.job.name;
  m.job_yaml = job.yaml_text;
  m.job_resolved = job_to_json(s).dump(2);
  m.positions = s.capture.positions;
  m.judges = job_judges(s);
  auto checkpoint = [](const std::string& id, const std::string& path) {
    ArchiveMeta::Model mm;
    mm.id = id;
    mm.path = path;
    mm.config_json = read_file((fs::path(path) / "config.json").string());
    std::vector<std::string> files{"tokenizer.json"};
    std::vector<std::string> weights;
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".safetensors") weights.push_back(e.path().filename().string());
    std::sort(weights.begin(), weights.end());
    files.insert(files.end(), weights.begin(), weights.end());
    for (const auto& f : files) {
      mm.files.push_back(f);
      mm.sha256.push_back(sha256_file((fs::path(path) / f).string()));
    }
    return mm;
  };
  for (const auto& spec : s.models) {
    ArchiveMeta::Model mm = checkpoint(spec.id, spec.path);
    mm.adapter = spec.adapter;
    if (!spec.adapter.empty())
      for (const auto& f : lora_files(spec.adapter)) {  // the merged model's content: base files and adapter files
        mm.files.push_back("adapter/" + f);
        mm.sha256.push_back(sha256_file((fs::path(spec.adapter) / f).string()));
      }
    m.models.push_back(std::move(mm));
  }
  const nlohmann::json resolved = job_to_json(s);
  for (size_t i = 0; i < s.judge.judges.size(); i++) {
    const auto& j = s.judge.judges[i];
    ArchiveMeta::Judge jm{j.id, j.kind, resolved["judge"]["judges"][i].dump(), {}};
    if (j.kind != "rule") jm.model = checkpoint(j.id, j.path);
    m.judge_meta.push_back(std::move(jm));
  }
  for (const auto& set : sets)
    for (const auto& p : set.prompts) {
      m.p_set.push_back(set.id);
      m.p_id.push_back(p.id);
      m.p_text.push_back(p.text);
      m.p_label.push_back(static_cast<int8_t>(p.label == Label::HARMFUL));
      m.p_category.push_back(p.category);
      m.p_source.push_back(p.source);
    }
  for (const auto& iv : s.interventions) {
    m.iv_id.push_back(iv.id);
    m.iv_type.push_back(iv.type);
    m.iv_description.push_back(iv.description);
    m.iv_params.push_back(intervention_params(iv).dump());  // defaults filled in: the archive alone says what ran
  }
  return m;
}

namespace {

// Contiguous rows of one shard dataset, mapped to rows [dst, dst+n) of the archive's dataset.
struct Segment {
  std::string shard;
  int64_t src = 0, n = 0, dst = 0;
};

void add_segment(std::vector<Segment>& segs, const std::string& shard, int64_t src, int64_t n, int64_t dst) {
  if (n == 0) return;
  if (!segs.empty()) {
    Segment& last = segs.back();
    if (last.shard == shard && last.src + last.n == src && last.dst + last.n == dst) {
      last.n += n;
      return;
    }
  }
  segs.push_back({shard, src, n, dst});
}

struct Shards {
  std::string outdir;
  std::map<std::string, Hid> open;
  hid_t get(const std::string& rel) {
    auto it = open.find(rel);
    if (it == open.end()) it = open.emplace(rel, archive_file_open((fs::path(outdir) / rel).string(), "shard")).first;
    return it->second;
  }
};

// A virtual dataset [rows, inner...] at loc/name whose rows come from dataset src_name of the shards.
void write_virtual(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& inner, const std::vector<Segment>& segs,
                   const std::string& src_name, Shards& shards) {
  int64_t rows = segs.empty() ? 0 : segs.back().dst + segs.back().n;
  if (rows == 0) {  // nothing finished: an empty ordinary dataset of the same type and shape
    h5_dataset_create(loc, name, type, inner, 1);
    return;
  }
  std::vector<hsize_t> dims{static_cast<hsize_t>(rows)};
  dims.insert(dims.end(), inner.begin(), inner.end());
  Hid vspace(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
  Hid dcpl(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  for (const Segment& s : segs) {
    Hid src_ds = h5_dataset_open(shards.get(s.shard), src_name);
    std::vector<hsize_t> sdims = h5_dims(src_ds);
    Hid sspace(H5_CHECK(H5Screate_simple(static_cast<int>(sdims.size()), sdims.data(), nullptr)));
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = static_cast<hsize_t>(s.src);
    count[0] = static_cast<hsize_t>(s.n);
    H5_CHECK(H5Sselect_hyperslab(sspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
    start[0] = static_cast<hsize_t>(s.dst);
    H5_CHECK(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
    H5_CHECK(H5Pset_virtual(dcpl, vspace, s.shard.c_str(), src_name.c_str(), sspace));
  }
  Hid d(H5_CHECK(H5Dcreate2(loc, name.c_str(), type, vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT)));
}


void write_meta(hid_t f, const ArchiveMeta& m) {
  Hid meta = h5_group_create(f, schema::G_META);
  h5_attr_write(meta, "thinkprobe_version", build_version());
  h5_attr_write(meta, "git_commit", build_commit());
  h5_attr_write(meta, "start_time", m.start_time);
  h5_attr_write(meta, "end_time", m.end_time);
  h5_attr_write(meta, "run_id", m.run_id);
  h5_write_text(meta, "job_yaml", m.job_yaml);
  h5_write_text(meta, "job_resolved", m.job_resolved);
  h5_write_text(meta, "attempts", m.attempts.dump(2));
  std::vector<std::string> hosts;
  if (!m.attempts.empty())
    for (const auto& h : m.attempts.back().value("hosts", nlohmann::json::array())) hosts.push_back(h.get<std::string>());
  h5_write_column(meta, "hosts", hosts);

  for (const auto& mm : m.models) {
    Hid g = h5_group_create(f, std::string(schema::G_MODELS) + "/" + mm.id);
    h5_attr_write(g, "path", mm.path);
    h5_attr_write(g, "adapter", mm.adapter);
    h5_attr_write(g, "dtype", mm.dtype);
    h5_attr_write(g, "device_kind", mm.device_kind);
    h5_write_text(g, "config_json", mm.config_json);
    h5_write_column(g, "files", mm.files);
    h5_write_column(g, "sha256", mm.sha256);
  }
  for (const auto& j : m.judge_meta) {
    Hid g = h5_group_create(f, std::string(schema::G_JUDGES) + "/" + j.id);
    h5_attr_write(g, "kind", j.kind);
    h5_write_text(g, "settings_json", j.settings_json);
    if (j.model.id.empty()) continue;
    h5_attr_write(g, "path", j.model.path);
    h5_write_text(g, "config_json", j.model.config_json);
    h5_write_column(g, "files", j.model.files);
    h5_write_column(g, "sha256", j.model.sha256);
  }
  Hid p = h5_group_create(f, schema::G_PROMPTS);
  h5_write_column(p, "prompt_set", m.p_set);
  h5_write_column(p, "id", m.p_id);
  h5_write_column(p, "text", m.p_text);
  h5_write_column(p, "label", H5T_NATIVE_INT8, m.p_label.size(), m.p_label.data());
  h5_write_column(p, "category", m.p_category);
  h5_write_column(p, "source", m.p_source);
  Hid iv = h5_group_create(f, schema::G_INTERVENTIONS);
  h5_write_column(iv, "id", m.iv_id);
  h5_write_column(iv, "type", m.iv_type);
  h5_write_column(iv, "description", m.iv_description);
  h5_write_column(iv, "params", m.iv_params);
}

}  // namespace

void archive_write(const std::string& outdir, const std::string& path, const ArchiveMeta& m, const std::vector<PlacedUnit>& units) {
  std::string tmp = path + ".tmp";
  {
    Hid f = h5_file_create(tmp);
    h5_attr_write(f, schema::A_SCHEMA_VERSION, schema::VERSION);
    h5_attr_write(f, schema::A_KIND, "archive");
    h5_attr_write(f, schema::A_RUN_ID, m.run_id);
    h5_attr_write(f, schema::A_FINGERPRINT, m.fingerprint);
    h5_attr_write(f, schema::A_JOB_NAME, m.job_name);
    write_meta(f, m);
    Shards shards{outdir, {}};

    // /samples: every column virtual over the same segments
    std::vector<Segment> segs, bsegs;
    std::vector<int64_t> unit_row(units.size());  // first /samples (or /branches) row of each unit
    int64_t rows = 0, brows = 0;
    for (size_t i = 0; i < units.size(); i++) {
      int64_t& at = units[i].branches ? brows : rows;
      unit_row[i] = at;
      add_segment(units[i].branches ? bsegs : segs, units[i].shard, units[i].sample_begin, units[i].n_samples, at);
      at += units[i].n_samples;
    }
    Hid samples = h5_group_create(f, schema::G_SAMPLES);
    h5_attr_write(samples, schema::A_JUDGES, m.judges);
    std::vector<std::string> kinds;
    for (const auto& j : m.judge_meta) kinds.push_back(j.kind);
    if (kinds.size() == m.judges.size()) h5_attr_write(samples, schema::A_JUDGE_KINDS, kinds);
    const int64_t n_branch_units = std::count_if(units.begin(), units.end(), [](const PlacedUnit& u) { return u.branches; });
    h5_attr_write(samples, "n_units", static_cast<int64_t>(units.size()) - n_branch_units);
    for (const auto& c : schema::SAMPLE_COLUMNS) {
      std::vector<hsize_t> inner;
      if (c.per_judge) inner.push_back(m.judges.size());
      write_virtual(samples, c.name, column_h5_type(c.type), inner, segs, std::string(schema::G_SAMPLES) + "/" + c.name, shards);
      Hid d = h5_dataset_open(samples, c.name);
      h5_attr_write(d, "help", c.help);
    }

    // /branches: the protocol units' answers, the same way
    Hid branches = h5_group_create(f, schema::G_BRANCHES);
    h5_attr_write(branches, schema::A_JUDGES, m.judges);
    h5_attr_write(branches, "n_units", n_branch_units);
    for (const auto& c : schema::BRANCH_COLUMNS) {
      std::vector<hsize_t> inner;
      if (c.per_judge) inner.push_back(m.judges.size());
      write_virtual(branches, c.name, column_h5_type(c.type), inner, bsegs, std::string(schema::G_BRANCHES) + "/" + c.name, shards);
      Hid d = h5_dataset_open(branches, c.name);
      h5_attr_write(d, "help", c.help);
    }

    // /activations/<model>/<position>: data virtual; sample (the /samples row), point and layers real
    for (size_t mi = 0; mi < m.models.size(); mi++) {
      for (size_t p = 0; p < m.positions.size(); p++) {
        std::string key = m.models[mi].id + "/" + m.positions[p];
        std::string src = std::string(schema::G_ACTIVATIONS) + "/" + key;
        std::vector<Segment> asegs;
        std::vector<int64_t> sample_row, point;
        const PlacedUnit* first = nullptr;
        for (size_t i = 0; i < units.size(); i++) {
          const PlacedUnit& u = units[i];
          if (u.model != static_cast<int32_t>(mi) || p >= u.act_n.size() || u.act_n[p] == 0) continue;
          if (!first) first = &u;
          int64_t dst = static_cast<int64_t>(sample_row.size());
          add_segment(asegs, u.shard, u.act_begin[p], u.act_n[p], dst);
          hid_t sf = shards.get(u.shard);
          std::vector<int32_t> in_unit(u.act_n[p]), pt(u.act_n[p]);
          h5_read_rows(h5_dataset_open(sf, src + "/" + schema::D_ACT_SAMPLE_IN_UNIT), H5T_NATIVE_INT32, u.act_begin[p], u.act_n[p], in_unit.data());
          h5_read_rows(h5_dataset_open(sf, src + "/" + schema::D_ACT_POINT), H5T_NATIVE_INT32, u.act_begin[p], u.act_n[p], pt.data());
          for (int64_t r = 0; r < u.act_n[p]; r++) {
            TP_CHECK(in_unit[r] >= 0 && in_unit[r] < u.n_samples);
            sample_row.push_back(unit_row[i] + in_unit[r]);
            point.push_back(pt[r]);
          }
        }
        if (!first) continue;  // no finished unit of this model
        Hid g = h5_group_create(f, std::string(schema::G_ACTIVATIONS) + "/" + key);
        h5_attr_write(g, "position", m.positions[p]);
        Hid src_data = h5_dataset_open(shards.get(first->shard), src + "/" + schema::D_ACT_DATA);
        Hid type(H5_CHECK(H5Dget_type(src_data)));
        std::vector<hsize_t> inner = h5_dims(src_data);
        inner.erase(inner.begin());
        write_virtual(g, schema::D_ACT_DATA, type, inner, asegs, src + "/" + schema::D_ACT_DATA, shards);
        h5_write_column(g, schema::D_ACT_SAMPLE, H5T_NATIVE_INT64, sample_row.size(), sample_row.data());
        std::vector<int32_t> pt32(point.begin(), point.end());
        h5_write_column(g, schema::D_ACT_POINT, H5T_NATIVE_INT32, pt32.size(), pt32.data());
        Hid layers_src = h5_dataset_open(shards.get(first->shard), src + "/" + schema::D_ACT_LAYERS);
        std::vector<int32_t> layers(h5_dims(layers_src)[0]);
        h5_read_rows(layers_src, H5T_NATIVE_INT32, 0, layers.size(), layers.data());
        h5_write_column(g, schema::D_ACT_LAYERS, H5T_NATIVE_INT32, layers.size(), layers.data());
      }
    }
    h5_flush_durable(f);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(fmt::format("cannot rename {} to {}", tmp, path));
}

namespace {

// Copies dataset src into loc/name as an ordinary chunked dataset, row block by row block.
// chunk_inner: the chunk's shape after the rows (empty: all of inner); rows per chunk fill ~1 MiB.
void materialise(hid_t src, hid_t loc, const std::string& name, int gzip, const std::vector<hsize_t>& chunk_inner = {}) {
  Hid type(H5_CHECK(H5Dget_type(src)));
  std::vector<hsize_t> dims = h5_dims(src);
  std::vector<hsize_t> inner(dims.begin() + 1, dims.end());
  size_t row_bytes = H5Tget_size(type), chunk_row_bytes = row_bytes;
  for (hsize_t d : inner) row_bytes *= d;
  for (hsize_t d : chunk_inner.empty() ? inner : chunk_inner) chunk_row_bytes *= d;
  hsize_t chunk = std::clamp<hsize_t>(std::min<hsize_t>((1 << 20) / std::max<size_t>(chunk_row_bytes, 1), dims[0]), 1, 4096);
  Hid dst = h5_dataset_create(loc, name, type, inner, chunk, gzip, chunk_inner);
  bool vlen = H5Tis_variable_str(type) > 0;
  std::vector<unsigned char> buf;
  for (hsize_t r = 0; r < dims[0]; r += chunk * 16) {
    hsize_t n = std::min<hsize_t>(chunk * 16, dims[0] - r);
    buf.resize(n * row_bytes);
    h5_read_rows(src, type, r, n, buf.data());
    h5_append(dst, type, n, buf.data());
    if (vlen) {
      std::vector<hsize_t> count{n};
      count.insert(count.end(), inner.begin(), inner.end());
      Hid ms(H5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
      H5_CHECK(H5Dvlen_reclaim(type, ms, H5P_DEFAULT, buf.data()));
    }
  }
  h5_attrs_copy(src, dst);
}

}  // namespace

int64_t archive_pack(const std::string& in_path, const std::string& out_path) {
  Hid in = archive_file_open(in_path, "archive");
  std::string tmp = out_path + ".tmp";
  {
    Hid out = h5_file_create(tmp);
    h5_attrs_copy(in, out);
    h5_attr_write(out, schema::A_KIND, "packed");
    for (const char* g : {schema::G_META, schema::G_MODELS, schema::G_JUDGES, schema::G_PROMPTS, schema::G_INTERVENTIONS})
      if (h5_exists(in, g)) H5_CHECK(H5Ocopy(in, g, out, g, H5P_DEFAULT, H5P_DEFAULT));
    Hid samples_in = h5_group_open(in, schema::G_SAMPLES);
    Hid samples_out = h5_group_create(out, schema::G_SAMPLES);
    h5_attrs_copy(samples_in, samples_out);
    for (const auto& c : h5_children(samples_in)) materialise(h5_dataset_open(samples_in, c), samples_out, c, 0);
    if (h5_exists(in, schema::G_BRANCHES)) {
      Hid branches_in = h5_group_open(in, schema::G_BRANCHES);
      Hid branches_out = h5_group_create(out, schema::G_BRANCHES);
      h5_attrs_copy(branches_in, branches_out);
      for (const auto& c : h5_children(branches_in)) materialise(h5_dataset_open(branches_in, c), branches_out, c, 0);
    }
    if (h5_exists(in, schema::G_ACTIVATIONS)) {
      Hid acts = h5_group_open(in, schema::G_ACTIVATIONS);
      for (const auto& model : h5_children(acts))
        for (const auto& pos : h5_children(h5_group_open(acts, model))) {
          std::string key = std::string(schema::G_ACTIVATIONS) + "/" + model + "/" + pos;
          Hid gi = h5_group_open(in, key);
          Hid go = h5_group_create(out, key);
          h5_attrs_copy(gi, go);
          for (const auto& d : h5_children(gi)) {
            Hid ds = h5_dataset_open(gi, d);
            if (d == schema::D_ACT_DATA) materialise(ds, go, d, 4, {schema::ACT_CHUNK_LAYERS, h5_dims(ds).at(2)});
            else materialise(ds, go, d, 0);
          }
        }
    }
    h5_flush_durable(out);
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) throw Error(fmt::format("cannot rename {} to {}", tmp, out_path));
  return static_cast<int64_t>(h5_dims(h5_dataset_open(in, std::string(schema::G_SAMPLES) + "/unit"))[0]);
}

}  // namespace tp
