// FoldGram: per-fold cross products of [1, standardised X, targets] over the rows of a chunk,
// the sufficient statistics of the ridge outcome models and of R2 (specs/amazon-ci-dml.md
// §Scale-out: S_j = (X_j'X_j, X_j'y_j, n_j); DESIGN.md §5 per-fold Gram matrices). Chunks
// reduce by addition; the training Gram of fold k is the sum of the other folds' Grams.
#ifndef FASTDML_SCALE_FOLD_GRAM_H
#define FASTDML_SCALE_FOLD_GRAM_H

#include <Eigen/Dense>

#include "core/scale/chunk_design.h"
#include "core/util/task_runner.h"

namespace fastdml {

class FoldGram {
 public:
  // targets: n x t column-major (may be t = 0).
  FoldGram(const ChunkDesign& design, const double* targets, int t);
  // width x (width * n_folds): fold k's Gram in columns [k * width, (k + 1) * width).
  Eigen::MatrixXd compute(const TaskRunner& runner) const;

 private:
  const ChunkDesign& design_;
  const double* targets_;
  int t_;
};

}  // namespace fastdml

#endif
