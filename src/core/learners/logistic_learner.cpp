// LogisticLearner: see logistic_learner.h. One IRLS step solves
// (Z'WZ + ridge I_0) b = Z'W u with W = p(1 - p) and working response u = eta + (y - p) / W.
#include "core/learners/logistic_learner.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/learners/cross_products.h"

namespace fastdml {

namespace {

struct WarmStarts : public LearnerState {
  std::vector<Eigen::VectorXd> coef;  // one per target
};

constexpr double kProbabilityFloor = 1e-10;

double inverse_logit(double eta) { return 1.0 / (1.0 + std::exp(-eta)); }

// Updates working weights and response for rows; returns the deviance.
double working_quantities(const DataView& data, const std::vector<int>& rows,
                          const double* target, const Eigen::VectorXd& coef,
                          std::vector<double>& weight, std::vector<double>& response,
                          const TaskRunner& runner) {
  const size_t n_rows = rows.size();
  const int n_chunks = static_cast<int>((n_rows + kRowsPerChunk - 1) / kRowsPerChunk);
  std::vector<double> deviance(n_chunks, 0.0);
  runner.run(n_chunks, [&](int c) {
    const size_t begin = static_cast<size_t>(c) * kRowsPerChunk;
    const size_t end = std::min(n_rows, begin + kRowsPerChunk);
    std::vector<int> chunk(rows.begin() + begin, rows.begin() + end);
    std::vector<double> eta(chunk.size());
    linear_predictor(data, chunk, coef, eta.data());
    double dev = 0.0;
    for (size_t r = 0; r < chunk.size(); ++r) {
      const int i = chunk[r];
      double p = inverse_logit(eta[r]);
      p = std::min(std::max(p, kProbabilityFloor), 1.0 - kProbabilityFloor);
      const double y = target[i];
      dev -= 2.0 * (y * std::log(p) + (1.0 - y) * std::log(1.0 - p));
      weight[i] = p * (1.0 - p);
      response[i] = eta[r] + (y - p) / weight[i];
    }
    deviance[c] = dev;
  });
  double total = 0.0;
  for (double d : deviance) total += d;
  return total;
}

}  // namespace

LogisticLearner::LogisticLearner(const LogisticOptions& options) : options_(options) {
  if (!(options_.ridge >= 0.0)) throw std::invalid_argument("LogisticLearner: ridge must be >= 0");
}

Eigen::VectorXd LogisticLearner::fit(const DataView& data, const std::vector<int>& rows,
                                     const double* target, const Eigen::VectorXd& start,
                                     const TaskRunner& runner) const {
  for (int i : rows) {
    if (target[i] != 0.0 && target[i] != 1.0) {
      throw std::invalid_argument("LogisticLearner: the target must be 0/1");
    }
  }
  const int q = data.n_design();
  std::vector<double> weight(data.n()), response(data.n());
  auto penalised = [&](const Eigen::VectorXd& b, double dev) {
    return dev + options_.ridge * b.tail(q - 1).squaredNorm();
  };
  std::vector<double> trial_weight(data.n()), trial_response(data.n());
  Eigen::VectorXd coef = start;
  double objective =
      penalised(coef, working_quantities(data, rows, target, coef, weight, response, runner));
  for (int iter = 0; iter < options_.max_iterations; ++iter) {
    const std::vector<const double*> working_target = {response.data()};
    const Eigen::MatrixXd C =
        cross_products_chunked(data, rows, working_target, weight.data(), runner);
    const Eigen::VectorXd proposal =
        solve_normal_equations(C.topLeftCorner(q, q), C.block(0, q, q, 1), options_.ridge).col(0);
    Eigen::VectorXd step = proposal - coef;
    double new_objective = 0.0;
    Eigen::VectorXd candidate = coef;
    bool accepted = false;
    for (int halving = 0; halving < 30 && !accepted; ++halving) {
      candidate = coef + step;
      new_objective = penalised(candidate, working_quantities(data, rows, target, candidate,
                                                              trial_weight, trial_response, runner));
      if (std::isfinite(new_objective) && new_objective <= objective * (1.0 + 1e-12) + 1e-12) {
        weight.swap(trial_weight);
        response.swap(trial_response);
        accepted = true;
      } else {
        step *= 0.5;
      }
    }
    if (!accepted) break;
    const double change = std::abs(new_objective - objective) / (std::abs(new_objective) + 0.1);
    coef = candidate;
    objective = new_objective;
    if (change < options_.tolerance) break;
  }
  return coef;
}

std::unique_ptr<LearnerState> LogisticLearner::prepare(const CrossFitProblem& problem,
                                                       const TaskRunner& runner) const {
  auto state = std::make_unique<WarmStarts>();
  const std::vector<int> rows = masked_rows(problem.data->n(), problem.train_mask);
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(problem.data->n_design());
  for (const double* target : problem.targets) {
    state->coef.push_back(fit(*problem.data, rows, target, zero, runner));
  }
  return state;
}

void LogisticLearner::fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state,
                                       int rep, int fold) const {
  const auto& starts = static_cast<const WarmStarts&>(state).coef;
  const FoldPlan& folds = *problem.folds;
  const std::vector<int> train = folds.train_rows(rep, fold, problem.train_mask);
  if (train.empty()) {
    throw std::runtime_error("LogisticLearner: no training rows for fold " +
                             std::to_string(fold + 1) + " of repetition " + std::to_string(rep + 1));
  }
  const std::vector<int>& test = folds.test_rows(rep, fold);
  const TaskRunner serial = TaskRunner::serial();
  std::vector<double> eta(test.size());
  for (size_t t = 0; t < problem.targets.size(); ++t) {
    const Eigen::VectorXd coef = fit(*problem.data, train, problem.targets[t], starts[t], serial);
    linear_predictor(*problem.data, test, coef, eta.data());
    double* out = problem.predictions[t] + static_cast<long long>(rep) * folds.n();
    for (size_t r = 0; r < test.size(); ++r) out[test[r]] = inverse_logit(eta[r]);
  }
}

void LogisticLearner::fit_predict_full(const CrossFitProblem& problem,
                                       const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const std::vector<int> train = masked_rows(data.n(), problem.train_mask);
  if (train.empty()) throw std::runtime_error("LogisticLearner: no training rows");
  const std::vector<int> rows = all_rows(data.n());
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(data.n_design());
  for (size_t t = 0; t < problem.targets.size(); ++t) {
    const Eigen::VectorXd coef = fit(data, train, problem.targets[t], zero, runner);
    double* out = problem.predictions[t];
    linear_predictor(data, rows, coef, out);
    for (int i = 0; i < data.n(); ++i) out[i] = inverse_logit(out[i]);
  }
}

}  // namespace fastdml
