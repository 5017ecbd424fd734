// Shards and archives: what the dry engine produces is what a shard holds, row for row (the reference is
// the UnitResult in memory); float16 activations are real IEEE halves; archive.h5 maps finished units in
// plan order and leaves out rows no journal line points at; damaged and foreign files give clear errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "archive/assemble.h"
#include "archive/h5.h"
#include "archive/reader.h"
#include "archive/schema.h"
#include "archive/writer.h"
#include "dry_engine.h"
#include "helpers.h"
#include "prompts/work_unit.h"
#include "util/check.h"

using namespace tp;

namespace {

struct Fixture {
  JobSpec job;
  std::vector<PromptSet> sets;
  std::vector<WorkUnit> units;
  explicit Fixture(const std::string& dtype = "float32") {
    job.job.name = "t";
    job.job.seed = 3;
    job.models.resize(1);
    job.models[0].id = "m";
    job.models[0].sampling.samples_per_prompt = 2;
    job.interventions.resize(1);
    job.interventions[0].id = "base";
    PromptSetSpec p;
    p.id = "xs";
    p.path = test::shared_dir() + "/data/prompts/xstest.jsonl";
    p.filter.limit = 6;
    job.prompt_sets = {p};
    job.run.prompts_per_unit = 2;
    job.capture.layers = {"0", "last"};
    job.capture.positions = {"think_first", "think_span"};
    job.capture.span_points = 3;
    job.capture.dtype = dtype;
    std::vector<Diagnostic> errors;
    sets = prompt_sets_load(job, errors);
    REQUIRE(errors.empty());
    units = plan_units(job, sets);
    REQUIRE(units.size() == 3);
  }
};

ShardInfo info(int rank) { return {"run", "fp", "t", "host", rank, 1}; }

// The chunk shape of a chunked dataset (HDF5's own record of it).
std::vector<hsize_t> chunk_dims(hid_t ds) {
  Hid dcpl(H5_CHECK(H5Dget_create_plist(ds)));
  std::vector<hsize_t> c(3, 0);
  REQUIRE(H5Pget_chunk(dcpl, 3, c.data()) == 3);
  return c;
}

}  // namespace

TEST_CASE("a shard holds exactly the rows the runner produced", "[archive]") {
  Fixture fx;
  std::string path = test::temp_dir("archive-shard") + "/s.h5";
  UnitRunner runner = dry_runner(fx.job, fx.sets, 1);
  ShardWriter w = shard_create(path, info(1), job_judges(fx.job));
  UnitResult r0 = runner.run(fx.units[0]), r2 = runner.run(fx.units[2]);
  UnitRows a = shard_append(w, fx.job, fx.sets, fx.units[0], 0, r0);
  UnitRows b = shard_append(w, fx.job, fx.sets, fx.units[2], 2, r2);
  shard_close(w);
  CHECK(a.sample_begin == 0);
  CHECK(a.n_samples == 4);
  CHECK(b.sample_begin == 4);
  CHECK(b.act_begin == std::vector<int64_t>{4, 12});  // think_first: 1 row per sample; think_span: 3
  CHECK(b.act_n == std::vector<int64_t>{4, 12});

  ShardSummary sum = shard_check(path, "fp");
  CHECK(sum.n_samples == 8);
  CHECK(sum.act_rows.at("m/think_span") == 24);
  Hid f = h5_file_open(path);
  auto think = h5_read_strings(h5_dataset_open(f, "/samples/thinking"), 4, 4);
  auto unit = h5_read_strings(h5_dataset_open(f, "/samples/unit"), 0, 8);
  for (int i = 0; i < 4; i++) CHECK(think[i] == r2.samples[i].thinking);
  CHECK(unit[3] == fx.units[0].id);
  CHECK(unit[4] == fx.units[2].id);
  std::vector<uint64_t> seed(8);
  h5_read_rows(h5_dataset_open(f, "/samples/seed"), H5T_NATIVE_UINT64, 0, 8, seed.data());
  CHECK(seed[5] == r2.samples[1].seed);
  CHECK(seed[5] == sample_seed(3, "xs", fx.sets[0].prompts[fx.units[2].prompts[0]].id, 1));
  const ActivationBlock& span = r2.activations[1];
  std::vector<float> x(12 * 3 * DRY_HIDDEN);
  h5_read_rows(h5_dataset_open(f, "/activations/m/think_span/data"), H5T_NATIVE_FLOAT, 12, 12, x.data());
  for (int r = 0; r < 12; r++)  // the file's rows are [layers, hidden]; the block holds each layer's rows together
    for (int l = 0; l < 3; l++)
      CHECK(std::memcmp(&x[(r * 3 + l) * DRY_HIDDEN], &span.data[l][r * DRY_HIDDEN * sizeof(float)], DRY_HIDDEN * sizeof(float)) == 0);
  std::vector<int32_t> layers(3);
  h5_read_rows(h5_dataset_open(f, "/activations/m/think_span/layers"), H5T_NATIVE_INT32, 0, 3, layers.data());
  CHECK(layers == std::vector<int32_t>{0, DRY_N_LAYER - 1, DRY_N_LAYER});  // 0, last, final norm
  // One layer per chunk, so the reducer's one-layer reads do not read (or decompress) the other layers.
  std::vector<hsize_t> chunk = chunk_dims(h5_dataset_open(f, "/activations/m/think_span/data"));
  CHECK(chunk[1] == 1);
  CHECK(chunk[2] == static_cast<hsize_t>(DRY_HIDDEN));
}

