// Rcpp glue for the cluster bootstrap (core/inference/cluster_bootstrap.h): maps the numerators,
// denominators and 0-based cluster ids (or NULL: every row its own cluster) and draws the
// cluster indices from R's RNG with R_unif_index() on this thread, so that every draw equals
// R's sample.int(G, G, replace = TRUE) under the same seed and sample.kind; polls for
// interrupts between draws.
#include <RcppEigen.h>
#include <R_ext/Random.h>

#include "core/inference/cluster_bootstrap.h"

// [[Rcpp::export(.fastdml_cluster_bootstrap)]]
Eigen::MatrixXd fastdml_cluster_bootstrap(Eigen::Map<Eigen::MatrixXd> num,
                                          Eigen::Map<Eigen::MatrixXd> den, SEXP cluster,
                                          int n_clusters, int num_draws) {
  const int* ids = nullptr;
  if (!Rf_isNull(cluster)) {
    if (TYPEOF(cluster) != INTSXP || Rf_xlength(cluster) != num.rows()) {
      Rcpp::stop("cluster bootstrap: cluster must be NULL or an integer vector with one id per row");
    }
    ids = INTEGER(cluster);
  }
  const fastdml::ClusterBootstrap bootstrap(num, den, ids, n_clusters);
  Rcpp::RNGScope rng;
  return bootstrap.draw(
      num_draws,
      [](int n) { return static_cast<int>(R_unif_index(static_cast<double>(n))); },
      [] { Rcpp::checkUserInterrupt(); });
}
