# Independent reference computations of the design diagnostics (specs/cx-multitreatment.md
# §3-§4 and the documentation of diagnose_scores() / balance_table()), written from the
# formulas with plain loops and base R. They never call the package's diagnostic functions.
# This file only defines functions; it contains no expectations.

# ---------------------------------------------------------------------------
# Test inputs: K = 3 arms from fixed matrices
# ---------------------------------------------------------------------------

# Floors every propensity of a row at `trim` and rescales the others to sum 1 - (floored
# mass), repeating until no rescaled value falls below trim (the multi-arm trimming rule).
ref_trim_rows <- function(M, trim) {
  out <- M
  for (i in seq_len(nrow(M))) {
    floored <- rep(FALSE, ncol(M))
    repeat {
      free <- sum(M[i, !floored])
      scale <- (1 - sum(floored) * trim) / free
      value <- M[i, ] * scale
      newly <- !floored & value < trim
      if (!any(newly)) break
      floored <- floored | newly
    }
    out[i, ] <- ifelse(floored, trim, M[i, ] * (1 - sum(floored) * trim) / sum(M[i, !floored]))
  }
  out
}

# A three-arm design: covariates (with ties and a 0/1 column), raw softmax propensities with
# some extreme rows and repeated rows (ties in the pair scores), arms drawn from them,
# outcome regressions and outcomes.
ref_multi_design <- function(n = 450, seed = 7, trim = 0.01, arms = c("ctrl", "a", "b")) {
  set.seed(seed)
  X <- cbind(age = round(runif(n, 18, 70)), score = rnorm(n), flag = rbinom(n, 1, 0.4),
             level = sample(1:4, n, replace = TRUE))
  lin1 <- 0.8 * X[, "score"] + 0.6 * X[, "flag"] - 0.02 * (X[, "age"] - 40)
  lin2 <- -0.5 * X[, "score"] + 0.3 * X[, "level"] - 0.8
  lin1[1:15] <- lin1[1:15] + 6      # extreme rows: arm a almost certain
  lin2[16:30] <- lin2[16:30] - 7    # arm b almost impossible
  E <- cbind(1, exp(lin1), exp(lin2))
  M_raw <- E / rowSums(E)
  M_raw[31:60, ] <- M_raw[61:90, ]  # repeated rows: tied pair scores
  X[31:60, ] <- X[61:90, ]
  d <- vapply(seq_len(n), function(i) sample(0:2, 1, prob = M_raw[i, ]), integer(1))
  d[1:3] <- 0L                      # controls with an extreme arm-a propensity
  d[c(4, 100, 200)] <- c(2L, 1L, 2L)
  colnames(M_raw) <- arms
  M_trim <- ref_trim_rows(M_raw, trim)
  G <- cbind(0.2 + 0.1 * X[, "score"], 0.5 + 0.1 * X[, "score"], 0.1 - 0.05 * X[, "flag"])
  y <- G[cbind(seq_len(n), d + 1L)] + rnorm(n, sd = 0.3)
  list(X = X, d = d, M_raw = M_raw, M_trim = M_trim, G = G, y = y, trim = trim, arms = arms,
       weights = runif(n, 0.5, 2))
}

# ATE influence functions of the contrasts (psi_b - theta; observation weights w normalised
# to mean one multiply psi_b and psi_a = -w).
ref_ate_if <- function(des, weights = NULL) {
  n <- length(des$d)
  w <- if (is.null(weights)) rep(1, n) else weights / mean(weights)
  K <- ncol(des$M_trim)
  out <- matrix(0, n, K - 1)
  for (k in 1:(K - 1)) {
    psi_b <- numeric(n)
    for (i in 1:n) {
      dk <- as.numeric(des$d[i] == k)
      d0 <- as.numeric(des$d[i] == 0)
      psi_b[i] <- w[i] * (des$G[i, k + 1] - des$G[i, 1] +
                            dk * (des$y[i] - des$G[i, k + 1]) / des$M_trim[i, k + 1] -
                            d0 * (des$y[i] - des$G[i, 1]) / des$M_trim[i, 1])
    }
    theta <- sum(psi_b) / sum(w)
    out[, k] <- psi_b - w * theta
  }
  colnames(out) <- paste(des$arms[-1], "vs", des$arms[1])
  out
}

# ---------------------------------------------------------------------------
# Overlap (§3)
# ---------------------------------------------------------------------------

