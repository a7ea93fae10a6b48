// MultiIrmScore: see multi_irm_score.h.
#include "core/scores/multi_irm_score.h"

#include <algorithm>
#include <stdexcept>

namespace fastdml {

MultiIrmScore::MultiIrmScore(const MultiIrmOptions& options) : options_(options) {
  if (!(options_.trim >= 0.0 && options_.trim < 0.5)) {
    throw std::invalid_argument("MultiIrmScore: trim must be in [0, 0.5)");
  }
}

Eigen::MatrixXd MultiIrmScore::trimmed(const std::vector<const double*>& m, int n) const {
  const int k = static_cast<int>(m.size());
  if (options_.trim * k >= 1.0) {
    throw std::invalid_argument("MultiIrmScore: trim must be below 1 / (number of arms)");
  }
  Eigen::MatrixXd out(n, k);
  std::vector<bool> floored(k);
  for (int i = 0; i < n; ++i) {
    std::fill(floored.begin(), floored.end(), false);
    int n_floored = 0;
    for (bool changed = true; changed;) {
      changed = false;
      double free_mass = 0.0;
      for (int a = 0; a < k; ++a) {
        if (!floored[a]) free_mass += std::max(m[a][i], 0.0);
      }
      const double scale = (1.0 - n_floored * options_.trim) / free_mass;
      for (int a = 0; a < k; ++a) {
        if (floored[a]) continue;
        const double value = std::max(m[a][i], 0.0) * scale;
        if (!(value >= options_.trim)) {
          floored[a] = true;
          ++n_floored;
          changed = true;
        }
        out(i, a) = value;
      }
    }
    for (int a = 0; a < k; ++a) {
      if (floored[a]) out(i, a) = options_.trim;
    }
  }
  return out;
}

Eigen::MatrixXd MultiIrmScore::indicators(const std::vector<int>& arms, int k) {
  Eigen::MatrixXd D = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(arms.size()), k);
  for (size_t i = 0; i < arms.size(); ++i) D(static_cast<Eigen::Index>(i), arms[i]) = 1.0;
  return D;
}

Eigen::VectorXd MultiIrmScore::hajek_factors(const Eigen::MatrixXd& trimmed,
                                             const std::vector<int>& arms,
                                             const Eigen::ArrayXd& w) const {
  const int k = static_cast<int>(trimmed.cols());
  Eigen::VectorXd factors = Eigen::VectorXd::Ones(k);
  if (!options_.normalize) return factors;
  factors.setZero();
  for (size_t i = 0; i < arms.size(); ++i) {
    factors[arms[i]] += w[static_cast<Eigen::Index>(i)] / trimmed(static_cast<Eigen::Index>(i), arms[i]);
  }
  return factors / static_cast<double>(arms.size());
}

Eigen::MatrixXd MultiIrmScore::effective(Eigen::MatrixXd M, const std::vector<int>& arms,
                                         const Eigen::ArrayXd& w) const {
  if (!options_.normalize) return M;
  const Eigen::VectorXd own_scale = hajek_factors(M, arms, w);
  const int k = static_cast<int>(M.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    const int j = arms[static_cast<size_t>(i)];
    const double own = M(i, j) * own_scale[j];
    const double others = (1.0 - own) / (1.0 - M(i, j));
    for (int a = 0; a < k; ++a) M(i, a) = a == j ? own : M(i, a) * others;
  }
  return M;
}

std::vector<int> MultiIrmScore::arm_indices(const double* arm, int n, int k) {
  std::vector<int> arms(n);
  for (int i = 0; i < n; ++i) {
    arms[i] = static_cast<int>(arm[i]);
    if (arms[i] < 0 || arms[i] >= k || arms[i] != arm[i]) {
      throw std::invalid_argument("MultiIrmScore: arm indices must be 0..K-1");
    }
  }
  return arms;
}

MultiIrmScores MultiIrmScore::compute(const double* y, const double* arm, const double* weights,
                                      int n, int n_rep, const MultiIrmNuisances& nuisances,
                                      const TaskRunner& runner) const {
  const int k = static_cast<int>(nuisances.m.size());
  const bool ate = options_.estimand == IrmEstimand::kAte;
  if (k < 2 || static_cast<int>(nuisances.g.size()) != k || nuisances.g[0] == nullptr) {
    throw std::invalid_argument("MultiIrmScore: one outcome regression and propensity per arm needed");
  }
  for (int a = 0; a < k; ++a) {
    if (nuisances.m[a] == nullptr || (ate && nuisances.g[a] == nullptr)) {
      throw std::invalid_argument("MultiIrmScore: missing nuisance predictions");
    }
  }
  const std::vector<int> arms = arm_indices(arm, n, k);
  const Eigen::ArrayXd Y = ConstVectorMap(y, n).array();
  const Eigen::ArrayXd w = normalised_weights(weights, n).array();
  MultiIrmScores out;
  for (int c = 1; c < k; ++c) {
    out.contrasts.push_back({Eigen::MatrixXd(n, n_rep), Eigen::MatrixXd(n, n_rep)});
    out.baselines.push_back({Eigen::MatrixXd(n, n_rep), Eigen::MatrixXd(n, n_rep)});
  }
  runner.run(n_rep, [&](int s) {
    const long long offset = static_cast<long long>(s) * n;
    std::vector<const double*> m_rep(k);
    for (int a = 0; a < k; ++a) m_rep[a] = nuisances.m[a] + offset;
    const Eigen::MatrixXd M = effective(trimmed(m_rep, n), arms, w);
    const Eigen::MatrixXd D = indicators(arms, k);
    const Eigen::ArrayXd g0 = ConstVectorMap(nuisances.g[0] + offset, n).array();
    const Eigen::ArrayXd D0 = D.col(0).array(), m0 = M.col(0).array();
    const Eigen::ArrayXd control_residual = D0 * (Y - g0) / m0;
    for (int c = 1; c < k; ++c) {
      const Eigen::ArrayXd Dk = D.col(c).array(), mk = M.col(c).array();
      ScoreElements& contrast = out.contrasts[c - 1];
      ScoreElements& baseline = out.baselines[c - 1];
      if (ate) {
        const Eigen::ArrayXd gk = ConstVectorMap(nuisances.g[c] + offset, n).array();
        contrast.psi_b.col(s) = (w * (gk - g0 + Dk * (Y - gk) / mk - control_residual)).matrix();
        contrast.psi_a.col(s) = (-w).matrix();
        baseline.psi_b.col(s) = (w * (g0 + control_residual)).matrix();
        baseline.psi_a.col(s) = (-w).matrix();
      } else {
        const double p = (w * Dk).mean();
        if (!(p > 0.0)) throw std::invalid_argument("MultiIrmScore: ATT needs rows in every arm");
        const Eigen::ArrayXd psi_b = w * (Dk * (Y - g0) / p - mk * control_residual / p);
        contrast.psi_b.col(s) = psi_b.matrix();
        contrast.psi_a.col(s) = (-w * Dk / p).matrix();
        baseline.psi_b.col(s) = (w * Dk * Y / p - psi_b).matrix();
        baseline.psi_a.col(s) = contrast.psi_a.col(s);
      }
    }
  });
  return out;
}

}  // namespace fastdml
