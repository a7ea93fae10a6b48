// ClusterBootstrap: the nonparametric cluster (block) bootstrap of ratio estimators
// (DESIGN.md §4, "Inference"; the user-cluster bootstrap of specs/recsys-aipw.md step 4, with
// nuisances held fixed). The statistic of segment k is a ratio of sums over rows,
//   theta_k = sum_i num_ik / sum_i den_ik,
// e.g. a weighted mean of scores phi in segment k: num_ik = w_i phi_i 1{i in k},
// den_ik = w_i 1{i in k} (the overall mean is the segment of all rows). The constructor sums
// both within each cluster g = 0..G-1: S_gk = sum_{i in g} num_ik, D_gk = sum_{i in g} den_ik
// (ids without rows are clusters with zero sums). Draw b resamples G clusters with replacement,
// g_b1, ..., g_bG, each from the injected generator `uniform_index(G)` (0..G-1), called in
// order (draw-major, index-minor) on the calling thread only, and returns
//   theta_bk = sum_j S_{g_bj, k} / sum_j D_{g_bj, k}   (summed in draw order j = 1..G),
// NaN when the denominator is 0 (e.g. segment k absent from every drawn cluster). With
// cluster == nullptr every row is its own cluster (G = n) and the inputs are read in place.
// With R's RNG behind the generator (R_unif_index, see bindings_cluster_bootstrap.cpp) the
// draws equal the R loop `idx <- sample.int(G, G, replace = TRUE);
// colSums(S[idx, ]) / colSums(D[idx, ])` with the same seed.
// Streamed: memory O(G K) for the cluster sums + O(G) for one draw's indices + O(B K) for the
// result, never n x B or G x B. Serial, so the result does not depend on the thread count.
#ifndef FASTDML_INFERENCE_CLUSTER_BOOTSTRAP_H
#define FASTDML_INFERENCE_CLUSTER_BOOTSTRAP_H

#include <functional>

#include <Eigen/Dense>

namespace fastdml {

class ClusterBootstrap {
 public:
  // num, den: n x K (same shape); cluster: n ids in 0..n_clusters-1, or nullptr (each row its
  // own cluster; n_clusters is then ignored). With cluster == nullptr the object keeps a view
  // of num and den, which must outlive it (pass matrices or Maps, not temporary expressions).
  ClusterBootstrap(const Eigen::Ref<const Eigen::MatrixXd>& num,
                   const Eigen::Ref<const Eigen::MatrixXd>& den, const int* cluster,
                   int n_clusters);

  // B x K matrix of bootstrap ratios. `uniform_index(G)` returns the next cluster index,
  // uniform in 0..G-1; `poll()` is called before every draw (it may throw to interrupt).
  Eigen::MatrixXd draw(int num_draws, const std::function<int(int)>& uniform_index,
                       const std::function<void()>& poll) const;

  int num_clusters() const { return clusters_; }
  int num_segments() const { return segments_; }

 private:
  // Cluster sums (G x K, column-major) when clustered; unused when rows are the clusters.
  Eigen::MatrixXd num_sums_, den_sums_;
  // Column-major G x K views of the numerator and denominator sums (leading dimensions).
  const double* num_view_ = nullptr;
  const double* den_view_ = nullptr;
  Eigen::Index num_ld_ = 0, den_ld_ = 0;
  bool owned_ = false;  // views point into num_sums_/den_sums_ (recomputed in draw())
  int clusters_ = 0, segments_ = 0;
};

}  // namespace fastdml

#endif  // FASTDML_INFERENCE_CLUSTER_BOOTSTRAP_H