TEST_CASE("float16 activations are IEEE halves that HDF5 converts to the right floats", "[archive]") {
  Fixture fx("float16");
  std::string path = test::temp_dir("archive-f16") + "/s.h5";
  UnitRunner runner = dry_runner(fx.job, fx.sets, 1);
  UnitResult r = runner.run(fx.units[0]);
  // replace the first row with known halves: 0.5, -2, 1.5, 0, 65504 (max), 2^-14 (min normal), ...
  const uint16_t halves[] = {0x3800, 0xC000, 0x3E00, 0x0000, 0x7BFF, 0x0400};
  const float want[] = {0.5f, -2.0f, 1.5f, 0.0f, 65504.0f, 6.103515625e-05f};
  std::memcpy(r.activations[0].data[0].data(), halves, sizeof halves);  // row 0, layer 0
  ShardWriter w = shard_create(path, info(1), job_judges(fx.job));
  shard_append(w, fx.job, fx.sets, fx.units[0], 0, r);
  shard_close(w);
  Hid f = h5_file_open(path);
  std::vector<float> x(3 * DRY_HIDDEN);
  h5_read_rows(h5_dataset_open(f, "/activations/m/think_first/data"), H5T_NATIVE_FLOAT, 0, 1, x.data());
  for (int i = 0; i < 6; i++) CHECK(x[i] == want[i]);
}

TEST_CASE("archive.h5 maps finished units in plan order and leaves out unjournaled rows", "[archive]") {
  Fixture fx;
  std::string dir = test::temp_dir("archive-vds");
  std::filesystem::create_directories(dir + "/shards");
  UnitRunner runner = dry_runner(fx.job, fx.sets, 1);
  // rank 1 did units 2 then 0; rank 2 did unit 1 and then unit 2 again (a redo whose journal line never came)
  ShardWriter w1 = shard_create(dir + "/" + shard_name(1, 1), info(1), job_judges(fx.job));
  ShardWriter w2 = shard_create(dir + "/" + shard_name(1, 2), info(2), job_judges(fx.job));
  UnitRows u2 = shard_append(w1, fx.job, fx.sets, fx.units[2], 2, runner.run(fx.units[2]));
  UnitRows u0 = shard_append(w1, fx.job, fx.sets, fx.units[0], 0, runner.run(fx.units[0]));
  UnitRows u1 = shard_append(w2, fx.job, fx.sets, fx.units[1], 1, runner.run(fx.units[1]));
  shard_append(w2, fx.job, fx.sets, fx.units[2], 2, runner.run(fx.units[2]));  // orphan rows
  shard_close(w1);
  shard_close(w2);
  LoadedJob lj;
  lj.spec = fx.job;
  ArchiveMeta meta;
  meta.run_id = "run";
  meta.positions = fx.job.capture.positions;
  meta.judges = job_judges(fx.job);
  meta.models.push_back({"m", "", "{}", "float32", "dry", {}, {}});
  auto place = [](int32_t i, const std::string& shard, const UnitRows& r) { return PlacedUnit{i, 0, shard, r.sample_begin, r.n_samples, r.act_begin, r.act_n}; };
  archive_write(dir, dir + "/archive.h5", meta, {place(0, shard_name(1, 1), u0), place(1, shard_name(1, 2), u1), place(2, shard_name(1, 1), u2)});

  Hid f = archive_file_open(dir + "/archive.h5", "archive");
  Hid units = h5_dataset_open(f, "/samples/unit");
  REQUIRE(h5_dims(units)[0] == 12);
  auto ids = h5_read_strings(units, 0, 12);
  for (int i = 0; i < 12; i++) CHECK(ids[i] == fx.units[i / 4].id);
  std::vector<int64_t> sample(36);
  Hid span_sample = h5_dataset_open(f, "/activations/m/think_span/sample");
  REQUIRE(h5_dims(span_sample)[0] == 36);
  h5_read_rows(span_sample, H5T_NATIVE_INT64, 0, 36, sample.data());
  for (int r = 0; r < 36; r++) CHECK(sample[r] == r / 3);  // 3 span points per sample, samples in order

  std::string packed = dir + "/packed.h5";
  CHECK(archive_pack(dir + "/archive.h5", packed) == 12);
  std::filesystem::rename(dir + "/shards", dir + "/gone");  // the packed file needs no shard
  Hid p = archive_file_open(packed, "archive");
  CHECK(h5_attr_string(p, schema::A_KIND) == "packed");
  CHECK(h5_read_strings(h5_dataset_open(p, "/samples/unit"), 0, 12) == ids);
  std::vector<hsize_t> chunk = chunk_dims(h5_dataset_open(p, "/activations/m/think_span/data"));
  CHECK(chunk[0] == 36);  // all rows: 36 x 1 x hidden floats are under 1 MiB
  CHECK(chunk[1] == 1);
  CHECK(chunk[2] == static_cast<hsize_t>(DRY_HIDDEN));
}

