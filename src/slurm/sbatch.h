// Renders the sbatch script of a job from a template (slurm/thinkprobe.sbatch) and the job's `slurm`
// section. Placeholders are {{name}}; an #SBATCH line whose placeholders are all empty is dropped, so
// optional resources (partition, account, ...) simply vanish. No Slurm is called here (cmd_submit does).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/job_spec.h"

namespace tp {

// Ranks of one allocation: the coordinator plus the workers of every node.
int64_t slurm_ntasks(const SlurmSpec& s);

// The values of every placeholder for this job. `thinkprobe` is the absolute path of the binary to run,
// `job_file` the job's absolute path, `overrides` the section.key=value strings passed on to `run`.
std::map<std::string, std::string> sbatch_values(const LoadedJob& job, const std::string& thinkprobe,
                                                 const std::vector<std::string>& overrides, bool dry_engine = false,
                                                 bool array = false);

// Substitutes the values into the template; an unknown placeholder is a tp::Error naming template:line.
std::string sbatch_render(const std::string& template_text, const std::string& template_name,
                          const std::map<std::string, std::string>& values);

// Single-quotes a word for bash.
std::string shell_quote(const std::string& s);

}  // namespace tp
