// Stable hashes and seed derivation. Unit ids and sample seeds come from here, never from a rank or
// the order of arrival, so a job gives the same samples on any number of ranks (STYLE.md rule 9).
// Provides: fnv1a64, mix64, derive_seed, Rng (explicit-state PRNG), sha256_hex / Sha256.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tp {

uint64_t fnv1a64(std::string_view s, uint64_t h = 0xcbf29ce484222325ull);
// splitmix64 finaliser: a bijective 64-bit mixer.
uint64_t mix64(uint64_t x);
// A seed from a base seed and an ordered list of stable identifiers (ids, indices as text).
// Each part is length-prefixed, so ("ab","c") and ("a","bc") differ.
uint64_t derive_seed(uint64_t base, std::initializer_list<std::string_view> parts);

// xoshiro256** with state seeded through splitmix64. Explicit state; no global generator anywhere.
struct Rng {
  uint64_t s[4];
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();                 // [0, 1)
  uint64_t below(uint64_t n);       // [0, n), unbiased
};

struct Sha256 {
  uint32_t h[8];
  uint64_t n_bytes = 0;
  unsigned char buf[64];
  size_t n_buf = 0;
  Sha256();
  void update(const void* data, size_t n);
  std::string hex_digest();  // finalises; the object must not be updated afterwards
};
std::string sha256_hex(std::string_view bytes);
// sha256 of a file's content, streamed; tp::Error naming the path if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace tp
