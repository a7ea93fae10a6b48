# Independent reference implementation of the CI-DML estimator (IPW-weighted
# DML residual regression, Amazon case study; see the spec
# specs/amazon-ci-dml.md, sections "The DML variant (CI-DML)", "Variance",
# "Heterogeneity"). Plain base R + stats + sandwich, written without looking
# at the package code. This file only defines functions; no expectations.
#
# Semantics:
# * Yt = y - l and Dt = d - m, always with the raw propensity m.
# * Retained sample: all rows, except with trim > 0 and trim_mode = "drop",
#   where rows with m < trim or m > 1 - trim are dropped (bounds inclusive
#   are kept).
# * Propensity for the weights: e = m; if rescale, e = m * mean(d) / mean(m),
#   both means over the retained rows (weighted by the observation weights
#   when given); then, if trim > 0, e is clipped into [trim, 1 - trim].
# * IPW weights: none -> 1; ATE -> d/e + (1-d)/(1-e);
#   ATT -> d + (1-d) e/(1-e); multiplied by the observation weights (used as
#   given, not normalised).
# * Final WLS of Yt on Z (Z = Dt, or basis * Dt columnwise), optional leading
#   intercept, on the retained rows with positive weight (zero-weight rows
#   are left out of the fit, so they do not count in n for HC1/const);
#   variances from sandwich::vcovHC and stats::vcov ("const"), restricted to
#   the Z columns. p in HC1/const counts the intercept column when present.

# Shared preparation: retained rows, propensity e, weights and Z.
refcidml_prepare <- function(y, d, l, m, ipw = c("none", "ATE", "ATT"),
                             trim = 0, trim_mode = c("drop", "clip"),
                             rescale = FALSE, intercept = FALSE,
                             weights = NULL, basis = NULL) {
  ipw <- match.arg(ipw)
  trim_mode <- match.arg(trim_mode)
  y <- as.numeric(y); d <- as.numeric(d)
  l <- as.numeric(l); m <- as.numeric(m)
  n <- length(y)
  stopifnot(length(d) == n, length(l) == n, length(m) == n)
  ow <- if (is.null(weights)) rep(1, n) else as.numeric(weights)
  stopifnot(length(ow) == n)

  yt <- y - l
  dt <- d - m

  retained <- rep(TRUE, n)
  if (trim > 0 && trim_mode == "drop") {
    retained <- m >= trim & m <= 1 - trim
  }

  e <- m
  if (rescale) {
    r <- retained
    e <- m * stats::weighted.mean(d[r], ow[r]) /
      stats::weighted.mean(m[r], ow[r])
  }
  if (trim > 0) e <- pmin(pmax(e, trim), 1 - trim)

  w_ipw <- switch(ipw,
    none = rep(1, n),
    ATE = d / e + (1 - d) / (1 - e),
    ATT = d + (1 - d) * e / (1 - e)
  )
  w <- w_ipw * ow
  w[!retained] <- 0
  e[!retained] <- NA_real_

  if (is.null(basis)) {
    Z <- matrix(dt, ncol = 1)
    colnames(Z) <- "d"
  } else {
    basis <- as.matrix(basis)
    stopifnot(nrow(basis) == n)
    Z <- basis * dt
    cn <- colnames(basis)
    colnames(Z) <- if (is.null(cn)) paste0("psi", seq_len(ncol(basis))) else cn
  }
  X <- Z
  if (intercept) {
    X <- cbind(1, Z)
    colnames(X) <- c("(Intercept)", colnames(Z))
  }

  list(yt = yt, dt = dt, Z = Z, X = X, retained = retained, e = e, w = w,
       zcols = if (intercept) seq_len(ncol(Z)) + 1L else seq_len(ncol(Z)),
       znames = colnames(Z))
}

