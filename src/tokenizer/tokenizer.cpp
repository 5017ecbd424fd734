// Loading a tokenizer.json (byte-level BPE) and the named special tokens of the model's other config files.
// Every unsupported construct is a tp::Error that names the file, the key and what is supported.
// Encoding and decoding are in tokenizer_encode.cpp; the tiny BPE trainer in tiny_bpe.cpp.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tokenizer/pretokenize.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

using json = nlohmann::json;

namespace {

const char* kSupported =
    "thinkprobe reads byte-level BPE tokenizers (Qwen2/Qwen3, DeepSeek-R1-Distill, Llama-3, GPT-OSS o200k_harmony)";

json parse_json(const std::string& text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
}

[[noreturn]] void unsupported(const std::string& path, const std::string& what) {
  throw Error(fmt::format("{}: {} is not supported", path, what), kSupported);
}

std::string type_of(const json& j) { return j.is_object() ? j.value("type", std::string()) : std::string(); }

// ---------------------------------------------------------------------------------------------
// normalizer, pre_tokenizer, decoder

bool read_normalizer(const json& n, const std::string& path) {
  if (n.is_null()) return false;
  std::string t = type_of(n);
  if (t == "NFC") return true;
  if (t == "Sequence") {
    bool nfc = false;
    for (const auto& s : n.at("normalizers")) nfc |= read_normalizer(s, path);
    return nfc;
  }
  unsupported(path, "normalizer type '" + t + "'");
}

void read_pre_tokenizer(const json& p, const std::string& path, std::string& pattern) {
  std::string t = type_of(p);
  if (t == "Sequence") {
    for (const auto& s : p.at("pretokenizers")) read_pre_tokenizer(s, path, pattern);
  } else if (t == "Split") {
    if (!pattern.empty()) unsupported(path, "more than one Split pre-tokenizer");
    if (!p.at("pattern").contains("Regex")) unsupported(path, "a Split pre-tokenizer without a Regex pattern");
    if (p.value("behavior", std::string()) != "Isolated" || p.value("invert", false))
      unsupported(path, "a Split pre-tokenizer with behavior other than Isolated (or invert true)");
    pattern = p["pattern"]["Regex"].get<std::string>();
  } else if (t == "ByteLevel") {
    if (p.value("add_prefix_space", false)) unsupported(path, "ByteLevel pre-tokenizer with add_prefix_space true");
    if (p.value("use_regex", true)) {
      if (!pattern.empty()) unsupported(path, "a Split pre-tokenizer followed by ByteLevel with use_regex true");
      pattern = kGpt2SplitRegex;
    }
  } else {
    unsupported(path, "pre_tokenizer type '" + t + "'");
  }
}

// ---------------------------------------------------------------------------------------------
// the BPE model

std::shared_ptr<BpeModel> read_model(const json& root, const std::string& path) {
  const json& m = root.at("model");
  std::string t = type_of(m);
  if (t != "BPE") unsupported(path, "model type '" + t + "' (model.type)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(key) && m[key].is_string() && !m[key].get<std::string>().empty())
      unsupported(path, std::string("a BPE model with ") + key);
  if (m.value("byte_fallback", false)) unsupported(path, "a BPE model with byte_fallback (SentencePiece style)");

  auto bpe = std::make_shared<BpeModel>();
  bpe->ignore_merges = m.value("ignore_merges", false);
  bpe->nfc = read_normalizer(root.value("normalizer", json()), path);
  if (!root.contains("pre_tokenizer") || root["pre_tokenizer"].is_null()) unsupported(path, "a tokenizer without pre_tokenizer");
  read_pre_tokenizer(root["pre_tokenizer"], path, bpe->split_pattern);
  if (bpe->split_pattern.empty()) unsupported(path, "a pre_tokenizer without a split regex");
  std::string dec = type_of(root.value("decoder", json()));
  if (dec != "ByteLevel") unsupported(path, "decoder type '" + dec + "' (the decoder must be ByteLevel)");
  bpe->split = regex_compile(bpe->split_pattern, path + " pre_tokenizer");

  // vocabulary: byte-level strings -> raw bytes
  const json& vocab = m.at("vocab");
  int32_t n_vocab = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) n_vocab = std::max(n_vocab, it.value().get<int32_t>() + 1);
  for (const auto& a : root.value("added_tokens", json::array())) n_vocab = std::max(n_vocab, a.at("id").get<int32_t>() + 1);
  bpe->id_bytes.resize(size_t(n_vocab));
  std::vector<bool> in_vocab(size_t(n_vocab), false);
  std::string bytes;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = it.value().get<int32_t>();
    if (id < 0) throw Error(fmt::format("{}: model.vocab['{}'] has a negative id", path, it.key()));
    if (!bytelevel_to_bytes(it.key(), bytes))
      unsupported(path, "vocabulary entry '" + it.key() + "' (not byte-level: model.vocab)");
    bpe->id_bytes[size_t(id)] = bytes;
    in_vocab[size_t(id)] = true;
  }
  bpe->bytes_to_id.reserve(vocab.size());
  for (int32_t id = 0; id < n_vocab; id++)
    if (in_vocab[size_t(id)]) bpe->bytes_to_id.emplace(bpe->id_bytes[size_t(id)], id);
  for (int b = 0; b < 256; b++) {
    auto it = bpe->bytes_to_id.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (it == bpe->bytes_to_id.end())
      throw Error(fmt::format("{}: model.vocab has no token for byte 0x{:02X}", path, b), kSupported);
    bpe->byte_id[b] = it->second;
  }

