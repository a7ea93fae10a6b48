// MultinomialLearner: multinomial logistic regression (softmax) on the standardised covariates,
// for the propensity of a multi-arm treatment (DESIGN.md §4, "Multi-treatment IRM": m_k(X)).
// The targets are K >= 2 one-hot 0/1 columns, class 0 the reference; the predictions are the
// K class probabilities. With z the standardised covariates and eta_i0 = 0,
//   eta_ik = [1, z_i] b_k (k = 1..K-1),  p_ik = e^{eta_ik} / sum_l e^{eta_il},
// the coefficients minimise the deviance -2 sum_i w_i log p_{i,y_i}, weighted by the observation
// weights w (all 1 when absent), plus ridge * sum_k ||b_k without its intercept||^2 (as
// LogisticLearner). One-hot targets and finite non-negative weights are checked on the rows
// allowed in training (std::invalid_argument otherwise). Fitted by full Newton with
// step halving; cross-fitting reads the data as few times as possible (DESIGN.md §5, "Newton/IRLS
// ... with warm starts"), as LogisticLearner does:
//   1. a warm start is fitted on a systematic subsample of the allowed rows;
//   2. one pass at the warm start accumulates, per fold, the deviance, score and Hessian, so each
//      fold's first Newton step comes from the sum of the other folds' pieces;
//   3. each fold iterates from there on its training rows, each pass over the rows giving the
//      deviance at a candidate and the score and Hessian there, using all threads in the fold.
#ifndef FASTDML_LEARNERS_MULTINOMIAL_LEARNER_H
#define FASTDML_LEARNERS_MULTINOMIAL_LEARNER_H

#include <vector>

#include "core/learners/damped_newton.h"
#include "core/learners/learner.h"

namespace fastdml {

struct MultinomialOptions : NewtonLearnerOptions {
  // ... and at least this share of the allowed rows in the warm start: on large data a warm
  // start that close to each fold's optimum saves the fold a pass (a pass costs ~(K - 1)^2
  // logistic ones).
  double warm_start_fraction = 0.1;
};

// What one pass over some rows gives at coefficients B (q x J, J = K - 1 non-reference classes,
// q = p + 1 design columns): the weighted deviance and `cross`, q x (J q + J (J - 1) / 2 q + J),
// holding half the deviance's Hessian and minus half its gradient: the diagonal blocks
// sum_i w_i p_ij (1 - p_ij) z_i z_i' of j = 1..J (lower triangles), the off-diagonal blocks
// -sum_i w_i p_ij p_il z_i z_i' of the pairs j < l in order (1,2), ..., (1,J), (2,3), ..., then
// the J score columns sum_i w_i (y_ij - p_ij) z_i.
using MultinomialPass = NewtonPass;

class MultinomialLearner : public Learner {
 public:
  explicit MultinomialLearner(const MultinomialOptions& options);
  std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                        const TaskRunner& runner) const override;
  void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state, int rep,
                        int fold, const TaskRunner& runner) const override;
  void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const override;
  bool threads_within_fold() const override { return true; }
  // Newton on the given rows from a starting value (q x (K - 1)); labels[i] is the class
  // 0..K-1 of row i, weights may be null. Returns the coefficients, one column per class 1..K-1.
  Eigen::MatrixXd fit(const DataView& data, const std::vector<int>& rows,
                      const std::vector<int>& labels, const double* weights,
                      const Eigen::MatrixXd& start, double step_tolerance,
                      const TaskRunner& runner) const;

 private:
  // Newton from coef, whose pass over `rows` is already known.
  Eigen::MatrixXd fit_from(const DataView& data, const std::vector<int>& rows,
                           const std::vector<int>& labels, const double* weights,
                           Eigen::MatrixXd coef, MultinomialPass current, double step_tolerance,
                           const TaskRunner& runner) const;
  MultinomialOptions options_;
};

}  // namespace fastdml

#endif
