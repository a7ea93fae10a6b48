// LogisticLearner: logistic regression (optionally ridge-penalised, intercept unpenalised) on
// the standardised covariates, fitted by Newton/IRLS with step halving (DESIGN.md §5).
// Cross-fitting reads the data as few times as possible:
//   1. a warm start is fitted on a systematic subsample of the allowed rows;
//   2. one pass at the warm start accumulates, per fold, the deviance and the cross products
//      of the IRLS step, so each fold's first Newton step comes from the sum of the other
//      folds' pieces without touching the data;
//   3. each fold iterates from there on its training rows until the Newton step is negligible
//      (quadratic convergence: two or three passes), using all threads inside the fold.
// Predictions are probabilities. Targets must be 0/1 (checked in R and here).
#ifndef FASTDML_LEARNERS_LOGISTIC_LEARNER_H
#define FASTDML_LEARNERS_LOGISTIC_LEARNER_H

#include "core/learners/damped_newton.h"
#include "core/learners/learner.h"

namespace fastdml {

using LogisticOptions = NewtonLearnerOptions;

// Deviance at some coefficients and the cross products [Z, u]'W[Z, u] of the IRLS step there.
using IrlsPass = NewtonPass;

class LogisticLearner : public Learner {
 public:
  explicit LogisticLearner(const LogisticOptions& options);
  std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                        const TaskRunner& runner) const override;
  void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state, int rep,
                        int fold, const TaskRunner& runner) const override;
  void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const override;
  bool threads_within_fold() const override { return true; }
  // IRLS on the given rows from a starting value; returns the coefficients [b0, b].
  Eigen::VectorXd fit(const DataView& data, const std::vector<int>& rows, const double* target,
                      const Eigen::VectorXd& start, double step_tolerance,
                      const TaskRunner& runner) const;

 private:
  // IRLS from coef, whose pass over `rows` is already known.
  Eigen::VectorXd fit_from(const DataView& data, const std::vector<int>& rows,
                           const double* target, Eigen::VectorXd coef, IrlsPass current,
                           double step_tolerance, const TaskRunner& runner) const;
  LogisticOptions options_;
};

}  // namespace fastdml

#endif
