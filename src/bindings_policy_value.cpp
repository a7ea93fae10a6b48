// Rcpp glue for the policy-value bootstrap: maps the influence functions and clusters and draws
// the Gaussian multipliers from R's RNG (norm_rand, on this thread), polling for interrupts.
#include <RcppEigen.h>
#include <R_ext/Random.h>

#include "core/inference/multiplier_bootstrap.h"

// [[Rcpp::export(.fastdml_multiplier_bootstrap)]]
Eigen::MatrixXd fastdml_multiplier_bootstrap(Eigen::Map<Eigen::MatrixXd> phi, SEXP cluster,
                                             int n_clusters, int num_draws) {
  const int* ids = Rf_isNull(cluster) ? nullptr : INTEGER(cluster);
  const fastdml::MultiplierBootstrap bootstrap(phi, ids, n_clusters);
  Rcpp::RNGScope rng;
  return bootstrap.draw(num_draws, [] { return norm_rand(); },
                        [] { Rcpp::checkUserInterrupt(); });
}
