// Hugging Face tokenizer.json (byte-level BPE) in C++: load, encode, decode, streaming decode, and the
// table of named special tokens. Exact to HF `tokenizers` for Qwen2/Qwen3 (and R1-Distill-Qwen),
// Llama-3 (and R1-Distill-Llama) and GPT-OSS o200k_harmony; tests/tokenizer_reference.cmake proves it.
// Deliberately not here: WordPiece/Unigram/SentencePiece models (a clear tp::Error), added tokens with
// lstrip/rstrip/single_word, chat templates (chat_template.h), truncation and padding.
// Called by the chat templates, the model engine, `thinkprobe tokenize` and the demo model.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tp {

struct AddedToken {
  std::string content;  // matched verbatim in the input text, before any BPE; never split
  int32_t id = -1;
  bool special = false;  // special tokens are dropped by decode(..., skip_special=true)
};

struct BpeMerge {
  int32_t rank;    // position in the merges list: lower merges first
  int32_t merged;  // id of the merged token
};

struct TokenizerRegex;  // the compiled pre-tokenizer split pattern (PCRE2, JIT)
// Pieces already encoded, shared by copies of a Tokenizer; bounded (cleared when full), thread-safe.
struct TokenizerCache {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<int32_t>> pieces;
};

// The vocabulary and merges: large, immutable once loaded, shared by copies of a Tokenizer.
struct BpeModel {
  std::vector<std::string> id_bytes;  // [n_vocab] raw bytes of each id (added tokens: their content)
  std::unordered_map<std::string_view, int32_t> bytes_to_id;  // BPE vocabulary, keys view id_bytes
  std::unordered_map<uint64_t, BpeMerge> merges;  // (left id << 32 | right id) -> merge
  int32_t byte_id[256] = {};   // id of the single-byte token of each byte value (the byte fallback)
  bool ignore_merges = false;  // a whole pre-token found in the vocabulary is emitted as is (Llama-3, o200k)
  bool nfc = false;            // the normalizer is NFC (Qwen)
  std::string split_pattern;   // the pre-tokenizer's regex
  std::shared_ptr<TokenizerRegex> split;
};

struct Tokenizer {
  std::string path;  // the tokenizer.json it came from, for messages
  std::shared_ptr<const BpeModel> bpe;
  // Added tokens, matched leftmost-longest in the raw text before normalisation and BPE.
  std::vector<AddedToken> added;  // longest content first
  std::vector<bool> is_special;   // [n_vocab] true for special added tokens
  // Named specials, from tokenizer_config.json, tokenizer.json's post-processor,
  // generation_config.json and config.json.
  int32_t bos_id = -1;           // -1: the model has none
  bool add_bos = false;          // encode(..., add_special=true) prepends bos_id (Llama-3, R1 distills)
  std::vector<int32_t> eos_ids;  // every id that ends generation, in config order, no duplicates
  int32_t pad_id = -1;
  std::shared_ptr<TokenizerCache> cache;
};

// Reads DIR/tokenizer.json plus, where present, DIR/tokenizer_config.json, DIR/generation_config.json
// and DIR/config.json. Throws tp::Error naming the file and key for anything unsupported or malformed.
Tokenizer tokenizer_load(const std::string& model_dir);
// The same from the texts of the files ("" for an absent optional file); path is used in messages.
Tokenizer tokenizer_from_json(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              const std::string& generation_config_json, const std::string& config_json,
                              const std::string& path);

int32_t tokenizer_n_vocab(const Tokenizer& tok);
// Id of a token given by its text (an added token or a vocabulary entry), or -1.
int32_t token_id(const Tokenizer& tok, std::string_view token_text);

// UTF-8 text -> ids, like HF `tokenizer(text, add_special_tokens=add_special)["input_ids"]`. Added and
// special tokens written in the text are matched as such. add_special prepends BOS where the tokenizer
// does (tok.add_bos). Throws tp::Error on invalid UTF-8 (naming the byte offset).
std::vector<int32_t> encode(const Tokenizer& tok, std::string_view text, bool add_special = false);

// ids -> text, like HF decode(ids, skip_special_tokens=skip_special): bytes that are not valid UTF-8
// (a sequence cut inside a character) come out as U+FFFD. decode(encode(x)) == x for any valid x.
std::string decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special = false);

// Streaming decode for generation: push one id at a time and get the text that is now complete. An
// incomplete UTF-8 sequence at the end is held back until the bytes that finish it arrive, so the
// concatenation of all pushes plus finish() equals decode(all ids).
struct StreamDecoder {
  const Tokenizer* tok;
  bool skip_special = false;
  std::string pending;  // bytes of an unfinished UTF-8 character
};
StreamDecoder stream_decoder(const Tokenizer& tok, bool skip_special = false);
std::string stream_push(StreamDecoder& dec, int32_t id);
std::string stream_finish(StreamDecoder& dec);  // what is left (an unfinished character as U+FFFD)

// Replaces each invalid UTF-8 sequence by U+FFFD (maximal subparts, as Rust's from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);

// --- a tiny tokenizer for tests and the demo model ---------------------------------------------
// Trains a byte-level BPE of n_merges merges on training_texts (Qwen2 pre-tokenizer regex, NFC) and
// returns a tokenizer.json in exactly Qwen3's format: 256 byte tokens, the merges, then the added tokens
// <|endoftext|>, <|im_start|>, <|im_end|>, <think>, </think>. Deterministic for the same inputs.
std::string tiny_bpe_tokenizer_json(const std::vector<std::string>& training_texts, int n_merges);
// The matching tokenizer_config.json: Qwen3's chat template, eos <|im_end|>, pad <|endoftext|>.
std::string tiny_bpe_tokenizer_config_json();

}  // namespace tp
