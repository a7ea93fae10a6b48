// Standalone tests of the C++ core, compiled without R (the core must not need R headers):
//   g++ -std=c++17 -fopenmp -I src -I <Eigen include dir> src/core/*/*.cpp tests/cpp/test_core.cpp
// Checks closed-form values: per-fold least squares against normal equations solved directly,
// inference formulas on hand-computable scores (with the G / (G - 1) cluster correction), the
// data view with and without standardisation, the AUC with ties, fold-plan invariants and
// thread-count invariance of a cross-fit.
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/crossfit/cross_fitter.h"
#include "core/diagnostics/prediction_quality.h"
#include "core/inference/dml_inference.h"
#include "core/learners/linear_learner.h"
#include "core/learners/logistic_learner.h"

namespace {

int failures = 0;
int passes = 0;

void check(bool ok, const char* what) {
  if (ok) {
    ++passes;
  } else {
    ++failures;
    std::printf("FAILED: %s\n", what);
  }
}

void check_near(double a, double b, double tol, const char* what) {
  check(std::abs(a - b) <= tol * (1.0 + std::abs(b)), what);
}

// Cross-fits one target with a learner on 1 and on 2 threads; returns both prediction vectors.
std::vector<std::vector<double>> crossfit_on_1_and_2_threads(
    const std::shared_ptr<const fastdml::Learner>& learner, const std::vector<double>& X, int n,
    int p, const std::vector<int>& folds, const std::vector<double>& target) {
  std::vector<std::vector<double>> out(2, std::vector<double>(n));
  for (int threads : {1, 2}) {
    fastdml::TaskRunner runner(threads);
    fastdml::DataView data(X.data(), n, p, runner);
    fastdml::FoldPlan plan(folds.data(), n, 1);
    fastdml::NuisanceGroup group;
    group.learner = learner;
    group.targets = {target.data()};
    group.predictions = {out[threads - 1].data()};
    fastdml::CrossFitter(data, plan, runner).run({group});
  }
  return out;
}

void test_fold_plan() {
  const std::vector<int> ids = {1, 2, 1, 2, 3, 3, 2, 1, 3, 1};
  fastdml::FoldPlan plan(ids.data(), 10, 1);
  check(plan.n_folds() == 3, "fold plan counts folds");
  check(plan.test_rows(0, 0) == std::vector<int>({0, 2, 7, 9}), "test rows of fold 1");
  const std::vector<int> mask = {1, 1, 0, 1, 1, 1, 1, 1, 1, 0};
  check(plan.train_rows(0, 0, mask.data()) == std::vector<int>({1, 3, 4, 5, 6, 8}),
        "masked training rows of fold 1");
  const std::vector<int> bad = {1, 1, 3, 3};
  bool threw = false;
  try {
    fastdml::FoldPlan empty_fold(bad.data(), 4, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "an empty fold is rejected");
}

void test_linear_crossfit() {
  const int n = 300, p = 3;
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> X(n * p), y(n);
  std::vector<int> folds(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < p; ++j) X[j * n + i] = normal(rng) * (j + 1) + 10.0 * j;
    y[i] = 1.0 + X[i] - 0.5 * X[n + i] + 0.1 * X[2 * n + i] + normal(rng);
    folds[i] = 1 + (i * 7) % 4;
  }
  const auto preds = crossfit_on_1_and_2_threads(
      std::make_shared<fastdml::LinearLearner>(fastdml::LinearOptions()), X, n, p, folds, y);
  const std::vector<double>& pred1 = preds[0];
  check(preds[0] == preds[1], "linear cross-fit identical for 1 and 2 threads");
  // Reference: normal equations on the raw design [1, X] of the training rows of fold 2.
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(p + 1, p + 1);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(p + 1);
  for (int i = 0; i < n; ++i) {
    if (folds[i] == 2) continue;
    Eigen::VectorXd a(p + 1);
    a << 1.0, X[i], X[n + i], X[2 * n + i];
    A += a * a.transpose();
    b += a * y[i];
  }
  const Eigen::VectorXd coef = A.ldlt().solve(b);
  double worst = 0.0;
  for (int i = 0; i < n; ++i) {
    if (folds[i] != 2) continue;
    const double expected = coef[0] + coef[1] * X[i] + coef[2] * X[n + i] + coef[3] * X[2 * n + i];
    worst = std::max(worst, std::abs(pred1[i] - expected));
  }
  check(worst < 1e-9, "linear learner equals the normal equations of the training rows");
}

void test_inference() {
  // psi_a = -1, psi_b = values: theta = mean, SE = sd(population) / sqrt(n).
  fastdml::ScoreElements scores{Eigen::MatrixXd::Constant(4, 2, -1.0), Eigen::MatrixXd(4, 2)};
  scores.psi_b << 1, 2, 2, 4, 3, 6, 6, 8;
  const fastdml::DmlEstimate est = fastdml::DmlInference(nullptr, 0).estimate(scores);
  check_near(est.theta_rep[0], 3.0, 1e-14, "theta of repetition 1");
  check_near(est.theta_rep[1], 5.0, 1e-14, "theta of repetition 2");
  check_near(est.se_rep[0], std::sqrt(((4.0 + 1.0 + 0.0 + 9.0) / 4.0) / 4.0), 1e-14, "SE rep 1");
  check_near(est.theta, 4.0, 1e-14, "median of two repetitions");
  const double spread1 = 4 * est.se_rep[0] * est.se_rep[0] + 1.0;
  const double spread2 = 4 * est.se_rep[1] * est.se_rep[1] + 1.0;
  check_near(est.se, std::sqrt(0.5 * (spread1 + spread2) / 4.0), 1e-14, "median-aggregated SE");
  const std::vector<int> singletons = {0, 1, 2, 3};
  const fastdml::DmlEstimate by_row = fastdml::DmlInference(singletons.data(), 4).estimate(scores);
  check_near(by_row.se, est.se, 1e-14, "singleton clusters equal the plain SE");
  const std::vector<int> pairs = {0, 0, 1, 1};
  const fastdml::DmlEstimate clustered = fastdml::DmlInference(pairs.data(), 2).estimate(scores);
  check_near(clustered.se_rep[0], std::sqrt(9.0 + 9.0) / 4.0, 1e-14, "cluster sums");
  fastdml::DmlInferenceOptions corrected;
  corrected.cluster_correction = true;
  const fastdml::DmlEstimate small_sample =
      fastdml::DmlInference(pairs.data(), 2, corrected).estimate(scores);
  check_near(small_sample.se_rep[0], clustered.se_rep[0] * std::sqrt(2.0), 1e-14,
             "G / (G - 1) cluster correction");
}

void test_data_view_standardization() {
  const std::vector<double> X = {1, 2, 3, 4, 10, 10, 20, 20};  // 4 x 2, column-major
  const std::vector<int> rows = {0, 1, 2, 3};
  Eigen::MatrixXd block(4, 3);
  fastdml::DataView standardised(X.data(), 4, 2, fastdml::TaskRunner(1));
  standardised.fill_design(rows.data(), 4, block);
  check_near(block.col(1).mean(), 0.0, 1e-14, "standardised column has mean 0");
  check_near(block.col(2).squaredNorm() / 3.0, 1.0, 1e-14, "standardised column has sd 1");
  fastdml::DataView raw(X.data(), 4, 2, fastdml::TaskRunner(1), false);
  raw.fill_design(rows.data(), 4, block);
  check(block(0, 0) == 1.0 && block(2, 1) == 3.0 && block(3, 2) == 20.0,
        "a view without standardisation uses the columns as they are");
}

void test_auc_with_ties() {
  const std::vector<double> y = {0, 1, 0, 1, 1, 0};
  const std::vector<double> p = {0.1, 0.4, 0.4, 0.8, 0.2, 0.3};
  const std::vector<int> folds = {1, 1, 1, 2, 2, 2};
  fastdml::FoldPlan plan(folds.data(), 6, 1);
  const auto rows = fastdml::PredictionQuality::compute_all(
      {fastdml::PredictionQuality(y.data(), p.data(), nullptr)}, plan, fastdml::TaskRunner(1))[0];
  // Pairs (positive, negative): 0.4>0.1, 0.4=0.4 (1/2), 0.4>0.3, 0.8>all three, 0.2>0.1 only.
  check_near(rows[0].auc, (2.5 + 3.0 + 1.0) / 9.0, 1e-14, "pooled AUC with a tie");
  check_near(rows[1].auc, 1.5 / 2.0, 1e-14, "AUC of fold 1");
}

void test_logistic_threads() {
  const int n = 40000, p = 4;
  std::mt19937 rng(2);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::vector<double> X(n * p), d(n);
  std::vector<int> folds(n);
  for (int i = 0; i < n; ++i) {
    double eta = -0.3;
    for (int j = 0; j < p; ++j) {
      X[j * n + i] = normal(rng);
      eta += 0.4 * X[j * n + i];
    }
    d[i] = unif(rng) < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
    folds[i] = 1 + i % 3;
  }
  fastdml::LogisticOptions options;
  options.warm_start_rows = 5000;
  const auto preds = crossfit_on_1_and_2_threads(
      std::make_shared<fastdml::LogisticLearner>(options), X, n, p, folds, d);
  check(preds[0] == preds[1], "logistic cross-fit identical for 1 and 2 threads");
  bool in_range = true;
  for (double v : preds[0]) in_range = in_range && v > 0.0 && v < 1.0;
  check(in_range, "logistic predictions are probabilities");
}

}  // namespace

int main() {
  test_fold_plan();
  test_linear_crossfit();
  test_inference();
  test_data_view_standardization();
  test_auc_with_ties();
  test_logistic_threads();
  std::printf("%d passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
