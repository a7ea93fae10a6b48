// SensitivityElements: the sufficient statistics of the omitted-variable-bias bounds of one
// term and repetition (DESIGN.md §4, "Sensitivity (Long Story Short)"; specs/
// cx-multitreatment.md §5). From the outcome regression at the observed treatment g_hat, the
// Riesz representer alpha, m_alpha, the estimate's influence function IF and the observation
// weights w (mean one):
//   sigma2 = mean(w (Y - g_hat)^2),           psi_sigma2 = w (Y - g_hat)^2 - sigma2,
//   nu2 = mean(w (2 m_alpha - alpha^2)),      psi_nu2 = w (2 m_alpha - alpha^2) - nu2,
//   S = sqrt(sigma2 nu2) (max_bias_base),     psi_S = (sigma2 psi_nu2 + nu2 psi_sigma2) / (2 S),
// and, summing the row values within clusters first (rows are their own clusters without
// clusters; times G / (G - 1) with the correction),
//   v_if = sum_g (sum IF)^2 / n^2,  c_if_s = sum_g (sum IF)(sum psi_S) / n^2,
//   v_s = sum_g (sum psi_S)^2 / n^2,
// so that the variance of a bound's influence function IF + t psi_S is v_if + 2 t c_if_s +
// t^2 v_s for any scenario strength t: every bound and grid point costs O(1).
#ifndef FASTDML_SENSITIVITY_SENSITIVITY_ELEMENTS_H
#define FASTDML_SENSITIVITY_SENSITIVITY_ELEMENTS_H

#include "core/scores/score_elements.h"
#include "core/sensitivity/riesz_representer.h"

namespace fastdml {

struct SensitivityStats {
  double sigma2 = 0.0;
  double nu2 = 0.0;
  double max_bias_base = 0.0;
  double v_if = 0.0;
  double c_if_s = 0.0;
  double v_s = 0.0;
};

class SensitivityElements {
 public:
  // cluster: n ids in 0..n_clusters-1, or nullptr for independent rows.
  SensitivityElements(const int* cluster, int n_clusters, bool cluster_correction);
  SensitivityStats compute(const double* y, const Eigen::ArrayXd& w, const RieszTerms& terms,
                           const Eigen::VectorXd& influence) const;

 private:
  const int* cluster_;
  int n_clusters_;
  bool cluster_correction_;
};

}  // namespace fastdml

#endif
