// MultinomialLearner: see multinomial_learner.h. With b = vec(B) (class-major) the Newton
// proposal solves (H + ridge I_0) b_new = H b + s, where H = sum_i w_i (diag(p_i) - p_i p_i')
// kron z_i z_i' and s = sum_i w_i (y_i - p_i) kron z_i over the non-reference classes (half the
// deviance's Hessian and minus half its gradient) and I_0 penalises all but the intercepts.
// Each pass over the rows is fused and level 3 per block of rows: the diagonal Hessian blocks
// are rank updates with the design rows scaled by sqrt(w_i p_ij (1 - p_ij)); one GEMM
// Z' [v_12 Z, v_13 Z, ..., w (y - p)] with v_jl = -w p_j p_l gives the off-diagonal blocks and
// the score. p_ij (1 - p_ij) is computed as p_ij times the sum of the other probabilities (no
// cancellation) and probabilities are floored at 1e-10 in the Hessian, so each row's weight
// matrix stays diagonally dominant (positive definite) even when a class is nearly certain.
// Deviance per row: 2 w_i (log sum_k e^{eta_ik} - eta_{i,y_i}), in log space.
#include "core/learners/multinomial_learner.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/learners/cross_products.h"

namespace fastdml {

namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct MultinomialState : public LearnerState {
  std::vector<int> labels;                // class of each allowed row (-1 elsewhere)
  Eigen::MatrixXd coef;                   // warm start, q x (K - 1)
  std::vector<MultinomialPass> by_fold;   // [rep * n_folds + fold], at coef
};

constexpr double kProbabilityFloor = 1e-10;
constexpr int kRowsPerBlock = 512;

// Class probabilities prob[0..J] of one row from its non-reference linear predictors
// eta[0..J) (eta_0 = 0), shifted by the largest for stability; returns log sum_k e^{eta_k}.
double softmax(const double* eta, int n_free, double* prob) {
  double top = 0.0;
  for (int j = 0; j < n_free; ++j) top = std::max(top, eta[j]);
  prob[0] = std::exp(-top);
  double total = prob[0];
  for (int j = 0; j < n_free; ++j) {
    prob[j + 1] = std::exp(eta[j] - top);
    total += prob[j + 1];
  }
  const double inverse = 1.0 / total;
  for (int k = 0; k <= n_free; ++k) prob[k] *= inverse;
  return top + std::log(total);
}

// Deviance at coef and the Hessian blocks and score columns there (see MultinomialPass), over
// rows[0, count).
MultinomialPass multinomial_pass(const DataView& data, const int* rows, size_t count,
                                 const int* labels, const double* weights,
                                 const Eigen::MatrixXd& coef) {
  const int q = data.n_design();
  const int n_free = static_cast<int>(coef.cols());
  const int n_off = n_free * (n_free - 1) / 2;
  const int gemm_cols = n_off * q + n_free;
  MultinomialPass out;
  out.cross = Eigen::MatrixXd::Zero(q, n_free * q + gemm_cols);
  Eigen::MatrixXd block(kRowsPerBlock, q);
  Eigen::MatrixXd rooted(kRowsPerBlock, q);
  Eigen::MatrixXd scaled(kRowsPerBlock, gemm_cols);
  RowMajorMatrix eta(kRowsPerBlock, n_free);
  Eigen::MatrixXd diagonal_root(kRowsPerBlock, n_free), off_diagonal(kRowsPerBlock, n_off);
  std::vector<double> prob(n_free + 1), floored(n_free + 1);
  for (size_t start = 0; start < count; start += kRowsPerBlock) {
    const int m = static_cast<int>(std::min(count - start, static_cast<size_t>(kRowsPerBlock)));
    const int* r = rows + start;
    data.fill_design(r, m, block);
    eta.topRows(m).noalias() = block.topRows(m) * coef;
    for (int i = 0; i < m; ++i) {
      const double* eta_i = eta.row(i).data();
      const double log_total = softmax(eta_i, n_free, prob.data());
      const int y = labels[r[i]];
      const double w = weights ? weights[r[i]] : 1.0;
      out.deviance += 2.0 * w * (log_total - (y == 0 ? 0.0 : eta_i[y - 1]));
      for (int k = 0; k <= n_free; ++k) floored[k] = std::max(prob[k], kProbabilityFloor);
      int pair = 0;
      for (int j = 1; j <= n_free; ++j) {
        double others = 0.0;
        for (int k = 0; k <= n_free; ++k) others += k == j ? 0.0 : floored[k];
        diagonal_root(i, j - 1) = std::sqrt(w * floored[j] * others);
        for (int l = j + 1; l <= n_free; ++l) {
          off_diagonal(i, pair++) = -w * floored[j] * floored[l];
        }
        scaled(i, n_off * q + j - 1) = w * ((y == j ? 1.0 : 0.0) - prob[j]);
      }
    }
    const auto design = block.topRows(m);
    for (int j = 0; j < n_free; ++j) {
      rooted.topRows(m) = design.array().colwise() * diagonal_root.col(j).head(m).array();
      out.cross.block(0, j * q, q, q).selfadjointView<Eigen::Lower>().rankUpdate(
          rooted.topRows(m).transpose());
    }
    for (int c = 0; c < n_off; ++c) {
      scaled.block(0, c * q, m, q) = design.array().colwise() * off_diagonal.col(c).head(m).array();
    }
    out.cross.rightCols(gemm_cols).noalias() += design.transpose() * scaled.topRows(m);
  }
  return out;
}

// The same over all rows, in fixed-size chunks on the runner's threads (fixed reduction order).
MultinomialPass multinomial_pass_chunked(const DataView& data, const std::vector<int>& rows,
                                         const std::vector<int>& labels, const double* weights,
                                         const Eigen::MatrixXd& coef, const TaskRunner& runner) {
  return sum_over_chunks<MultinomialPass>(rows.size(), runner, [&](size_t begin, size_t end) {
    return multinomial_pass(data, rows.data() + begin, end - begin, labels.data(), weights, coef);
  });
}

// The Newton proposal from the pass at coef: solves (H + ridge I_0) b_new = H b + s.
Eigen::MatrixXd newton_proposal(const MultinomialPass& pass, const Eigen::MatrixXd& coef,
                                double ridge) {
  const int q = static_cast<int>(coef.rows());
  const int n_free = static_cast<int>(coef.cols());
  const int size = q * n_free;
  Eigen::MatrixXd hessian(size, size);
  int pair = 0;
  for (int j = 0; j < n_free; ++j) {
    hessian.block(j * q, j * q, q, q) = pass.cross.block(0, j * q, q, q);
    for (int l = j + 1; l < n_free; ++l, ++pair) {
      hessian.block(l * q, j * q, q, q) = pass.cross.block(0, (n_free + pair) * q, q, q);
    }
  }
  hessian.triangularView<Eigen::StrictlyUpper>() = hessian.transpose();
  const Eigen::Map<const Eigen::VectorXd> b(coef.data(), size);
  const Eigen::Map<const Eigen::VectorXd> score(
      pass.cross.data() + pass.cross.rows() * (pass.cross.cols() - n_free), size);
  const Eigen::VectorXd rhs = hessian * b + score;
  for (int j = 0; j < n_free; ++j) {
    for (int a = 1; a < q; ++a) hessian(j * q + a, j * q + a) += ridge;
  }
  const Eigen::VectorXd solution = solve_normal_equations(hessian, rhs, 0.0).col(0);
  return Eigen::Map<const Eigen::MatrixXd>(solution.data(), q, n_free);
}

// Writes the class probabilities of rows into outputs[k][offset + row], in chunks on the
// runner's threads (each row written once).
void predict_probabilities(const DataView& data, const std::vector<int>& rows,
                           const Eigen::MatrixXd& coef, const std::vector<double*>& outputs,
                           long long offset, const TaskRunner& runner) {
  const int n_free = static_cast<int>(coef.cols());
  const int n_chunks = static_cast<int>((rows.size() + kRowsPerChunk - 1) / kRowsPerChunk);
  runner.run(n_chunks, [&](int c) {
    const size_t begin = static_cast<size_t>(c) * kRowsPerChunk;
    const size_t end = std::min(rows.size(), begin + kRowsPerChunk);
    Eigen::MatrixXd block(kRowsPerBlock, data.n_design());
    RowMajorMatrix eta(kRowsPerBlock, n_free);
    std::vector<double> prob(n_free + 1);
    for (size_t start = begin; start < end; start += kRowsPerBlock) {
      const int m = static_cast<int>(std::min(end - start, static_cast<size_t>(kRowsPerBlock)));
      data.fill_design(rows.data() + start, m, block);
      eta.topRows(m).noalias() = block.topRows(m) * coef;
      for (int i = 0; i < m; ++i) {
        softmax(eta.row(i).data(), n_free, prob.data());
        const long long at = offset + rows[start + i];
        for (int k = 0; k <= n_free; ++k) outputs[k][at] = prob[k];
      }
    }
  });
}

// The class of each row allowed by the mask (-1 elsewhere); throws unless the targets are
// one-hot 0/1 there and the weights non-negative and finite.
std::vector<int> class_labels(const CrossFitProblem& problem, const std::vector<int>& rows) {
  const int n_classes = static_cast<int>(problem.targets.size());
  if (n_classes < 2 || problem.predictions.size() != problem.targets.size()) {
    throw std::invalid_argument(
        "MultinomialLearner: needs K >= 2 one-hot targets and one prediction per class");
  }
  std::vector<int> labels(problem.data->n(), -1);
  for (int i : rows) {
    int label = -1;
    for (int k = 0; k < n_classes; ++k) {
      const double t = problem.targets[k][i];
      if (t == 1.0 && label < 0) {
        label = k;
      } else if (t != 0.0) {
        label = -2;
        break;
      }
    }
    if (label < 0) {
      throw std::invalid_argument("MultinomialLearner: the targets must be one-hot 0/1 (row " +
                                  std::to_string(i + 1) + ")");
    }
    if (problem.weights && !(problem.weights[i] >= 0.0 && std::isfinite(problem.weights[i]))) {
      throw std::invalid_argument("MultinomialLearner: weights must be finite and >= 0");
    }
    labels[i] = label;
  }
  return labels;
}

}  // namespace

