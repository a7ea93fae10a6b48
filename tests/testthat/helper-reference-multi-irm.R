# Independent reference implementation of the multi-treatment IRM (DESIGN.md §4, "Multi-treatment
# IRM"; specs/cx-multitreatment.md §2), written in plain base R for checking dml_multi_irm().
# Deliberately simple and loop-based: clarity beats speed.
# This file only defines functions; it contains no expectations.

# Floor-and-rescale trimming of one row of raw propensities p (length K, need not sum to 1):
# floored arms are set to `trim`, the others are rescaled to fill the remaining mass; repeated
# until no rescaled arm falls below `trim`.
ref_multi_trim_row <- function(p, trim) {
  K <- length(p)
  floored <- rep(FALSE, K)
  repeat {
    scale <- (1 - sum(floored) * trim) / sum(p[!floored])
    val <- p * scale
    newly <- !floored & val < trim
    if (!any(newly)) break
    floored <- floored | newly
  }
  out <- p * scale
  out[floored] <- trim
  out
}

# Trimming of an n x K matrix of raw propensities, row by row.
ref_multi_trim <- function(m, trim) {
  out <- m
  for (i in seq_len(nrow(m))) out[i, ] <- ref_multi_trim_row(m[i, ], trim)
  out
}

# Hajek normalisation of trimmed propensities mt (n x K) for observed arms `arm` (0..K-1) and
# normalised weights w: c_j = mean(w D_j / m_j); on a row of arm j, m_j becomes m_j c_j and every
# other arm a becomes m_a (1 - m~_j) / (1 - m_j).
ref_multi_normalize <- function(mt, arm, w) {
  K <- ncol(mt)
  cc <- numeric(K)
  for (j in seq_len(K)) cc[j] <- mean(w * (arm == j - 1) / mt[, j])
  out <- mt
  for (i in seq_len(nrow(mt))) {
    j <- arm[i] + 1
    new_j <- mt[i, j] * cc[j]
    for (a in seq_len(K)) {
      if (a == j) {
        out[i, a] <- new_j
      } else {
        out[i, a] <- mt[i, a] * (1 - new_j) / (1 - mt[i, j])
      }
    }
  }
  out
}

# Influence-function matrix of linear scores: columns of psi_a, psi_b (n x J) give the estimates
# theta_j = -mean(psi_b_j) / mean(psi_a_j) and IF_j = -(psi_a_j theta_j + psi_b_j) / mean(psi_a_j).
ref_if <- function(psi_a, psi_b) {
  J <- ncol(psi_a)
  theta <- numeric(J)
  IF <- psi_a
  for (j in seq_len(J)) {
    theta[j] <- -mean(psi_b[, j]) / mean(psi_a[, j])
    IF[, j] <- -(psi_a[, j] * theta[j] + psi_b[, j]) / mean(psi_a[, j])
  }
  list(theta = theta, IF = IF)
}

# Joint covariance of the estimates from the IF matrix, optionally cluster-robust.
ref_if_vcov <- function(IF, cluster = NULL, cluster_correction = FALSE) {
  n <- nrow(IF)
  if (is.null(cluster)) return(crossprod(IF) / n^2)
  ids <- unique(cluster)
  G <- length(ids)
  sums <- matrix(0, G, ncol(IF))
  for (g in seq_len(G)) sums[g, ] <- colSums(IF[cluster == ids[g], , drop = FALSE])
  V <- crossprod(sums) / n^2
  if (cluster_correction) V <- V * G / (G - 1)
  V
}

