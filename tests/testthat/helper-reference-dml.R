# Independent reference implementation of the DML estimators, written in
# plain base R (+ stats) for checking the package's C++ code in tests.
# Deliberately simple and loop-based: clarity beats speed.
# This file only defines functions; it contains no expectations.

# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

# Coerce a vector or matrix to a numeric matrix (a vector becomes 1 column).
ref_as_matrix <- function(x) {
  if (is.null(x)) return(NULL)
  if (!is.matrix(x)) x <- matrix(x, ncol = 1)
  x
}

# Normalised weights: rep(1, n) if NULL, otherwise w / mean(w).
ref_weights <- function(weights, n) {
  if (is.null(weights)) return(rep(1, n))
  w <- as.numeric(weights)
  w / mean(w)
}

# Point estimate and variance for one repetition from the linear score
# psi = psi_a * theta + psi_b, optionally with cluster-robust variance.
ref_inference_one <- function(psi_a, psi_b, cluster = NULL) {
  n <- length(psi_a)
  theta <- -mean(psi_b) / mean(psi_a)
  psi <- psi_a * theta + psi_b
  J <- mean(psi_a)
  if (is.null(cluster)) {
    v <- mean(psi^2) / (n * J^2)
  } else {
    ids <- unique(cluster)
    total <- 0
    for (g in seq_along(ids)) {
      in_g <- cluster == ids[g]
      S_g <- sum(psi[in_g])
      total <- total + S_g^2
    }
    v <- total / (n * J)^2
  }
  list(theta = theta, se = sqrt(v))
}

# Median aggregation over repetitions plus normal-based inference.
ref_aggregate <- function(theta_rep, se_rep, n, level = 0.95) {
  theta <- median(theta_rep)
  se <- sqrt(median(n * se_rep^2 + (theta_rep - theta)^2) / n)
  statistic <- theta / se
  z <- qnorm(1 - (1 - level) / 2)
  list(
    theta = theta,
    se = se,
    theta_rep = theta_rep,
    se_rep = se_rep,
    statistic = statistic,
    p.value = 2 * pnorm(-abs(statistic)),
    conf.low = theta - z * se,
    conf.high = theta + z * se
  )
}

# ---------------------------------------------------------------------------
# Score-level estimators (nuisance predictions supplied)
# ---------------------------------------------------------------------------

# PLR estimator from given nuisance predictions l = E[y|X], m = E[d|X]
# (and g = E[y - theta d | X] for the "IV-type" score), with median
# aggregation over the columns (repetitions) of the nuisance matrices.
ref_plr <- function(y, d, l, m, g = NULL,
                    score = c("partialling out", "IV-type"),
                    weights = NULL, cluster = NULL, level = 0.95) {
  score <- match.arg(score)
  y <- as.numeric(y)
  d <- as.numeric(d)
  n <- length(y)
  w <- ref_weights(weights, n)
  l <- ref_as_matrix(l)
  m <- ref_as_matrix(m)
  g <- ref_as_matrix(g)
  S <- ncol(m)
  theta_rep <- numeric(S)
  se_rep <- numeric(S)
  for (s in seq_len(S)) {
    v <- d - m[, s]
    if (score == "partialling out") {
      u <- y - l[, s]
      psi_a <- -w * v^2
      psi_b <- w * u * v
    } else {
      if (is.null(g)) stop("IV-type score needs g")
      psi_a <- -w * v * d
      psi_b <- w * v * (y - g[, s])
    }
    res <- ref_inference_one(psi_a, psi_b, cluster)
    theta_rep[s] <- res$theta
    se_rep[s] <- res$se
  }
  ref_aggregate(theta_rep, se_rep, n, level)
}

# IRM (AIPW) estimator of the ATE or ATT from given nuisance predictions
# g0 = E[y|X,d=0], g1 = E[y|X,d=1], m = P(d=1|X); propensities are clipped
# to [trim, 1 - trim] and optionally Hajek-normalised.
ref_irm <- function(y, d, g0, g1, m, estimand = c("ATE", "ATT"),
                    trim = 0.01, normalize = FALSE,
                    weights = NULL, cluster = NULL, level = 0.95) {
  estimand <- match.arg(estimand)
  y <- as.numeric(y)
  d <- as.numeric(d)
  n <- length(y)
  w <- ref_weights(weights, n)
  g0 <- ref_as_matrix(g0)
  g1 <- ref_as_matrix(g1)
  m <- ref_as_matrix(m)
  S <- ncol(m)
  theta_rep <- numeric(S)
  se_rep <- numeric(S)
  for (s in seq_len(S)) {
    ms <- pmin(pmax(m[, s], trim), 1 - trim)
    if (normalize) {
      c1 <- mean(w * d / ms)
      c0 <- mean(w * (1 - d) / (1 - ms))
      ms <- d * ms * c1 + (1 - d) * (1 - (1 - ms) * c0)
    }
    g0s <- g0[, s]
    g1s <- g1[, s]
    if (estimand == "ATE") {
      psi_b <- w * (g1s - g0s + d * (y - g1s) / ms -
                      (1 - d) * (y - g0s) / (1 - ms))
      psi_a <- -w
    } else {
      p <- mean(w * d)
      psi_b <- w * (d * (y - g0s) / p -
                      ms * (1 - d) * (y - g0s) / (p * (1 - ms)))
      psi_a <- -w * d / p
    }
    res <- ref_inference_one(psi_a, psi_b, cluster)
    theta_rep[s] <- res$theta
    se_rep[s] <- res$se
  }
  ref_aggregate(theta_rep, se_rep, n, level)
}

