// ScoreElements: a linear orthogonal score psi = psi_a * theta + psi_b evaluated at every row
// and repetition (n x S matrices; DESIGN.md §4). Every model's score struct produces these;
// inference, sensitivity and diagnostics consume them. Observation weights enter scores
// normalised to mean one. Score structs evaluate the repetitions as tasks of a TaskRunner (in
// parallel, and interruptible between repetitions).
#ifndef FASTDML_SCORES_SCORE_ELEMENTS_H
#define FASTDML_SCORES_SCORE_ELEMENTS_H

#include <Eigen/Dense>
#include <stdexcept>

#include "core/util/task_runner.h"

namespace fastdml {

using ConstVectorMap = Eigen::Map<const Eigen::VectorXd>;
using ConstMatrixMap = Eigen::Map<const Eigen::MatrixXd>;

struct ScoreElements {
  Eigen::MatrixXd psi_a;
  Eigen::MatrixXd psi_b;
};

// w / mean(w), or a vector of ones when weights is null.
inline Eigen::VectorXd normalised_weights(const double* weights, int n) {
  if (weights == nullptr) return Eigen::VectorXd::Ones(n);
  Eigen::VectorXd w = ConstVectorMap(weights, n);
  const double mean = w.mean();
  if (!(mean > 0.0)) throw std::invalid_argument("weights must have a positive mean");
  return w / mean;
}

}  // namespace fastdml

#endif
