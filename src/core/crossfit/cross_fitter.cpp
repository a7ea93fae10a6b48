// CrossFitter: see cross_fitter.h. Progress counts finished (group, repetition, fold) tasks.
#include "core/crossfit/cross_fitter.h"

#include <stdexcept>

namespace fastdml {

CrossFitter::CrossFitter(const DataView& data, const FoldPlan& folds, const TaskRunner& runner)
    : data_(data), folds_(folds), runner_(runner) {
  if (data.n() != folds.n()) throw std::invalid_argument("CrossFitter: folds and data differ in n");
}

void CrossFitter::run(const std::vector<NuisanceGroup>& groups) const {
  std::vector<CrossFitProblem> problems;
  std::vector<std::unique_ptr<LearnerState>> states;
  for (const NuisanceGroup& group : groups) {
    if (group.targets.size() != group.predictions.size() || group.targets.empty()) {
      throw std::invalid_argument("CrossFitter: one prediction buffer per target is needed");
    }
    problems.push_back({&data_, &folds_, group.targets, group.train_mask, group.predictions,
                        group.weights, group.fit_info});
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    states.push_back(groups[g].learner->prepare(problems[g], runner_));
  }
  const int per_group = folds_.n_rep() * folds_.n_folds();
  std::vector<int> light, heavy;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int t = 0; t < per_group; ++t) {
      (groups[g].learner->threads_within_fold() ? heavy : light).push_back(g * per_group + t);
    }
  }
  auto run_task = [&](int task, const TaskRunner& runner) {
    const int g = task / per_group;
    const int rep = (task % per_group) / folds_.n_folds();
    const int fold = task % folds_.n_folds();
    groups[g].learner->fit_predict_fold(problems[g], *states[g], rep, fold, runner);
    runner_.task_done();
  };
  runner_.begin_progress(static_cast<int>(light.size() + heavy.size()));
  const TaskRunner inside = runner_.nested();
  runner_.run(static_cast<int>(light.size()), [&](int i) { run_task(light[i], inside); });
  for (int task : heavy) run_task(task, runner_);
}

}  // namespace fastdml
