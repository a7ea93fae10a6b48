// CrossFitter: runs the (nuisance x repetition x fold) tasks of a cross-fit (DESIGN.md §2,
// crossfit/). Nuisances that share a learner and a training mask form a NuisanceGroup and are
// fitted together (e.g. PLR's l and m share one pass of Gram matrices). Each group's learner
// prepares its shared state; then the (group, repetition, fold) tasks run: light ones in
// parallel, one per thread; those of learners with threads_within_fold() one after the other,
// each using all threads inside. Each held-out row is written by exactly one task and every
// reduction has a fixed order, so the predictions are bit-identical for any thread count.
#ifndef FASTDML_CROSSFIT_CROSS_FITTER_H
#define FASTDML_CROSSFIT_CROSS_FITTER_H

#include <memory>
#include <vector>

#include "core/learners/learner.h"

namespace fastdml {

struct NuisanceGroup {
  std::shared_ptr<const Learner> learner;
  std::vector<const double*> targets;  // length n each
  const int* train_mask = nullptr;     // rows allowed in training (nullptr = all)
  std::vector<double*> predictions;    // n x n_rep output per target
  const double* weights = nullptr;     // observation weights (nullptr = all 1)
  std::vector<double*> fit_info;       // optional n_folds x n_rep output per target
};

class CrossFitter {
 public:
  CrossFitter(const DataView& data, const FoldPlan& folds, const TaskRunner& runner);
  void run(const std::vector<NuisanceGroup>& groups) const;

 private:
  const DataView& data_;
  const FoldPlan& folds_;
  const TaskRunner& runner_;
};

}  // namespace fastdml

#endif
