// RieszRepresenter: per model, the pieces of the omitted-variable-bias bounds that depend on the
// fit's cross-fitted nuisances (DESIGN.md §4, "Sensitivity (Long Story Short)"): the outcome
// regression at the observed treatment g_hat, the Riesz representer alpha of the estimand and
// its "m" term m_alpha = m(W, alpha), for one repetition. With w the observation weights
// normalised to mean one:
//   PLR:  partialling out g_hat = l + theta (D - m); IV-type g_hat = g + theta D;
//         alpha = (D - m) / mean(w (D - m)^2), m_alpha = 1 / mean(w (D - m)^2).
//   Arms (binary IRM is the two-arm case m_0 = 1 - m), contrast k vs 0, with the trimmed
//   propensities m and the Hajek factors c_a = mean(w D_a / m_a) (1 without normalize):
//         g_hat = g_{arm}(X);
//         ATE: alpha = D_k/(m_k c_k) - D_0/(m_0 c_0),  m_alpha = 1/(m_k c_k) + 1/(m_0 c_0);
//         ATT: p_k = mean(w D_k), m~ the score's effective propensities,
//              alpha = D_k/p_k - m~_k D_0/(p_k m~_0),  m_alpha = D_k (m~_0 + m~_k)/(p_k^2 m~_0).
#ifndef FASTDML_SENSITIVITY_RIESZ_REPRESENTER_H
#define FASTDML_SENSITIVITY_RIESZ_REPRESENTER_H

#include <vector>

#include "core/scores/irm_score.h"
#include "core/scores/multi_irm_score.h"
#include "core/scores/plr_score.h"

namespace fastdml {

struct RieszTerms {
  Eigen::VectorXd g_hat;    // outcome regression at the observed treatment
  Eigen::VectorXd alpha;    // Riesz representer
  Eigen::VectorXd m_alpha;  // m(W, alpha)
};

class RieszRepresenter {
 public:
  // PLR, one repetition: l, m (and g for IV-type) point at its n values.
  static RieszTerms plr(PlrScoreType score, const double* d, const Eigen::ArrayXd& w,
                        const double* l, const double* m, const double* g, double theta, int n);
  // Arms, one repetition: the K - 1 contrasts' terms (g_hat shared). g, m: K pointers each.
  static std::vector<RieszTerms> arms(const MultiIrmOptions& options, const double* arm,
                                      const Eigen::ArrayXd& w,
                                      const std::vector<const double*>& g,
                                      const std::vector<const double*>& m, int n);
};

}  // namespace fastdml

#endif
