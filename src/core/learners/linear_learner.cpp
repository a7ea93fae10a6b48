// LinearLearner: see linear_learner.h.
#include "core/learners/linear_learner.h"

#include <stdexcept>
#include <string>

#include "core/learners/cross_products.h"

namespace fastdml {

namespace {

struct FoldCrossProducts : public LearnerState {
  std::vector<Eigen::MatrixXd> by_fold;  // index s * n_folds + k
};

struct ChunkTask {
  int rep_fold;
  size_t begin;
  size_t end;
};

}  // namespace

LinearLearner::LinearLearner(const LinearOptions& options) : options_(options) {
  if (!(options_.ridge >= 0.0)) throw std::invalid_argument("LinearLearner: ridge must be >= 0");
}

std::unique_ptr<LearnerState> LinearLearner::prepare(const CrossFitProblem& problem,
                                                     const TaskRunner& runner) const {
  const FoldPlan& folds = *problem.folds;
  const int n_blocks = folds.n_rep() * folds.n_folds();
  std::vector<std::vector<int>> rows(n_blocks);
  std::vector<ChunkTask> tasks;
  for (int b = 0; b < n_blocks; ++b) {
    rows[b] = folds.test_rows(b / folds.n_folds(), b % folds.n_folds(), problem.train_mask);
    for (size_t begin = 0; begin < rows[b].size(); begin += kRowsPerChunk) {
      tasks.push_back({b, begin, std::min(rows[b].size(), begin + kRowsPerChunk)});
    }
  }
  std::vector<Eigen::MatrixXd> partial(tasks.size());
  runner.run(static_cast<int>(tasks.size()), [&](int t) {
    const ChunkTask& task = tasks[t];
    partial[t] = cross_products(*problem.data, rows[task.rep_fold], task.begin, task.end,
                                problem.targets);
  });
  auto state = std::make_unique<FoldCrossProducts>();
  const int q = problem.data->n_design() + static_cast<int>(problem.targets.size());
  state->by_fold.assign(n_blocks, Eigen::MatrixXd::Zero(q, q));
  for (size_t t = 0; t < tasks.size(); ++t) state->by_fold[tasks[t].rep_fold] += partial[t];
  return state;
}

void LinearLearner::fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state,
                                     int rep, int fold, const TaskRunner&) const {
  const auto& blocks = static_cast<const FoldCrossProducts&>(state).by_fold;
  const FoldPlan& folds = *problem.folds;
  const int q_design = problem.data->n_design();
  const int n_targets = static_cast<int>(problem.targets.size());
  Eigen::MatrixXd train = Eigen::MatrixXd::Zero(blocks[0].rows(), blocks[0].cols());
  for (int k = 0; k < folds.n_folds(); ++k) {
    if (k != fold) train += blocks[rep * folds.n_folds() + k];
  }
  if (train(0, 0) < 1.0) {
    throw std::runtime_error("LinearLearner: no training rows for fold " +
                             std::to_string(fold + 1) + " of repetition " +
                             std::to_string(rep + 1));
  }
  const Eigen::MatrixXd coef = solve_normal_equations(
      train.topLeftCorner(q_design, q_design), train.block(0, q_design, q_design, n_targets),
      options_.ridge);
  const std::vector<int>& test = folds.test_rows(rep, fold);
  std::vector<double> fitted(test.size() * n_targets);
  linear_predictor(*problem.data, test, coef, fitted.data(), static_cast<long long>(test.size()));
  for (int t = 0; t < n_targets; ++t) {
    double* out = problem.predictions[t] + static_cast<long long>(rep) * folds.n();
    const double* column = fitted.data() + t * test.size();
    for (size_t r = 0; r < test.size(); ++r) out[test[r]] = column[r];
  }
}


void LinearLearner::fit_predict_full(const CrossFitProblem& problem,
                                     const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const std::vector<int> train = masked_rows(data.n(), problem.train_mask);
  if (train.empty()) throw std::runtime_error("LinearLearner: no training rows");
  const Eigen::MatrixXd C = cross_products_chunked(data, train, problem.targets, runner);
  const int q = data.n_design();
  const Eigen::MatrixXd coef = solve_normal_equations(
      C.topLeftCorner(q, q), C.block(0, q, q, problem.targets.size()), options_.ridge);
  const std::vector<int> rows = all_rows(data.n());
  std::vector<double> fitted(rows.size() * problem.targets.size());
  linear_predictor(data, rows, coef, fitted.data(), data.n());
  for (size_t t = 0; t < problem.targets.size(); ++t) {
    std::copy(fitted.begin() + t * data.n(), fitted.begin() + (t + 1) * data.n(),
              problem.predictions[t]);
  }
}

}  // namespace fastdml