TEST_CASE("a truncated shard, a foreign shard and another schema version are refused clearly", "[archive]") {
  Fixture fx;
  std::string dir = test::temp_dir("archive-bad");
  UnitRunner runner = dry_runner(fx.job, fx.sets, 1);
  ShardWriter w = shard_create(dir + "/s.h5", info(1), job_judges(fx.job));
  shard_append(w, fx.job, fx.sets, fx.units[0], 0, runner.run(fx.units[0]));
  shard_close(w);
  CHECK_THROWS_WITH(shard_check(dir + "/s.h5", "other"), Catch::Contains("belongs to another job"));
  std::filesystem::copy_file(dir + "/s.h5", dir + "/t.h5");
  std::filesystem::resize_file(dir + "/t.h5", std::filesystem::file_size(dir + "/t.h5") / 2);
  try {
    shard_check(dir + "/t.h5", "fp");
    FAIL("a truncated shard was accepted");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("t.h5 is corrupt or truncated") && Catch::Contains("truncated file"));
    CHECK_THAT(e.hint, Catch::Contains("move the shard aside"));
  }
  {
    Hid f = h5_file_open(dir + "/s.h5", true);
    h5_attr_write(f, schema::A_SCHEMA_VERSION, std::string("2.0"));
  }
  try {
    shard_check(dir + "/s.h5", "fp");
    FAIL("schema 2.0 was accepted");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("schema version 2.0; this thinkprobe reads 1.x"));
    CHECK_FALSE(e.hint.empty());
  }
}

TEST_CASE("the archive's layer list is the capture plan's layers, then n_layer for the final norm", "[archive]") {
  CaptureSpec c;
  c.layers = {"1:3", "0"};
  c.final_norm = true;
  CHECK(archive_layers(c, 4) == std::vector<int32_t>{0, 1, 2, 4});
  c.final_norm = false;
  c.layers = {"last"};
  CHECK(archive_layers(c, 4) == std::vector<int32_t>{3});
}

TEST_CASE("a NUL byte in generated text is stored as U+FFFD and the rest of the text is kept", "[archive]") {
  const std::string path = test::temp_dir("h5-nul") + "/s.h5";
  const std::string text("before\0after", 12);
  {
    Hid f = h5_file_create(path);
    Hid d = h5_dataset_create(f, "col", h5_str_type(), {}, 4);
    h5_append_strings(d, {"plain", text});
    h5_write_column(f, "fixed", std::vector<std::string>{text});
  }
  Hid f = h5_file_open(path);
  CHECK(h5_read_strings(h5_dataset_open(f, "col"), 0, 2) == std::vector<std::string>{"plain", "before\xEF\xBF\xBD" "after"});
  CHECK(h5_read_strings(h5_dataset_open(f, "fixed"), 0, 1) == std::vector<std::string>{"before\xEF\xBF\xBD" "after"});
}
