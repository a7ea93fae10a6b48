# The non-linear confounded IRM design shared by bench_learners.R and study_subsample.R
# (sourced by them; run from the package root): p standard normal covariates, a binary
# treatment whose propensity 0.05 + 0.9 plogis(sin(2 x1) + (x2^2 - 1) / 2 + 0.8 x3 1(x4 > 0)
# - 0.2) is non-linear in x1..x4, an outcome g0(x) + d tau(x) + N(0, 1) non-linear in x1..x6,
# and a heterogeneous effect tau(x) with mean true_ate. Returns X, y, d and the true g0, g1 and
# propensity.
simulate_nonlinear_irm <- function(n, seed = 1, p = 20L, true_ate = 1) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  propensity <- 0.05 + 0.9 * plogis(sin(2 * X[, 1]) + 0.5 * (X[, 2]^2 - 1) +
                                      0.8 * X[, 3] * (X[, 4] > 0) - 0.2)
  d <- rbinom(n, 1, propensity)
  g0 <- sin(2 * X[, 1]) + 0.5 * X[, 2]^2 + X[, 3] * X[, 5] + 0.5 * abs(X[, 4]) +
    0.5 * (X[, 6] > 0)
  tau <- true_ate + 0.5 * X[, 1] + 0.25 * (X[, 2]^2 - 1)  # mean true_ate
  y <- g0 + d * tau + rnorm(n)
  list(X = X, y = y, d = as.numeric(d), g0 = g0, g1 = g0 + tau, propensity = propensity)
}
