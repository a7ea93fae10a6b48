// ChunkDesign: see chunk_design.h.
#include "core/scale/chunk_design.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace fastdml {

namespace {
constexpr int kSegmentRows = 8192;
}

ChunkDesign::ChunkDesign(const double* X, int n, int p, const int* fold, int n_folds,
                         const double* center, const double* scale)
    : X_(X), n_(n), p_(p), fold_(fold), n_folds_(n_folds), center_(center), scale_(scale) {
  for (int i = 0; i < n_; ++i) {
    if (fold_[i] < 1 || fold_[i] > n_folds_) {
      throw std::invalid_argument("ChunkDesign: fold id " + std::to_string(fold_[i]) +
                                  " outside 1.." + std::to_string(n_folds_));
    }
  }
}

Eigen::MatrixXd ChunkDesign::design(int begin, int end) const {
  const int m = end - begin;
  Eigen::MatrixXd Z(m, p_ + 1);
  Z.col(0).setOnes();
  for (int j = 0; j < p_; ++j) {
    const double* col = X_ + static_cast<long long>(j) * n_;
    const double mu = center_[j], inv = 1.0 / scale_[j];
    for (int r = 0; r < m; ++r) Z(r, j + 1) = (col[begin + r] - mu) * inv;
  }
  return Z;
}

std::vector<std::pair<int, int>> ChunkDesign::segments() const {
  std::vector<std::pair<int, int>> out;
  for (int begin = 0; begin < n_; begin += kSegmentRows) {
    out.emplace_back(begin, std::min(n_, begin + kSegmentRows));
  }
  return out;
}

}  // namespace fastdml