  // merges: "a b" strings or [a, b] pairs, each resolved to ids once
  std::unordered_map<std::string_view, int32_t> by_text;  // vocabulary string -> id (views of vocab's keys)
  by_text.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) by_text.emplace(it.key(), it.value().get<int32_t>());
  const json& merges = m.at("merges");
  bpe->merges.reserve(merges.size());
  auto vocab_id = [&](const std::string& s, size_t rank) {
    auto it = by_text.find(s);
    if (it == by_text.end()) throw Error(fmt::format("{}: model.merges[{}] uses '{}', which is not in the vocabulary", path, rank, s));
    return it->second;
  };
  for (size_t rank = 0; rank < merges.size(); rank++) {
    const json& mg = merges[rank];
    std::string a, b;
    if (mg.is_string()) {
      const std::string& s = mg.get_ref<const std::string&>();
      size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) throw Error(fmt::format("{}: model.merges[{}] '{}' is not 'a b'", path, rank, s));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (mg.is_array() && mg.size() == 2) {
      a = mg[0].get<std::string>();
      b = mg[1].get<std::string>();
    } else {
      throw Error(fmt::format("{}: model.merges[{}] is neither 'a b' nor [a, b]", path, rank));
    }
    uint64_t key = (uint64_t(uint32_t(vocab_id(a, rank))) << 32) | uint32_t(vocab_id(b, rank));
    bpe->merges.emplace(key, BpeMerge{int32_t(rank), vocab_id(a + b, rank)});  // the first (lowest) rank wins
  }
  return bpe;
}

// ---------------------------------------------------------------------------------------------
// named specials

// "<tok>" or {"content": "<tok>"} or null -> the token's text ("" for none)
std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j["content"].get<std::string>();
  return {};
}

