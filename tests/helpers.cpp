// Test helpers (see helpers.h).
#include "helpers.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <sys/wait.h>
#include <unistd.h>

#include "model/test_model.h"

namespace tp::test {

std::string source_dir() { return TP_SOURCE_DIR; }
std::string shared_dir() { return TP_SHARED_DIR; }
std::string cli() { return std::string(TP_BUILD_DIR) + "/thinkprobe"; }

std::string temp_dir(const std::string& name) {
  // per process: ctest runs test cases in parallel processes, and two cases of one file may ask for the
  // same folder (a shared fixture model); each process gets its own copy
  auto p = std::filesystem::path(TP_BUILD_DIR) / "test-tmp" / (name + "." + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

const std::string& tiny_model_dir(const std::string& name, uint64_t seed) {
  static std::map<std::string, std::string> dirs;
  auto it = dirs.find(name);
  if (it != dirs.end()) return it->second;
  std::string d = temp_dir(name);
  TestModelOptions o;
  o.seed = seed;
  make_test_model(d, o);
  return dirs.emplace(name, d).first->second;
}

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << text;
}

Cmd run_cmd(const std::string& command) {
  Cmd r{0, {}};
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace tp::test
