// The demo trainer is deterministic: the same seed on the same machine writes the same weights, byte for
// byte (the reference is a second run into another folder); another seed writes other weights; a folder
// that holds the same fingerprint is not retrained. A very short run (a few steps on a small corpus).
#include <catch2/catch.hpp>

#include "demo/train.h"
#include "helpers.h"
#include "util/text.h"

using namespace tp;

TEST_CASE("demo trainer: same seed, same weights bytes, and another seed, other weights", "[demo]") {
  std::string dir = test::temp_dir("demo_train");
  DemoTrainOptions o;
  o.steps = 3, o.batch = 4, o.n_chats = 200, o.n_merges = 60;
  DemoTrainResult a = demo_model_train(dir + "/a", o);
  DemoTrainResult b = demo_model_train(dir + "/b", o);
  REQUIRE_FALSE(a.cached);
  REQUIRE_FALSE(b.cached);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.final_loss == b.final_loss);
  const std::string wa = read_file(dir + "/a/model.safetensors");
  CHECK(wa.size() > 100000);
  CHECK(wa == read_file(dir + "/b/model.safetensors"));
  CHECK(read_file(dir + "/a/tokenizer.json") == read_file(dir + "/b/tokenizer.json"));

  CHECK(demo_model_train(dir + "/a", o).cached);  // same fingerprint: nothing to do

  o.seed = 2;
  DemoTrainResult c = demo_model_train(dir + "/c", o);
  CHECK(c.fingerprint != a.fingerprint);
  CHECK(read_file(dir + "/c/model.safetensors") != wa);
}
