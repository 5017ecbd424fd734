// sbatch rendering: resources from the job's slurm section, optional lines dropped, values quoted for
// bash, unknown placeholders named with template:line; the shipped template renders for every job.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "slurm/sbatch.h"
#include "util/check.h"
#include "util/text.h"

using namespace tp;

namespace {

LoadedJob slurm_job(const std::string& slurm_yaml) {
  std::string d = test::temp_dir("slurm-render");
  for (const char* f : {"config.json", "tokenizer.json", "model.safetensors"}) test::write_text(d + "/m/" + f, "{}");
  test::write_text(d + "/p.jsonl", "{\"id\": \"a\", \"prompt\": \"hi\", \"label\": \"benign\"}\n");
  test::write_text(d + "/job.yaml", "job: {name: sl}\nmodels: [{id: m, path: m}]\nprompt_sets: [{id: p, path: p.jsonl}]\n" + slurm_yaml);
  return job_load_or_throw(d + "/job.yaml");
}

}  // namespace

TEST_CASE("ranks: one coordinator plus the workers of every node", "[slurm]") {
  SlurmSpec s;
  s.nodes = 2;
  s.gpus_per_node = 4;
  CHECK(slurm_ntasks(s) == 9);
  s.gpus_per_node = 0;
  CHECK(slurm_ntasks(s) == 3);  // CPU workers: one per node unless tasks_per_node says more
  s.tasks_per_node = 3;
  CHECK(slurm_ntasks(s) == 7);
}

TEST_CASE("the shipped template renders resources, setup and the launcher", "[slurm]") {
  LoadedJob job = slurm_job("slurm:\n  partition: gpu\n  account: lab\n  nodes: 2\n  gpus_per_node: 4\n  time: '02:00:00'\n"
                            "  signal_seconds: 120\n  setup: ['module load cuda']\n  extra_sbatch: ['--exclusive', '#SBATCH --mail-type=END']\n");
  std::string tmpl = read_file(test::source_dir() + "/slurm/thinkprobe.sbatch");
  std::string s = sbatch_render(tmpl, "thinkprobe.sbatch", sbatch_values(job, "/opt/tp bin/thinkprobe", {"sampling.top_k=5"}));
  CHECK_THAT(s, Catch::StartsWith("#!/bin/bash\n"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --nodes=2\n#SBATCH --ntasks=9\n#SBATCH --cpus-per-task=4\n#SBATCH --gpus-per-node=4\n"
                                "#SBATCH --partition=gpu\n#SBATCH --account=lab\n#SBATCH --time=02:00:00\n#SBATCH --signal=B:USR1@120\n"
                                "#SBATCH --requeue\n"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --exclusive\n#SBATCH --mail-type=END\n"));
  CHECK_THAT(s, !Catch::Contains("--qos") && !Catch::Contains("--mem") && !Catch::Contains("--constraint"));  // empty: dropped
  CHECK_THAT(s, Catch::Contains("\nmodule load cuda\n"));
  CHECK_THAT(s, Catch::Contains("THINKPROBE='/opt/tp bin/thinkprobe'"));
  CHECK_THAT(s, Catch::Contains("srun --mpi=pmix --kill-on-bad-exit=1 \"$THINKPROBE\" run \"$JOB\" 'sampling.top_k=5' &"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --output=" + job.spec.job.output_dir + "/slurm/%x-%j.out"));
  CHECK(s.find("{{") == std::string::npos);

  job = slurm_job("slurm: {launcher: mpirun, gpus_per_node: 0, tasks_per_node: 2}\n");
  s = sbatch_render(tmpl, "thinkprobe.sbatch", sbatch_values(job, "/x/thinkprobe", {}));
  CHECK_THAT(s, Catch::Contains("mpirun -np \"$SLURM_NTASKS\" \"$THINKPROBE\" run \"$JOB\"  &"));
  CHECK_THAT(s, !Catch::Contains("--gpus-per-node"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --ntasks=3\n"));
}

TEST_CASE("template errors name the template and line; quoting survives quotes", "[slurm]") {
  std::map<std::string, std::string> v = {{"a", "1"}};
  CHECK(sbatch_render("x {{a}}\n", "t", v) == "x 1\n");
  CHECK_THROWS_WITH(sbatch_render("ok\nbad {{b}}\n", "my.sbatch", v),
                    "my.sbatch:2: unknown placeholder {{b}} in the sbatch template (known: a)");
  CHECK_THROWS_WITH(sbatch_render("bad {{a\n", "my.sbatch", v), "my.sbatch:1: unclosed {{ in the sbatch template");
  CHECK(shell_quote("it's") == "'it'\\''s'");
}

TEST_CASE("submit with an array renders one task per model, each running only its model", "[slurm]") {
  LoadedJob job = slurm_job("");
  job.spec.models.push_back(job.spec.models[0]);
  job.spec.models[1].id = "m2";
  std::string tmpl = read_file(test::source_dir() + "/slurm/thinkprobe.sbatch");
  std::string s = sbatch_render(tmpl, "thinkprobe.sbatch", sbatch_values(job, "/x/thinkprobe", {}, false, true));
  CHECK_THAT(s, Catch::Contains("#SBATCH --array=0-1\n"));
  CHECK_THAT(s, Catch::Contains("/slurm/%x-%A_%a.out\n"));
  CHECK_THAT(s, Catch::Contains("MODELS=('m' 'm2')"));
  CHECK_THAT(s, Catch::Contains("run \"$JOB\" --model \"${MODELS[$SLURM_ARRAY_TASK_ID]}\" "));
  s = sbatch_render(tmpl, "thinkprobe.sbatch", sbatch_values(job, "/x/thinkprobe", {}));
  CHECK_THAT(s, !Catch::Contains("--array") && !Catch::Contains("MODELS=") && !Catch::Contains("--model"));
}

TEST_CASE("a job restricted to one model writes into OUTDIR/<model id>", "[slurm]") {
  LoadedJob job = slurm_job("");
  job.spec.models.push_back(job.spec.models[0]);
  job.spec.models[1].id = "m2";
  std::string out = job.spec.job.output_dir;
  job_select_model(job, "m2");
  REQUIRE(job.spec.models.size() == 1);
  CHECK(job.spec.models[0].id == "m2");
  CHECK(job.spec.job.output_dir == out + "/m2");
  CHECK_THROWS_WITH(job_select_model(job, "zz"), Catch::Contains("no model 'zz' (models: m2)"));
}