# Multi-arm IRM estimates from given nuisances.
#   y: outcome; arm: arm index 0..K-1 (0 = control);
#   g, m: lists of K matrices (n x S) or vectors, in arm order (g may hold NULLs for the ATT,
#         except the control's);
#   labels: arm labels in arm order (for names).
# Returns theta/se per contrast, per-repetition values, joint covariances, baselines mu and
# the relative effects.
ref_multi_irm <- function(y, arm, g, m, estimand = c("ATE", "ATT"), trim = 0.01,
                          normalize = FALSE, weights = NULL, cluster = NULL,
                          cluster_correction = FALSE, level = 0.95,
                          labels = paste0("arm", seq_along(m) - 1)) {
  estimand <- match.arg(estimand)
  y <- as.numeric(y)
  arm <- as.integer(arm)
  n <- length(y)
  K <- length(m)
  w <- ref_weights(weights, n)
  m <- lapply(m, ref_as_matrix)
  g <- lapply(g, ref_as_matrix)
  S <- ncol(m[[1]])
  D <- sapply(seq_len(K), function(k) as.numeric(arm == k - 1))
  J <- K - 1
  theta_rep <- matrix(NA_real_, S, J)
  se_rep <- matrix(NA_real_, S, J)
  mu_rep <- matrix(NA_real_, S, J)
  mu_se_rep <- matrix(NA_real_, S, J)
  V_rep <- vector("list", S)
  psi_a_rep <- vector("list", S)
  psi_b_rep <- vector("list", S)
  trimmed_rep <- vector("list", S)
  for (s in seq_len(S)) {
    raw <- sapply(seq_len(K), function(k) m[[k]][, s])
    mt <- ref_multi_trim(raw, trim)
    trimmed_rep[[s]] <- mt
    if (normalize) mt <- ref_multi_normalize(mt, arm, w)
    g0 <- g[[1]][, s]
    psi_a <- matrix(NA_real_, n, 2 * J)
    psi_b <- matrix(NA_real_, n, 2 * J)
    for (k in seq_len(J)) {
      Dk <- D[, k + 1]
      D0 <- D[, 1]
      mk <- mt[, k + 1]
      m0 <- mt[, 1]
      if (estimand == "ATE") {
        gk <- g[[k + 1]][, s]
        psi_b[, k] <- w * (gk - g0 + Dk * (y - gk) / mk - D0 * (y - g0) / m0)
        psi_a[, k] <- -w
        psi_b[, J + k] <- w * (g0 + D0 * (y - g0) / m0)
        psi_a[, J + k] <- -w
      } else {
        pk <- mean(w * Dk)
        psi_b[, k] <- w * (Dk * (y - g0) / pk - mk * D0 * (y - g0) / (pk * m0))
        psi_a[, k] <- -w * Dk / pk
        psi_b[, J + k] <- w * Dk * y / pk - psi_b[, k]
        psi_a[, J + k] <- -w * Dk / pk
      }
    }
    est <- ref_if(psi_a, psi_b)
    V <- ref_if_vcov(est$IF, cluster, cluster_correction)
    theta_rep[s, ] <- est$theta[seq_len(J)]
    mu_rep[s, ] <- est$theta[J + seq_len(J)]
    se_rep[s, ] <- sqrt(diag(V))[seq_len(J)]
    mu_se_rep[s, ] <- sqrt(diag(V))[J + seq_len(J)]
    V_rep[[s]] <- V
    psi_a_rep[[s]] <- psi_a[, seq_len(J), drop = FALSE]
    psi_b_rep[[s]] <- psi_b[, seq_len(J), drop = FALSE]
  }
  # median aggregation over repetitions
  t_rep <- cbind(theta_rep, mu_rep)
  t_med <- apply(t_rep, 2, median)
  adj <- array(NA_real_, c(2 * J, 2 * J, S))
  for (s in seq_len(S)) {
    dev <- t_rep[s, ] - t_med
    adj[, , s] <- V_rep[[s]] + tcrossprod(dev) / n
  }
  V <- apply(adj, c(1, 2), median)
  theta <- t_med[seq_len(J)]
  mu <- t_med[J + seq_len(J)]
  se <- numeric(J)
  for (k in seq_len(J)) se[k] <- sqrt(median(se_rep[, k]^2 + (theta_rep[, k] - theta[k])^2 / n))
  terms <- paste(labels[-1], "vs", labels[1])
  dimnames(V) <- list(c(terms, paste("baseline:", terms)), c(terms, paste("baseline:", terms)))
  z <- qnorm(1 - (1 - level) / 2)
  # relative effects (delta method)
  rel <- 100 * theta / mu
  rel_se <- numeric(J)
  for (k in seq_len(J)) {
    Vtt <- V[k, k]
    Vmm <- V[J + k, J + k]
    Vtm <- V[k, J + k]
    a <- 100 / mu[k]
    b <- 100 * theta[k] / mu[k]^2
    rel_se[k] <- sqrt(a^2 * Vtt + b^2 * Vmm - 2 * a * b * Vtm)
  }
  list(
    theta = setNames(theta, terms),
    se = se,
    theta_rep = theta_rep,
    se_rep = se_rep,
    mu = mu,
    mu_se = unname(sqrt(diag(V))[J + seq_len(J)]),
    mu_rep = mu_rep,
    vcov = V[seq_len(J), seq_len(J), drop = FALSE],
    vcov_joint = V,
    statistic = theta / se,
    p.value = 2 * pnorm(-abs(theta / se)),
    conf.low = theta - z * se,
    conf.high = theta + z * se,
    relative = data.frame(term = terms, baseline = mu, baseline_se = unname(sqrt(diag(V))[J + seq_len(J)]),
                          estimate = rel, std.error = rel_se,
                          conf.low = rel - z * rel_se, conf.high = rel + z * rel_se),
    psi_a = psi_a_rep,
    psi_b = psi_b_rep,
    m_trimmed = trimmed_rep,
    terms = terms
  )
}

