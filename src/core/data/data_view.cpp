// DataView: see data_view.h. Column means and standard deviations use a two-pass algorithm.
#include "core/data/data_view.h"

#include <cmath>
#include <stdexcept>

namespace fastdml {

DataView::DataView(const double* X, int n, int p, const TaskRunner& runner, bool standardize)
    : X_(X), n_(n), p_(p), center_(Eigen::VectorXd::Zero(p)), scale_(Eigen::VectorXd::Ones(p)) {
  if (n < 1 || p < 0) throw std::invalid_argument("DataView: empty data");
  if (!standardize) return;
  runner.run(p, [&](int j) {
    const double* col = X_ + static_cast<long long>(j) * n_;
    double sum = 0.0;
    for (int i = 0; i < n_; ++i) sum += col[i];
    const double mean = sum / n_;
    double ss = 0.0;
    for (int i = 0; i < n_; ++i) ss += (col[i] - mean) * (col[i] - mean);
    const double sd = n_ > 1 ? std::sqrt(ss / (n_ - 1)) : 0.0;
    center_[j] = mean;
    scale_[j] = (sd > 0.0 && std::isfinite(sd)) ? sd : 1.0;
  });
}

void DataView::fill_design(const int* rows, int m, Eigen::MatrixXd& block) const {
  block.col(0).head(m).setOnes();
  for (int j = 0; j < p_; ++j) {
    const double* col = X_ + static_cast<long long>(j) * n_;
    const double mu = center_[j];
    const double inv_sd = 1.0 / scale_[j];
    double* out = block.col(j + 1).data();
    for (int r = 0; r < m; ++r) out[r] = (col[rows[r]] - mu) * inv_sd;
  }
}

}  // namespace fastdml