# KS distance: the largest gap between the two empirical CDFs over all observed values.
ref_ks <- function(x, y) {
  best <- 0
  for (v in sort(unique(c(x, y)))) {
    best <- max(best, abs(sum(x <= v) / length(x) - sum(y <= v) / length(y)))
  }
  best
}

# AUC = P(x > y) + P(x = y) / 2 over all pairs.
ref_auc <- function(x, y) {
  total <- 0
  for (i in seq_along(x)) total <- total + sum(y < x[i]) + 0.5 * sum(y == x[i])
  total / (length(x) * length(y))
}

ref_ess <- function(w) sum(w)^2 / sum(w^2)

ref_flag_low <- function(v, warn, strong) {
  if (is.na(v)) return(NA_character_)
  if (v < warn) "GREEN" else if (v < strong) "YELLOW" else "RED"
}
ref_flag_high <- function(v, warn, strong) {
  if (is.na(v)) return(NA_character_)
  if (v >= warn) "GREEN" else if (v >= strong) "YELLOW" else "RED"
}
ref_worst <- function(flags) {
  flags <- flags[!is.na(flags)]
  if ("RED" %in% flags) "RED" else if ("YELLOW" %in% flags) "YELLOW" else "GREEN"
}

# Overlap metrics of contrast k (one list of values and flags).
ref_overlap <- function(d, M_raw, M_trim, trim, k) {
  M_raw <- unname(M_raw)
  M_trim <- unname(M_trim)
  s_t <- s_c <- w_t <- w_c <- w_t_trim <- w_c_trim <- numeric(0)
  clip_t <- clip_b <- clip_any <- logical(0)
  below <- above <- 0
  for (i in seq_along(d)) {
    if (d[i] != 0 && d[i] != k) next
    s <- M_raw[i, k + 1] / (M_raw[i, k + 1] + M_raw[i, 1])
    s <- min(max(s, 1e-12), 1 - 1e-12)
    below <- below + (s < 0.01)
    above <- above + (s > 0.99)
    if (d[i] == k) {
      s_t <- c(s_t, s)
      w_t <- c(w_t, 1 / M_raw[i, k + 1])
      w_t_trim <- c(w_t_trim, 1 / M_trim[i, k + 1])
    } else {
      s_c <- c(s_c, s)
      w_c <- c(w_c, 1 / M_raw[i, 1])
      w_c_trim <- c(w_c_trim, 1 / M_trim[i, 1])
    }
    at_t <- M_trim[i, k + 1] <= trim + 1e-12 || M_trim[i, k + 1] >= 1 - trim - 1e-12
    at_b <- M_trim[i, 1] <= trim + 1e-12 || M_trim[i, 1] >= 1 - trim - 1e-12
    clip_t <- c(clip_t, at_t)
    clip_b <- c(clip_b, at_b)
    clip_any <- c(clip_any, at_t || at_b)
  }
  n_pair <- length(s_t) + length(s_c)
  v <- list(n_pair = n_pair, n_treated = length(s_t), n_baseline = length(s_c),
            edge_below = below / n_pair, edge_above = above / n_pair,
            ks = ref_ks(s_t, s_c), auc = ref_auc(s_t, s_c),
            ess_ratio_treated = ref_ess(w_t) / length(w_t),
            ess_ratio_baseline = ref_ess(w_c) / length(w_c),
            ess_ratio_treated_trimmed = ref_ess(w_t_trim) / length(w_t_trim),
            ess_ratio_baseline_trimmed = ref_ess(w_c_trim) / length(w_c_trim),
            clip_m_treated = mean(clip_t), clip_m_baseline = mean(clip_b),
            clip_m_total = mean(clip_any))
  edge <- max(v$edge_below, v$edge_above)
  v$flag_edge <- if (edge > 0.05) "RED" else if (edge > 0.02) "YELLOW" else "GREEN"
  v$flag_ks <- ref_flag_low(v$ks, 0.30, 0.40)
  v$flag_auc <- ref_flag_low(max(v$auc, 1 - v$auc), 0.80, 0.90)
  if (v$flag_auc == "GREEN" && v$auc < 0.45) v$flag_auc <- "YELLOW"
  v$flag_ess_treated <- ref_flag_high(v$ess_ratio_treated, 0.30, 0.15)
  v$flag_ess_baseline <- ref_flag_high(v$ess_ratio_baseline, 0.30, 0.15)
  v$flag_clip_m <- ref_flag_low(v$clip_m_total, 0.02, 0.05)
  v$overall_flag <- ref_worst(c(v$flag_edge, v$flag_ks, v$flag_auc, v$flag_ess_treated,
                                v$flag_ess_baseline, v$flag_clip_m))
  v$pass <- v$overall_flag == "GREEN"
  v
}