void push_unique(std::vector<int32_t>& v, int32_t id) {
  if (id >= 0 && std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

void push_ids(std::vector<int32_t>& v, const json& j) {
  if (j.is_number_integer()) push_unique(v, j.get<int32_t>());
  else if (j.is_array())
    for (const auto& e : j) push_ids(v, e);
}

int32_t named_id(const Tokenizer& tok, const json& cfg, const char* key, const std::string& cfg_path) {
  if (!cfg.contains(key)) return -1;
  std::string text = token_text(cfg[key]);
  if (text.empty()) return -1;
  int32_t id = token_id(tok, text);
  if (id < 0) throw Error(fmt::format("{}: {} '{}' is not a token of the tokenizer", cfg_path, key, text));
  return id;
}

void read_specials(Tokenizer& tok, const json& root, const json& tcfg, const json& gen, const json& cfg,
                   const std::string& dir) {
  std::string tcfg_path = dir + "/tokenizer_config.json";
  tok.bos_id = named_id(tok, tcfg, "bos_token", tcfg_path);
  tok.pad_id = named_id(tok, tcfg, "pad_token", tcfg_path);
  push_unique(tok.eos_ids, named_id(tok, tcfg, "eos_token", tcfg_path));
  push_ids(tok.eos_ids, gen.value("eos_token_id", json()));
  push_ids(tok.eos_ids, cfg.value("eos_token_id", json()));

  // BOS on encode(add_special): tokenizer_config's add_bos_token if it says, else the post-processor
  const json& pp = root.value("post_processor", json());
  int32_t pp_bos = -1;
  if (type_of(pp) == "TemplateProcessing" && !pp.at("single").empty() && pp["single"][0].contains("SpecialToken"))
    pp_bos = token_id(tok, pp["single"][0]["SpecialToken"].at("id").get<std::string>());
  if (tcfg.contains("add_bos_token") && tcfg["add_bos_token"].is_boolean())
    tok.add_bos = tcfg["add_bos_token"].get<bool>() && tok.bos_id >= 0;
  else
    tok.add_bos = pp_bos >= 0;
  if (tok.bos_id < 0) tok.bos_id = pp_bos;
}

}  // namespace

Tokenizer tokenizer_from_json(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              const std::string& generation_config_json, const std::string& config_json,
                              const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  json root = parse_json(tokenizer_json, path);
  Tokenizer tok;
  tok.path = path;
  try {
    std::shared_ptr<BpeModel> bpe = read_model(root, path);
    tok.is_special.assign(bpe->id_bytes.size(), false);
    for (const auto& a : root.value("added_tokens", json::array())) {
      AddedToken t{a.at("content").get<std::string>(), a.at("id").get<int32_t>(), a.value("special", false)};
      for (const char* key : {"lstrip", "rstrip", "single_word"})
        if (a.value(key, false)) unsupported(path, fmt::format("added token '{}' with {} true", t.content, key));
      if (t.content.empty()) throw Error(fmt::format("{}: added_tokens has an empty token (id {})", path, t.id));
      if (utf8_invalid_offset(t.content) != std::string_view::npos)
        throw Error(fmt::format("{}: added token id {} is not valid UTF-8", path, t.id));
      // an added token that is also a vocabulary entry keeps its entry (bytes_to_id views those bytes)
      if (bpe->id_bytes[size_t(t.id)].empty()) bpe->id_bytes[size_t(t.id)] = t.content;
      tok.is_special[size_t(t.id)] = t.special;
      tok.added.push_back(std::move(t));
    }
    tok.bpe = std::move(bpe);
    std::stable_sort(tok.added.begin(), tok.added.end(),
                     [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: unexpected structure: {}", path, e.what()));
  }
  auto optional = [](const std::string& text, const std::string& p) { return text.empty() ? json::object() : parse_json(text, p); };
  json tcfg = optional(tokenizer_config_json, dir + "/tokenizer_config.json");
  json gen = optional(generation_config_json, dir + "/generation_config.json");
  json cfg = optional(config_json, dir + "/config.json");
  try {
    read_specials(tok, root, tcfg, gen, cfg, dir);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: unexpected structure of the special tokens: {}", dir, e.what()));
  }
  tok.cache = std::make_shared<TokenizerCache>();
  return tok;
}

Tokenizer tokenizer_load(const std::string& model_dir) {
  namespace fs = std::filesystem;
  fs::path dir(model_dir);
  fs::path tj = dir / "tokenizer.json";
  if (!fs::exists(tj))
    throw Error(fmt::format("{}: no tokenizer.json in the model folder", model_dir),
                "thinkprobe needs the Hugging Face fast-tokenizer file tokenizer.json beside config.json");
  auto optional = [&](const char* name) { return fs::exists(dir / name) ? read_file((dir / name).string()) : std::string(); };
  return tokenizer_from_json(read_file(tj.string()), optional("tokenizer_config.json"), optional("generation_config.json"),
                             optional("config.json"), tj.string());
}

int32_t tokenizer_n_vocab(const Tokenizer& tok) { return int32_t(tok.bpe->id_bytes.size()); }

int32_t token_id(const Tokenizer& tok, std::string_view text) {
  for (const auto& a : tok.added)
    if (a.content == text) return a.id;
  std::string bytes;
  if (!bytelevel_to_bytes(text, bytes)) bytes = std::string(text);  // plain text of a vocabulary entry
  auto it = tok.bpe->bytes_to_id.find(bytes);
  return it == tok.bpe->bytes_to_id.end() ? -1 : it->second;
}

}  // namespace tp
