// Rcpp glue for cross-fitting: maps R memory (X, folds, targets, masks) into the core without
// copies, builds the learners from their R specifications and runs the CrossFitter.
#include <RcppEigen.h>

#include <memory>
#include <string>

#include "core/crossfit/cross_fitter.h"
#include "core/learners/boost_learner.h"
#include "core/learners/linear_learner.h"
#include "core/learners/logistic_learner.h"
#include "core/learners/multinomial_learner.h"
#include "bindings_interrupt.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using fastdml_bindings::with_interruptible_runner;

fastdml::BoostOptions boost_options(const Rcpp::List& spec) {
  fastdml::BoostOptions options;
  const std::string objective = Rcpp::as<std::string>(spec["objective"]);
  options.objective = objective == "binary"       ? fastdml::BoostObjective::kLogistic
                      : objective == "multiclass" ? fastdml::BoostObjective::kSoftmax
                                                  : fastdml::BoostObjective::kSquaredError;
  options.n_rounds = Rcpp::as<int>(spec["n_rounds"]);
  options.tree.learning_rate = Rcpp::as<double>(spec["learning_rate"]);
  options.tree.max_depth = Rcpp::as<int>(spec["max_depth"]);
  options.tree.max_leaves = Rcpp::as<int>(spec["max_leaves"]);
  options.tree.lambda = Rcpp::as<double>(spec["lambda"]);
  options.tree.min_child_weight = Rcpp::as<double>(spec["min_child_weight"]);
  options.tree.min_child_size = Rcpp::as<int>(spec["min_child_size"]);
  options.subsample = Rcpp::as<double>(spec["subsample"]);
  options.colsample = Rcpp::as<double>(spec["colsample"]);
  options.early_stopping_rounds = Rcpp::as<int>(spec["early_stopping_rounds"]);
  options.validation_fraction = Rcpp::as<double>(spec["validation_fraction"]);
  options.max_bins = Rcpp::as<int>(spec["max_bins"]);
  options.seed = static_cast<std::uint64_t>(Rcpp::as<double>(spec["seed"]));
  return options;
}

// A built-in learner from its R specification; boosting learners of one call share `bins`.
std::shared_ptr<const fastdml::Learner> make_learner(
    const Rcpp::List& spec, const std::shared_ptr<fastdml::FeatureBinCache>& bins) {
  const std::string kind = Rcpp::as<std::string>(spec["kind"]);
  if (kind == "boost") return std::make_shared<fastdml::BoostLearner>(boost_options(spec), bins);
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
  if (kind == "multinomial") {
    fastdml::MultinomialOptions options;
    options.ridge = ridge;
    return std::make_shared<fastdml::MultinomialLearner>(options);
  }
  Rcpp::stop("unknown built-in learner kind '%s'", kind);
}

// A group list(learner, targets, mask, weights) of R objects as a core NuisanceGroup with fresh
// n x n_cols prediction matrices, returned through `outputs` with attribute "fit_info": one
// n_info_rows x n_cols matrix per target of what the learner reports per fold (NA if nothing).
fastdml::NuisanceGroup as_group(const Rcpp::List& group, int n, int n_cols, int n_info_rows,
                                const std::shared_ptr<fastdml::FeatureBinCache>& bins,
                                Rcpp::List& outputs) {
  Rcpp::List targets = group["targets"];
  fastdml::NuisanceGroup core;
  core.learner = make_learner(group["learner"], bins);
  if (!Rf_isNull(group["mask"])) core.train_mask = INTEGER(group["mask"]);
  if (group.containsElementNamed("weights") && !Rf_isNull(group["weights"])) {
    Rcpp::NumericVector weights = group["weights"];
    if (weights.size() != n) Rcpp::stop("weights length differs from nrow(X)");
    core.weights = REAL(weights);
  }
  outputs = Rcpp::List(targets.size());
  Rcpp::List info(targets.size());
  for (R_xlen_t t = 0; t < targets.size(); ++t) {
    Rcpp::NumericVector target = targets[t];
    if (target.size() != n) Rcpp::stop("target length differs from nrow(X)");
    Rcpp::NumericMatrix prediction = Rcpp::no_init_matrix(n, n_cols);
    std::fill(prediction.begin(), prediction.end(), NA_REAL);
    core.targets.push_back(REAL(target));
    core.predictions.push_back(REAL(prediction));
    outputs[t] = prediction;
    Rcpp::NumericMatrix fold_info(n_info_rows, n_cols);
    std::fill(fold_info.begin(), fold_info.end(), NA_REAL);
    core.fit_info.push_back(REAL(fold_info));
    info[t] = fold_info;
  }
  outputs.attr("fit_info") = info;
  return core;
}

}  // namespace

// [[Rcpp::export(.fastdml_crossfit)]]
Rcpp::List fastdml_crossfit(Rcpp::NumericMatrix X, Rcpp::IntegerMatrix folds, Rcpp::List groups,
                            int num_threads, bool standardize, SEXP progress = R_NilValue) {
  fastdml::FoldPlan plan(INTEGER(folds), folds.nrow(), folds.ncol());
  std::vector<fastdml::NuisanceGroup> core_groups;
  Rcpp::List results(groups.size());
  auto bins = std::make_shared<fastdml::FeatureBinCache>();
  for (R_xlen_t g = 0; g < groups.size(); ++g) {
    Rcpp::List outputs;
    core_groups.push_back(
        as_group(groups[g], X.nrow(), plan.n_rep(), plan.n_folds(), bins, outputs));
    results[g] = outputs;
  }
  with_interruptible_runner(num_threads, [&](const fastdml::TaskRunner& runner) {
    fastdml::DataView data(REAL(X), X.nrow(), X.ncol(), runner, standardize);
    fastdml::CrossFitter(data, plan, runner).run(core_groups);
  }, progress);
  return results;
}

// [[Rcpp::export(.fastdml_fit_predict)]]
Rcpp::List fastdml_fit_predict(Rcpp::NumericMatrix X, Rcpp::List group, int num_threads,
                              bool standardize) {
  Rcpp::List outputs;
  fastdml::NuisanceGroup core =
      as_group(group, X.nrow(), 1, 1, std::make_shared<fastdml::FeatureBinCache>(), outputs);
  with_interruptible_runner(num_threads, [&](const fastdml::TaskRunner& runner) {
    fastdml::DataView data(REAL(X), X.nrow(), X.ncol(), runner, standardize);
    fastdml::CrossFitProblem problem{&data,           nullptr,      core.targets, core.train_mask,
                                     core.predictions, core.weights, core.fit_info};
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