# ---------------------------------------------------------------------------
# Balance (§4)
# ---------------------------------------------------------------------------

# Weighted mean and variance (divided by the sum of the weights) of x.
ref_wmoments <- function(x, w) {
  sw <- 0; sx <- 0
  for (i in seq_along(x)) { sw <- sw + w[i]; sx <- sx + w[i] * x[i] }
  mu <- sx / sw
  sv <- 0
  for (i in seq_along(x)) sv <- sv + w[i] * (x[i] - mu)^2
  c(mean = mu, var = sv / sw)
}

# Signed SMD with the zero-variance rule (both sd below 1e-8 max(1, |means|)).
ref_smd <- function(a, b) {
  tol <- 1e-8 * max(1, abs(a[["mean"]]), abs(b[["mean"]]))
  diff <- a[["mean"]] - b[["mean"]]
  if (sqrt(a[["var"]]) <= tol && sqrt(b[["var"]]) <= tol) {
    return(if (abs(diff) <= tol) 0 else sign(diff) * Inf)
  }
  diff / sqrt((a[["var"]] + b[["var"]]) / 2)
}

# Per covariate of contrast k: unweighted and inverse-propensity weighted |SMD| (ATE weights
# 1/m on the own arm; ATT: 1 on arm k, m_k/m_0 on controls), times observation weights.
ref_balance <- function(d, M_trim, X, k, weights = NULL, estimand = "ATE") {
  n <- length(d)
  names_X <- colnames(X)
  X <- unname(X)
  M_trim <- unname(M_trim)
  w_obs <- if (is.null(weights)) rep(1, n) else weights
  out <- list()
  for (j in seq_len(ncol(X))) {
    x0 <- xk <- w0 <- wk <- r0 <- rk <- numeric(0)
    for (i in 1:n) {
      if (d[i] == 0) {
        x0 <- c(x0, X[i, j]); r0 <- c(r0, w_obs[i])
        w0 <- c(w0, w_obs[i] * if (estimand == "ATE") 1 / M_trim[i, 1] else M_trim[i, k + 1] / M_trim[i, 1])
      } else if (d[i] == k) {
        xk <- c(xk, X[i, j]); rk <- c(rk, w_obs[i])
        wk <- c(wk, w_obs[i] * if (estimand == "ATE") 1 / M_trim[i, k + 1] else 1)
      }
    }
    raw0 <- ref_wmoments(x0, r0); rawk <- ref_wmoments(xk, rk)
    wt0 <- ref_wmoments(x0, w0); wtk <- ref_wmoments(xk, wk)
    out[[j]] <- data.frame(covariate = names_X[j], mean_control = raw0[["mean"]],
                           mean_arm = rawk[["mean"]], smd_raw = abs(ref_smd(rawk, raw0)),
                           mean_control_weighted = wt0[["mean"]], mean_arm_weighted = wtk[["mean"]],
                           smd_weighted = abs(ref_smd(wtk, wt0)))
  }
  do.call(rbind, out)
}

# Summary of a set of weighted SMDs against threshold tau.
ref_balance_summary <- function(smd, tau) {
  smd <- smd[!is.na(smd)]
  max_smd <- max(smd)
  frac <- sum(smd >= tau) / length(smd)
  f1 <- ref_flag_low(max_smd, tau, 2 * tau)
  f2 <- ref_flag_low(frac, 0.10, 0.25)
  list(max_smd = max_smd, frac_violations = frac, flag_max_smd = f1, flag_violations = f2,
       overall_flag = ref_worst(c(f1, f2)), pass = all(smd < tau) && frac < 0.10)
}

# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------

ref_quantile7 <- function(x, p) {
  x <- sort(x)
  h <- (length(x) - 1) * p + 1
  lo <- floor(h)
  if (lo >= length(x)) return(x[length(x)])
  x[lo] + (h - lo) * (x[lo + 1] - x[lo])
}

