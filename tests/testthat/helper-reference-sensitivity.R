# Independent reference implementation of the sensitivity analysis (DESIGN.md §4, "Sensitivity
# (Long Story Short)"; specs/cx-multitreatment.md §5; Chernozhukov, Cinelli, Newey, Sharma,
# Syrgkanis 2022), written in plain base R from the formulas only, for checking sensitivity().
# Deliberately simple and explicit: clarity beats speed. It recomputes the scores, estimates and
# influence functions itself from the raw data and nuisances (it does not read the fit).
# This file only defines functions; it contains no expectations.
#
# Notation (per repetition s, per contrast k; w = observation weights normalised to mean one):
#   g_hat    outcome regression at the observed treatment
#   sigma2 = mean(w (Y - g_hat)^2),           psi_sigma2 = w (Y - g_hat)^2 - sigma2
#   alpha    Riesz representer,  m_alpha  its "m(W, alpha)" term
#   nu2    = mean(w (2 m_alpha - alpha^2)),   psi_nu2 = w (2 m_alpha - alpha^2) - nu2
#   S      = sqrt(sigma2 nu2) (max_bias_base), psi_S = (sigma2 psi_nu2 + nu2 psi_sigma2) / (2 S)
#   IF     = -(psi_a theta_s + psi_b) / mean(psi_a)
#   v_if = sum_g (sum IF)^2 / n^2, c_if_s = sum_g (sum IF)(sum psi_S) / n^2,
#   v_s = sum_g (sum psi_S)^2 / n^2 (g over clusters, each row its own cluster without them;
#   times G / (G - 1) with the cluster correction).
# Scenario: C = |rho| sqrt(cf_y cf_d / (1 - cf_d)); bounds theta_s -/+ C S_s; CI bounds
# theta_s - C S_s - z1 sqrt(v_if - 2 C c + C^2 v_s) and theta_s + C S_s + z1 sqrt(v_if + 2 C c +
# C^2 v_s), z1 = qnorm(level); medians over repetitions.

sref_weights <- function(weights, n) {
  if (is.null(weights)) return(rep(1, n))
  w <- as.numeric(weights)
  w / mean(w)
}

sref_col <- function(x, s) {
  if (is.null(x)) return(NULL)
  if (is.matrix(x)) x[, s] else x
}

sref_ncol <- function(x) if (is.matrix(x)) ncol(x) else 1L

# Per-repetition elements from the score pieces: returns a list with theta, IF, sigma2,
# psi_sigma2, nu2, psi_nu2, S, psi_S.
sref_pieces <- function(psi_a, psi_b, w, resid, alpha, m_alpha) {
  theta <- -mean(psi_b) / mean(psi_a)
  IF <- -(psi_a * theta + psi_b) / mean(psi_a)
  sigma2 <- mean(w * resid^2)
  psi_sigma2 <- w * resid^2 - sigma2
  nu2 <- mean(w * (2 * m_alpha - alpha^2))
  psi_nu2 <- w * (2 * m_alpha - alpha^2) - nu2
  S <- sqrt(sigma2 * nu2)
  psi_S <- (sigma2 * psi_nu2 + nu2 * psi_sigma2) / (2 * S)
  list(theta = theta, IF = IF, sigma2 = sigma2, psi_sigma2 = psi_sigma2, nu2 = nu2,
       psi_nu2 = psi_nu2, S = S, psi_S = psi_S, alpha = alpha, m_alpha = m_alpha)
}

# PLR elements of repetition s: list with one entry (the single term).
sref_plr_rep <- function(y, d, l, m, g, score, w) {
  v <- d - m
  if (score == "partialling out") {
    psi_a <- -w * v^2
    psi_b <- w * (y - l) * v
  } else {
    psi_a <- -w * v * d
    psi_b <- w * v * (y - g)
  }
  theta <- -mean(psi_b) / mean(psi_a)
  g_hat <- if (score == "partialling out") l + theta * v else g + theta * d
  ev2 <- mean(w * v^2)
  alpha <- v / ev2
  m_alpha <- rep(1 / ev2, length(y))
  list(sref_pieces(psi_a, psi_b, w, y - g_hat, alpha, m_alpha))
}

