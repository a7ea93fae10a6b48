// DmlInference: see dml_inference.h.
#include "core/inference/dml_inference.h"

#include <algorithm>
#include <cmath>

namespace fastdml {

double median(Eigen::VectorXd values) {
  const int k = static_cast<int>(values.size());
  if (k == 0) throw std::invalid_argument("median of an empty vector");
  std::sort(values.data(), values.data() + k);
  return k % 2 == 1 ? values[k / 2] : 0.5 * (values[k / 2 - 1] + values[k / 2]);
}

DmlInference::DmlInference(const int* cluster, int n_clusters, const DmlInferenceOptions& options)
    : cluster_(cluster), n_clusters_(n_clusters), options_(options) {
  if (cluster_ != nullptr && n_clusters_ < 1) {
    throw std::invalid_argument("DmlInference: need at least one cluster");
  }
  if (cluster_ != nullptr && options_.cluster_correction && n_clusters_ < 2) {
    throw std::invalid_argument("DmlInference: the G / (G - 1) correction needs two clusters");
  }
}

DmlEstimate DmlInference::estimate(const ScoreElements& scores, const TaskRunner& runner) const {
  const int n = static_cast<int>(scores.psi_a.rows());
  const int n_rep = static_cast<int>(scores.psi_a.cols());
  DmlEstimate out;
  out.theta_rep.resize(n_rep);
  out.se_rep.resize(n_rep);
  runner.run(n_rep, [&](int s) {
    const double J = scores.psi_a.col(s).mean();
    if (!(std::abs(J) > 0.0)) throw std::runtime_error("DmlInference: mean(psi_a) is zero");
    const double theta = -scores.psi_b.col(s).mean() / J;
    const Eigen::VectorXd psi = scores.psi_a.col(s) * theta + scores.psi_b.col(s);
    double sum_sq = 0.0;
    if (cluster_ == nullptr) {
      sum_sq = psi.squaredNorm();
    } else {
      Eigen::VectorXd by_cluster = Eigen::VectorXd::Zero(n_clusters_);
      for (int i = 0; i < n; ++i) by_cluster[cluster_[i]] += psi[i];
      sum_sq = by_cluster.squaredNorm();
      if (options_.cluster_correction) sum_sq *= n_clusters_ / (n_clusters_ - 1.0);
    }
    out.theta_rep[s] = theta;
    out.se_rep[s] = std::sqrt(sum_sq) / (n * std::abs(J));
  });
  out.theta = median(out.theta_rep);
  Eigen::VectorXd spread(n_rep);
  for (int s = 0; s < n_rep; ++s) {
    const double dev = out.theta_rep[s] - out.theta;
    spread[s] = n * out.se_rep[s] * out.se_rep[s] + dev * dev;
  }
  out.se = std::sqrt(median(spread) / n);
  return out;
}

}  // namespace fastdml
