// Encoding (added tokens -> NFC -> regex pieces -> BPE on ids) and decoding (bytes -> lossy UTF-8,
// streaming with held-back partial characters). The BPE runs on token ids with a merge-rank hash map and
// a min-heap, so a piece of n bytes costs O(n log n); repeated pieces come from a bounded cache.
// Loading is in tokenizer.cpp.
#include <algorithm>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

namespace {

constexpr size_t kCacheMaxEntries = 200000;  // cleared when full: memory stays bounded on huge inputs
constexpr size_t kCacheMaxPieceBytes = 64;   // long pieces are rare and not worth keeping

struct Symbol {
  int32_t id;
  int32_t prev, next;  // neighbours in the merged sequence; -1 / n at the ends
  bool alive;
};
struct Candidate {
  int32_t rank, pos, merged;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

// Scratch vectors reused across the pieces of one encode call.
struct BpeScratch {
  std::vector<Symbol> syms;
  std::vector<Candidate> heap;
};

const BpeMerge* find_merge(const BpeModel& m, int32_t a, int32_t b) {
  auto it = m.merges.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
  return it == m.merges.end() ? nullptr : &it->second;
}

// HF BPE on one piece: start from the byte tokens, repeatedly apply the lowest-rank merge (leftmost first).
void bpe_piece(const BpeModel& m, std::string_view piece, BpeScratch& s, std::vector<int32_t>& out) {
  int32_t n = int32_t(piece.size());
  s.syms.resize(size_t(n));
  s.heap.clear();
  for (int32_t i = 0; i < n; i++) s.syms[size_t(i)] = {m.byte_id[uint8_t(piece[size_t(i)])], i - 1, i + 1, true};
  auto push = [&](int32_t pos) {
    const Symbol& a = s.syms[size_t(pos)];
    if (a.next >= n) return;
    if (const BpeMerge* mg = find_merge(m, a.id, s.syms[size_t(a.next)].id)) {
      s.heap.push_back({mg->rank, pos, mg->merged});
      std::push_heap(s.heap.begin(), s.heap.end(), std::greater<Candidate>());
    }
  };
  for (int32_t i = 0; i + 1 < n; i++) push(i);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<Candidate>());
    Candidate c = s.heap.back();
    s.heap.pop_back();
    Symbol& a = s.syms[size_t(c.pos)];
    if (!a.alive || a.next >= n) continue;
    const BpeMerge* mg = find_merge(m, a.id, s.syms[size_t(a.next)].id);
    if (!mg || mg->rank != c.rank) continue;  // stale: a neighbour was merged since this was queued
    Symbol& b = s.syms[size_t(a.next)];
    a.id = c.merged;
    b.alive = false;
    a.next = b.next;
    if (a.next < n) s.syms[size_t(a.next)].prev = c.pos;
    if (a.prev >= 0) push(a.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i < n; i = s.syms[size_t(i)].next) out.push_back(s.syms[size_t(i)].id);
}

void encode_piece(const Tokenizer& tok, std::string_view piece, BpeScratch& s, std::vector<int32_t>& out) {
  const BpeModel& m = *tok.bpe;
  if (piece.size() == 1) {
    out.push_back(m.byte_id[uint8_t(piece[0])]);
    return;
  }
  if (m.ignore_merges) {
    auto it = m.bytes_to_id.find(piece);
    if (it != m.bytes_to_id.end()) {
      out.push_back(it->second);
      return;
    }
  }
  bool cacheable = piece.size() <= kCacheMaxPieceBytes;
  std::string key;
  if (cacheable) {
    key.assign(piece);
    std::lock_guard<std::mutex> lock(tok.cache->mu);
    auto it = tok.cache->pieces.find(key);
    if (it != tok.cache->pieces.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = out.size();
  bpe_piece(m, piece, s, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(tok.cache->mu);
    if (tok.cache->pieces.size() >= kCacheMaxEntries) tok.cache->pieces.clear();
    tok.cache->pieces.emplace(std::move(key), std::vector<int32_t>(out.begin() + long(start), out.end()));
  }
}

// Text between added tokens: NFC if the tokenizer says so, regex split, BPE per piece.
void encode_segment(const Tokenizer& tok, std::string_view text, BpeScratch& s, std::vector<int32_t>& out) {
  if (text.empty()) return;
  std::string normalised;
  if (tok.bpe->nfc) {
    normalised = nfc(text);
    text = normalised;
  }
  std::vector<std::pair<size_t, size_t>> pieces;
  regex_split(*tok.bpe->split, text, pieces);
  for (auto [b, e] : pieces) encode_piece(tok, text.substr(b, e - b), s, out);
}

// Expected length of the UTF-8 sequence that starts with c (0 for a byte that cannot start one).
int utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::vector<int32_t> encode(const Tokenizer& tok, std::string_view text, bool add_special) {
  size_t bad = utf8_invalid_offset(text);
  if (bad != std::string_view::npos)
    throw Error(fmt::format("text to encode is not valid UTF-8 at byte {}", bad),
                "tokenizers take Unicode text; re-encode the input as UTF-8");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && tok.add_bos) out.push_back(tok.bos_id);
  // first byte -> does any added token start with it (a cheap filter before the leftmost-longest match)
  bool starts[256] = {};
  for (const auto& a : tok.added) starts[uint8_t(a.content[0])] = true;
  BpeScratch scratch;
  size_t seg = 0;
  for (size_t i = 0; i < text.size(); i++) {
    if (!starts[uint8_t(text[i])]) continue;
    for (const auto& a : tok.added) {  // longest first, so the first hit is the longest at i
      if (text.compare(i, a.content.size(), a.content) != 0) continue;
      encode_segment(tok, text.substr(seg, i - seg), scratch, out);
      out.push_back(a.id);
      i += a.content.size() - 1;
      seg = i + 1;
      break;
    }
  }
  encode_segment(tok, text.substr(seg), scratch, out);
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size(), i = 0;
  while (i < n) {
    int len = utf8_len(p[i]);
    if (len == 1) { out += char(p[i++]); continue; }
    if (len == 0) { out += kReplacement; i++; continue; }
    // the allowed range of the second byte excludes overlongs, surrogates and values past U+10FFFF
    unsigned lo = p[i] == 0xE0 ? 0xA0 : p[i] == 0xF0 ? 0x90 : 0x80;
    unsigned hi = p[i] == 0xED ? 0x9F : p[i] == 0xF4 ? 0x8F : 0xBF;
    size_t j = i + 1;
    for (int k = 1; k < len; k++, j++) {
      if (j >= n || p[j] < lo || p[j] > hi) break;
      lo = 0x80;
      hi = 0xBF;
    }
    if (j - i == size_t(len)) out.append(bytes.substr(i, j - i));
    else out += kReplacement;  // the maximal invalid subpart i..j becomes one U+FFFD
    i = j;
  }
  return out;
}

std::string decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  std::string bytes;
  const auto& id_bytes = tok.bpe->id_bytes;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= id_bytes.size()) continue;  // ids past the tokenizer (padded embeddings)
    if (skip_special && tok.is_special[size_t(id)]) continue;
    bytes += id_bytes[size_t(id)];
  }
  return utf8_lossy(bytes);
}

StreamDecoder stream_decoder(const Tokenizer& tok, bool skip_special) { return StreamDecoder{&tok, skip_special, {}}; }

std::string stream_push(StreamDecoder& dec, int32_t id) {
  const auto& id_bytes = dec.tok->bpe->id_bytes;
  if (id < 0 || size_t(id) >= id_bytes.size()) return {};
  if (dec.skip_special && dec.tok->is_special[size_t(id)]) return {};
  dec.pending += id_bytes[size_t(id)];
  // hold back a trailing lead byte (plus continuation bytes) that still waits for the rest of its character
  size_t n = dec.pending.size(), keep = n;
  for (size_t back = 1; back <= 3 && back <= n; back++) {
    auto c = static_cast<unsigned char>(dec.pending[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back for the lead
    if (utf8_len(c) > int(back)) keep = n - back;
    break;
  }
  std::string out = utf8_lossy(std::string_view(dec.pending).substr(0, keep));
  dec.pending.erase(0, keep);
  return out;
}

std::string stream_finish(StreamDecoder& dec) {
  std::string out = utf8_lossy(dec.pending);
  dec.pending.clear();
  return out;
}

}  // namespace tp
