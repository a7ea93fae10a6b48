// FoldGram: see fold_gram.h. Each fixed row segment sums its own per-fold Grams; segments are
// added in order, so the result does not depend on the thread count.
#include "core/scale/fold_gram.h"

#include <vector>

namespace fastdml {

FoldGram::FoldGram(const ChunkDesign& design, const double* targets, int t)
    : design_(design), targets_(targets), t_(t) {}

Eigen::MatrixXd FoldGram::compute(const TaskRunner& runner) const {
  const int w = design_.width() + t_;
  const int K = design_.n_folds();
  const auto segments = design_.segments();
  std::vector<Eigen::MatrixXd> partial(segments.size());
  runner.run(static_cast<int>(segments.size()), [&](int s) {
    const int begin = segments[s].first, end = segments[s].second;
    Eigen::MatrixXd Z(end - begin, w);
    Z.leftCols(design_.width()) = design_.design(begin, end);
    for (int j = 0; j < t_; ++j) {
      const double* col = targets_ + static_cast<long long>(j) * design_.n();
      for (int r = begin; r < end; ++r) Z(r - begin, design_.width() + j) = col[r];
    }
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(w, w * K);
    for (int k = 0; k < K; ++k) {
      std::vector<int> rows;
      for (int r = begin; r < end; ++r) if (design_.fold(r) == k) rows.push_back(r - begin);
      if (rows.empty()) continue;
      Eigen::MatrixXd block(rows.size(), w);
      for (size_t i = 0; i < rows.size(); ++i) block.row(i) = Z.row(rows[i]);
      out.block(0, k * w, w, w).noalias() = block.transpose() * block;
    }
    partial[s] = std::move(out);
  });
  Eigen::MatrixXd total = Eigen::MatrixXd::Zero(w, w * K);
  for (const auto& part : partial) total += part;
  return total;
}

}  // namespace fastdml
