// Row-list helpers shared by the learners: see learner.h.
#include "core/learners/learner.h"

namespace fastdml {

std::vector<int> masked_rows(int n, const int* mask) {
  std::vector<int> rows;
  rows.reserve(n);
  for (int i = 0; i < n; ++i) {
    if (mask == nullptr || mask[i] != 0) rows.push_back(i);
  }
  return rows;
}

std::vector<int> all_rows(int n) { return masked_rows(n, nullptr); }

}  // namespace fastdml