# Floor-and-rescale trimming of one row (multi-arm scores): floored arms are set to trim, the
# others rescaled to fill the rest, repeated until no rescaled arm falls below trim.
sref_trim_row <- function(p, trim) {
  floored <- rep(FALSE, length(p))
  repeat {
    val <- p * (1 - sum(floored) * trim) / sum(p[!floored])
    newly <- !floored & val < trim
    if (!any(newly)) break
    floored <- floored | newly
  }
  val[floored] <- trim
  val
}

# Arm-based elements (binary IRM = two arms, multi-arm IRM) of repetition s.
#   arm: 0..K-1; G, M: n x K matrices of outcome regressions and raw propensities (arm order);
#   binary: clip m = M[, 2] to [trim, 1 - trim] (M[, 1] = 1 - m) instead of the multi-arm rule.
# Returns a list with one element per contrast k = 1..K-1.
sref_arms_rep <- function(y, arm, G, M, estimand, trim, normalize, w, binary) {
  n <- length(y)
  K <- ncol(M)
  D <- sapply(seq_len(K), function(a) as.numeric(arm == a - 1))
  if (binary) {
    m1 <- pmin(pmax(M[, 2], trim), 1 - trim)
    Mt <- cbind(1 - m1, m1)
  } else {
    Mt <- t(apply(M, 1, sref_trim_row, trim = trim))
  }
  # Hajek factors c_a = mean(w D_a / m_a) (trimmed m); 1 without normalisation
  cc <- if (normalize) colMeans(w * D / Mt) else rep(1, K)
  # effective propensities of the scores: on rows of arm j, m~_j = m_j c_j and every other arm
  # a gets m_a (1 - m~_j) / (1 - m_j)
  Me <- Mt
  if (normalize) {
    for (i in seq_len(n)) {
      j <- arm[i] + 1
      mj <- Mt[i, j] * cc[j]
      Me[i, ] <- Mt[i, ] * (1 - mj) / (1 - Mt[i, j])
      Me[i, j] <- mj
    }
  }
  g_hat <- rowSums(D * G)  # the observed arm's regression
  resid <- y - g_hat
  out <- vector("list", K - 1)
  for (k in seq_len(K - 1)) {
    Dk <- D[, k + 1]
    D0 <- D[, 1]
    gk <- G[, k + 1]
    g0 <- G[, 1]
    if (estimand == "ATE") {
      psi_b <- w * (gk - g0 + Dk * (y - gk) / Me[, k + 1] - D0 * (y - g0) / Me[, 1])
      psi_a <- -w
      alpha <- Dk / (Mt[, k + 1] * cc[k + 1]) - D0 / (Mt[, 1] * cc[1])
      m_alpha <- 1 / (Mt[, k + 1] * cc[k + 1]) + 1 / (Mt[, 1] * cc[1])
    } else {
      pk <- mean(w * Dk)
      psi_b <- w * (Dk * (y - g0) / pk - Me[, k + 1] * D0 * (y - g0) / (pk * Me[, 1]))
      psi_a <- -w * Dk / pk
      alpha <- Dk / pk - Me[, k + 1] * D0 / (pk * Me[, 1])
      m_alpha <- Dk * (Me[, 1] + Me[, k + 1]) / (pk^2 * Me[, 1])
    }
    out[[k]] <- sref_pieces(psi_a, psi_b, w, resid, alpha, m_alpha)
  }
  out
}

# Cluster sums of the rows' values (each row its own cluster without clusters).
sref_cluster_sums <- function(x, cluster) {
  if (is.null(cluster)) return(x)
  as.numeric(tapply(x, factor(cluster), sum))
}

# Sufficient statistics of one (term, rep) from its elements.
sref_suff <- function(el, n, cluster, cluster_correction) {
  a <- sref_cluster_sums(el$IF, cluster)
  b <- sref_cluster_sums(el$psi_S, cluster)
  corr <- 1
  if (!is.null(cluster) && cluster_correction) {
    G <- length(unique(cluster))
    corr <- G / (G - 1)
  }
  c(v_if = corr * sum(a^2) / n^2, c_if_s = corr * sum(a * b) / n^2, v_s = corr * sum(b^2) / n^2)
}

