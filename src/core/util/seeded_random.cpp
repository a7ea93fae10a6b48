// SeededRandom: see seeded_random.h.
#include "core/util/seeded_random.h"

#include <algorithm>
#include <numeric>

namespace fastdml {

SeededRandom::SeededRandom(std::uint64_t seed) : state_(seed) {}

std::uint64_t SeededRandom::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SeededRandom::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::uint32_t SeededRandom::below(std::uint32_t bound) {
  return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(bound)) >> 32);
}

std::vector<int> SeededRandom::choose(int size, int count) {
  std::vector<int> pool(size);
  std::iota(pool.begin(), pool.end(), 0);
  count = std::min(std::max(count, 0), size);
  for (int i = 0; i < count; ++i) {
    const int j = i + static_cast<int>(below(static_cast<std::uint32_t>(size - i)));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(count);
  std::sort(pool.begin(), pool.end());
  return pool;
}

}  // namespace fastdml
