// The run journal: events round-trip, a torn last line (a kill during a write) is ignored and cut off
// before the next append, damage elsewhere is an error naming the line, "lost" undoes a "done".
#include <catch2/catch.hpp>

#include <fstream>

#include "dist/journal.h"
#include "helpers.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;

namespace {

nlohmann::json header() {
  return {{"event", "header"}, {"format", JOURNAL_FORMAT}, {"fingerprint", "abc123"}, {"run_id", "r1"}, {"job", "j"}, {"created", "t0"}};
}

JournalDone done(const std::string& unit, int32_t index) {
  JournalDone d;
  d.unit = unit;
  d.index = index;
  d.attempt = 1;
  d.rank = 2;
  d.shard = "shards/a1-rank2.h5";
  d.sample_begin = 10 * index;
  d.n_samples = 10;
  d.act_begin = {5, 6};
  d.act_n = {10, 40};
  d.device = "dry";
  return d;
}

}  // namespace

TEST_CASE("journal events round-trip", "[journal]") {
  std::string path = test::temp_dir("journal-rt") + "/journal.jsonl";
  CHECK_FALSE(journal_read(path).exists);
  {
    Journal j = journal_open(path, JournalState{}, header());
    journal_append(j, {{"event", "attempt"}, {"attempt", 1}, {"start", "t1"}, {"ranks", 3}});
    journal_append(j, journal_done_json(done("m/a/s/p+2/s0-1", 4)));
    journal_append(j, journal_failed_json({"m/a/s/q+2/s0-1", 5, 1, 3, "boom"}));
    journal_append(j, {{"event", "end"}, {"attempt", 1}, {"time", "t2"}});
    journal_sync(j);
  }
  JournalState st = journal_read(path);
  CHECK(st.exists);
  CHECK(st.fingerprint == "abc123");
  CHECK(st.run_id == "r1");
  REQUIRE(st.attempts.size() == 1);
  CHECK(st.attempts[0]["end"] == "t2");
  REQUIRE(st.done.size() == 1);
  const JournalDone& d = st.done.at("m/a/s/p+2/s0-1");
  CHECK(d.index == 4);
  CHECK(d.rank == 2);
  CHECK(d.shard == "shards/a1-rank2.h5");
  CHECK(d.sample_begin == 40);
  CHECK(d.act_n == std::vector<int64_t>{10, 40});
  CHECK(d.device == "dry");
  REQUIRE(st.failed.size() == 1);
  CHECK(st.failed[0].tries == 3);
  CHECK(st.failed[0].error == "boom");
  CHECK_FALSE(st.torn_tail);
}

TEST_CASE("a torn last line is ignored, then cut off before the next append", "[journal]") {
  std::string path = test::temp_dir("journal-torn") + "/journal.jsonl";
  {
    Journal j = journal_open(path, JournalState{}, header());
    journal_append(j, journal_done_json(done("u1", 0)));
    journal_sync(j);
  }
  std::string torn = journal_done_json(done("u2", 1)).dump();
  { std::ofstream(path, std::ios::app) << torn.substr(0, torn.size() / 2); }  // a kill mid-write
  JournalState st = journal_read(path);
  CHECK(st.torn_tail);
  CHECK(st.done.size() == 1);
  CHECK(st.done.count("u2") == 0);
  {
    Journal j = journal_open(path, st, header());
    journal_append(j, journal_done_json(done("u3", 2)));
    journal_sync(j);
  }
  JournalState after = journal_read(path);
  CHECK_FALSE(after.torn_tail);
  CHECK(after.done.size() == 2);
  CHECK(after.done.count("u3") == 1);
  CHECK(after.n_lines == 3);  // header, u1, u3
}

TEST_CASE("a damaged line before the end is an error naming the line; done twice is an error", "[journal]") {
  std::string dir = test::temp_dir("journal-bad");
  test::write_text(dir + "/j1.jsonl", header().dump() + "\n{\"event\": \"done\", garbage\n" + journal_done_json(done("u1", 0)).dump() + "\n");
  REQUIRE_THROWS_AS(journal_read(dir + "/j1.jsonl"), Error);
  try {
    journal_read(dir + "/j1.jsonl");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("j1.jsonl:2: not a journal line"));
    CHECK_FALSE(e.hint.empty());
  }
  std::string line = journal_done_json(done("u1", 0)).dump() + "\n";
  test::write_text(dir + "/j2.jsonl", header().dump() + "\n" + line + line);
  CHECK_THROWS_WITH(journal_read(dir + "/j2.jsonl"), Catch::Contains("journaled done twice"));
}

TEST_CASE("a lost event undoes a done unit, which may then be done again", "[journal]") {
  std::string dir = test::temp_dir("journal-lost");
  std::string line = journal_done_json(done("u1", 0)).dump() + "\n";
  test::write_text(dir + "/j.jsonl", header().dump() + "\n" + line + journal_lost_json(done("u1", 0)).dump() + "\n" + line);
  JournalState st = journal_read(dir + "/j.jsonl");
  CHECK(st.done.size() == 1);
  test::write_text(dir + "/k.jsonl", header().dump() + "\n" + line + journal_lost_json(done("u1", 0)).dump() + "\n");
  CHECK(journal_read(dir + "/k.jsonl").done.empty());
}