# Elements of a whole fit from raw data and nuisances.
#   model: "PLR", "IRM" (binary) or "MULTI".
#   PLR: nu = list(l, m, g); IRM: nu = list(g0, g1, m); MULTI: nu = list(g = K-list, m = K-list)
#   in the arm order of `labels` (control first); arm = 0..K-1 (d for binary).
# Returns list(terms, n, n_rep, per = list over terms of lists over reps of elements, stats =
# data.frame(term, rep, theta, se, sigma2, nu2, max_bias_base, v_if, c_if_s, v_s), estimate,
# std.error).
sref_elements <- function(model, y, d, nu, score = "partialling out", estimand = "ATE",
                          trim = 0.01, normalize = FALSE, weights = NULL, cluster = NULL,
                          cluster_correction = FALSE, labels = NULL) {
  y <- as.numeric(y)
  n <- length(y)
  w <- sref_weights(weights, n)
  S <- if (model == "MULTI") sref_ncol(nu$m[[1]]) else sref_ncol(nu$m)
  reps <- vector("list", S)
  for (s in seq_len(S)) {
    reps[[s]] <- switch(model,
      PLR = sref_plr_rep(y, as.numeric(d), sref_col(nu$l, s), sref_col(nu$m, s),
                         sref_col(nu$g, s), score, w),
      IRM = sref_arms_rep(y, as.integer(d), cbind(sref_col(nu$g0, s), sref_col(nu$g1, s)),
                          cbind(1 - sref_col(nu$m, s), sref_col(nu$m, s)), estimand, trim,
                          normalize, w, binary = TRUE),
      MULTI = sref_arms_rep(y, as.integer(d), sapply(nu$g, sref_col, s = s),
                            sapply(nu$m, sref_col, s = s), estimand, trim, normalize, w,
                            binary = FALSE))
  }
  J <- length(reps[[1]])
  terms <- switch(model, PLR = "d", IRM = "d", MULTI = paste(labels[-1], "vs", labels[1]))
  if (!is.null(labels) && model != "MULTI") terms <- labels
  per <- lapply(seq_len(J), function(k) lapply(reps, function(r) r[[k]]))
  rows <- list()
  for (k in seq_len(J)) {
    for (s in seq_len(S)) {
      el <- per[[k]][[s]]
      suff <- sref_suff(el, n, cluster, cluster_correction)
      rows[[length(rows) + 1]] <- data.frame(
        term = terms[k], rep = s, theta = el$theta, se = sqrt(suff[["v_if"]]),
        sigma2 = el$sigma2, nu2 = el$nu2, max_bias_base = el$S, v_if = suff[["v_if"]],
        c_if_s = suff[["c_if_s"]], v_s = suff[["v_s"]], stringsAsFactors = FALSE)
    }
  }
  stats <- do.call(rbind, rows)
  estimate <- numeric(J)
  std.error <- numeric(J)
  for (k in seq_len(J)) {
    st <- stats[stats$term == terms[k], ]
    estimate[k] <- median(st$theta)
    std.error[k] <- sqrt(median(n * st$v_if + (st$theta - estimate[k])^2) / n)
  }
  list(terms = terms, n = n, n_rep = S, per = per, stats = stats, estimate = estimate,
       std.error = std.error)
}

# Bias factor C of a scenario.
sref_C <- function(cf_y, cf_d, rho) abs(rho) * sqrt(cf_y * cf_d / (1 - cf_d))

# Aggregated bounds of term k at bias factor C (medians over repetitions).
sref_bounds_at <- function(st, C, level) {
  z1 <- qnorm(level)
  se_lo <- sqrt(st$v_if - 2 * C * st$c_if_s + C^2 * st$v_s)
  se_up <- sqrt(st$v_if + 2 * C * st$c_if_s + C^2 * st$v_s)
  tl <- st$theta - C * st$max_bias_base
  tu <- st$theta + C * st$max_bias_base
  c(theta_lower = median(tl), theta_upper = median(tu),
    ci_lower = median(tl - z1 * se_lo), ci_upper = median(tu + z1 * se_up),
    max_bias = median(C * st$max_bias_base))
}

# The bound on the side of H0 at common strength cf_y = cf_d = r ("theta" or "ci").
sref_bound_at_r <- function(st, estimate, r, rho, level, null, bound = "theta") {
  C <- abs(rho) * r / sqrt(1 - r)   # = sref_C(r, r, rho)
  b <- sref_bounds_at(st, C, level)
  if (estimate > null) {
    if (bound == "theta") b[["theta_lower"]] else b[["ci_lower"]]
  } else {
    if (bound == "theta") b[["theta_upper"]] else b[["ci_upper"]]
  }
}