MultinomialLearner::MultinomialLearner(const MultinomialOptions& options) : options_(options) {
  if (!(options_.ridge >= 0.0)) {
    throw std::invalid_argument("MultinomialLearner: ridge must be >= 0");
  }
  if (!(options_.warm_start_fraction >= 0.0 && options_.warm_start_fraction <= 1.0)) {
    throw std::invalid_argument("MultinomialLearner: warm_start_fraction must be in [0, 1]");
  }
}

Eigen::MatrixXd MultinomialLearner::fit(const DataView& data, const std::vector<int>& rows,
                                        const std::vector<int>& labels, const double* weights,
                                        const Eigen::MatrixXd& start, double step_tolerance,
                                        const TaskRunner& runner) const {
  return fit_from(data, rows, labels, weights, start,
                  multinomial_pass_chunked(data, rows, labels, weights, start, runner),
                  step_tolerance, runner);
}

Eigen::MatrixXd MultinomialLearner::fit_from(const DataView& data, const std::vector<int>& rows,
                                             const std::vector<int>& labels,
                                             const double* weights, Eigen::MatrixXd coef,
                                             MultinomialPass current, double step_tolerance,
                                             const TaskRunner& runner) const {
  const int q = data.n_design();
  auto objective = [&](const Eigen::MatrixXd& b, const MultinomialPass& pass) {
    return pass.deviance + options_.ridge * b.bottomRows(q - 1).squaredNorm();
  };
  return damped_newton(
      std::move(coef), std::move(current), newton_control(options_, step_tolerance),
      [&](const MultinomialPass& pass, const Eigen::MatrixXd& b) -> Eigen::MatrixXd {
        return newton_proposal(pass, b, options_.ridge);
      },
      [&](const Eigen::MatrixXd& candidate) {
        return multinomial_pass_chunked(data, rows, labels, weights, candidate, runner);
      },
      objective, runner);
}

