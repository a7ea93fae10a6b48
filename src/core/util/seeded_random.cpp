// SeededRandom: see seeded_random.h.
#include "core/util/seeded_random.h"

#include <algorithm>
#include <numeric>

namespace fastdml {

SeededRandom::SeededRandom(std::uint64_t seed) : state_(seed) {}

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
