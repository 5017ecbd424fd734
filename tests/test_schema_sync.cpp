// schemas/job.schema.json must be exactly what the parser's field lists generate (`thinkprobe validate
// --schema`), so the schema that editors use and the parser cannot drift apart.
#include <catch2/catch.hpp>

#include "config/job_spec.h"
#include "helpers.h"
#include "util/text.h"

TEST_CASE("schemas/job.schema.json equals the schema generated from the parser", "[config][schema]") {
  nlohmann::json committed = nlohmann::json::parse(tp::read_file(tp::test::source_dir() + "/schemas/job.schema.json"));
  nlohmann::json generated = tp::job_json_schema();
  INFO("regenerate with: build/thinkprobe validate --schema > schemas/job.schema.json");
  CHECK(committed == generated);
}

TEST_CASE("docs/job-reference.md equals the reference generated from the parser", "[config][schema]") {
  INFO("regenerate with: build/thinkprobe validate --reference > docs/job-reference.md");
  CHECK(tp::read_file(tp::test::source_dir() + "/docs/job-reference.md") == tp::job_reference_markdown());
}
