// Counter-based randomness: every random number the trainer draws is a
// pure function of the seed and where it is used (epoch, position in the
// epoch, layer, element). No generator state to carry, so:
//   - a resumed run draws exactly what the uninterrupted run drew;
//   - the CUDA backend computes the same dropout masks as the CPU one, so
//     its results can be checked against the CPU reference;
//   - with --shard, an example gets the same shift, flip and dropout on
//     whichever rank it lands, so 2 ranks x 16 equal 1 rank x 32.
// Works in host and device code (plain integer arithmetic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#ifdef __CUDACC__
#define BATCHAI_HD __host__ __device__
#else
#define BATCHAI_HD
#endif

namespace batchai::trainer::rng {

// splitmix64's finaliser: a bijection with good avalanche.
BATCHAI_HD inline constexpr std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

BATCHAI_HD inline constexpr std::uint64_t key(std::uint64_t a, std::uint64_t b) { return mix(mix(a) ^ b); }
BATCHAI_HD inline constexpr std::uint64_t key(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return key(key(a, b), c);
}

// Uniform in [0, 1) with 24 bits, exact in float.
BATCHAI_HD inline constexpr float uniform(std::uint64_t h) {
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

// Streams, so the uses of one seed never collide.
enum Stream : std::uint64_t { kShuffle = 1, kAugment = 2, kDropout = 3, kInit = 4 };

// 0..n-1 in an order fixed by (key); Fisher-Yates with unbiased bounded
// draws (multiply-shift with rejection).
std::vector<std::uint32_t> permutation(std::size_t n, std::uint64_t k);

}  // namespace batchai::trainer::rng