# Random test nuisances for the data of make_multi_data(): raw propensities from a softmax of
# noisy, sharpened versions of the true arm scores (so some fall below a trim of 0.01..0.05),
# optionally perturbed so rows no longer sum to exactly one; g_k = the true regression of arm k
# plus noise. Returns list(g, m) of K-lists of n x S matrices (arm order of the data's labels).
ref_multi_random_nuisances <- function(df, S = 1, seed = 1, sharpen = 2, perturb = TRUE) {
  P0 <- attr(df, "propensity")
  truth <- attr(df, "g_true")
  set.seed(seed)
  n <- nrow(P0)
  K <- ncol(P0)
  g <- vector("list", K)
  m <- vector("list", K)
  for (k in seq_len(K)) {
    g[[k]] <- matrix(NA_real_, n, S)
    m[[k]] <- matrix(NA_real_, n, S)
  }
  for (s in seq_len(S)) {
    scores <- sharpen * log(P0) + matrix(rnorm(n * K, sd = 0.3), n, K)
    P <- exp(scores)
    P <- P / rowSums(P)
    if (perturb) P <- pmin(P * runif(n * K, 0.97, 1.03), 1)
    for (k in seq_len(K)) {
      m[[k]][, s] <- P[, k]
      g[[k]][, s] <- truth[, k] + rnorm(n, sd = 0.3)
    }
  }
  list(g = g, m = m)
}

# Fixed multi-arm data: covariates x1..xp, arm labels drawn from a softmax of linear scores,
# outcome linear with a constant effect per arm (effects[k] for arm k, effects[1] = 0 for
# the control). Arm labels are `labels` (first = control).
make_multi_data <- function(n = 1000, p = 3, K = 3, seed = 1, effects = c(0, 1, -0.5, 0.25)[seq_len(K)],
                            labels = c("ctl", "alpha", "beta", "gamma")[seq_len(K)],
                            strength = 1, intercept = 2, n_clusters = 0, weights = FALSE) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  stopifnot(p >= 3, K <= 4)
  B <- matrix(c(0, 0, 0, 0.8, -0.6, 0.3, -0.5, 0.7, 0.6, 0.4, 0.4, -0.8), 3, 4)[, seq_len(K), drop = FALSE]
  scores <- strength * X[, 1:3, drop = FALSE] %*% B
  P <- exp(scores)
  P <- P / rowSums(P)
  u <- runif(n)
  idx <- 1L + rowSums(u > t(apply(P, 1, cumsum))[, -K, drop = FALSE])
  arm <- labels[idx]
  lin <- intercept + drop(X %*% seq(0.6, -0.4, length.out = p))
  y <- effects[idx] + lin + rnorm(n)
  df <- data.frame(X, arm = arm, y = y, stringsAsFactors = FALSE)
  if (n_clusters > 0) df$cl <- sample(seq_len(n_clusters), n, replace = TRUE)
  if (weights) df$w <- runif(n, 0.2, 2)
  attr(df, "propensity") <- P
  attr(df, "g_true") <- outer(lin, effects, "+")
  df
}

multi_spec <- function(df, control = "ctl", ...) {
  causal_data(df, outcome = "y", treatment = "arm", covariates = grep("^x", names(df), value = TRUE),
              control = control, ...)
}

# External-nuisance list for dml_multi_irm() from K-lists g, m in the arm order of `labels`.
multi_nuisance_list <- function(g, m, labels, folds = NULL) {
  out <- list()
  for (k in seq_along(labels)) {
    if (!is.null(g[[k]])) out[[paste0("g_", labels[k])]] <- g[[k]]
    out[[paste0("m_", labels[k])]] <- m[[k]]
  }
  if (!is.null(folds)) out$folds <- folds
  out
}

