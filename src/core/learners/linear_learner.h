// LinearLearner: least squares (optionally ridge) with an unpenalised intercept on the
// standardised covariates, for any number of targets at once. Cross-fitting uses one pass over
// the data: per-fold cross products C_k of [1, z, targets] (held-out rows of fold k), and the
// training system of fold k is the sum of the other folds' C_j (DESIGN.md §5: per-fold Gram
// matrices; summing the K - 1 other blocks equals the full Gram minus fold k's without the
// cancellation error of a subtraction). Ridge penalty: ridge * ||b||^2 on standardised
// coefficients.
#ifndef FASTDML_LEARNERS_LINEAR_LEARNER_H
#define FASTDML_LEARNERS_LINEAR_LEARNER_H

#include "core/learners/learner.h"

namespace fastdml {

struct LinearOptions {
  double ridge = 0.0;
};

class LinearLearner : public Learner {
 public:
  explicit LinearLearner(const LinearOptions& options);
  std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                        const TaskRunner& runner) const override;
  void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state, int rep,
                        int fold, const TaskRunner& runner) const override;
  void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const override;

 private:
  LinearOptions options_;
};

}  // namespace fastdml

#endif
