// DmlInference: estimates and standard errors from linear scores (DESIGN.md §4).
// Per repetition s (DML2 pooling over folds): theta_s = -mean(psi_b) / mean(psi_a),
// psi = psi_a theta_s + psi_b, J = mean(psi_a), Var_s = sum_g (sum_{i in g} psi_i)^2 / (n J)^2
// where g runs over clusters (singletons without clusters: Var_s = mean(psi^2) / (n J^2)).
// Repetitions are aggregated by the median: theta = median_s theta_s,
// SE = sqrt(median_s(n SE_s^2 + (theta_s - theta)^2) / n). With cluster_correction the
// cluster variance is multiplied by G / (G - 1) (G clusters), the small-sample correction.
#ifndef FASTDML_INFERENCE_DML_INFERENCE_H
#define FASTDML_INFERENCE_DML_INFERENCE_H

#include "core/scores/score_elements.h"

namespace fastdml {

struct DmlEstimate {
  Eigen::VectorXd theta_rep;
  Eigen::VectorXd se_rep;
  double theta = 0.0;
  double se = 0.0;
};

struct DmlInferenceOptions {
  bool cluster_correction = false;  // multiply the cluster variance by G / (G - 1)
};

class DmlInference {
 public:
  // cluster: n ids in 0..n_clusters-1, or nullptr for independent rows.
  DmlInference(const int* cluster, int n_clusters,
               const DmlInferenceOptions& options = DmlInferenceOptions());
  // Repetitions run as tasks of `runner`.
  DmlEstimate estimate(const ScoreElements& scores,
                       const TaskRunner& runner = TaskRunner::serial()) const;

 private:
  const int* cluster_;
  int n_clusters_;
  DmlInferenceOptions options_;
};

// Median of a vector (mean of the two middle values for an even length).
double median(Eigen::VectorXd values);

}  // namespace fastdml

#endif
