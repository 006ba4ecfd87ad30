#include "trainer/random.h"

namespace batchai::trainer::rng {

std::vector<std::uint32_t> permutation(std::size_t n, std::uint64_t k) {
  std::vector<std::uint32_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint32_t>(i);
  std::uint64_t counter = 0;
  for (std::size_t i = n; i > 1; --i) {
    // A draw in [0, i) from 32 random bits, rejecting the biased tail.
    const std::uint64_t bound = i;
    const std::uint64_t threshold = (0x100000000ull - bound) % bound;
    std::uint64_t product;
    do {
      product = (key(k, counter++) >> 32) * bound;
    } while ((product & 0xffffffffull) < threshold);
    std::swap(p[i - 1], p[product >> 32]);
  }
  return p;
}

}  // namespace batchai::trainer::rng
