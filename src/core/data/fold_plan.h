// FoldPlan: the cross-fitting sample splits, an n x S matrix of fold ids 1..K drawn in R
// (stratified, clustered or user-supplied; DESIGN.md §3 `folds`). It indexes, for every
// repetition s and fold k, the held-out rows in increasing order, optionally restricted by a
// row mask (e.g. the rows of one treatment arm).
#ifndef FASTDML_DATA_FOLD_PLAN_H
#define FASTDML_DATA_FOLD_PLAN_H

#include <vector>

namespace fastdml {

class FoldPlan {
 public:
  // fold_ids: n * n_rep ints, column-major, values 1..n_folds.
  FoldPlan(const int* fold_ids, int n, int n_rep);

  int n() const { return n_; }
  int n_rep() const { return n_rep_; }
  int n_folds() const { return n_folds_; }
  // Held-out rows of fold k (0-based) in repetition s.
  const std::vector<int>& test_rows(int s, int k) const { return test_rows_[s * n_folds_ + k]; }
  // Held-out rows of fold k in repetition s with mask[row] != 0 (mask may be null: all rows).
  std::vector<int> test_rows(int s, int k, const int* mask) const;
  // Training rows (all folds but k) of repetition s with mask[row] != 0, in increasing order.
  std::vector<int> train_rows(int s, int k, const int* mask) const;

 private:
  int n_;
  int n_rep_;
  int n_folds_;
  const int* fold_ids_;
  std::vector<std::vector<int>> test_rows_;
};

}  // namespace fastdml

#endif
