// Cross products and linear predictors over row blocks: see cross_products.h.
#include "core/learners/cross_products.h"

#include <cmath>

namespace fastdml {

namespace {
constexpr int kRowsPerBlock = 512;
}

Eigen::MatrixXd cross_products(const DataView& data, const std::vector<int>& rows, size_t begin,
                               size_t end, const std::vector<const double*>& targets,
                               const double* row_weights) {
  const int q_design = data.n_design();
  const int q = q_design + static_cast<int>(targets.size());
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(q, q);
  Eigen::MatrixXd block(kRowsPerBlock, q);
  Eigen::VectorXd root_weight(kRowsPerBlock);
  for (size_t start = begin; start < end; start += kRowsPerBlock) {
    const int m = static_cast<int>(std::min(end - start, static_cast<size_t>(kRowsPerBlock)));
    const int* r = rows.data() + start;
    data.fill_design(r, m, block);
    for (size_t t = 0; t < targets.size(); ++t) {
      double* col = block.col(q_design + t).data();
      for (int i = 0; i < m; ++i) col[i] = targets[t][r[i]];
    }
    if (row_weights != nullptr) {
      for (int i = 0; i < m; ++i) root_weight[i] = std::sqrt(row_weights[r[i]]);
      block.topRows(m).array().colwise() *= root_weight.head(m).array();
    }
    if (m == kRowsPerBlock) {
      out.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
    } else {
      out.selfadjointView<Eigen::Lower>().rankUpdate(block.topRows(m).transpose());
    }
  }
  out.triangularView<Eigen::StrictlyUpper>() = out.transpose();
  return out;
}

Eigen::MatrixXd cross_products_chunked(const DataView& data, const std::vector<int>& rows,
                                       const std::vector<const double*>& targets,
                                       const double* row_weights, const TaskRunner& runner) {
  const size_t n_rows = rows.size();
  const int n_chunks = static_cast<int>((n_rows + kRowsPerChunk - 1) / kRowsPerChunk);
  const int q = data.n_design() + static_cast<int>(targets.size());
  if (n_chunks <= 1) return cross_products(data, rows, 0, n_rows, targets, row_weights);
  std::vector<Eigen::MatrixXd> partial(n_chunks);
  runner.run(n_chunks, [&](int c) {
    const size_t begin = static_cast<size_t>(c) * kRowsPerChunk;
    const size_t end = std::min(n_rows, begin + kRowsPerChunk);
    partial[c] = cross_products(data, rows, begin, end, targets, row_weights);
  });
  Eigen::MatrixXd total = Eigen::MatrixXd::Zero(q, q);
  for (const auto& piece : partial) total += piece;
  return total;
}

Eigen::MatrixXd solve_normal_equations(const Eigen::MatrixXd& A, const Eigen::MatrixXd& rhs,
                                       double ridge) {
  Eigen::MatrixXd lhs = A;
  for (int j = 1; j < lhs.rows(); ++j) lhs(j, j) += ridge;
  Eigen::LDLT<Eigen::MatrixXd> ldlt(lhs);
  if (ldlt.info() == Eigen::Success && ldlt.isPositive()) {
    const Eigen::VectorXd d = ldlt.vectorD().cwiseAbs();
    if (d.minCoeff() > 1e-11 * d.maxCoeff()) return ldlt.solve(rhs);
  }
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(lhs);
  cod.setThreshold(1e-11);
  return cod.solve(rhs);
}

void linear_predictor(const DataView& data, const std::vector<int>& rows,
                      const Eigen::MatrixXd& coef, double* out, long long out_stride) {
  Eigen::MatrixXd block(kRowsPerBlock, data.n_design());
  Eigen::MatrixXd fitted(kRowsPerBlock, coef.cols());
  for (size_t start = 0; start < rows.size(); start += kRowsPerBlock) {
    const int m = static_cast<int>(std::min(rows.size() - start, static_cast<size_t>(kRowsPerBlock)));
    data.fill_design(rows.data() + start, m, block);
    fitted.topRows(m).noalias() = block.topRows(m) * coef;
    for (int t = 0; t < coef.cols(); ++t) {
      std::copy(fitted.col(t).data(), fitted.col(t).data() + m, out + start + t * out_stride);
    }
  }
}

}  // namespace fastdml
