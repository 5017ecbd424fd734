// Byte-level character map, regex split and NFC (see pretokenize.h).
#include "tokenizer/pretokenize.h"

#include <cstdlib>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include "util/check.h"

namespace tp {

const char* const kQwen2SplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// ---------------------------------------------------------------------------------------------
// GPT-2 bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes are shifted to
// U+0100.. in byte order.

namespace {
struct ByteMap {
  uint32_t to_char[256];
  int16_t from_char[324];  // code points < 324 cover the whole image
  ByteMap() {
    for (auto& f : from_char) f = -1;
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_char[b] = printable ? uint32_t(b) : uint32_t(256 + shifted++);
      from_char[to_char[b]] = int16_t(b);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += char(cp);
  else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
  else { out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
}
}  // namespace

uint32_t byte_to_char(uint8_t b) { return byte_map().to_char[b]; }

int byte_of_char(uint32_t cp) { return cp < 324 ? byte_map().from_char[cp] : -1; }

bool bytelevel_to_bytes(std::string_view token, std::string& out) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  size_t n = token.size();
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    if (p[i] < 0x80) cp = p[i++];
    else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n) { cp = ((p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F); i += 2; }
    else return false;  // byte-standing characters are all below U+0800 (two bytes at most)
    int b = byte_of_char(cp);
    if (b < 0) return false;
    out += char(b);
  }
  return true;
}

std::string bytes_to_bytelevel(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) append_utf8(out, byte_to_char(b));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Regex split

struct TokenizerRegex {
  pcre2_code* code = nullptr;
  ~TokenizerRegex() { pcre2_code_free(code); }
};

std::shared_ptr<TokenizerRegex> regex_compile(const std::string& pattern, const std::string& where) {
  int err = 0;
  PCRE2_SIZE off = 0;
  auto re = std::make_shared<TokenizerRegex>();
  re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                           &err, &off, nullptr);
  if (!re->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error(fmt::format("{}: the pre-tokenizer regex does not compile at offset {}: {}", where, off,
                            reinterpret_cast<const char*>(msg)));
  }
  pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  return re;
}

void regex_split(const TokenizerRegex& re, std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code, nullptr);
  TP_CHECK(md != nullptr);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    int rc = pcre2_match(re.code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    TP_CHECK_MSG(rc > 0, "pcre2_match failed with code {}", rc);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    TP_CHECK_MSG(ov[1] > ov[0], "the split regex matched an empty string at byte {}", ov[0]);
    if (ov[0] > pos) pieces.emplace_back(pos, ov[0]);
    pieces.emplace_back(ov[0], ov[1]);
    pos = ov[1];
  }
  if (pos < text.size()) pieces.emplace_back(pos, text.size());
  pcre2_match_data_free(md);
}

// ---------------------------------------------------------------------------------------------
// NFC

std::string nfc(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) return std::string(text);
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    utf8proc_ssize_t(text.size()), &out, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  TP_CHECK_MSG(n >= 0, "utf8proc_map failed: {}", utf8proc_errmsg(n));
  std::string r(reinterpret_cast<const char*>(out), size_t(n));
  std::free(out);
  return r;
}

}  // namespace tp