std::unique_ptr<LearnerState> MultinomialLearner::prepare(const CrossFitProblem& problem,
                                                          const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const FoldPlan& folds = *problem.folds;
  auto state = std::make_unique<MultinomialState>();
  const std::vector<int> rows = masked_rows(data.n(), problem.train_mask);
  state->labels = class_labels(problem, rows);
  const double wanted = std::max({1.0, static_cast<double>(options_.warm_start_rows),
                                  options_.warm_start_fraction * rows.size()});
  const size_t stride = std::max<size_t>(1, static_cast<size_t>(rows.size() / wanted));
  std::vector<int> subsample;
  for (size_t r = 0; r < rows.size(); r += stride) subsample.push_back(rows[r]);
  const int n_free = static_cast<int>(problem.targets.size()) - 1;
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(data.n_design(), n_free);
  state->coef = fit(data, subsample, state->labels, problem.weights, zero,
                    options_.warm_start_tolerance, runner);
  for (int s = 0; s < folds.n_rep(); ++s) {
    for (int k = 0; k < folds.n_folds(); ++k) {
      const std::vector<int> fold_rows = folds.test_rows(s, k, problem.train_mask);
      state->by_fold.push_back(multinomial_pass_chunked(data, fold_rows, state->labels,
                                                        problem.weights, state->coef, runner));
    }
  }
  return state;
}

