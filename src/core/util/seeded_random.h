// SeededRandom: a small, portable pseudo-random stream (SplitMix64) for the randomised parts of
// the built-in learners (row and column subsampling, validation splits). Every cross-fitting
// task gets its own stream from seed + task index (DESIGN.md §2, "Reproducible"), so results do
// not depend on the thread count or on the order in which tasks run, and the same seed gives
// the same numbers on every platform (no std:: distributions, whose output is unspecified).
#ifndef FASTDML_UTIL_SEEDED_RANDOM_H
#define FASTDML_UTIL_SEEDED_RANDOM_H

#include <cstdint>
#include <vector>

namespace fastdml {

class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed);
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, bound), bound > 0 (multiply-shift; bias below 2^-32 for our sizes).
  std::uint32_t below(std::uint32_t bound);
  // `count` distinct positions of [0, size), sorted increasingly (partial Fisher-Yates).
  std::vector<int> choose(int size, int count);

 private:
  std::uint64_t state_;
};

}  // namespace fastdml

#endif
