// The model stance labeller as pure functions of text (paper section 1.10): the labelling prompt (one call
// per trace holding all its chunks: the model's name, the user prompt, the number of chunks, the numbered
// chunks, the +1 / 0 / -1 rubric, a JSON answer {"labels": [...], "summary": ...}), the parser of a
// labeller's output, the per-chunk majority of a panel, and the JSON of the labels stored in /samples.
// No model or tokenizer here: judges.cpp renders the prompt with the labeller's chat template and runs it
// through the engine; the reducer reads the stored labels back with stance_labels_from_json.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "judge/stance.h"

namespace tp {

// The built-in template (judge.stance.prompt_template empty): placeholders {model} {prompt} {n_chunks} {chunks}.
const std::string& stance_default_prompt_template();
// tmpl with each placeholder replaced once per occurrence, in one pass (text filled in is never re-scanned);
// {chunks} becomes "[1] first chunk\n[2] second chunk ..." (one line per chunk, 1-based). Other text verbatim.
std::string stance_prompt(const std::string& tmpl, std::string_view model, std::string_view prompt, const std::vector<std::string>& chunks);

// The labels in a labeller's output: the last JSON object holding "labels" after any thinking (text up to
// the last </think> is skipped; an unclosed <think> leaves nothing), so ```json fences and prose around it
// are fine. Strict: "labels" must be an array of exactly n_chunks integers, each -1, 0 or 1. Malformed
// (false, *labels untouched) otherwise.
bool stance_parse(std::string_view output, size_t n_chunks, std::vector<int8_t>* labels);
// The rule labeller's output in the same form: {"labels":[...]}, which stance_parse reads back.
std::string stance_labels_output(const std::vector<int8_t>& labels);

// Per chunk, the label that more than half of the panel gave; STANCE_NONE when none did. votes[j] is labeller
// j's labels, n_chunks long, STANCE_NONE throughout for a malformed output.
std::vector<int8_t> stance_majority(const std::vector<std::vector<int8_t>>& votes, size_t n_chunks);

// The /samples stance_labels value of a trace: null when excluded (more than max_chunks chunks), else an
// array of its labels with null for STANCE_NONE.
std::string stance_labels_json(const StanceTrace& t);
// Reads that value back into t (labels, excluded; then stance_trace_finish). tp::Error naming where on a
// value that is not such JSON.
void stance_labels_from_json(const std::string& text, StanceTrace& t, const std::string& where);

}  // namespace tp
