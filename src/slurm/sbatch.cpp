// sbatch rendering (see sbatch.h).
#include "slurm/sbatch.h"

#include <filesystem>

#include <fmt/format.h>

#include "util/check.h"
#include "util/text.h"

namespace tp {

int64_t slurm_ntasks(const SlurmSpec& s) {
  int64_t per_node = s.tasks_per_node > 0 ? s.tasks_per_node : std::max<int64_t>(1, s.gpus_per_node);
  return s.nodes * per_node + 1;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::map<std::string, std::string> sbatch_values(const LoadedJob& job, const std::string& thinkprobe,
                                                 const std::vector<std::string>& overrides, bool dry_engine, bool array) {
  const SlurmSpec& s = job.spec.slurm;
  std::vector<std::string> quoted;
  for (const auto& o : overrides) quoted.push_back(shell_quote(o));
  if (dry_engine) quoted.push_back("--dry-engine");
  std::vector<std::string> model_ids;
  for (const auto& m : job.spec.models) model_ids.push_back(shell_quote(m.id));
  std::vector<std::string> extra;
  for (const auto& line : s.extra_sbatch) extra.push_back(line.rfind("#SBATCH", 0) == 0 ? line : "#SBATCH " + line);
  return {
      {"job_name", job.spec.job.name},
      {"nodes", std::to_string(s.nodes)},
      {"ntasks", std::to_string(slurm_ntasks(s))},
      {"cpus_per_task", std::to_string(s.cpus_per_task)},
      {"gpus_per_node", s.gpus_per_node > 0 ? std::to_string(s.gpus_per_node) : ""},
      {"partition", s.partition},
      {"account", s.account},
      {"qos", s.qos},
      {"mem", s.mem},
      {"constraint", s.constraint},
      {"time", s.time},
      {"signal_seconds", std::to_string(s.signal_seconds)},
      {"output_dir", job.spec.job.output_dir},
      {"extra_sbatch", join(extra, "\n")},
      {"setup", join(s.setup, "\n")},
      {"thinkprobe", shell_quote(thinkprobe)},
      {"job_file", shell_quote(std::filesystem::absolute(job.file).lexically_normal().string())},
      {"launch", s.launcher == "srun" ? fmt::format("srun --mpi={} --kill-on-bad-exit=1", s.srun_mpi)
                                      : std::string("mpirun -np \"$SLURM_NTASKS\"")},
      {"overrides", join(quoted, " ")},
      // --array: one independent job per model, each a task of the array running `run --model <id>`
      {"array", array ? fmt::format("0-{}", job.spec.models.size() - 1) : ""},
      {"log_name", array ? "%x-%A_%a" : "%x-%j"},
      {"select_model", array ? "MODELS=(" + join(model_ids, " ") + ")  # one per array task" : ""},
      {"model_arg", array ? "--model \"${MODELS[$SLURM_ARRAY_TASK_ID]}\" " : ""},
  };
}

std::string sbatch_render(const std::string& template_text, const std::string& template_name,
                          const std::map<std::string, std::string>& values) {
  std::string out;
  int line_no = 0;
  for (size_t start = 0; start < template_text.size();) {
    size_t end = template_text.find('\n', start);
    if (end == std::string::npos) end = template_text.size();
    std::string line = template_text.substr(start, end - start);
    start = end + 1;
    line_no++;
    std::string rendered;
    bool any_placeholder = false, any_value = false;
    size_t pos = 0;
    while (true) {
      size_t open = line.find("{{", pos);
      if (open == std::string::npos) { rendered += line.substr(pos); break; }
      size_t close = line.find("}}", open);
      if (close == std::string::npos) throw Error(fmt::format("{}:{}: unclosed {{{{ in the sbatch template", template_name, line_no));
      std::string key = line.substr(open + 2, close - open - 2);
      auto it = values.find(key);
      if (it == values.end()) {
        std::vector<std::string> known;
        for (const auto& [k, v] : values) known.push_back(k);
        throw Error(fmt::format("{}:{}: unknown placeholder {{{{{}}}}} in the sbatch template (known: {})", template_name, line_no, key, join(known, ", ")));
      }
      rendered += line.substr(pos, open - pos) + it->second;
      any_placeholder = true;
      any_value |= !it->second.empty();
      pos = close + 2;
    }
    bool optional_line = line.rfind("#SBATCH", 0) == 0 || trim(line).rfind("{{", 0) == 0;
    if (any_placeholder && !any_value && optional_line) continue;
    out += rendered + "\n";
  }
  return out;
}

}  // namespace tp
