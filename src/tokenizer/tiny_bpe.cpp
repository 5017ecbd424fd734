// A tiny byte-level BPE trainer that writes tokenizer.json and tokenizer_config.json in exactly the format
// of Qwen3's files (256 byte tokens, merges as [a, b] pairs, the Qwen2 split regex, NFC, ChatML + think
// added tokens). Test checkpoints and the demo model use it; it is not a general trainer (no frequency
// cut-offs, no special handling of huge corpora: a few hundred merges over a few MB is what it is for).
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"

namespace tp {

namespace {

// Qwen3's chat template, verbatim from its tokenizer_config.json.
const char* const kQwen3ChatTemplate = R"TPL({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %})TPL";

const char* const kTinyAddedTokens[][2] = {
    {"<|endoftext|>", "true"}, {"<|im_start|>", "true"}, {"<|im_end|>", "true"}, {"<think>", "false"}, {"</think>", "false"}};

}  // namespace

std::string tiny_bpe_tokenizer_json(const std::vector<std::string>& training_texts, int n_merges) {
  TP_CHECK(n_merges >= 0);
  // distinct pieces with their counts (std::map: a deterministic order)
  auto re = regex_compile(kQwen2SplitRegex, "tiny tokenizer");
  std::map<std::string, int64_t> counts;
  std::vector<std::pair<size_t, size_t>> pieces;
  for (const auto& raw : training_texts) {
    std::string text = nfc(raw);
    pieces.clear();
    regex_split(*re, text, pieces);
    for (auto [b, e] : pieces) counts[text.substr(b, e - b)]++;
  }
  // ids 0..255: the byte tokens in the order of the characters that stand for them (as in Qwen's vocab)
  std::vector<std::string> tokens;  // id -> raw bytes
  std::map<std::string, int32_t> ids;
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; b++) bytes[size_t(b)] = b;
  std::sort(bytes.begin(), bytes.end(), [](int a, int b) { return byte_to_char(uint8_t(a)) < byte_to_char(uint8_t(b)); });
  int32_t byte_tok[256];
  for (int b : bytes) {
    byte_tok[b] = int32_t(tokens.size());
    ids[std::string(1, char(b))] = byte_tok[b];
    tokens.emplace_back(1, char(b));
  }
  struct Word {
    std::vector<int32_t> syms;
    int64_t count;
  };
  std::vector<Word> words;
  for (const auto& [piece, c] : counts) {
    Word w{{}, c};
    for (unsigned char ch : piece) w.syms.push_back(byte_tok[ch]);
    words.push_back(std::move(w));
  }
  std::vector<std::pair<int32_t, int32_t>> merges;
  for (int k = 0; k < n_merges; k++) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pair_counts;
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.syms.size(); i++) pair_counts[{w.syms[i], w.syms[i + 1]}] += w.count;
    // the most frequent pair; ties go to the smallest merged bytes, then the smallest ids
    const std::pair<int32_t, int32_t>* best = nullptr;
    int64_t best_count = 1;  // a pair seen once is not worth a merge
    std::string best_bytes;
    for (const auto& [pr, c] : pair_counts) {
      std::string merged = tokens[size_t(pr.first)] + tokens[size_t(pr.second)];
      if (c > best_count || (best && c == best_count && merged < best_bytes)) {
        best = &pr;
        best_count = c;
        best_bytes = merged;
      }
    }
    if (!best) break;
    auto [a, b] = *best;
    auto it = ids.find(best_bytes);
    int32_t merged_id = it != ids.end() ? it->second : int32_t(tokens.size());
    if (it == ids.end()) {
      ids[best_bytes] = merged_id;
      tokens.push_back(best_bytes);
    }
    merges.emplace_back(a, b);
    for (auto& w : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < w.syms.size(); i++) {
        if (i + 1 < w.syms.size() && w.syms[i] == a && w.syms[i + 1] == b) {
          out.push_back(merged_id);
          i++;
        } else {
          out.push_back(w.syms[i]);
        }
      }
      w.syms = std::move(out);
    }
  }

  using ojson = nlohmann::ordered_json;
  ojson vocab = ojson::object();
  for (size_t id = 0; id < tokens.size(); id++) vocab[bytes_to_bytelevel(tokens[id])] = id;
  ojson merge_list = ojson::array();
  for (auto [a, b] : merges)
    merge_list.push_back({bytes_to_bytelevel(tokens[size_t(a)]), bytes_to_bytelevel(tokens[size_t(b)])});
  ojson added = ojson::array();
  for (size_t i = 0; i < std::size(kTinyAddedTokens); i++)
    added.push_back({{"id", tokens.size() + i}, {"content", kTinyAddedTokens[i][0]}, {"single_word", false},
                     {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                     {"special", std::string(kTinyAddedTokens[i][1]) == "true"}});
  ojson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  ojson j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kQwen2SplitRegex}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", merge_list}}}};
  return j.dump(2);
}

std::string tiny_bpe_tokenizer_config_json() {
  using ojson = nlohmann::ordered_json;
  ojson j = {{"add_bos_token", false},
             {"add_prefix_space", false},
             {"bos_token", nullptr},
             {"chat_template", kQwen3ChatTemplate},
             {"clean_up_tokenization_spaces", false},
             {"eos_token", "<|im_end|>"},
             {"errors", "replace"},
             {"model_max_length", 131072},
             {"pad_token", "<|endoftext|>"},
             {"split_special_tokens", false},
             {"tokenizer_class", "Qwen2Tokenizer"},
             {"unk_token", nullptr}};
  return j.dump(2);
}

}  // namespace tp
