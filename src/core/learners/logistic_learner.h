// LogisticLearner: logistic regression (optionally ridge-penalised, intercept unpenalised) on
// the standardised covariates, fitted by Newton/IRLS with step halving. `prepare` fits every
// target on all rows allowed by the mask (row chunks in parallel); each fold then starts IRLS
// from that fit (warm start), which typically converges in a few steps (DESIGN.md §5).
// Predictions are probabilities. Targets must be 0/1 (checked in R and here).
#ifndef FASTDML_LEARNERS_LOGISTIC_LEARNER_H
#define FASTDML_LEARNERS_LOGISTIC_LEARNER_H

#include "core/learners/learner.h"

namespace fastdml {

struct LogisticOptions {
  double ridge = 0.0;
  int max_iterations = 100;
  double tolerance = 1e-12;       // relative change of the penalised deviance
  double step_tolerance = 1e-7;   // a Newton step below this (relative) ends the fit
  double warm_start_tolerance = 1e-4;  // step tolerance of the full-sample warm start
};

class LogisticLearner : public Learner {
 public:
  explicit LogisticLearner(const LogisticOptions& options);
  std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                        const TaskRunner& runner) const override;
  void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state, int rep,
                        int fold) const override;
  void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const override;
  // IRLS on the given rows from a starting value; returns the coefficients [b0, b].
  Eigen::VectorXd fit(const DataView& data, const std::vector<int>& rows, const double* target,
                      const Eigen::VectorXd& start, double step_tolerance,
                      const TaskRunner& runner) const;

 private:
  LogisticOptions options_;
};

}  // namespace fastdml

#endif
