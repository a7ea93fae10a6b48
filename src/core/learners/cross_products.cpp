// Cross products and linear predictors over row blocks: see cross_products.h.
#include "core/learners/cross_products.h"

namespace fastdml {

namespace {
constexpr int kRowsPerBlock = 512;
}

Eigen::MatrixXd cross_products(const DataView& data, const std::vector<int>& rows, size_t begin,
                               size_t end, const std::vector<const double*>& targets) {
  const int q_design = data.n_design();
  const int q = q_design + static_cast<int>(targets.size());
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(q, q);
  Eigen::MatrixXd block(kRowsPerBlock, q);
  for (size_t start = begin; start < end; start += kRowsPerBlock) {
    const int m = static_cast<int>(std::min(end - start, static_cast<size_t>(kRowsPerBlock)));
    const int* r = rows.data() + start;
    data.fill_design(r, m, block);
    for (size_t t = 0; t < targets.size(); ++t) {
      double* col = block.col(q_design + t).data();
      for (int i = 0; i < m; ++i) col[i] = targets[t][r[i]];
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
                                       const TaskRunner& runner) {
  return sum_over_chunks<Eigen::MatrixXd>(rows.size(), runner, [&](size_t begin, size_t end) {
    return cross_products(data, rows, begin, end, targets);
  });
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
