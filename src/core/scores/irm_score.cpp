// IrmScore: see irm_score.h.
#include "core/scores/irm_score.h"

#include <algorithm>

namespace fastdml {

IrmScore::IrmScore(const IrmOptions& options) : options_(options) {
  if (!(options_.trim >= 0.0 && options_.trim < 0.5)) {
    throw std::invalid_argument("IrmScore: trim must be in [0, 0.5)");
  }
}

Eigen::VectorXd IrmScore::effective_propensity(const Eigen::VectorXd& d, const Eigen::VectorXd& w,
                                               const double* m_col, int n) const {
  Eigen::VectorXd m(n);
  for (int i = 0; i < n; ++i) m[i] = std::min(std::max(m_col[i], options_.trim), 1.0 - options_.trim);
  if (!options_.normalize) return m;
  const Eigen::ArrayXd D = d.array(), M = m.array(), W = w.array();
  const double treated = (W * D / M).mean();
  const double control = (W * (1.0 - D) / (1.0 - M)).mean();
  return (D * M * treated + (1.0 - D) * (1.0 - (1.0 - M) * control)).matrix();
}

ScoreElements IrmScore::compute(const double* y, const double* d, const double* weights, int n,
                                int n_rep, const IrmNuisances& nuisances,
                                const TaskRunner& runner) const {
  if (nuisances.g0 == nullptr || nuisances.m == nullptr ||
      (options_.estimand == IrmEstimand::kAte && nuisances.g1 == nullptr)) {
    throw std::invalid_argument("IrmScore: missing nuisance predictions");
  }
  const Eigen::ArrayXd Y = ConstVectorMap(y, n).array();
  const Eigen::VectorXd D = ConstVectorMap(d, n);
  const Eigen::ArrayXd Da = D.array();
  const Eigen::VectorXd w_vector = normalised_weights(weights, n);
  const Eigen::ArrayXd w = w_vector.array();
  ScoreElements out{Eigen::MatrixXd(n, n_rep), Eigen::MatrixXd(n, n_rep)};
  runner.run(n_rep, [&](int s) {
    const long long offset = static_cast<long long>(s) * n;
    const Eigen::ArrayXd m = effective_propensity(D, w_vector, nuisances.m + offset, n).array();
    const Eigen::ArrayXd g0 = ConstVectorMap(nuisances.g0 + offset, n).array();
    if (options_.estimand == IrmEstimand::kAte) {
      const Eigen::ArrayXd g1 = ConstVectorMap(nuisances.g1 + offset, n).array();
      out.psi_b.col(s) =
          (w * (g1 - g0 + Da * (Y - g1) / m - (1.0 - Da) * (Y - g0) / (1.0 - m))).matrix();
      out.psi_a.col(s) = (-w).matrix();
    } else {
      const double p = (w * Da).mean();
      if (!(p > 0.0)) throw std::invalid_argument("IrmScore: ATT needs treated rows");
      out.psi_b.col(s) =
          (w * (Da * (Y - g0) / p - m * (1.0 - Da) * (Y - g0) / (p * (1.0 - m)))).matrix();
      out.psi_a.col(s) = (-w * Da / p).matrix();
    }
  });
  return out;
}

}  // namespace fastdml
