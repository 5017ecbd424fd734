// Tokenizer throughput: encodes every prompt of a JSONL file (one encode per prompt) and then a large text
// file (one encode per line, newline included), and prints the timings as one JSON line. bench/
// tokenizer_bench.sh runs it beside the Node reference (tokenizer_bench.js, same inputs, same splitting)
// and writes the comparison. Not a test: it checks nothing but that the two agree on the token counts.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"
#include "util/text.h"

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

nlohmann::json run(const tp::Tokenizer& tok, const std::vector<std::string>& texts) {
  size_t bytes = 0, tokens = 0;
  double t0 = now_s();
  for (const auto& t : texts) {
    bytes += t.size();
    tokens += tp::encode(tok, t).size();
  }
  double s = now_s() - t0;
  return {{"bytes", bytes}, {"tokens", tokens}, {"seconds", s}, {"mb_per_s", bytes / s / 1e6}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tokenizer_bench MODEL_DIR PROMPTS.jsonl TEXT.txt\n");
    return 2;
  }
  double t0 = now_s();
  tp::Tokenizer tok = tp::tokenizer_load(argv[1]);
  double load_s = now_s() - t0;
  std::vector<std::string> prompts, lines;
  std::ifstream in(argv[2]);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) prompts.push_back(nlohmann::json::parse(l).get<std::string>());
  std::string text = tp::read_file(argv[3]);
  for (size_t b = 0; b < text.size();) {
    size_t e = text.find('\n', b);
    e = e == std::string::npos ? text.size() : e + 1;
    lines.push_back(text.substr(b, e - b));
    b = e;
  }
  nlohmann::json out = {{"impl", "thinkprobe"}, {"load_s", load_s}};
  out["prompts_cold"] = run(tok, prompts);  // the first pass fills the piece cache
  out["prompts_warm"] = run(tok, prompts);
  out["text"] = run(tok, lines);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
