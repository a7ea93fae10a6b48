// Learner: the interface of every built-in (C++) nuisance learner (DESIGN.md §2, "Learners are
// pluggable"). A cross-fit of one learner on several targets that share a training mask is a
// CrossFitProblem. The learner first prepares state shared by all folds and repetitions (e.g.
// per-fold Gram matrices, a warm start, binned features), then each (repetition, fold) task
// fits on the training rows and predicts every held-out row of the fold. Tasks must only read
// the shared state and write their own held-out rows. Light tasks run in parallel, one per
// thread; a learner whose few fold tasks are heavy (threads_within_fold) gets its tasks one
// after the other, each with all threads for its passes over the rows.
#ifndef FASTDML_LEARNERS_LEARNER_H
#define FASTDML_LEARNERS_LEARNER_H

#include <memory>
#include <vector>

#include "core/data/data_view.h"
#include "core/data/fold_plan.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct CrossFitProblem {
  const DataView* data;
  const FoldPlan* folds;
  std::vector<const double*> targets;  // each of length n
  const int* train_mask;               // rows allowed in training (nullptr = all rows)
  std::vector<double*> predictions;    // one n x n_rep column-major output per target
  const double* weights = nullptr;     // observation weights (nullptr = all 1)
  // Optional, one per target: n_folds x n_rep values (column-major) a learner may report per
  // fold, e.g. the number of boosting rounds kept; the first value for fit_predict_full.
  std::vector<double*> fit_info;
};

class LearnerState {
 public:
  virtual ~LearnerState() = default;
};

class Learner {
 public:
  virtual ~Learner() = default;
  // Shared state for all (repetition, fold) tasks; may use the runner's threads.
  virtual std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                                const TaskRunner& runner) const = 0;
  // Fits on the training rows of (rep, fold) and writes predictions for its held-out rows;
  // `runner` is serial unless threads_within_fold() is true.
  virtual void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state,
                                int rep, int fold, const TaskRunner& runner) const = 0;
  virtual bool threads_within_fold() const { return false; }
  // No cross-fitting: fits on all rows allowed by the mask and predicts every row into the
  // first column of each prediction buffer (problem.folds is unused and may be null).
  virtual void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const = 0;
};

// The rows allowed by a training mask (all rows when mask is null), in increasing order.
std::vector<int> masked_rows(int n, const int* mask);
// 0, 1, ..., n - 1.
std::vector<int> all_rows(int n);

}  // namespace fastdml

#endif
