// Rcpp glue for cross-fitting: maps R memory (X, folds, targets, masks) into the core without
// copies, builds the learners from their R specifications and runs the CrossFitter.
#include <RcppEigen.h>
#include <R_ext/Utils.h>

#include <memory>
#include <string>

#include "core/crossfit/cross_fitter.h"
#include "core/learners/linear_learner.h"
#include "core/learners/logistic_learner.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

void check_interrupt_unsafe(void*) { R_CheckUserInterrupt(); }

class RInterruptChecker : public fastdml::InterruptChecker {
 public:
  bool interrupted() override { return R_ToplevelExec(check_interrupt_unsafe, nullptr) == FALSE; }
};

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

}  // namespace

// [[Rcpp::export(.fastdml_crossfit)]]
Rcpp::List fastdml_crossfit(Rcpp::NumericMatrix X, Rcpp::IntegerMatrix folds, Rcpp::List groups,
                            int num_threads) {
  const int n = X.nrow();
  fastdml::DataView data(REAL(X), n, X.ncol());
  fastdml::FoldPlan plan(INTEGER(folds), folds.nrow(), folds.ncol());
  RInterruptChecker checker;
  fastdml::TaskRunner runner(num_threads, &checker);
  std::vector<fastdml::NuisanceGroup> core_groups;
  Rcpp::List results(groups.size());
  for (R_xlen_t g = 0; g < groups.size(); ++g) {
    Rcpp::List group = groups[g];
    Rcpp::List targets = group["targets"];
    fastdml::NuisanceGroup core;
    core.learner = make_learner(group["learner"]);
    if (!Rf_isNull(group["mask"])) core.train_mask = INTEGER(group["mask"]);
    Rcpp::List outputs(targets.size());
    for (R_xlen_t t = 0; t < targets.size(); ++t) {
      Rcpp::NumericVector target = targets[t];
      if (target.size() != n) Rcpp::stop("target length differs from nrow(X)");
      Rcpp::NumericMatrix prediction(n, plan.n_rep());
      std::fill(prediction.begin(), prediction.end(), NA_REAL);
      core.targets.push_back(REAL(target));
      core.predictions.push_back(REAL(prediction));
      outputs[t] = prediction;
    }
    core_groups.push_back(core);
    results[g] = outputs;
  }
  fastdml::CrossFitter fitter(data, plan, runner);
  try {
    fitter.run(core_groups);
  } catch (const fastdml::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  }
  return results;
}

// [[Rcpp::export(.fastdml_thread_limit)]]
int fastdml_thread_limit() {
#ifdef _OPENMP
  return std::min(omp_get_thread_limit(), omp_get_num_procs());
#else
  return 1;
#endif
}
