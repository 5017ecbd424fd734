// The steps before BPE, shared by the tokenizer and the tiny BPE trainer: GPT-2's byte <-> character map
// of the ByteLevel pre-tokenizer, the regex split (PCRE2 with JIT, Unicode classes), NFC (utf8proc).
// Does not know about vocabularies or added tokens (tokenizer.cpp, tokenizer_encode.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tp {

// The Qwen2/Qwen3 split regex (also the tiny tokenizer's) and GPT-2's (ByteLevel with use_regex).
extern const char* const kQwen2SplitRegex;
extern const char* const kGpt2SplitRegex;

// GPT-2 bytes_to_unicode: byte b <-> the Unicode code point that stands for it in vocab strings.
uint32_t byte_to_char(uint8_t b);
int byte_of_char(uint32_t cp);  // -1 if cp stands for no byte
// A vocabulary string (UTF-8 of byte-standing characters) -> raw bytes; false if a character is no byte.
bool bytelevel_to_bytes(std::string_view token, std::string& out);
std::string bytes_to_bytelevel(std::string_view bytes);

// Compiles pattern (UTF, UCP, JIT); tp::Error naming `where` if PCRE2 rejects it.
std::shared_ptr<TokenizerRegex> regex_compile(const std::string& pattern, const std::string& where);

// Appends to pieces the [begin, end) byte ranges of text's pieces, in order, as HF Split with behaviour
// Isolated: every match is a piece and so is every gap between matches. text must be valid UTF-8.
void regex_split(const TokenizerRegex& re, std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces);

// NFC of valid UTF-8 text (ASCII is returned unchanged without calling utf8proc).
std::string nfc(std::string_view text);

}  // namespace tp
