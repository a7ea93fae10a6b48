// Rcpp glue for the causal forest (DESIGN.md §4, "CATE"): maps the effect modifiers Z and the
// DML residuals, bins Z, trains the forest on num_threads threads (sampling clusters instead of
// rows when cluster ids 1..G are given) and returns its compact arrays (with the bin edges and
// the training bins for out-of-bag prediction); predicts the CATE and its little-bags variance
// for new rows or out of bag for the training rows (leaving out the row's whole cluster).
#include <Rcpp.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/cate/causal_forest.h"
#include "core/cate/forest_predictor.h"
#include "core/data/data_view.h"
#include "core/learners/feature_bins.h"
#include "bindings_interrupt.h"

namespace {

fastdml::CausalForestOptions forest_options(const Rcpp::List& options) {
  fastdml::CausalForestOptions out;
  out.num_trees = Rcpp::as<int>(options["num_trees"]);
  out.sample_fraction = Rcpp::as<double>(options["sample_fraction"]);
  out.honesty = Rcpp::as<bool>(options["honesty"]);
  out.honesty_fraction = Rcpp::as<double>(options["honesty_fraction"]);
  out.ci_group_size = Rcpp::as<int>(options["ci_group_size"]);
  out.seed = static_cast<std::uint64_t>(static_cast<long long>(std::floor(Rcpp::as<double>(options["seed"]))));
  out.tree.mtry = Rcpp::as<int>(options["mtry"]);
  out.tree.min_node_size = Rcpp::as<int>(options["min_node_size"]);
  out.tree.alpha = Rcpp::as<double>(options["alpha"]);
  out.tree.stabilize_splits = Rcpp::as<bool>(options["stabilize_splits"]);
  SEXP max_depth = options["max_depth"];
  out.tree.max_depth = Rf_isNull(max_depth) ? -1 : Rcpp::as<int>(max_depth);
  return out;
}

struct Trained {
  std::unique_ptr<fastdml::FeatureBins> bins;
  fastdml::ForestArrays arrays;
};

// R cluster ids 1..G (or NULL) as the 0-based ids of CausalForest (empty: no clusters).
std::vector<int> cluster_ids(SEXP cluster, int n) {
  std::vector<int> out;
  if (Rf_isNull(cluster)) return out;
  if (TYPEOF(cluster) != INTSXP || Rf_xlength(cluster) != n) {
    Rcpp::stop("cluster must be an integer vector with one id per row");
  }
  const int* ids = INTEGER(cluster);
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    if (ids[i] == NA_INTEGER || ids[i] < 1) Rcpp::stop("cluster ids must be 1..G");
    out[i] = ids[i] - 1;
  }
  return out;
}

template <typename T>
Rcpp::IntegerVector integers(std::vector<T>& x) {
  Rcpp::IntegerVector out(x.begin(), x.end());
  std::vector<T>().swap(x);
  return out;
}

}  // namespace