# ---------------------------------------------------------------------------
# Cross-fitting of nuisance functions
# ---------------------------------------------------------------------------

# Cross-fitting loop shared by the two learners below: for each repetition s and fold k, fit
# `fit_coef(X_train_with_intercept, y_train)` on the other folds (and subset, if given) and
# predict `inverse_link(eta)` for every row of the held-out fold. Returns an n x S matrix.
ref_crossfit <- function(X, target, folds, subset, fit_coef, inverse_link) {
  X <- ref_as_matrix(X)
  folds <- ref_as_matrix(folds)
  target <- as.numeric(target)
  n <- nrow(X)
  S <- ncol(folds)
  out <- matrix(NA_real_, n, S)
  for (s in seq_len(S)) {
    fold_ids <- sort(unique(folds[, s]))
    for (k in fold_ids) {
      test <- folds[, s] == k
      train <- !test
      if (!is.null(subset)) train <- train & subset
      beta <- fit_coef(cbind(1, X[train, , drop = FALSE]), target[train])
      beta[is.na(beta)] <- 0  # aliased columns contribute nothing
      out[test, s] <- inverse_link(drop(cbind(1, X[test, , drop = FALSE]) %*% beta))
    }
  }
  out
}

# Cross-fitted OLS predictions (with intercept) of target on X.
ref_crossfit_lm <- function(X, target, folds, subset = NULL) {
  ref_crossfit(X, target, folds, subset,
               function(x, y) lm.fit(x, y)$coefficients, identity)
}

# Cross-fitted logistic-regression probabilities (with intercept) of a binary target on X.
ref_crossfit_glm <- function(X, target, folds, subset = NULL) {
  ref_crossfit(X, target, folds, subset, function(x, y) {
    glm.fit(x, y, family = binomial(),
            control = glm.control(epsilon = 1e-14, maxit = 100))$coefficients
  }, plogis)
}

# ---------------------------------------------------------------------------
# Full DML fits (cross-fitting + score)
# ---------------------------------------------------------------------------

# PLR with OLS nuisances. For the IV-type score, g for repetition s is the
# cross-fitted regression of y - theta0_s * d on X, where theta0_s is the
# partialling-out estimate of repetition s.
ref_plr_fit <- function(X, y, d, folds,
                        score = c("partialling out", "IV-type"),
                        weights = NULL, cluster = NULL) {
  score <- match.arg(score)
  folds <- ref_as_matrix(folds)
  S <- ncol(folds)
  l <- ref_crossfit_lm(X, y, folds)
  m <- ref_crossfit_lm(X, d, folds)
  g <- NULL
  if (score == "IV-type") {
    g <- matrix(NA_real_, length(y), S)
    for (s in seq_len(S)) {
      po <- ref_plr(y, d, l[, s], m[, s], score = "partialling out",
                    weights = weights)
      theta0_s <- po$theta
      g[, s] <- ref_crossfit_lm(X, y - theta0_s * d, folds[, s])[, 1]
    }
  }
  res <- ref_plr(y, d, l, m, g, score = score,
                 weights = weights, cluster = cluster)
  res$l <- l
  res$m <- m
  res$g <- g
  res
}

# IRM with OLS outcome models per treatment arm and a logistic propensity
# model; the returned m is the untrimmed cross-fitted propensity.
ref_irm_fit <- function(X, y, d, folds, estimand = c("ATE", "ATT"),
                        trim = 0.01, normalize = FALSE,
                        weights = NULL, cluster = NULL) {
  estimand <- match.arg(estimand)
  g0 <- ref_crossfit_lm(X, y, folds, subset = d == 0)
  g1 <- ref_crossfit_lm(X, y, folds, subset = d == 1)
  m <- ref_crossfit_glm(X, d, folds)
  res <- ref_irm(y, d, g0, g1, m, estimand = estimand, trim = trim,
                 normalize = normalize, weights = weights, cluster = cluster)
  res$g0 <- g0
  res$g1 <- g1
  res$m <- m
  res
}

# The baselines' references (diff_in_means, ipw, t_learner) are in helper-reference-baselines.R.
