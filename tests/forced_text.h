// Test helper: generation that emits a chosen text whatever the weights, so a random-weight checkpoint can
// stand in for a real judge and its output still be one the parser must read back.
#pragma once
#include <string>

#include "generate/generate.h"
#include "tokenizer/tokenizer.h"

namespace tp::test {

// Greedy options under which the engine outputs exactly `text` and then <|im_end|>: the prompt opens a
// thinking whose budget is zero tokens, so the force-close sequence (text + <|im_end|>) follows at once and
// <|im_end|>, as the thinking's close, ends the sample with one answer token to spare.
inline GenOptions forced_text_options(const Tokenizer& tok, const std::string& text) {
  GenOptions opt;
  opt.sampling = {0.0, 1.0, 0};
  const int64_t im_end = token_id(tok, "<|im_end|>");
  for (int32_t id : encode(tok, text)) opt.stop.force_close_ids.push_back(id);
  opt.stop.force_close_ids.push_back(im_end);
  opt.stop.think_close_id = im_end;
  opt.stop.prompt_opens_think = true;
  opt.stop.max_think_tokens = 0;
  opt.stop.max_answer_tokens = 1;
  return opt;
}

}  // namespace tp::test
