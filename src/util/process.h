// Running an external program (sbatch, squeue, scontrol) and capturing what it prints.
// Arguments are passed as a vector and never through a shell, so paths with spaces or quotes are safe.
#pragma once
#include <string>
#include <vector>

namespace tp {

struct ProcessResult {
  int status = -1;      // exit status; 127 if the program could not be started; 128+N if killed by signal N
  std::string out;      // standard output
  std::string err;      // standard error
};

ProcessResult process_run(const std::vector<std::string>& argv);

// Absolute path of the running executable (/proc/self/exe).
std::string self_exe_path();

}  // namespace tp