# A dml_multi_irm fit against a ref_multi_irm result.
expect_multi_matches_reference <- function(fit, ref, tol = 1e-8) {
  J <- length(ref$theta)
  expect_equal(names(coef(fit)), ref$terms)
  expect_equal(unname(coef(fit)), unname(ref$theta), tolerance = tol)
  expect_equal(fit$se, ref$se, tolerance = tol)
  expect_equal(unname(fit$theta_rep), ref$theta_rep, tolerance = tol)
  expect_equal(unname(fit$se_rep), ref$se_rep, tolerance = tol)
  expect_equal(unname(vcov(fit)), unname(ref$vcov), tolerance = tol)
  expect_equal(dimnames(vcov(fit)), list(ref$terms, ref$terms))
  expect_equal(unname(fit$vcov_joint), unname(ref$vcov_joint), tolerance = tol)
  expect_equal(fit$baseline$term, ref$terms)
  expect_equal(fit$baseline$estimate, ref$mu, tolerance = tol)
  expect_equal(fit$baseline$std.error, ref$mu_se, tolerance = tol)
  ci <- confint(fit)
  expect_equal(unname(ci[, 1]), unname(ref$conf.low), tolerance = tol)
  expect_equal(unname(ci[, 2]), unname(ref$conf.high), tolerance = tol)
  td <- tidy(fit)
  expect_equal(td$term, ref$terms)
  expect_equal(td$p.value, unname(ref$p.value), tolerance = tol)
  rel <- relative_effects(fit)
  expect_equal(rel$term, ref$terms)
  for (col in c("baseline", "baseline_se", "estimate", "std.error", "conf.low", "conf.high")) {
    expect_equal(rel[[col]], ref$relative[[col]], tolerance = tol, label = paste0("relative_effects()$", col))
  }
  rel90 <- relative_effects(fit, level = 0.9)
  expect_equal(rel90$conf.low, ref$relative$estimate - qnorm(0.95) * ref$relative$std.error, tolerance = tol)
  expect_equal(rel90$conf.high, ref$relative$estimate + qnorm(0.95) * ref$relative$std.error, tolerance = tol)
}

# Multinomial logistic regression (softmax, class 1 = reference) by Newton's method, with an
# intercept: returns the (p + 1) x (K - 1) coefficient matrix of classes 2..K.
ref_arm_multinom_fit <- function(X, cls, K, tol = 1e-13, maxit = 100) {
  Z <- cbind(1, X)
  q <- ncol(Z)
  Y <- sapply(seq_len(K), function(k) as.numeric(cls == k))
  beta <- matrix(0, q, K - 1)
  for (it in seq_len(maxit)) {
    eta <- cbind(0, Z %*% beta)
    eta <- eta - apply(eta, 1, max)
    P <- exp(eta)
    P <- P / rowSums(P)
    grad <- as.vector(crossprod(Z, Y[, -1, drop = FALSE] - P[, -1, drop = FALSE]))
    H <- matrix(0, q * (K - 1), q * (K - 1))
    for (a in seq_len(K - 1)) {
      for (b in seq_len(K - 1)) {
        wab <- P[, a + 1] * ((a == b) - P[, b + 1])
        H[(a - 1) * q + seq_len(q), (b - 1) * q + seq_len(q)] <- crossprod(Z, Z * wab)
      }
    }
    step <- solve(H, grad)
    beta <- beta + matrix(step, q, K - 1)
    if (max(abs(step)) < tol) break
  }
  beta
}

# Cross-fitted multinomial probabilities: a K-list of n x S matrices, one per class.
ref_crossfit_multinom <- function(X, cls, K, folds) {
  folds <- ref_as_matrix(folds)
  n <- nrow(X)
  S <- ncol(folds)
  out <- lapply(seq_len(K), function(k) matrix(NA_real_, n, S))
  for (s in seq_len(S)) {
    for (f in sort(unique(folds[, s]))) {
      test <- folds[, s] == f
      beta <- ref_arm_multinom_fit(X[!test, , drop = FALSE], cls[!test], K)
      eta <- cbind(0, cbind(1, X[test, , drop = FALSE]) %*% beta)
      P <- exp(eta - apply(eta, 1, max))
      P <- P / rowSums(P)
      for (k in seq_len(K)) out[[k]][test, s] <- P[, k]
    }
  }
  out
}
