# Independent reference implementation of policy learning quantities (doubly robust arm scores,
# policy value / net value / vs treat-all with influence-function standard errors, multiplier
# bootstrap with percentile intervals, and the budget curve), written from the math in plain
# base R. No dependency on fastdml internals: only base R and `stats` are used.
# Deliberately simple and loop-based: clarity beats speed (n <= 5000).
# This file only defines functions; it contains no expectations.

# Observation weights: all 1 when NULL, always normalised to mean 1.
ref_policy_weights <- function(w, n) {
  if (is.null(w)) w <- rep(1, n)
  stopifnot(length(w) == n, all(w >= 0), sum(w) > 0)
  w / mean(w)
}

# Floor-and-rescale one row p of raw propensities: repeatedly set the arms below `trim` to
# `trim` and rescale the remaining (not yet floored) arms proportionally so the row sums to 1,
# until no arm is below `trim`. A row with no arm below `trim` is returned untouched.
ref_policy_floor_rescale_row <- function(p, trim) {
  K <- length(p)
  stopifnot(K * trim <= 1)
  floored <- rep(FALSE, K)
  repeat {
    newly <- !floored & p < trim
    if (!any(newly)) break
    floored <- floored | newly
    p[floored] <- trim
    p[!floored] <- p[!floored] * (1 - sum(floored) * trim) / sum(p[!floored])
  }
  p
}

ref_policy_floor_rescale <- function(E, trim) {
  E <- as.matrix(E)
  P <- E
  for (i in seq_len(nrow(E))) P[i, ] <- ref_policy_floor_rescale_row(E[i, ], trim)
  P
}

# Doubly robust scores of one repetition. G, E: n x K matrices (columns in arm order 0..K-1).
ref_policy_scores_one <- function(y, arm, G, E, trim, multi) {
  G <- as.matrix(G)
  E <- as.matrix(E)
  n <- length(y)
  K <- ncol(G)
  stopifnot(nrow(G) == n, nrow(E) == n, ncol(E) == K, length(arm) == n)
  if (multi) {
    P <- ref_policy_floor_rescale(E, trim)
  } else {
    stopifnot(K == 2)
    m <- pmin(pmax(E[, 2], trim), 1 - trim)
    P <- cbind(1 - m, m)
  }
  S <- matrix(NA_real_, n, K)
  for (i in seq_len(n)) {
    for (k in seq_len(K)) {
      d <- as.numeric(arm[i] == k - 1)
      S[i, k] <- G[i, k] + d * (y[i] - G[i, k]) / P[i, k]
    }
  }
  S
}

# Doubly robust score of every arm; G and E may be lists (one matrix per repetition), in which
# case the per-repetition scores are averaged.
ref_policy_scores <- function(y, arm, G, E, trim, multi = FALSE) {
  if (!is.list(G) || is.data.frame(G)) G <- list(G)
  if (!is.list(E) || is.data.frame(E)) E <- list(E)
  stopifnot(length(G) == length(E))
  R <- length(G)
  S <- 0
  for (r in seq_len(R)) {
    S <- S + ref_policy_scores_one(y, arm, G[[r]], E[[r]], trim, multi)
  }
  S / R
}

# Per-row contributions c_i of the policy quantities, n x Q matrix with columns
# "value", "net value" and (K = 2 only) "vs treat-all".
ref_policy_contributions <- function(S, action, cost) {
  S <- as.matrix(S)
  n <- nrow(S)
  K <- ncol(S)
  stopifnot(length(action) == n, length(cost) == K, all(action %in% 0:(K - 1)))
  v <- none <- all_arm <- numeric(n)
  for (i in seq_len(n)) {
    a <- action[i] + 1
    v[i] <- S[i, a] - cost[a]
    none[i] <- S[i, 1]
    if (K == 2) all_arm[i] <- S[i, 2] - cost[2]
  }
  out <- cbind(v, v - none)
  colnames(out) <- c("value", "net value")
  if (K == 2) {
    out <- cbind(out, v - all_arm)
    colnames(out)[3] <- "vs treat-all"
  }
  out
}

# Estimates and influence functions from a contribution matrix C (n x Q):
# estimate = sum(w c) / n, phi_i = w_i (c_i - estimate).
ref_policy_influence <- function(C, w = NULL) {
  C <- as.matrix(C)
  n <- nrow(C)
  w <- ref_policy_weights(w, n)
  est <- numeric(ncol(C))
  phi <- C
  for (q in seq_len(ncol(C))) {
    est[q] <- sum(w * C[, q]) / n
    phi[, q] <- w * (C[, q] - est[q])
  }
  names(est) <- colnames(C)
  list(estimate = est, phi = phi)
}

