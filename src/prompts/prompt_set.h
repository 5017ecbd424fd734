// Prompt sets: JSONL records {id, prompt, label, category, source} (the format of shared/data/prompts)
// or CSV with a column mapping. Each record is checked (duplicate ids, empty prompts, unknown labels,
// invalid UTF-8) and every bad line is reported with file:line. Filters (label, categories, seeded
// sample, limit) and cross-set de-duplication are applied here. Prompts come out sorted by id, so the
// order of lines in a file never changes the plan.
// Does not tokenize or render chat templates (tokenizer/ does).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/job_spec.h"

namespace tp {

enum class Label : int8_t { BENIGN = 0, HARMFUL = 1 };
const char* label_name(Label l);

struct Prompt {
  std::string id;
  std::string text;
  Label label;
  std::string category;
  std::string source;
  int line = 0;  // line in the file it came from (1-based)
};

struct PromptSet {
  std::string id;    // the set's id in the job
  std::string path;  // resolved file path
  std::vector<Prompt> prompts;  // after filters, sorted by id
  size_t n_in_file = 0;         // records in the file before filters
  size_t n_duplicates_dropped = 0;  // dropped by cross-set de-duplication
};

// Reads and checks one file; problems are appended to errors (one per bad line) and bad records skipped.
PromptSet prompt_set_load(const PromptSetSpec& spec, std::vector<Diagnostic>& errors);
// All sets of a job, filters applied, then cross-set de-duplication if job.dedupe_prompts.
std::vector<PromptSet> prompt_sets_load(const JobSpec& job, std::vector<Diagnostic>& errors);

}  // namespace tp
