// Rcpp glue for the exact policy tree (DESIGN.md §4, "Decide"; Sverdrup et al. 2020,
// "policytree"; Athey & Wager 2021): maps the covariates X and the reward matrix Gamma, bins X
// (every row placing the bin edges, so that columns with at most max_bins - 1 distinct values get
// one bin per value), runs the exact search on num_threads threads and returns the tree's
// arrays; predicts the actions of new rows from the stored thresholds.
#include <Rcpp.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/data/data_view.h"
#include "core/learners/feature_bins.h"
#include "core/policy/policy_tree.h"
#include "bindings_interrupt.h"

// [[Rcpp::export(.fastdml_policy_tree)]]
Rcpp::List fastdml_policy_tree(Rcpp::NumericMatrix X, Rcpp::NumericMatrix Gamma,
                               Rcpp::List options, int num_threads) {
  const int n = X.nrow(), p = X.ncol(), n_actions = Gamma.ncol();
  if (Gamma.nrow() != n) Rcpp::stop("Gamma must have nrow(X) rows");
  fastdml::PolicyTreeOptions opts;
  opts.depth = Rcpp::as<int>(options["depth"]);
  opts.min_node_size = Rcpp::as<int>(options["min_node_size"]);
  fastdml::FeatureBinsOptions bin_options;
  bin_options.max_bins = Rcpp::as<int>(options["max_bins"]);
  bin_options.sample_rows = std::max(n, 1);
  const double* x_in = REAL(X);
  const double* gamma = REAL(Gamma);
  const fastdml::PolicyTree tree = fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) {
        const fastdml::DataView view(x_in, n, p, runner, false);
        const fastdml::FeatureBins bins(view, bin_options, runner);
        return fastdml::PolicyTree::fit(bins, gamma, n_actions, opts, runner);
      });
  Rcpp::IntegerVector action(tree.action().begin(), tree.action().end());
  for (R_xlen_t k = 0; k < action.size(); ++k) {
    action[k] = action[k] < 0 ? NA_INTEGER : action[k] + 1;
  }
  return Rcpp::List::create(
      Rcpp::Named("var") = Rcpp::wrap(tree.var()),
      Rcpp::Named("threshold") = Rcpp::wrap(tree.threshold()),
      Rcpp::Named("left") = Rcpp::wrap(tree.left()),
      Rcpp::Named("right") = Rcpp::wrap(tree.right()), Rcpp::Named("action") = action,
      Rcpp::Named("size") = Rcpp::wrap(tree.size()), Rcpp::Named("reward") = tree.reward());
}

// [[Rcpp::export(.fastdml_policy_tree_predict)]]
Rcpp::IntegerVector fastdml_policy_tree_predict(Rcpp::List tree, Rcpp::NumericMatrix X_new,
                                                int num_threads) {
  std::vector<int> action = Rcpp::as<std::vector<int>>(tree["action"]);
  for (int& a : action) a = a == NA_INTEGER ? -1 : a - 1;
  const fastdml::PolicyTree model(
      Rcpp::as<std::vector<int>>(tree["var"]), Rcpp::as<std::vector<double>>(tree["threshold"]),
      Rcpp::as<std::vector<int>>(tree["left"]), Rcpp::as<std::vector<int>>(tree["right"]),
      std::move(action));
  const int n = X_new.nrow(), p = X_new.ncol();
  const double* x_in = REAL(X_new);
  std::vector<int> out = fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) { return model.predict(x_in, n, p, runner); });
  for (int& a : out) ++a;
  return Rcpp::IntegerVector(out.begin(), out.end());
}
