// PredictionQuality: out-of-fold quality of one cross-fitted nuisance (DESIGN.md §3,
// `nuisances(fit)$quality`), per repetition and per fold plus all folds pooled, on the rows
// where the target is observed (mask): n, RMSE, R2 = 1 - SSE/SST and, for a 0/1 target, the
// log loss (when every prediction is in [0, 1]) and the ROC AUC (Mann-Whitney, ties count 1/2),
// computed from one sort of the predictions per repetition.
#ifndef FASTDML_DIAGNOSTICS_PREDICTION_QUALITY_H
#define FASTDML_DIAGNOSTICS_PREDICTION_QUALITY_H

#include <vector>

#include "core/data/fold_plan.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct QualityRow {
  int rep = 0;   // 0-based
  int fold = -1; // 0-based, -1 = all folds pooled
  long long n = 0;
  double rmse = 0.0;
  double r2 = 0.0;
  double log_loss = 0.0;  // NaN when not applicable
  double auc = 0.0;       // NaN when not applicable
};

class PredictionQuality {
 public:
  // target: n values; predictions: n x n_rep column-major; mask: rows to score (null = all).
  PredictionQuality(const double* target, const double* predictions, const int* mask);
  // One row per repetition and group (pooled first, then folds 1..K), for several nuisances at
  // once: the (nuisance, repetition) tasks run on the runner's threads.
  static std::vector<std::vector<QualityRow>> compute_all(
      const std::vector<PredictionQuality>& nuisances, const FoldPlan& folds,
      const TaskRunner& runner);
  std::vector<QualityRow> compute_rep(const FoldPlan& folds, int rep) const;

 private:
  const double* target_;
  const double* predictions_;
  const int* mask_;
};

}  // namespace fastdml

#endif