# Robustness value by root-finding on the aggregated bound (bound "theta": rv; "ci": rva).
sref_rv_root <- function(st, estimate, rho, level, null, bound = "theta") {
  if (estimate == null) return(0)
  f <- function(r) sref_bound_at_r(st, estimate, r, rho, level, null, bound) - null
  f0 <- f(0)
  if ((estimate > null && f0 <= 0) || (estimate < null && f0 >= 0)) return(0)
  if (rho == 0) return(1)
  hi <- 1 - 1e-12
  uniroot(f, c(0, hi), tol = 1e-15, maxiter = 10000)$root
}

# Closed-form rv for one repetition.
sref_rv_closed <- function(theta, S, rho, null) {
  if (rho == 0) return(1)
  a <- abs(theta - null) / (abs(rho) * S)
  (-a^2 + sqrt(a^4 + 4 * a^2)) / 2
}

# The seed's variants: the cf_d reaching H0 at the scenario's cf_y and rho.
sref_rv_d <- function(gap, rho, S, cf_y) {
  if (gap == 0) return(0)
  D <- (gap / (abs(rho) * S * sqrt(cf_y)))^2
  D / (1 + D)
}

# The full table of a scenario (scalars or per-term vectors), from sref_elements().
sref_table <- function(el, cf_y, cf_d, rho = 1, level = 0.95, null = 0) {
  J <- length(el$terms)
  cf_y <- rep_len(cf_y, J)
  cf_d <- rep_len(cf_d, J)
  rho <- rep_len(rho, J)
  z2 <- qnorm(1 - (1 - level) / 2)
  rows <- list()
  for (k in seq_len(J)) {
    st <- el$stats[el$stats$term == el$terms[k], ]
    st <- st[order(st$rep), ]
    C <- sref_C(cf_y[k], cf_d[k], rho[k])
    b <- sref_bounds_at(st, C, level)
    est <- el$estimate[k]
    S_agg <- median(st$max_bias_base)
    rv <- if (nrow(st) == 1) sref_rv_closed(est, S_agg, rho[k], null)
          else sref_rv_root(st, est, rho[k], level, null, "theta")
    if (est == null) rv <- 0
    rva <- sref_rv_root(st, est, rho[k], level, null, "ci")
    gap <- abs(est - null)
    rows[[k]] <- data.frame(
      term = el$terms[k], estimate = est, std.error = el$std.error[k], cf_y = cf_y[k],
      cf_d = cf_d[k], rho = rho[k], theta_lower = b[["theta_lower"]],
      theta_upper = b[["theta_upper"]], ci_lower = b[["ci_lower"]], ci_upper = b[["ci_upper"]],
      max_bias = b[["max_bias"]], max_bias_base = S_agg, sigma2 = median(st$sigma2),
      nu2 = median(st$nu2), rv = rv, rva = rva,
      rv_d = sref_rv_d(gap, rho[k], S_agg, cf_y[k]),
      rva_d = sref_rv_d(max(gap - z2 * el$std.error[k], 0), rho[k], S_agg, cf_y[k]),
      stringsAsFactors = FALSE)
  }
  do.call(rbind, rows)
}

# Signed variant (one repetition): max_bias = sqrt(sigma2 nu2_signed).
sref_signed_max_bias <- function(el_rep, w, cf_y, cf_d, rho) {
  cfd <- cf_d / (1 - cf_d)
  a <- el_rep$alpha
  ma <- el_rep$m_alpha
  nu2s <- mean(w * pmax(0, 2 * ma * cf_y + a^2 * cfd + 2 * rho * sqrt(cf_y * cfd) * sqrt(2 * ma) * a))
  sqrt(el_rep$sigma2 * nu2s)
}

# ---------------------------------------------------------------------------
# Fixed data and nuisances for the tests
# ---------------------------------------------------------------------------

# Fold ids (n x S): random, at the cluster level when there are clusters (so no warning about
# clusters split across folds).
sens_folds <- function(n, S, cluster = NULL) {
  if (is.null(cluster)) return(matrix(sample(rep(1:5, length.out = n * S)), n, S))
  ids <- sort(unique(cluster))
  sapply(seq_len(S), function(s) sample(rep(1:5, length.out = length(ids)))[match(cluster, ids)])
}

