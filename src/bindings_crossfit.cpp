// Rcpp glue for cross-fitting: maps R memory (X, folds, targets, masks) into the core without
// copies, builds the learners from their R specifications and runs the CrossFitter.
#include <RcppEigen.h>

#include <memory>
#include <string>

#include "core/crossfit/cross_fitter.h"
#include "core/learners/linear_learner.h"
#include "core/learners/logistic_learner.h"
#include "bindings_interrupt.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using fastdml_bindings::with_interruptible_runner;

std::shared_ptr<const fastdml::Learner> make_learner(const Rcpp::List& spec) {
  const std::string kind = Rcpp::as<std::string>(spec["kind"]);
  const double ridge = Rcpp::as<double>(spec["ridge"]);
  if (kind == "linear") {
    fastdml::LinearOptions options;
    options.ridge = ridge;
    return std::make_shared<fastdml::LinearLearner>(options);
  }
  if (kind == "logistic") {
    fastdml::LogisticOptions options;
    options.ridge = ridge;
    return std::make_shared<fastdml::LogisticLearner>(options);
  }
  Rcpp::stop("unknown built-in learner kind '%s'", kind);
}

// A group list(learner, targets, mask) of R objects as a core NuisanceGroup with fresh
// n x n_cols prediction matrices (returned through `outputs`).
fastdml::NuisanceGroup as_group(const Rcpp::List& group, int n, int n_cols, Rcpp::List& outputs) {
  Rcpp::List targets = group["targets"];
  fastdml::NuisanceGroup core;
  core.learner = make_learner(group["learner"]);
  if (!Rf_isNull(group["mask"])) core.train_mask = INTEGER(group["mask"]);
  outputs = Rcpp::List(targets.size());
  for (R_xlen_t t = 0; t < targets.size(); ++t) {
    Rcpp::NumericVector target = targets[t];
    if (target.size() != n) Rcpp::stop("target length differs from nrow(X)");
    Rcpp::NumericMatrix prediction = Rcpp::no_init_matrix(n, n_cols);
    std::fill(prediction.begin(), prediction.end(), NA_REAL);
    core.targets.push_back(REAL(target));
    core.predictions.push_back(REAL(prediction));
    outputs[t] = prediction;
  }
  return core;
}

}  // namespace

// [[Rcpp::export(.fastdml_crossfit)]]
Rcpp::List fastdml_crossfit(Rcpp::NumericMatrix X, Rcpp::IntegerMatrix folds, Rcpp::List groups,
                            int num_threads, bool standardize) {
  fastdml::FoldPlan plan(INTEGER(folds), folds.nrow(), folds.ncol());
  std::vector<fastdml::NuisanceGroup> core_groups;
  Rcpp::List results(groups.size());
  for (R_xlen_t g = 0; g < groups.size(); ++g) {
    Rcpp::List outputs;
    core_groups.push_back(as_group(groups[g], X.nrow(), plan.n_rep(), outputs));
    results[g] = outputs;
  }
  with_interruptible_runner(num_threads, [&](const fastdml::TaskRunner& runner) {
    fastdml::DataView data(REAL(X), X.nrow(), X.ncol(), runner, standardize);
    fastdml::CrossFitter(data, plan, runner).run(core_groups);
  });
  return results;
}

// [[Rcpp::export(.fastdml_fit_predict)]]
Rcpp::List fastdml_fit_predict(Rcpp::NumericMatrix X, Rcpp::List group, int num_threads,
                              bool standardize) {
  Rcpp::List outputs;
  fastdml::NuisanceGroup core = as_group(group, X.nrow(), 1, outputs);
  with_interruptible_runner(num_threads, [&](const fastdml::TaskRunner& runner) {
    fastdml::DataView data(REAL(X), X.nrow(), X.ncol(), runner, standardize);
    fastdml::CrossFitProblem problem{&data, nullptr, core.targets, core.train_mask,
                                     core.predictions};
    core.learner->fit_predict_full(problem, runner);
  });
  return outputs;
}

// [[Rcpp::export(.fastdml_thread_limit)]]
int fastdml_thread_limit() {
#ifdef _OPENMP
  return std::min(omp_get_thread_limit(), omp_get_num_procs());
#else
  return 1;
#endif
}