ref_tails <- function(psi) {
  n <- length(psi)
  mu <- sum(psi) / n
  ss <- 0; s4 <- 0
  for (i in 1:n) { ss <- ss + (psi[i] - mu)^2; s4 <- s4 + (psi[i] - mu)^4 }
  v <- ss / (n - 1)
  a <- abs(psi)
  sorted <- sort(a, decreasing = TRUE)
  m <- ceiling(n / 100)
  list(se = sqrt(v) / sqrt(n), kurtosis = (s4 / n) / v^2,
       p99_over_median = ref_quantile7(a, 0.99) / ref_quantile7(a, 0.5),
       top1_share = sum(sorted[1:m]) / sum(a), max_abs_over_sd = max(a) / sqrt(v))
}

# Orthogonality derivatives of contrast k: one row per direction and basis function.
ref_orthogonality <- function(d, y, G, M, X, k, weights = NULL, normalize = FALSE,
                              estimand = "ATE") {
  n <- length(d)
  names_X <- colnames(X)
  X <- unname(X)
  M <- unname(M)
  G <- unname(G)
  w <- if (is.null(weights)) rep(1, n) else weights / mean(weights)
  scale_h <- c(1, 1)
  if (normalize && estimand == "ATE") {
    s0 <- 0; sk <- 0
    for (i in 1:n) {
      s0 <- s0 + w[i] * (d[i] == 0) / M[i, 1]
      sk <- sk + w[i] * (d[i] == k) / M[i, k + 1]
    }
    scale_h <- c(s0 / n, sk / n)
  }
  p <- sum(w * (d == k)) / n
  dirs <- list()
  for (i in 1:n) {
    h0 <- (d[i] == 0) / M[i, 1] / scale_h[1]
    hk <- (d[i] == k) / M[i, k + 1] / scale_h[2]
    u0 <- y[i] - G[i, 1]; uk <- y[i] - G[i, k + 1]
    v <- if (estimand == "ATE") {
      c(g_arm = w[i] * (1 - hk), g_control = w[i] * (h0 - 1), m_arm = -w[i] * hk * uk / M[i, k + 1],
        m_control = w[i] * h0 * u0 / M[i, 1])
    } else {
      c(g_control = w[i] * (M[i, k + 1] * (d[i] == 0) / M[i, 1] - (d[i] == k)) / p,
        m_arm = -w[i] * (d[i] == 0) * u0 / (p * M[i, 1]),
        m_control = w[i] * M[i, k + 1] * (d[i] == 0) * u0 / (p * M[i, 1]^2))
    }
    dirs[[i]] <- v
  }
  A <- do.call(rbind, dirs)
  basis <- list(`(intercept)` = rep(1, n))
  for (j in seq_len(ncol(X))) {
    mu <- mean(X[, j])
    s <- sqrt(sum((X[, j] - mu)^2) / n)
    basis[[names_X[j]]] <- (X[, j] - mu) / s
  }
  rows <- list()
  for (dir in colnames(A)) {
    for (b in names(basis)) {
      z <- A[, dir] * basis[[b]]
      m <- sum(z) / n
      se <- sqrt(sum((z - m)^2) / (n - 1)) / sqrt(n)
      rows[[length(rows) + 1]] <- data.frame(direction = dir, basis = b, derivative = m,
                                             std.error = se, statistic = m / max(se, 1e-12))
    }
  }
  do.call(rbind, rows)
}

# ---------------------------------------------------------------------------
# balance_table
# ---------------------------------------------------------------------------

# Per covariate of arm k vs control: means, signed SMD with sample variances, KS distance and
# the p-value of stats::ks.test (asymptotic for large samples, as ks.test chooses).
ref_balance_table <- function(X, d, k) {
  out <- list()
  for (j in seq_len(ncol(X))) {
    x0 <- X[d == 0, j]; x1 <- X[d == k, j]
    m0 <- mean(x0); m1 <- mean(x1)
    v0 <- sum((x0 - m0)^2) / (length(x0) - 1); v1 <- sum((x1 - m1)^2) / (length(x1) - 1)
    smd <- ref_smd(c(mean = m1, var = v1), c(mean = m0, var = v0))
    test <- suppressWarnings(stats::ks.test(x1, x0))
    out[[j]] <- data.frame(covariate = colnames(X)[j], mean_d_0 = m0, mean_d_1 = m1,
                           abs_diff = abs(m1 - m0), smd = smd, ks = unname(test$statistic),
                           ks_pvalue = test$p.value)
  }
  out <- do.call(rbind, out)
  out[order(-abs(out$smd)), ]
}