# Continuous-treatment PLR data with noisy "nuisances" (n x S matrices) and folds.
sens_plr_case <- function(n = 400, S = 1, seed = 1, n_clusters = 0, weights = FALSE) {
  df <- make_test_data(n = n, seed = seed, binary_d = FALSE, n_clusters = n_clusters,
                       weights = weights)
  X <- X_of(df)
  lin <- drop(X %*% seq(0.5, -0.5, length.out = ncol(X)))
  set.seed(seed + 100)
  nz <- function(mu, sd) matrix(mu + rnorm(n * S, sd = sd), n, S)
  l <- nz(1.5 * lin + 0.5 * X[, 1]^2, 0.3)   # E[y | X] = (1 + 0.5) lin + 0.5 x1^2
  m <- nz(0.5 * lin, 0.2)
  g <- nz(lin + 0.5 * X[, 1]^2, 0.3)
  folds <- sens_folds(n, S, df$cl)
  list(df = df, nu = list(l = l, m = m, g = g), folds = folds)
}

# Binary-treatment IRM data with noisy nuisances; some propensities below 0.01 (trimming
# matters).
sens_irm_case <- function(n = 500, S = 1, seed = 2, n_clusters = 0, weights = FALSE) {
  df <- make_test_data(n = n, seed = seed, binary_d = TRUE, n_clusters = n_clusters,
                       weights = weights)
  X <- X_of(df)
  lin <- drop(X %*% seq(0.5, -0.5, length.out = ncol(X)))
  set.seed(seed + 200)
  g0 <- matrix(lin + 0.5 * X[, 1]^2 + rnorm(n * S, sd = 0.3), n, S)
  g1 <- matrix(1 + lin + 0.5 * X[, 1]^2 + rnorm(n * S, sd = 0.3), n, S)
  m <- matrix(plogis(0.8 * lin + rnorm(n * S, sd = 0.3)), n, S)
  # 4% of the control rows get propensities below 0.01, so that trimming matters (only there:
  # the inverse weights of the observed arm stay moderate, and treated rows keep m c_1 < 1
  # under Hajek normalisation, where the ATT's nu2 could otherwise turn negative)
  control <- which(rep(df$d, S) == 0)
  extreme <- control[sample(length(control), ceiling(0.04 * n * S))]
  m[extreme] <- runif(length(extreme), 0.001, 0.009)
  folds <- sens_folds(n, S, df$cl)
  list(df = df, nu = list(g0 = g0, g1 = g1, m = m), folds = folds)
}

# Multi-arm nuisances near the truth of make_multi_data(): propensities from a softmax of the
# true log-propensities plus small noise; on 3% of the rows one arm that was not observed gets
# a raw propensity of 0.002..0.009 (rows then need not sum to one; floor-and-rescale trimming
# matters); g_k = the true regression plus noise. (Much noisier propensities make the
# empirical nu2 = mean(2 m_alpha - alpha^2) negative, a case the contract leaves open.)
sens_multi_nuisances <- function(df, S, seed) {
  P0 <- attr(df, "propensity")
  truth <- attr(df, "g_true")
  set.seed(seed)
  n <- nrow(P0)
  K <- ncol(P0)
  arm <- match(df$arm, c("ctl", "alpha", "beta", "gamma")[seq_len(K)])
  g <- lapply(seq_len(K), function(k) matrix(NA_real_, n, S))
  m <- lapply(seq_len(K), function(k) matrix(NA_real_, n, S))
  for (s in seq_len(S)) {
    P <- exp(log(P0) + matrix(rnorm(n * K, sd = 0.1), n, K))
    P <- P / rowSums(P)
    rows <- sample(n, ceiling(0.03 * n))
    for (i in rows) {
      a <- sample(setdiff(seq_len(K), arm[i]), 1)
      P[i, a] <- runif(1, 0.002, 0.009)
    }
    for (k in seq_len(K)) {
      m[[k]][, s] <- P[, k]
      g[[k]][, s] <- truth[, k] + rnorm(n, sd = 0.3)
    }
  }
  list(g = g, m = m)
}

# Multi-arm data (make_multi_data, from the multi-arm reference helper) with the nuisances above
# in the data's label order, which is the spec's order.
sens_multi_case <- function(n = 600, K = 3, S = 1, seed = 3, n_clusters = 0, weights = FALSE) {
  df <- make_multi_data(n = n, K = K, seed = seed, n_clusters = n_clusters, weights = weights,
                        strength = 0.6)
  nu <- sens_multi_nuisances(df, S = S, seed = seed + 300)
  labels <- c("ctl", "alpha", "beta", "gamma")[seq_len(K)]
  set.seed(seed + 301)
  folds <- sens_folds(n, S, df$cl)
  list(df = df, nu = nu, labels = labels, folds = folds)
}
