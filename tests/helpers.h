// Test helpers: paths of the source tree, the shared data and the built CLI; fresh temporary folders;
// running a command and capturing its output.
#pragma once
#include <cstdint>
#include <string>

namespace tp::test {

std::string source_dir();              // the repository root
std::string shared_dir();              // ../shared beside the repository (real prompt sets)
std::string cli();                     // path of the built thinkprobe executable
std::string temp_dir(const std::string& name);  // a new empty folder under the build tree, this process's own
void write_text(const std::string& path, const std::string& text);
// A tiny random-weight checkpoint (make_test_model, default options but the seed) written once per process
// under temp_dir(name) and reused by every later call with that name.
const std::string& tiny_model_dir(const std::string& name, uint64_t seed);

struct Cmd {
  int status;          // exit status (or 128+signal)
  std::string output;  // stdout and stderr together
};
Cmd run_cmd(const std::string& command);

}  // namespace tp::test
