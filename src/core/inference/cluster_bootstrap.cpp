// ClusterBootstrap: streamed nonparametric cluster bootstrap of ratios of sums (DESIGN.md §4,
// "Inference"; specs/recsys-aipw.md step 4); see cluster_bootstrap.h.
#include "core/inference/cluster_bootstrap.h"

#include <limits>
#include <stdexcept>
#include <vector>

namespace fastdml {

ClusterBootstrap::ClusterBootstrap(const Eigen::Ref<const Eigen::MatrixXd>& num,
                                   const Eigen::Ref<const Eigen::MatrixXd>& den,
                                   const int* cluster, int n_clusters) {
  const Eigen::Index n = num.rows(), k = num.cols();
  if (n == 0 || k == 0) throw std::invalid_argument("cluster bootstrap: no rows or no segments");
  if (den.rows() != n || den.cols() != k) {
    throw std::invalid_argument("cluster bootstrap: numerators and denominators differ in shape");
  }
  if (n > std::numeric_limits<int>::max() || k > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("cluster bootstrap: too many rows or segments");
  }
  segments_ = static_cast<int>(k);
  if (cluster == nullptr) {  // every row its own cluster: read the inputs in place
    clusters_ = static_cast<int>(n);
    num_view_ = num.data();
    den_view_ = den.data();
    num_ld_ = num.outerStride();
    den_ld_ = den.outerStride();
    return;
  }
  if (n_clusters < 1) throw std::invalid_argument("cluster bootstrap: n_clusters must be positive");
  clusters_ = n_clusters;
  owned_ = true;
  num_sums_ = Eigen::MatrixXd::Zero(n_clusters, k);
  den_sums_ = Eigen::MatrixXd::Zero(n_clusters, k);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int g = cluster[i];
    if (g < 0 || g >= n_clusters) throw std::invalid_argument("cluster bootstrap: cluster id out of range");
  }
  for (Eigen::Index j = 0; j < k; ++j) {  // column by column: sequential reads of the inputs
    double* s = num_sums_.col(j).data();
    double* d = den_sums_.col(j).data();
    for (Eigen::Index i = 0; i < n; ++i) {
      s[cluster[i]] += num(i, j);
      d[cluster[i]] += den(i, j);
    }
  }
  num_ld_ = n_clusters;
  den_ld_ = n_clusters;
}

Eigen::MatrixXd ClusterBootstrap::draw(int num_draws, const std::function<int(int)>& uniform_index,
                                       const std::function<void()>& poll) const {
  if (num_draws < 1) throw std::invalid_argument("cluster bootstrap: num_draws must be positive");
  const int G = clusters_, K = segments_;
  const double* S = owned_ ? num_sums_.data() : num_view_;
  const double* D = owned_ ? den_sums_.data() : den_view_;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Eigen::MatrixXd out(num_draws, K);
  std::vector<int> idx(static_cast<std::size_t>(G));
  for (int b = 0; b < num_draws; ++b) {
    poll();
    for (int j = 0; j < G; ++j) {  // the generator: serial and in order
      const int g = uniform_index(G);
      if (g < 0 || g >= G) throw std::out_of_range("cluster bootstrap: index generator out of range");
      idx[static_cast<std::size_t>(j)] = g;
    }
    for (int k = 0; k < K; ++k) {  // each sum in draw order j = 1..G, like colSums(S[idx, ])
      const double* s = S + k * num_ld_;
      const double* d = D + k * den_ld_;
      double top = 0.0, bottom = 0.0;
      for (int j = 0; j < G; ++j) {
        const int g = idx[static_cast<std::size_t>(j)];
        top += s[g];
        bottom += d[g];
      }
      out(b, k) = bottom == 0.0 ? nan : top / bottom;
    }
  }
  return out;
}

}  // namespace fastdml
