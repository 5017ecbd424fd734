// `thinkprobe tokenize --model DIR`: UTF-8 text on stdin -> its ids as a JSON array. --decode reads a JSON
// array of ids and prints the text; --chat renders the model's chat template around the text and prints
// ids, text and the named think positions as JSON. For debugging prompts by hand and for tests.
#include <cstdio>
#include <iostream>
#include <iterator>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"

namespace tp {

CommandRun add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "encode stdin with a model's tokenizer (or decode, or render its chat template)");
  struct Opts {
    std::string model, system, prefill, date, reasoning;
    bool decode = false, chat = false, no_think = false, add_special = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--model", o->model, "model folder with tokenizer.json (and tokenizer_config.json, config.json)")->required();
  cmd->add_flag("--decode", o->decode, "read a JSON array of ids and print the text");
  cmd->add_flag("--add-special", o->add_special, "add the tokenizer's BOS as HF add_special_tokens=True does");
  cmd->add_flag("--chat", o->chat, "render the chat template around the text (the user message)");
  cmd->add_option("--system", o->system, "with --chat: the system prompt");
  cmd->add_option("--prefill", o->prefill, "with --chat: text placed at the start of the thinking");
  cmd->add_flag("--no-think", o->no_think, "with --chat: thinking off (the empty think block)");
  cmd->add_option("--date", o->date, "with --chat, harmony only: the date in the system message (YYYY-MM-DD)");
  cmd->add_option("--reasoning", o->reasoning, "with --chat, harmony only: low, medium or high");
  return [o]() {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    Tokenizer tok = tokenizer_load(o->model);
    nlohmann::json out;
    if (o->decode) {
      nlohmann::json ids;
      try {
        ids = nlohmann::json::parse(input);
      } catch (const nlohmann::json::parse_error& e) {
        throw Error(std::string("stdin: not a JSON array of ids: ") + e.what());
      }
      if (!ids.is_array()) throw Error("stdin: not a JSON array of ids");
      std::vector<int32_t> v;
      for (const auto& id : ids) {
        if (!id.is_number_integer()) throw Error("stdin: not a JSON array of ids");
        v.push_back(id.get<int32_t>());
      }
      std::string text = decode(tok, v);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    if (o->chat) {
      ChatTemplate tmpl = chat_template_for(o->model, tok);
      if (!o->date.empty()) tmpl.date = o->date;
      if (!o->reasoning.empty()) tmpl.reasoning = o->reasoning;
      ChatInput in{o->system, input, o->prefill, !o->no_think};
      RenderedPrompt p = render(tmpl, tok, in);
      out = {{"template", chat_family_name(tmpl.family)},
             {"text", p.text},
             {"ids", p.ids},
             {"positions",
              {{"prompt_end", p.positions.prompt_end}, {"think_open", p.positions.think_open},
               {"think_first", p.positions.think_first}, {"think_close", p.positions.think_close},
               {"answer_first", p.positions.answer_first}}},
             {"force_close", tmpl.force_close},
             {"stop_ids", tmpl.stop_ids}};
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("%s\n", nlohmann::json(encode(tok, input, o->add_special)).dump().c_str());
    return 0;
  };
}

}  // namespace tp