# se = sqrt(sum over units of (sum of phi within unit)^2) / n; units are rows or clusters.
ref_policy_se <- function(phi, cluster = NULL) {
  phi <- as.matrix(phi)
  n <- nrow(phi)
  if (is.null(cluster)) {
    U <- phi
  } else {
    stopifnot(length(cluster) == n)
    U <- rowsum(phi, cluster, reorder = FALSE)
  }
  se <- numeric(ncol(phi))
  for (q in seq_len(ncol(phi))) se[q] <- sqrt(sum(U[, q]^2)) / n
  se
}

ref_policy_value <- function(S, action, cost, w = NULL, cluster = NULL, level = 0.95) {
  C <- ref_policy_contributions(S, action, cost)
  inf <- ref_policy_influence(C, w)
  se <- ref_policy_se(inf$phi, cluster)
  z <- stats::qnorm((1 + level) / 2)
  data.frame(
    term = colnames(C),
    estimate = unname(inf$estimate),
    std.error = se,
    conf.low = unname(inf$estimate) - z * se,
    conf.high = unname(inf$estimate) + z * se,
    stringsAsFactors = FALSE
  )
}

# Multiplier (Gaussian) bootstrap of influence functions phi (n x Q). Units are rows or clusters
# (in increasing cluster id); draw_b = colSums(xi * U) / n with n the number of rows.
ref_multiplier_bootstrap <- function(phi, cluster = NULL, B, seed) {
  phi <- as.matrix(phi)
  n <- nrow(phi)
  U <- if (is.null(cluster)) phi else rowsum(phi, cluster, reorder = TRUE)  # clusters by increasing id (causal_data numbers them 1..G)
  set.seed(seed)
  draws <- matrix(NA_real_, B, ncol(phi))
  colnames(draws) <- colnames(phi)
  for (b in seq_len(B)) {
    xi <- stats::rnorm(nrow(U))
    draws[b, ] <- colSums(xi * U) / n
  }
  draws
}

# Percentile intervals: estimate + type-7 quantiles of the draws, per column.
ref_boot_interval <- function(estimate, draws, level) {
  draws <- as.matrix(draws)
  stopifnot(length(estimate) == ncol(draws))
  probs <- c((1 - level) / 2, (1 + level) / 2)
  lo <- hi <- numeric(ncol(draws))
  for (q in seq_len(ncol(draws))) {
    qq <- stats::quantile(draws[, q], probs, type = 7, names = FALSE)
    lo[q] <- estimate[q] + qq[1]
    hi[q] <- estimate[q] + qq[2]
  }
  data.frame(conf.low = lo, conf.high = hi)
}

# Budget curve for a binary treatment. Eligible rows: support[1] <= propensity <= support[2]
# (all rows when support is NULL); for each share s, treat the first min(round(s * n), #eligible)
# eligible rows ranked by decreasing scores_for_ranking (ties by row order). `cost` is the cost
# of treatment: a scalar, or a length-2 per-arm vector c(0, cost) (then cost[2] is used).
ref_budget_curve <- function(S, scores_for_ranking, propensity, shares, support, cost,
                             w = NULL, cluster = NULL, level = 0.95) {
  S <- as.matrix(S)
  stopifnot(ncol(S) == 2)
  n <- nrow(S)
  c1 <- if (length(cost) == 2) cost[2] else cost
  stopifnot(length(c1) == 1, length(scores_for_ranking) == n, length(propensity) == n)
  if (is.null(support)) {
    eligible <- which(rep(TRUE, n))
  } else {
    eligible <- which(propensity >= support[1] & propensity <= support[2])
  }
  ranked <- eligible[order(-scores_for_ranking[eligible])]
  gamma <- S[, 2] - S[, 1]
  rows <- list()
  for (s in shares) {
    k <- min(round(s * n), length(ranked))
    pi_ <- numeric(n)
    pi_[ranked[seq_len(k)]] <- 1
    C <- cbind(pi_ * gamma, pi_ * (gamma - c1))
    colnames(C) <- c("value", "net value")
    inf <- ref_policy_influence(C, w)
    se <- ref_policy_se(inf$phi, cluster)
    rows[[length(rows) + 1]] <- data.frame(
      share = s, n_treated = as.integer(k), term = c("value", "net value"),
      estimate = unname(inf$estimate), std.error = se, stringsAsFactors = FALSE
    )
  }
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out
}
