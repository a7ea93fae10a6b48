// FoldPlan: see fold_plan.h.
#include "core/data/fold_plan.h"

#include <stdexcept>
#include <string>

namespace fastdml {

FoldPlan::FoldPlan(const int* fold_ids, int n, int n_rep)
    : n_(n), n_rep_(n_rep), n_folds_(0), fold_ids_(fold_ids) {
  if (n < 2 || n_rep < 1) throw std::invalid_argument("FoldPlan: need n >= 2 and n_rep >= 1");
  for (long long i = 0; i < static_cast<long long>(n) * n_rep; ++i) {
    if (fold_ids[i] < 1) throw std::invalid_argument("FoldPlan: fold ids must be 1, ..., K");
    if (fold_ids[i] > n_folds_) n_folds_ = fold_ids[i];
  }
  if (n_folds_ < 2) throw std::invalid_argument("FoldPlan: need at least 2 folds");
  test_rows_.assign(static_cast<size_t>(n_rep_) * n_folds_, std::vector<int>());
  for (int s = 0; s < n_rep_; ++s) {
    const int* ids = fold_ids_ + static_cast<long long>(s) * n_;
    for (int i = 0; i < n_; ++i) test_rows_[s * n_folds_ + ids[i] - 1].push_back(i);
    for (int k = 0; k < n_folds_; ++k) {
      if (test_rows_[s * n_folds_ + k].empty()) {
        throw std::invalid_argument("FoldPlan: fold " + std::to_string(k + 1) +
                                    " of repetition " + std::to_string(s + 1) + " is empty");
      }
    }
  }
}

std::vector<int> FoldPlan::test_rows(int s, int k, const int* mask) const {
  const std::vector<int>& all = test_rows(s, k);
  if (mask == nullptr) return all;
  std::vector<int> rows;
  rows.reserve(all.size());
  for (int i : all) {
    if (mask[i] != 0) rows.push_back(i);
  }
  return rows;
}

std::vector<int> FoldPlan::train_rows(int s, int k, const int* mask) const {
  const int* ids = fold_ids_ + static_cast<long long>(s) * n_;
  std::vector<int> rows;
  rows.reserve(n_ - test_rows(s, k).size());
  for (int i = 0; i < n_; ++i) {
    if (ids[i] != k + 1 && (mask == nullptr || mask[i] != 0)) rows.push_back(i);
  }
  return rows;
}

}  // namespace fastdml
