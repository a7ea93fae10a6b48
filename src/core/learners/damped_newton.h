// damped_newton: the Newton iterations with step halving shared by the logistic and the
// multinomial learners (DESIGN.md §5, "Newton/IRLS for logistic with warm starts"). From
// coefficients `coef` whose pass over the rows `current` is known, each iteration proposes the
// Newton solution from the current pass; a step smaller than step_tolerance (relative to the
// coefficients) is taken and ends the fit (quadratic convergence); otherwise the step is halved
// until the penalised objective does not increase, and the fit ends when the objective's
// relative change is below the tolerance. Every candidate costs one fused pass over the rows
// (its objective and the cross products of the next step), so an iteration reads the data once.
#ifndef FASTDML_LEARNERS_DAMPED_NEWTON_H
#define FASTDML_LEARNERS_DAMPED_NEWTON_H

#include <Eigen/Dense>
#include <cmath>
#include <utility>

#include "core/util/task_runner.h"

namespace fastdml {

// Options of a learner fitted by damped Newton from a warm start (logistic, multinomial).
struct NewtonLearnerOptions {
  double ridge = 0.0;
  int max_iterations = 100;
  double tolerance = 1e-12;            // relative change of the penalised deviance
  double step_tolerance = 1e-7;        // a Newton step below this (relative) ends the fit
  double warm_start_tolerance = 1e-4;  // step tolerance of the subsample warm start
  int warm_start_rows = 50000;         // at least this many rows in the warm-start subsample
};

// What one fused pass over some rows gives at some coefficients: the deviance there and the
// cross products of the next Newton step (their layout is the learner's).
struct NewtonPass {
  double deviance = 0.0;
  Eigen::MatrixXd cross;
  NewtonPass& operator+=(const NewtonPass& other) {
    deviance += other.deviance;
    cross += other.cross;
    return *this;
  }
};

struct NewtonControl {
  int max_iterations = 100;
  double tolerance = 1e-12;       // relative change of the objective that ends the fit
  double step_tolerance = 1e-7;   // a relative Newton step below this ends the fit
};

inline NewtonControl newton_control(const NewtonLearnerOptions& options, double step_tolerance) {
  NewtonControl control;
  control.max_iterations = options.max_iterations;
  control.tolerance = options.tolerance;
  control.step_tolerance = step_tolerance;
  return control;
}

// Coef: an Eigen vector or matrix; propose(pass, coef) -> Coef; evaluate(candidate) -> Pass;
// objective(coef, pass) -> double. The runner is polled for interrupts once per iteration.
template <typename Coef, typename Pass, typename Propose, typename Evaluate, typename Objective>
Coef damped_newton(Coef coef, Pass current, const NewtonControl& control, Propose propose,
                   Evaluate evaluate, Objective objective, const TaskRunner& runner) {
  double current_objective = objective(coef, current);
  for (int iter = 0; iter < control.max_iterations; ++iter) {
    runner.poll();
    const Coef proposal = propose(current, coef);
    Coef step = proposal - coef;
    if (step.cwiseAbs().maxCoeff() < control.step_tolerance * (1.0 + coef.cwiseAbs().maxCoeff())) {
      return proposal;  // the remaining error is far below the step
    }
    bool accepted = false;
    const double previous_objective = current_objective;
    for (int halving = 0; halving < 30 && !accepted; ++halving) {
      const Coef candidate = coef + step;
      Pass pass = evaluate(candidate);
      const double candidate_objective = objective(candidate, pass);
      if (std::isfinite(candidate_objective) &&
          candidate_objective <= current_objective * (1.0 + 1e-12) + 1e-12) {
        coef = candidate;
        current = std::move(pass);
        current_objective = candidate_objective;
        accepted = true;
      } else {
        step *= 0.5;
      }
    }
    if (!accepted) break;
    const double change = std::abs(current_objective - previous_objective) /
                          (std::abs(current_objective) + 0.1);
    if (change < control.tolerance) break;
  }
  return coef;
}

}  // namespace fastdml

#endif
