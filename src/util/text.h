// Small text helpers shared by the config loader, the prompt readers and the CLI:
// UTF-8 validation, edit distance for did-you-mean, trimming, joining, and whole-file reads.
// Deliberately no Unicode tables here: the tokenizer owns normalisation.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tp {

// Byte offset of the first invalid UTF-8 sequence in s, or std::string_view::npos if s is valid.
size_t utf8_invalid_offset(std::string_view s);

// Levenshtein distance, for "unknown key 'tempreature'; did you mean 'temperature'?".
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to word if it is close enough to be a plausible typo, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);

// Whole file into a string; tp::Error naming the path if it cannot be read.
std::string read_file(const std::string& path);
// Write via a temporary file + rename, so a reader never sees a half-written file.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace tp
