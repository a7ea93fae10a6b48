// IrmScore: the interactive model's doubly robust scores for a binary treatment
// (DESIGN.md §4, IRM). m is clipped to [trim, 1 - trim]; with normalize the Hajek version
//   m~ = D m mean(w D/m) + (1 - D)[1 - (1 - m) mean(w (1 - D)/(1 - m))] is used (weighted
//   means, so that integer weights equal duplicated rows).
//   ATE: psi_b = w [g1 - g0 + D(Y - g1)/m - (1 - D)(Y - g0)/(1 - m)],  psi_a = -w
//   ATT: p = mean(w D); psi_b = w [D(Y - g0)/p - m(1 - D)(Y - g0)/(p(1 - m))],  psi_a = -w D/p
// with w the observation weights normalised to mean one.
#ifndef FASTDML_SCORES_IRM_SCORE_H
#define FASTDML_SCORES_IRM_SCORE_H

#include "core/scores/score_elements.h"

namespace fastdml {

enum class IrmEstimand { kAte, kAtt };

struct IrmOptions {
  IrmEstimand estimand = IrmEstimand::kAte;
  double trim = 0.01;
  bool normalize = false;
};

struct IrmNuisances {
  const double* g0 = nullptr;  // n x S
  const double* g1 = nullptr;  // n x S
  const double* m = nullptr;   // n x S, untrimmed
};

class IrmScore {
 public:
  explicit IrmScore(const IrmOptions& options);
  // Repetitions run as tasks of `runner` (each writes its own columns).
  ScoreElements compute(const double* y, const double* d, const double* weights, int n, int n_rep,
                        const IrmNuisances& nuisances,
                        const TaskRunner& runner = TaskRunner::serial()) const;
  // The propensities used in the score: clipped and, with normalize, Hajek-normalised with
  // the observation weights w (normalised to mean one).
  Eigen::VectorXd effective_propensity(const Eigen::VectorXd& d, const Eigen::VectorXd& w,
                                       const double* m_col, int n) const;

 private:
  IrmOptions options_;
};

}  // namespace fastdml

#endif
