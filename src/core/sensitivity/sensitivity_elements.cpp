// SensitivityElements: see sensitivity_elements.h.
#include "core/sensitivity/sensitivity_elements.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fastdml {

SensitivityElements::SensitivityElements(const int* cluster, int n_clusters,
                                         bool cluster_correction)
    : cluster_(cluster), n_clusters_(n_clusters), cluster_correction_(cluster_correction) {
  if (cluster_ != nullptr && n_clusters_ < 1) {
    throw std::invalid_argument("SensitivityElements: clusters need n_clusters >= 1");
  }
}

SensitivityStats SensitivityElements::compute(const double* y, const Eigen::ArrayXd& w,
                                              const RieszTerms& terms,
                                              const Eigen::VectorXd& influence) const {
  const Eigen::Index n = w.size();
  const Eigen::ArrayXd squared_residual = (ConstVectorMap(y, n).array() - terms.g_hat.array()).square();
  const Eigen::ArrayXd riesz = 2.0 * terms.m_alpha.array() - terms.alpha.array().square();
  SensitivityStats out;
  out.sigma2 = (w * squared_residual).mean();
  out.nu2 = (w * riesz).mean();
  out.max_bias_base = std::sqrt(std::max(out.sigma2 * out.nu2, 0.0));
  const double scale = out.max_bias_base > 0.0 ? 1.0 / (2.0 * out.max_bias_base) : 0.0;
  const Eigen::ArrayXd psi_s =
      scale * (out.sigma2 * (w * riesz - out.nu2) + out.nu2 * (w * squared_residual - out.sigma2));
  const Eigen::ArrayXd IF = influence.array();
  if (cluster_ == nullptr) {
    out.v_if = IF.square().sum();
    out.c_if_s = (IF * psi_s).sum();
    out.v_s = psi_s.square().sum();
  } else {
    Eigen::ArrayXd if_sum = Eigen::ArrayXd::Zero(n_clusters_), s_sum = Eigen::ArrayXd::Zero(n_clusters_);
    for (Eigen::Index i = 0; i < n; ++i) {
      if_sum[cluster_[i]] += IF[i];
      s_sum[cluster_[i]] += psi_s[i];
    }
    out.v_if = if_sum.square().sum();
    out.c_if_s = (if_sum * s_sum).sum();
    out.v_s = s_sum.square().sum();
  }
  double factor = 1.0 / (static_cast<double>(n) * static_cast<double>(n));
  if (cluster_ != nullptr && cluster_correction_ && n_clusters_ > 1) {
    factor *= static_cast<double>(n_clusters_) / (n_clusters_ - 1.0);
  }
  out.v_if *= factor;
  out.c_if_s *= factor;
  out.v_s *= factor;
  return out;
}

}  // namespace fastdml
