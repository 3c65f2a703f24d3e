// Counter-based random numbers shared by the CPU and CUDA kernels. A value depends only
// on (seed, counter), never on thread layout or device, so the CPU and CUDA versions of
// an op return identical results for the same arguments, and a caller can advance a
// stream by passing a larger counter offset (no generator state to carry around).
//
// Two generators:
//  * philox4x32_10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
//    statistically strong; used for sampling (cdf_sample), one call per draw.
//  * hash_uniform: three rounds of a 64-bit xor-shift-multiply finaliser over
//    (seed, row, item); cheap enough to evaluate once per score in eval_rank's
//    tie-breaking noise, where only "distinct and reproducible" matters.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define G4R_RNG_HD __host__ __device__ __forceinline__
#else
#define G4R_RNG_HD inline
#endif

namespace gru4rec {

struct Philox4x32 {
  uint32_t v[4];
};

G4R_RNG_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Philox-4x32 with 10 rounds. key = 64-bit seed, counter = 128 bits.
G4R_RNG_HD Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                    uint32_t k0, uint32_t k1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {  // key schedule: bump the key between rounds
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(kMul0, c0, &hi0);
    uint32_t lo1 = mulhilo32(kMul1, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// 64 random bits for draw number `index` of stream `seed` (counter = index, 0, 0).
G4R_RNG_HD uint64_t philox_bits64(uint64_t seed, uint64_t index) {
  Philox4x32 r = philox4x32_10(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                               0u, 0u, static_cast<uint32_t>(seed),
                               static_cast<uint32_t>(seed >> 32));
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

// Uniform double in [0, 1) from the top 53 bits: every value is a multiple of 2^-53,
// exactly representable, and 1.0 is never produced.
G4R_RNG_HD double bits_to_unit_double(uint64_t bits) {
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

// Uniform float in [0, 1) from the top 24 bits (multiples of 2^-24, never 1.0f).
G4R_RNG_HD float bits_to_unit_float(uint64_t bits) {
  return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f);  // 2^-24
}

// 64-bit finaliser (xor-shift-multiply; the constants are MurmurHash3's fmix64):
// a bijection with full avalanche.
G4R_RNG_HD uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

// Per-row prefix of hash_uniform_bits, computed once per row.
G4R_RNG_HD uint64_t hash_row_key(uint64_t seed, uint64_t row) {
  return mix64(mix64(seed ^ 0x243F6A8885A308D3ull) ^ row);
}

// 64 random bits for (seed, row, item) = mix64(hash_row_key(seed, row) ^ item).
G4R_RNG_HD uint64_t hash_uniform_bits(uint64_t row_key, uint64_t item) {
  return mix64(row_key ^ item);
}

// Uniform in [0, 1) in the precision of T (24 bits for float, 53 for double).
template <typename T>
G4R_RNG_HD T unit_uniform(uint64_t bits);
template <>
G4R_RNG_HD float unit_uniform<float>(uint64_t bits) { return bits_to_unit_float(bits); }
template <>
G4R_RNG_HD double unit_uniform<double>(uint64_t bits) { return bits_to_unit_double(bits); }

}  // namespace gru4rec