reference_ci_dml <- function(y, d, l, m, ipw = c("none", "ATE", "ATT"),
                             trim = 0, trim_mode = c("drop", "clip"),
                             rescale = FALSE, intercept = FALSE,
                             weights = NULL, basis = NULL) {
  p <- refcidml_prepare(y, d, l, m, ipw = ipw, trim = trim,
                        trim_mode = trim_mode, rescale = rescale,
                        intercept = intercept, weights = weights,
                        basis = basis)
  r <- p$retained
  f <- r & p$w > 0 # zero-weight rows would confuse sandwich's n / hat values
  yr <- p$yt[f]
  Xr <- p$X[f, , drop = FALSE]
  wr <- p$w[f]
  fit <- stats::lm(yr ~ 0 + Xr, weights = wr)

  zc <- p$zcols
  nm <- p$znames
  est <- stats::coef(fit)[zc]
  names(est) <- nm
  sub <- function(V) {
    V <- unname(as.matrix(V))[zc, zc, drop = FALSE]
    dimnames(V) <- list(nm, nm)
    V
  }
  vc <- list(
    const = sub(stats::vcov(fit)),
    HC0 = sub(sandwich::vcovHC(fit, type = "HC0")),
    HC1 = sub(sandwich::vcovHC(fit, type = "HC1")),
    HC2 = sub(sandwich::vcovHC(fit, type = "HC2")),
    HC3 = sub(sandwich::vcovHC(fit, type = "HC3"))
  )
  list(estimate = est, vcov = vc, retained = r, weights = p$w, e = p$e,
       n_retained = sum(r))
}

# HC0 by the spec's closed formula A [sum w_i^2 u_i^2 Z_i'Z_i] A, without
# sandwich (for cross-checking the sandwich call). Returns the Z block.
reference_ci_dml_manual_hc0 <- function(y, d, l, m, ...) {
  p <- refcidml_prepare(y, d, l, m, ...)
  f <- p$retained & p$w > 0
  yr <- p$yt[f]
  Xr <- p$X[f, , drop = FALSE]
  wr <- p$w[f]
  A <- solve(crossprod(Xr, Xr * wr))
  beta <- A %*% crossprod(Xr, wr * yr)
  u <- as.numeric(yr - Xr %*% beta)
  meat <- crossprod(Xr, Xr * (wr^2 * u^2))
  V <- A %*% meat %*% A
  zc <- p$zcols
  V <- V[zc, zc, drop = FALSE]
  dimnames(V) <- list(p$znames, p$znames)
  V
}

# Unit-level effects h_i = psi_i' beta with s.e. sqrt(psi_i' V psi_i).
reference_unit_effects <- function(psi, estimate, vcov) {
  psi <- as.matrix(psi)
  beta <- as.numeric(estimate)
  V <- as.matrix(vcov)
  data.frame(
    estimate = as.numeric(psi %*% beta),
    std.error = sqrt(rowSums((psi %*% V) * psi))
  )
}

# Soft cluster scores psi_ic = (1/d_ic) / sum_k (1/d_ik), Euclidean distance
# of row i of `scores` to centre c; a row at distance 0 from a centre gets the
# one-hot vector of (the first such) centre.
reference_soft_scores <- function(scores, centers) {
  scores <- as.matrix(scores)
  centers <- as.matrix(centers)
  n <- nrow(scores)
  K <- nrow(centers)
  dist <- matrix(0, n, K)
  for (k in seq_len(K)) {
    diffs <- sweep(scores, 2, centers[k, ], "-")
    dist[, k] <- sqrt(rowSums(diffs^2))
  }
  psi <- matrix(0, n, K)
  for (i in seq_len(n)) {
    zero <- which(dist[i, ] == 0)
    if (length(zero) > 0) {
      psi[i, zero[1]] <- 1
    } else {
      inv <- 1 / dist[i, ]
      psi[i, ] <- inv / sum(inv)
    }
  }
  colnames(psi) <- colnames(centers)
  psi
}
