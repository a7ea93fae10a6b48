// RieszRepresenter: see riesz_representer.h.
#include "core/sensitivity/riesz_representer.h"

#include <stdexcept>

namespace fastdml {

RieszTerms RieszRepresenter::plr(PlrScoreType score, const double* d, const Eigen::ArrayXd& w,
                                 const double* l, const double* m, const double* g,
                                 double theta, int n) {
  if (score == PlrScoreType::kIvType && g == nullptr) {
    throw std::invalid_argument("RieszRepresenter: the IV-type score needs g");
  }
  const Eigen::ArrayXd D = ConstVectorMap(d, n).array();
  const Eigen::ArrayXd residual = D - ConstVectorMap(m, n).array();
  const double variance = (w * residual.square()).mean();
  if (!(variance > 0.0)) throw std::invalid_argument("RieszRepresenter: no treatment variation left");
  RieszTerms out;
  out.g_hat = score == PlrScoreType::kIvType
                  ? (ConstVectorMap(g, n).array() + theta * D).matrix()
                  : (ConstVectorMap(l, n).array() + theta * residual).matrix();
  out.alpha = (residual / variance).matrix();
  out.m_alpha = Eigen::VectorXd::Constant(n, 1.0 / variance);
  return out;
}

std::vector<RieszTerms> RieszRepresenter::arms(const MultiIrmOptions& options, const double* arm,
                                               const Eigen::ArrayXd& w,
                                               const std::vector<const double*>& g,
                                               const std::vector<const double*>& m, int n) {
  const int k = static_cast<int>(m.size());
  const bool ate = options.estimand == IrmEstimand::kAte;
  const MultiIrmScore score(options);
  const std::vector<int> arms = MultiIrmScore::arm_indices(arm, n, k);
  const Eigen::MatrixXd trimmed = score.trimmed(m, n);
  const Eigen::MatrixXd D = MultiIrmScore::indicators(arms, k);
  Eigen::VectorXd g_hat(n);
  for (int i = 0; i < n; ++i) {
    if (g[arms[i]] == nullptr) throw std::invalid_argument("RieszRepresenter: missing g of an arm");
    g_hat[i] = g[arms[i]][i];
  }
  const Eigen::VectorXd c = score.hajek_factors(trimmed, arms, w);
  const Eigen::MatrixXd effective = ate ? trimmed : score.effective(trimmed, arms, w);
  std::vector<RieszTerms> out;
  const Eigen::ArrayXd D0 = D.col(0).array();
  for (int a = 1; a < k; ++a) {
    const Eigen::ArrayXd Dk = D.col(a).array();
    RieszTerms terms;
    terms.g_hat = g_hat;
    if (ate) {
      const Eigen::ArrayXd inverse_k = 1.0 / (trimmed.col(a).array() * c[a]);
      const Eigen::ArrayXd inverse_0 = 1.0 / (trimmed.col(0).array() * c[0]);
      terms.alpha = (Dk * inverse_k - D0 * inverse_0).matrix();
      terms.m_alpha = (inverse_k + inverse_0).matrix();
    } else {
      const double p = (w * Dk).mean();
      if (!(p > 0.0)) throw std::invalid_argument("RieszRepresenter: ATT needs rows in every arm");
      const Eigen::ArrayXd mk = effective.col(a).array(), m0 = effective.col(0).array();
      terms.alpha = (Dk / p - mk * D0 / (p * m0)).matrix();
      terms.m_alpha = (Dk * (m0 + mk) / (p * p * m0)).matrix();
    }
    out.push_back(std::move(terms));
  }
  return out;
}

}  // namespace fastdml