void MultinomialLearner::fit_predict_fold(const CrossFitProblem& problem,
                                          const LearnerState& state, int rep, int fold,
                                          const TaskRunner& runner) const {
  const auto& warm = static_cast<const MultinomialState&>(state);
  const FoldPlan& folds = *problem.folds;
  const std::vector<int> train = folds.train_rows(rep, fold, problem.train_mask);
  if (train.empty()) {
    throw std::runtime_error("MultinomialLearner: no training rows for fold " +
                             std::to_string(fold + 1) + " of repetition " +
                             std::to_string(rep + 1));
  }
  MultinomialPass training;
  const Eigen::MatrixXd& first = warm.by_fold[0].cross;
  training.cross = Eigen::MatrixXd::Zero(first.rows(), first.cols());
  for (int k = 0; k < folds.n_folds(); ++k) {
    if (k != fold) training += warm.by_fold[rep * folds.n_folds() + k];
  }
  const Eigen::MatrixXd coef = fit_from(*problem.data, train, warm.labels, problem.weights,
                                        warm.coef, training, options_.step_tolerance, runner);
  predict_probabilities(*problem.data, folds.test_rows(rep, fold), coef, problem.predictions,
                        static_cast<long long>(rep) * folds.n(), runner);
}

void MultinomialLearner::fit_predict_full(const CrossFitProblem& problem,
                                          const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const std::vector<int> train = masked_rows(data.n(), problem.train_mask);
  if (train.empty()) throw std::runtime_error("MultinomialLearner: no training rows");
  const std::vector<int> labels = class_labels(problem, train);
  const int n_free = static_cast<int>(problem.targets.size()) - 1;
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(data.n_design(), n_free);
  const Eigen::MatrixXd coef =
      fit(data, train, labels, problem.weights, zero, options_.step_tolerance, runner);
  predict_probabilities(data, all_rows(data.n()), coef, problem.predictions, 0, runner);
}

}  // namespace fastdml
