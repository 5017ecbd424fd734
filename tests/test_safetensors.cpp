// Safetensors reader: round trip through the writer, and every kind of corrupt or truncated file gives a
// tp::Error naming the file and the tensor (reference: the format spec, header JSON + data offsets).
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "helpers.h"
#include "model/safetensors.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;

static std::string f32_bytes(std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

// A raw file from a header JSON and a data block.
static void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  test::write_text(path, out + header + data);
}

static std::string error_of(const std::string& path) {
  try {
    safetensors_open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("safetensors: write then read back, F32 and BF16", "[safetensors]") {
  std::string dir = test::temp_dir("st_roundtrip");
  std::string p = dir + "/m.safetensors";
  safetensors_write(p, {{"a", StDtype::F32, {2, 2}, f32_bytes({1, 2, 3, 4})}, {"b", StDtype::BF16, {3}, std::string("\x80\x3f\x00\x40\x40\x40", 6)}});
  StCheckpoint ck = safetensors_open(p);
  REQUIRE(ck.tensors.size() == 2);
  const StTensor* a = ck.find("a");
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{2, 2});
  float v[4];
  std::memcpy(v, a->data, 16);
  CHECK(v[3] == 4.0f);
  CHECK(ck.find("b")->n_bytes == 6);
  CHECK(ck.find("b")->dtype == StDtype::BF16);
}

TEST_CASE("safetensors: corrupt and truncated files are clear errors", "[safetensors]") {
  std::string dir = test::temp_dir("st_corrupt");
  std::string p = dir + "/bad.safetensors";
  std::string data = f32_bytes({1, 2, 3, 4});

  SECTION("truncated data block names the tensor") {
    safetensors_write(p, {{"w", StDtype::F32, {4}, data}});
    std::string all = read_file(p);
    test::write_text(p, all.substr(0, all.size() - 3));
    std::string e = error_of(p);
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("'w'") != std::string::npos);
    CHECK(e.find("out of range") != std::string::npos);
  }
  SECTION("header length beyond the file") {
    write_raw(p, "{}", "");
    std::string all = read_file(p);
    all[0] = char(0xff);
    test::write_text(p, all);
    CHECK(error_of(p).find("header length") != std::string::npos);
  }
  SECTION("file shorter than 8 bytes") {
    test::write_text(p, "abc");
    CHECK(error_of(p).find("truncated") != std::string::npos);
  }
  SECTION("shape and byte count disagree") {
    write_raw(p, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data);
    std::string e = error_of(p);
    CHECK(e.find("'w'") != std::string::npos);
    CHECK(e.find("needs 12 bytes") != std::string::npos);
  }
  SECTION("overlapping tensors") {
    write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data);
    CHECK(error_of(p).find("overlap") != std::string::npos);
  }
  SECTION("unsupported dtype") {
    write_raw(p, R"({"w":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", data);
    std::string e = error_of(p);
    CHECK(e.find("'w'") != std::string::npos);
    CHECK(e.find("I64") != std::string::npos);
  }
  SECTION("header is not JSON") {
    write_raw(p, "{not json", data);
    CHECK(error_of(p).find("corrupt header") != std::string::npos);
  }
  SECTION("missing data_offsets") {
    write_raw(p, R"({"w":{"dtype":"F32","shape":[4]}})", data);
    CHECK(error_of(p).find("'w'") != std::string::npos);
  }
}

TEST_CASE("safetensors: sharded checkpoint through the index", "[safetensors]") {
  std::string dir = test::temp_dir("st_shards");
  safetensors_write(dir + "/s1.safetensors", {{"a", StDtype::F32, {1}, f32_bytes({1})}});
  safetensors_write(dir + "/s2.safetensors", {{"b", StDtype::F32, {1}, f32_bytes({2})}});
  test::write_text(dir + "/model.safetensors.index.json", R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  StCheckpoint ck = checkpoint_open(dir);
  CHECK(ck.tensors.size() == 2);
  CHECK(ck.find("b")->path == dir + "/s2.safetensors");

  test::write_text(dir + "/model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}})");
  try {
    checkpoint_open(dir);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'c'") != std::string::npos);
    CHECK(std::string(e.what()).find("s2.safetensors") != std::string::npos);
  }
  CHECK_THROWS_AS(checkpoint_open(test::temp_dir("st_empty")), Error);
}
