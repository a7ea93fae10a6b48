// LogisticLearner: see logistic_learner.h. One IRLS step solves
// (Z'WZ + ridge I_0) b = Z'W u with W = p(1 - p) and working response u = eta + (y - p) / W.
// Each pass over the rows is fused: it evaluates the penalised deviance at a candidate b (for
// step halving) and accumulates the cross products [Z, u]'W[Z, u] of the next step at the same
// b, so an iteration reads the data once. Deviance per row: 2 (log(1 + e^eta) - y eta).
#include "core/learners/logistic_learner.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/learners/cross_products.h"

namespace fastdml {

namespace {

struct WarmStarts : public LearnerState {
  std::vector<Eigen::VectorXd> coef;           // one per target
  std::vector<std::vector<IrlsPass>> by_fold;  // [target][rep * n_folds + fold], at coef
};

constexpr double kProbabilityFloor = 1e-10;
constexpr int kRowsPerBlock = 512;

double inverse_logit(double eta) { return 1.0 / (1.0 + std::exp(-eta)); }

// Deviance at coef and the weighted cross products of the next IRLS step, over rows[begin, end).
IrlsPass irls_pass(const DataView& data, const int* rows, size_t count, const double* target,
                   const Eigen::VectorXd& coef) {
  const int q = data.n_design();
  IrlsPass out;
  out.cross = Eigen::MatrixXd::Zero(q + 1, q + 1);
  Eigen::MatrixXd block(kRowsPerBlock, q + 1);
  Eigen::VectorXd eta(kRowsPerBlock), root_weight(kRowsPerBlock);
  for (size_t start = 0; start < count; start += kRowsPerBlock) {
    const int m = static_cast<int>(std::min(count - start, static_cast<size_t>(kRowsPerBlock)));
    const int* r = rows + start;
    data.fill_design(r, m, block);
    eta.head(m).noalias() = block.topLeftCorner(m, q) * coef;
    for (int i = 0; i < m; ++i) {
      const double e = std::exp(-std::abs(eta[i]));  // one exponential gives p and log(1 + e^eta)
      double p = eta[i] >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      const double softplus = std::max(eta[i], 0.0) + std::log1p(e);
      const double y = target[r[i]];
      out.deviance += 2.0 * (softplus - y * eta[i]);
      p = std::min(std::max(p, kProbabilityFloor), 1.0 - kProbabilityFloor);
      const double w = p * (1.0 - p);
      block(i, q) = eta[i] + (y - p) / w;
      root_weight[i] = std::sqrt(w);
    }
    block.topRows(m).array().colwise() *= root_weight.head(m).array();
    out.cross.selfadjointView<Eigen::Lower>().rankUpdate(block.topRows(m).transpose());
  }
  return out;
}

// The same over all rows, in fixed-size chunks on the runner's threads (fixed reduction order).
IrlsPass irls_pass_chunked(const DataView& data, const std::vector<int>& rows,
                           const double* target, const Eigen::VectorXd& coef,
                           const TaskRunner& runner) {
  IrlsPass total = sum_over_chunks<IrlsPass>(rows.size(), runner, [&](size_t begin, size_t end) {
    return irls_pass(data, rows.data() + begin, end - begin, target, coef);
  });
  total.cross.triangularView<Eigen::StrictlyUpper>() = total.cross.transpose();
  return total;
}

void check_binary(const std::vector<int>& rows, const double* target) {
  for (int i : rows) {
    if (target[i] != 0.0 && target[i] != 1.0) {
      throw std::invalid_argument("LogisticLearner: the target must be 0/1");
    }
  }
}

}  // namespace

LogisticLearner::LogisticLearner(const LogisticOptions& options) : options_(options) {
  if (!(options_.ridge >= 0.0)) throw std::invalid_argument("LogisticLearner: ridge must be >= 0");
}

Eigen::VectorXd LogisticLearner::fit(const DataView& data, const std::vector<int>& rows,
                                     const double* target, const Eigen::VectorXd& start,
                                     double step_tolerance, const TaskRunner& runner) const {
  check_binary(rows, target);
  return fit_from(data, rows, target, start, irls_pass_chunked(data, rows, target, start, runner),
                  step_tolerance, runner);
}

Eigen::VectorXd LogisticLearner::fit_from(const DataView& data, const std::vector<int>& rows,
                                          const double* target, Eigen::VectorXd coef,
                                          IrlsPass current, double step_tolerance,
                                          const TaskRunner& runner) const {
  const int q = data.n_design();
  auto objective = [&](const Eigen::VectorXd& b, const IrlsPass& pass) {
    return pass.deviance + options_.ridge * b.tail(q - 1).squaredNorm();
  };
  return damped_newton(
      std::move(coef), std::move(current), newton_control(options_, step_tolerance),
      [&](const IrlsPass& pass, const Eigen::VectorXd&) -> Eigen::VectorXd {
        return solve_normal_equations(pass.cross.topLeftCorner(q, q), pass.cross.block(0, q, q, 1),
                                      options_.ridge).col(0);
      },
      [&](const Eigen::VectorXd& candidate) {
        return irls_pass_chunked(data, rows, target, candidate, runner);
      },
      objective, runner);
}

std::unique_ptr<LearnerState> LogisticLearner::prepare(const CrossFitProblem& problem,
                                                       const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const FoldPlan& folds = *problem.folds;
  auto state = std::make_unique<WarmStarts>();
  const std::vector<int> rows = masked_rows(data.n(), problem.train_mask);
  const size_t stride = std::max<size_t>(1, rows.size() / std::max(options_.warm_start_rows, 1));
  std::vector<int> subsample;
  for (size_t r = 0; r < rows.size(); r += stride) subsample.push_back(rows[r]);
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(data.n_design());
  for (const double* target : problem.targets) {
    check_binary(rows, target);
    const Eigen::VectorXd start =
        fit(data, subsample, target, zero, options_.warm_start_tolerance, runner);
    std::vector<IrlsPass> by_fold;
    for (int s = 0; s < folds.n_rep(); ++s) {
      for (int k = 0; k < folds.n_folds(); ++k) {
        const std::vector<int> fold_rows = folds.test_rows(s, k, problem.train_mask);
        by_fold.push_back(irls_pass_chunked(data, fold_rows, target, start, runner));
      }
    }
    state->coef.push_back(start);
    state->by_fold.push_back(std::move(by_fold));
  }
  return state;
}

void LogisticLearner::fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state,
                                       int rep, int fold, const TaskRunner& runner) const {
  const auto& warm = static_cast<const WarmStarts&>(state);
  const FoldPlan& folds = *problem.folds;
  const std::vector<int> train = folds.train_rows(rep, fold, problem.train_mask);
  if (train.empty()) {
    throw std::runtime_error("LogisticLearner: no training rows for fold " +
                             std::to_string(fold + 1) + " of repetition " + std::to_string(rep + 1));
  }
  const std::vector<int>& test = folds.test_rows(rep, fold);
  std::vector<double> eta(test.size());
  for (size_t t = 0; t < problem.targets.size(); ++t) {
    const int q = problem.data->n_design();
    IrlsPass training;
    training.cross = Eigen::MatrixXd::Zero(q + 1, q + 1);
    for (int k = 0; k < folds.n_folds(); ++k) {
      if (k != fold) training += warm.by_fold[t][rep * folds.n_folds() + k];
    }
    const Eigen::VectorXd coef = fit_from(*problem.data, train, problem.targets[t], warm.coef[t],
                                          training, options_.step_tolerance, runner);
    linear_predictor(*problem.data, test, coef, eta.data(), static_cast<long long>(test.size()));
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
    const Eigen::VectorXd coef =
        fit(data, train, problem.targets[t], zero, options_.step_tolerance, runner);
    double* out = problem.predictions[t];
    linear_predictor(data, rows, coef, out, data.n());
    for (int i = 0; i < data.n(); ++i) out[i] = inverse_logit(out[i]);
  }
}

}  // namespace fastdml