// [[Rcpp::export(.fastdml_forest_train)]]
Rcpp::List fastdml_forest_train(Rcpp::NumericMatrix Z, Rcpp::NumericVector y,
                                Rcpp::NumericVector d, SEXP weights, SEXP cluster,
                                Rcpp::List options, int num_threads) {
  const int n = Z.nrow(), p = Z.ncol();
  if (y.size() != n || d.size() != n) Rcpp::stop("y and d must have nrow(Z) elements");
  if (!Rf_isNull(weights) && Rf_xlength(weights) != n) Rcpp::stop("weights must have nrow(Z) elements");
  const fastdml::CausalForestOptions opts = forest_options(options);
  std::vector<int> clusters = cluster_ids(cluster, n);
  const double* z_in = REAL(Z);
  fastdml::CausalTreeData data;
  data.y = REAL(y);
  data.d = REAL(d);
  data.w = Rf_isNull(weights) ? nullptr : REAL(weights);
  Trained trained = fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
    Trained out;
    const fastdml::DataView view(z_in, n, p, runner, false);
    out.bins = std::make_unique<fastdml::FeatureBins>(view, fastdml::FeatureBinsOptions(), runner);
    data.bins = out.bins.get();
    const fastdml::CausalForest forest(opts, n, std::move(clusters));
    out.arrays = forest.train(data, runner);
    return out;
  });
  fastdml::ForestArrays& a = trained.arrays;
  Rcpp::List edges(p);
  for (int j = 0; j < p; ++j) edges[j] = Rcpp::wrap(trained.bins->thresholds(j));
  const std::uint8_t* first = trained.bins->column(0);
  Rcpp::RawVector bins(first, first + static_cast<size_t>(n) * p);
  Rcpp::IntegerMatrix split_counts(p, fastdml::CausalTree::kImportanceDepths);
  std::copy(a.split_counts.begin(), a.split_counts.end(), split_counts.begin());
  Rcpp::NumericVector leaf_stats(a.leaf_stats.begin(), a.leaf_stats.end());
  std::vector<double>().swap(a.leaf_stats);
  return Rcpp::List::create(
      Rcpp::Named("split") = integers(a.split), Rcpp::Named("child") = integers(a.child),
      Rcpp::Named("node_offset") = integers(a.node_offset),
      Rcpp::Named("leaf_offset") = integers(a.leaf_offset),
      Rcpp::Named("leaf_stats") = leaf_stats, Rcpp::Named("split_counts") = split_counts,
      Rcpp::Named("edges") = edges, Rcpp::Named("bins") = bins);
}

// [[Rcpp::export(.fastdml_forest_predict)]]
Rcpp::List fastdml_forest_predict(Rcpp::List model, SEXP Z_new, bool variance, int num_threads) {
  const Rcpp::List trees = model["trees"];
  const Rcpp::List options = model["options"];
  const fastdml::CausalForestOptions opts = forest_options(options);
  const int n_train = Rcpp::as<int>(model["n"]);
  const int p = Rcpp::as<int>(model["p"]);
  fastdml::ForestView view;
  view.num_trees = opts.num_trees;
  view.split = INTEGER(trees["split"]);
  view.child = INTEGER(trees["child"]);
  view.node_offset = INTEGER(trees["node_offset"]);
  view.leaf_offset = INTEGER(trees["leaf_offset"]);
  view.leaf_stats = REAL(trees["leaf_stats"]);
  if (Rf_xlength(trees["node_offset"]) != opts.num_trees + 1) Rcpp::stop("corrupt forest model");
  const bool oob = Rf_isNull(Z_new);
  std::vector<std::vector<double>> edges;
  const double* z_in = nullptr;
  int n_rows = n_train;
  if (!oob) {
    if (!Rf_isMatrix(Z_new) || TYPEOF(Z_new) != REALSXP || Rf_ncols(Z_new) != p) {
      Rcpp::stop("Z_new must be a double matrix with %d columns", p);
    }
    const Rcpp::List edge_list = model["edges"];
    for (int j = 0; j < p; ++j) edges.push_back(Rcpp::as<std::vector<double>>(edge_list[j]));
    z_in = REAL(Z_new);
    n_rows = Rf_nrows(Z_new);
  }
  const std::uint8_t* train_bins = oob ? RAW(model["train_bins"]) : nullptr;
  std::vector<int> clusters;
  if (oob && model.containsElementNamed("cluster")) clusters = cluster_ids(model["cluster"], n_train);
  fastdml::ForestPrediction result = fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) {
        const fastdml::ForestPredictor predictor(view, opts.ci_group_size);
        if (oob) {
          const fastdml::CausalForest plan(opts, n_train, std::move(clusters));
          return predictor.predict(train_bins, n_rows, p, variance, &plan, runner);
        }
        const std::vector<std::uint8_t> bins = fastdml::ForestPredictor::bin_rows(z_in, n_rows, edges, runner);
        return predictor.predict(bins.data(), n_rows, p, variance, nullptr, runner);
      });
  return Rcpp::List::create(
      Rcpp::Named("estimates") = Rcpp::NumericVector(result.estimate.begin(), result.estimate.end()),
      Rcpp::Named("variance") = variance ? Rcpp::wrap(result.variance) : R_NilValue);
}
