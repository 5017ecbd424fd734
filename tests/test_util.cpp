// Utilities: SHA-256 against the FIPS 180-4 test vectors, the PRNG's determinism and range, UTF-8
// validation, did-you-mean.
#include <catch2/catch.hpp>

#include "util/hash.h"
#include "util/text.h"

using namespace tp;

TEST_CASE("sha256 matches the FIPS 180-4 example vectors", "[util]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  Sha256 chunked;  // the same bytes fed in odd-sized pieces
  for (size_t i = 0; i < million.size(); i += 997) chunked.update(million.data() + i, std::min<size_t>(997, million.size() - i));
  CHECK(chunked.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Rng is deterministic per seed and uniform in range", "[util]") {
  Rng a(5), b(5), c(6);
  bool differs = false;
  for (int i = 0; i < 100; i++) {
    uint64_t x = a.next();
    CHECK(x == b.next());
    differs |= x != c.next();
  }
  CHECK(differs);
  Rng r(1);
  int hist[10] = {0};
  for (int i = 0; i < 100000; i++) {
    double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    hist[static_cast<int>(u * 10)]++;
  }
  for (int h : hist) CHECK(std::abs(h - 10000) < 500);  // ~5 sigma
  for (int i = 0; i < 1000; i++) CHECK(r.below(7) < 7);
}

TEST_CASE("UTF-8 validation finds the first bad byte", "[util]") {
  CHECK(utf8_invalid_offset("plain") == std::string_view::npos);
  CHECK(utf8_invalid_offset("caf\xc3\xa9 \xf0\x9f\xa4\x96") == std::string_view::npos);  // é and an emoji
  CHECK(utf8_invalid_offset("caf\xe9") == 3);                  // Latin-1 byte
  CHECK(utf8_invalid_offset("ab\xc0\xaf") == 2);               // overlong '/'
  CHECK(utf8_invalid_offset("x\xed\xa0\x80") == 1);            // a UTF-16 surrogate
  CHECK(utf8_invalid_offset("\xf0\x9f\xa4") == 0);             // truncated
}

TEST_CASE("did_you_mean proposes close keys only", "[util]") {
  std::vector<std::string> keys = {"temperature", "top_p", "top_k", "max_think_tokens"};
  CHECK(did_you_mean("tempreature", keys) == "temperature");
  CHECK(did_you_mean("top-k", keys) == "top_k");
  CHECK(did_you_mean("banana", keys).empty());
  CHECK(edit_distance("kitten", "sitting") == 3);
}
