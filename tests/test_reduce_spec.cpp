// reduce_spec_from_job (src/reduce/reduce_spec.cpp): the reduce settings of `thinkprobe reduce` come from
// the stored job's reduce section, defaults fill what it lacks, overrides win and are checked by the same
// Rules as the job file. Reference: the defaults and Rules declared in ReduceSpec (job_spec.h).
#include <catch2/catch.hpp>

#include "reduce/reducer.h"
#include "util/check.h"

using nlohmann::json;

TEST_CASE("reduce settings: stored job, defaults, overrides", "[reduce]") {
  json job = {{"reduce", {{"folds", 7}, {"c", 0.5}}}};
  tp::ReduceSpec s = tp::reduce_spec_from_job(job, {});
  CHECK(s.folds == 7);
  CHECK(s.c == 0.5);
  CHECK(s.pca_components == tp::ReduceSpec{}.pca_components);
  s = tp::reduce_spec_from_job(job, {"reduce.folds=3", "reduce.class_weight=none", "reduce.c=2e-3"});
  CHECK(s.folds == 3);
  CHECK(s.class_weight == "none");
  CHECK(s.c == 2e-3);
  CHECK(tp::reduce_spec_from_job(json::object(), {}).bootstrap == tp::ReduceSpec{}.bootstrap);
}

TEST_CASE("reduce settings: bad overrides are refused with the key", "[reduce]") {
  json job = json::object();
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"reduce.fold=3"}), Catch::Contains("did you mean 'folds'"));
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"reduce.folds=1"}), Catch::Contains("reduce.folds") && Catch::Contains("outside"));
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"reduce.class_weight=heavy"}), Catch::Contains("not one of"));
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"reduce.c=abc"}), Catch::Contains("cannot read"));
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"reduce.folds=3.5"}), Catch::Contains("cannot read"));
  CHECK_THROWS_WITH(tp::reduce_spec_from_job(job, {"run.threads=2"}), Catch::Contains("reduce.key=value only"));
}
