// MultiIrmScore: doubly robust scores of a multi-arm treatment, one contrast per arm k = 1..K-1
// against the control arm 0 (DESIGN.md §4, "Multi-treatment IRM"; specs/cx-multitreatment.md
// §2). Propensities m_0..m_{K-1} are trimmed by flooring: arms below `trim` are set to trim and
// the others rescaled to fill the rest, repeated until no arm is below trim (with two arms this
// is the binary clip to [trim, 1 - trim]). With normalize, on the rows of arm j the propensity
// of j becomes m_j c_j, c_j = mean(w D_j / m_j), and the other arms are rescaled to sum to
// 1 - m_j c_j (with two arms: the binary Hajek rule). With D_k the arm indicators and w the
// observation weights normalised to mean one:
//   ATE: psi_b = w [g_k - g_0 + D_k (Y - g_k)/m_k - D_0 (Y - g_0)/m_0],  psi_a = -w
//   ATT: p_k = mean(w D_k); psi_b = w [D_k (Y - g_0)/p_k - m_k D_0 (Y - g_0)/(p_k m_0)],
//        psi_a = -w D_k / p_k
// and the baseline of the relative effect, also a linear score:
//   ATE: mu_0 = E[Y(0)]:      psi_b = w [g_0 + D_0 (Y - g_0)/m_0],          psi_a = -w
//   ATT: mu_k = E[Y(0)|D=k]:  psi_b = w D_k Y / p_k - psi_b(ATT_k),          psi_a = -w D_k / p_k
#ifndef FASTDML_SCORES_MULTI_IRM_SCORE_H
#define FASTDML_SCORES_MULTI_IRM_SCORE_H

#include <vector>

#include "core/scores/irm_score.h"
#include "core/scores/score_elements.h"

namespace fastdml {

struct MultiIrmOptions {
  IrmEstimand estimand = IrmEstimand::kAte;
  double trim = 0.01;
  bool normalize = false;
};

struct MultiIrmNuisances {
  std::vector<const double*> g;  // K pointers to n x S outcome regressions (ATT: g_0 only needed)
  std::vector<const double*> m;  // K pointers to n x S raw propensities
};

struct MultiIrmScores {
  std::vector<ScoreElements> contrasts;  // K - 1, contrast k vs 0
  std::vector<ScoreElements> baselines;  // K - 1, the baseline mean of each contrast
};

class MultiIrmScore {
 public:
  explicit MultiIrmScore(const MultiIrmOptions& options);
  // arm: n arm indices 0..K-1 (as doubles). Repetitions run as tasks of `runner`.
  MultiIrmScores compute(const double* y, const double* arm, const double* weights, int n,
                         int n_rep, const MultiIrmNuisances& nuisances,
                         const TaskRunner& runner = TaskRunner::serial()) const;
  // Trimmed propensities (n x K) of one repetition's raw ones (K pointers to n values each).
  Eigen::MatrixXd trimmed(const std::vector<const double*>& m, int n) const;
  // c_a = mean(w D_a / m_a) of trimmed propensities with normalize, else ones (K values).
  Eigen::VectorXd hajek_factors(const Eigen::MatrixXd& trimmed, const std::vector<int>& arms,
                                const Eigen::ArrayXd& w) const;
  // The propensities the scores use: the trimmed ones, Hajek-normalised with normalize.
  Eigen::MatrixXd effective(Eigen::MatrixXd trimmed, const std::vector<int>& arms,
                            const Eigen::ArrayXd& w) const;
  // Arm indices 0..k-1 of n rows given as doubles (checked), and their n x k indicators.
  static std::vector<int> arm_indices(const double* arm, int n, int k);
  static Eigen::MatrixXd indicators(const std::vector<int>& arms, int k);

 private:
  MultiIrmOptions options_;
};

}  // namespace fastdml

#endif
