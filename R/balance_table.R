# Exploratory covariate balance of the raw data, before any model (specs/cx-multitreatment.md
# §7 step 3; after Causalis' eda/confounders_balance.py).

#' Covariate balance table of the raw data
#'
#' Compares the covariates of each treatment arm with those of the control arm, before any
#' model is fitted: a first look at how the arms differ. For every non-control arm and
#' covariate it reports the two means, their absolute difference, the signed standardised
#' mean difference
#'
#' smd = (mean_1 - mean_0) / sqrt((var_1 + var_0) / 2)
#'
#' with the sample variances (divided by n - 1) of the arm (1) and of the controls (0) (when
#' both standard deviations are below 1e-8 max(1, |means|): 0 if the means agree, +-Inf
#' otherwise), and the two-sample Kolmogorov-Smirnov distance with its p-value: exact (as
#' [stats::ks.test()], also with ties) when the product of the two arm sizes is below 10,000,
#' otherwise the asymptotic Kolmogorov distribution (as `ks.test()` uses for large samples,
#' computed here without its warning about ties, which make it conservative). Observation
#' weights are ignored: this describes the sample as drawn.
#'
#' @param spec A [causal_data()] specification with a binary or multi-arm treatment.
#' @return A data.table with one row per non-control arm and covariate, sorted by |smd|
#'   (largest first) within each arm: `comparison` (the arm's label; compared with the
#'   control, the first of `spec$treatment_levels`), `covariate`, `mean_d_0` (control mean),
#'   `mean_d_1` (arm mean), `abs_diff`, `smd`, `ks` (KS distance) and `ks_pvalue`.
#' @family diagnostics
#' @examples
#' spec <- causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                     c("age", "browsing_time", "income"))
#' balance_table(spec)
#' @export
balance_table <- function(spec) {
  if (!inherits(spec, "fastdml_data")) {
    fd_abort("argument", c("{.arg spec} must be made by {.fn causal_data}.",
                           x = "It is a {.cls {class(spec)}}.",
                           i = "For example: {.code balance_table(causal_data(df, \"y\", \"arm\", covariates))}."))
  }
  arms <- spec$treatment_levels
  if (identical(spec$treatment_type, "continuous") || length(arms) < 2L) {
    fd_abort("treatment", c("{.fn balance_table} compares treatment arms, but treatment {.field {spec$treatment}} is continuous.",
                            i = "Use a binary or multi-arm treatment in {.fn causal_data}."))
  }
  d <- as.integer(spec$d)
  X <- spec$X
  covariates <- colnames(X)
  rows0 <- which(d == 0L)
  control <- sample_moments(X[rows0, , drop = FALSE])
  data.table::rbindlist(lapply(seq_along(arms)[-1L] - 1L, function(k) {
    rowsk <- which(d == k)
    arm <- sample_moments(X[rowsk, , drop = FALSE])
    smd <- smd_of(arm, control)
    ks <- vapply(seq_along(covariates), function(j) {
      ks_two_sample(X[rowsk, j], X[rows0, j])
    }, numeric(2))
    out <- data.table::data.table(comparison = arms[k + 1L], covariate = covariates,
                                  mean_d_0 = control$mean, mean_d_1 = arm$mean,
                                  abs_diff = abs(arm$mean - control$mean), smd = smd,
                                  ks = ks[1L, ], ks_pvalue = ks[2L, ])
    out[order(-abs(out$smd))]
  }))
}

# Column means and sample variances (n - 1; 0 for a single row).
sample_moments <- function(Xa) {
  n <- nrow(Xa)
  mu <- colMeans(Xa)
  v <- if (n > 1L) colSums((Xa - rep(mu, each = n))^2) / (n - 1) else rep(0, ncol(Xa))
  list(mean = mu, var = v, n = n)
}

# Two-sample KS distance and p-value of x against y: exact (stats::ks.test) when
# length(x) * length(y) < 10000, asymptotic otherwise.
ks_two_sample <- function(x, y) {
  if (!length(x) || !length(y)) return(c(NA_real_, NA_real_))
  D <- pair_separation(x, y)$ks
  n1 <- as.double(length(x))
  n0 <- length(y)
  p <- if (n1 * n0 < 10000) {
    suppressWarnings(stats::ks.test(x, y)$p.value)
  } else {
    ks_asymptotic_p(D, n1 * n0 / (n1 + n0))
  }
  c(D, p)
}

# Upper tail 1 - K(sqrt(n_eff) D) of the Kolmogorov distribution, with the series and the
# stopping rule of R's C routine pkstwo (tolerance 1e-6), vectorised over D.
ks_asymptotic_p <- function(D, n_eff, tol = 1e-6) {
  x <- sqrt(n_eff) * D
  cdf <- numeric(length(x))
  small <- x < 1 & x > 0
  k_max <- as.integer(sqrt(2 - log(tol)))
  odd <- seq(1L, max(1L, k_max - 1L), by = 2L)
  odd <- odd[odd < k_max]
  if (any(small)) {
    xs <- x[small]
    z <- -(pi / 2 * pi / 4) / (xs * xs)
    terms <- vapply(odd, function(k) exp(k * k * z - log(xs)), numeric(length(xs)))
    cdf[small] <- matrix(terms, nrow = length(xs)) %*% rep(1, length(odd)) * sqrt(2 * pi)
  }
  large <- x >= 1
  if (any(large)) {
    xl <- x[large]
    k <- 1:40
    terms <- 2 * outer(-2 * xl * xl, k * k, function(z, kk) exp(z * kk)) *
      rep((-1)^k, each = length(xl))
    # pkstwo adds terms until one is at most tol in size (that one included)
    used <- cbind(TRUE, abs(terms[, -ncol(terms), drop = FALSE]) > tol)
    used <- t(apply(used, 1L, cumprod)) == 1
    cdf[large] <- 1 + rowSums(terms * used)
  }
  p <- 1 - cdf
  p[D < .Machine$double.eps] <- 1
  pmin(1, pmax(0, p))
}
