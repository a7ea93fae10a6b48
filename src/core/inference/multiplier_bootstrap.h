// MultiplierBootstrap: the Gaussian multiplier bootstrap of sample means of influence
// functions (DESIGN.md §4, "Inference"; policy values of specs/onboarding-cate.md steps 9-10).
// Given K centred influence functions phi_ik (i = 1..n) and, optionally, clusters, draw b
// returns the K deviations delta_bk = (1/n) sum_u xi_bu s_uk, with s_uk = phi_ik per row, or
// summed within each cluster u (units in increasing cluster id), and xi_bu independent standard
// normal multipliers taken in order from the injected generator (one per unit and draw:
// draw-major, unit-minor). The
// draws are streamed: memory O(n K + B K), never n x B. The generator is called on the
// calling thread only (R's RNG through the bindings), so the draws equal an R loop
// `for (b in 1:B) colSums(rnorm(G) * S) / n` with the same seed.
#ifndef FASTDML_INFERENCE_MULTIPLIER_BOOTSTRAP_H
#define FASTDML_INFERENCE_MULTIPLIER_BOOTSTRAP_H

#include <functional>

#include <Eigen/Dense>

namespace fastdml {

class MultiplierBootstrap {
 public:
  // phi: n x K influence functions; cluster: n ids in 0..n_clusters-1, or nullptr.
  MultiplierBootstrap(const Eigen::Ref<const Eigen::MatrixXd>& phi, const int* cluster,
                      int n_clusters);

  // B x K matrix of bootstrap deviations; `normal()` returns the next multiplier and
  // `poll()` is called between draws (it may throw to interrupt).
  Eigen::MatrixXd draw(int num_draws, const std::function<double()>& normal,
                       const std::function<void()>& poll) const;

 private:
  Eigen::MatrixXd unit_sums_;  // units x K: rows, or cluster sums
  double n_ = 0.0;
};

}  // namespace fastdml

#endif  // FASTDML_INFERENCE_MULTIPLIER_BOOTSTRAP_H
