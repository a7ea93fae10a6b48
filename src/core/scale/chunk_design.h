// ChunkDesign: a block of rows of a data chunk as the standardised design [1, (x - center) /
// scale] that the in-memory learners use (DataView, DESIGN.md §5), plus the fixed row segments
// that make every per-chunk sum independent of the thread count (each segment is summed on its
// own, then the segments are added in order). Shared by the sufficient-statistics passes of the
// scale-out back ends (specs/amazon-ci-dml.md §Scale-out).
#ifndef FASTDML_SCALE_CHUNK_DESIGN_H
#define FASTDML_SCALE_CHUNK_DESIGN_H

#include <Eigen/Dense>
#include <vector>

namespace fastdml {

class ChunkDesign {
 public:
  // X: n x p column-major; fold: n fold ids 1..n_folds; center/scale: p each.
  ChunkDesign(const double* X, int n, int p, const int* fold, int n_folds, const double* center,
              const double* scale);
  int n() const { return n_; }
  int width() const { return p_ + 1; }
  int n_folds() const { return n_folds_; }
  int fold(int row) const { return fold_[row] - 1; }
  // Rows [begin, end) of the segment and its standardised design (end - begin) x (p + 1).
  Eigen::MatrixXd design(int begin, int end) const;
  // Fixed segmentation of the rows: (begin, end) pairs.
  std::vector<std::pair<int, int>> segments() const;

 private:
  const double* X_;
  int n_, p_;
  const int* fold_;
  int n_folds_;
  const double* center_;
  const double* scale_;
};

}  // namespace fastdml

#endif
