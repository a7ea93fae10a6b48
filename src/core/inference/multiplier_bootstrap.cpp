// MultiplierBootstrap: streamed Gaussian multiplier bootstrap of means of influence functions
// (DESIGN.md §4, "Inference"); see multiplier_bootstrap.h.
#include "core/inference/multiplier_bootstrap.h"

#include <stdexcept>

namespace fastdml {

MultiplierBootstrap::MultiplierBootstrap(const Eigen::Ref<const Eigen::MatrixXd>& phi,
                                         const int* cluster, int n_clusters)
    : n_(static_cast<double>(phi.rows())) {
  if (phi.rows() == 0 || phi.cols() == 0) throw std::invalid_argument("bootstrap: no influence functions");
  if (cluster == nullptr) {
    unit_sums_ = phi;
    return;
  }
  if (n_clusters < 1) throw std::invalid_argument("bootstrap: n_clusters must be positive");
  unit_sums_ = Eigen::MatrixXd::Zero(n_clusters, phi.cols());
  for (Eigen::Index i = 0; i < phi.rows(); ++i) {
    const int g = cluster[i];
    if (g < 0 || g >= n_clusters) throw std::invalid_argument("bootstrap: cluster id out of range");
    unit_sums_.row(g) += phi.row(i);
  }
}

Eigen::MatrixXd MultiplierBootstrap::draw(int num_draws, const std::function<double()>& normal,
                                          const std::function<void()>& poll) const {
  if (num_draws < 1) throw std::invalid_argument("bootstrap: num_draws must be positive");
  const Eigen::Index units = unit_sums_.rows(), k = unit_sums_.cols();
  Eigen::MatrixXd out(num_draws, k);
  Eigen::VectorXd acc(k);
  for (int b = 0; b < num_draws; ++b) {
    poll();
    acc.setZero();
    for (Eigen::Index u = 0; u < units; ++u) acc += normal() * unit_sums_.row(u).transpose();
    out.row(b) = acc.transpose() / n_;
  }
  return out;
}

}  // namespace fastdml
