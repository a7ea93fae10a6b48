# Independent reference implementation of the CATE toolkit (pseudo-outcomes, BLP, GATE,
# calibration, RATE/TOC, accuracy metrics, linear X- and S-learners), written directly from the
# math in plain R (stats + sandwich only). It has NO dependency on fastdml internals and was
# written without reading the package's implementation. Deliberately simple and loop-based:
# clarity beats speed (n <= 5000). This file only defines functions; it contains no expectations.
#
# Conventions: w = observation weights (all 1 when NULL); cluster = integer ids or NULL.
# Inputs are plain vectors / matrices; outputs are plain lists / data.frames.

ref_cate_weights <- function(w, n) if (is.null(w)) rep(1, n) else as.numeric(w)

# ---------------------------------------------------------------------------------------------
# 1. Doubly robust pseudo-outcomes
# ---------------------------------------------------------------------------------------------

# Binary treatment. g0, g1, m are vectors (one repetition) or n x R matrices (R repetitions);
# Gamma is the average over repetitions of the per-repetition Gamma.
ref_pseudo_outcomes <- function(y, d, g0, g1, m, trim) {
  g0 <- as.matrix(g0); g1 <- as.matrix(g1); m <- as.matrix(m)
  gam <- matrix(NA_real_, length(y), ncol(m))
  for (r in seq_len(ncol(m))) {
    mr <- pmin(pmax(m[, r], trim), 1 - trim)
    gam[, r] <- g1[, r] - g0[, r] + d * (y - g1[, r]) / mr - (1 - d) * (y - g0[, r]) / (1 - mr)
  }
  rowMeans(gam)
}

# Floor-and-rescale trimming of one row p (length K): arms below trim are set to trim, the
# other (not floored) arms are rescaled so the row sums to 1; repeat until none is below trim.
ref_cate_trim_row <- function(p, trim) {
  K <- length(p)
  floored <- rep(FALSE, K)
  for (pass in seq_len(K)) {
    low <- !floored & p < trim
    if (!any(low)) break
    floored <- floored | low
    p[floored] <- trim
    p[!floored] <- p[!floored] * (1 - trim * sum(floored)) / sum(p[!floored])
  }
  p
}

# Multi-arm: arm in 0..K-1 (0 = control); G, E n x K (columns in arm order); contrast k vs 0.
ref_pseudo_outcomes_multi <- function(y, arm, G, E, k, trim) {
  E <- as.matrix(E)
  for (i in seq_len(nrow(E))) E[i, ] <- ref_cate_trim_row(E[i, ], trim)
  G[, k + 1] - G[, 1] +
    (arm == k) * (y - G[, k + 1]) / E[, k + 1] -
    (arm == 0) * (y - G[, 1]) / E[, 1]
}

# ---------------------------------------------------------------------------------------------
# 2. Best linear predictor (weighted LS with sandwich standard errors)
# ---------------------------------------------------------------------------------------------

# Sandwich covariance of an lm fit: vcovHC without clusters (HC0..HC3), vcovCL with clusters
# (HC0 / HC1, cadjust = TRUE).
ref_cate_vcov <- function(fit, cluster = NULL, type = "HC0") {
  if (is.null(cluster)) {
    sandwich::vcovHC(fit, type = type)
  } else {
    sandwich::vcovCL(fit, cluster = cluster, type = type, cadjust = TRUE)
  }
}

ref_cate_table <- function(term, estimate, V) {
  se <- sqrt(diag(V))
  data.frame(term = term, estimate = unname(estimate), std.error = unname(se),
             statistic = unname(estimate / se), p.value = unname(2 * pnorm(-abs(estimate / se))),
             stringsAsFactors = FALSE)
}

ref_blp <- function(gamma, B, w = NULL, cluster = NULL, type = "HC0") {
  B <- as.matrix(B)
  w <- ref_cate_weights(w, length(gamma))
  fit <- lm(gamma ~ B, weights = w)
  V <- ref_cate_vcov(fit, cluster, type)
  ref_cate_table(c("(Intercept)", colnames(B)), coef(fit), V)
}

# The same, with explicit matrix algebra (no sandwich, no lm).
ref_blp_manual <- function(gamma, B, w = NULL, cluster = NULL, type = "HC0") {
  B <- as.matrix(B)
  n <- length(gamma)
  w <- ref_cate_weights(w, n)
  X <- cbind(1, B)
  k <- ncol(X)
  bread <- solve(t(X) %*% (w * X))                     # (X'WX)^-1
  beta <- drop(bread %*% t(X) %*% (w * gamma))
  e <- drop(gamma - X %*% beta)
  u <- w * e                                           # score of row i is u_i x_i
  if (is.null(cluster)) {
    h <- w * rowSums((X %*% bread) * X)                # h_i = w_i x_i' (X'WX)^-1 x_i
    omega <- switch(type,
                    HC0 = u^2,
                    HC1 = u^2 * n / (n - k),
                    HC2 = u^2 / (1 - h),
                    HC3 = u^2 / (1 - h)^2,
                    stop("unknown type"))
    meat <- t(X) %*% (omega * X)
  } else {
    ids <- sort(unique(cluster))
    G <- length(ids)
    meat <- matrix(0, k, k)
    for (g in ids) {
      rows <- which(cluster == g)
      s_g <- colSums(u[rows] * X[rows, , drop = FALSE])
      meat <- meat + s_g %*% t(s_g)
    }
    meat <- meat * G / (G - 1)
    if (type == "HC1") meat <- meat * (n - 1) / (n - k)
    else if (type != "HC0") stop("clustered type must be HC0 or HC1")
  }
  V <- bread %*% meat %*% bread
  ref_cate_table(c("(Intercept)", colnames(B)), beta, V)
}

# ---------------------------------------------------------------------------------------------
# 3. Group average treatment effects with a joint test of equality
# ---------------------------------------------------------------------------------------------

ref_gate <- function(gamma, groups, w = NULL, cluster = NULL, type = "HC0") {
  f <- if (is.factor(groups)) groups else factor(groups, levels = sort(unique(groups)))
  lev <- levels(f)
  w <- ref_cate_weights(w, length(gamma))
  est <- sapply(lev, function(g) weighted.mean(gamma[f == g], w[f == g]))
  fit <- lm(gamma ~ 0 + f, weights = w)
  V <- ref_cate_vcov(fit, cluster, type)
  dimnames(V) <- list(lev, lev)
  G <- length(lev)
  R <- matrix(0, G - 1, G)                             # rows: theta_g - theta_1, g = 2..G
  for (g in 2:G) { R[g - 1, 1] <- -1; R[g - 1, g] <- 1 }
  Rt <- R %*% est
  W <- drop(t(Rt) %*% solve(R %*% V %*% t(R)) %*% Rt)
  table <- data.frame(group = lev, estimate = unname(est), std.error = unname(sqrt(diag(V))),
                      n = as.integer(sapply(lev, function(g) sum(f == g))),
                      stringsAsFactors = FALSE)
  list(table = table, vcov = V,
       test = data.frame(statistic = W, df = G - 1,
                         p.value = pchisq(W, df = G - 1, lower.tail = FALSE)))
}

# ---------------------------------------------------------------------------------------------
# 4. Calibration: BLP test (Chernozhukov, Demirer, Duflo & Fernandez-Val) + quantile groups
# ---------------------------------------------------------------------------------------------

# Group of each row by quantile of S: rank r of order(S) (ties by row order) -> ceiling(r G / n).
ref_cate_quantile_groups <- function(S, n_groups) {
  n <- length(S)
  grp <- integer(n)
  o <- order(S)
  for (r in seq_len(n)) grp[o[r]] <- ceiling(r * n_groups / n)
  grp
}

ref_calibration <- function(gamma, S, w = NULL, cluster = NULL, type = "HC0",
                            n_groups = 10, truth = NULL) {
  n <- length(gamma)
  w <- ref_cate_weights(w, n)
  Sc <- S - weighted.mean(S, w)
  fit <- lm(gamma ~ Sc, weights = w)
  V <- ref_cate_vcov(fit, cluster, type)
  blp <- ref_cate_table(c("ATE", "HET"), coef(fit), V)
  het <- blp$estimate[2]; se_het <- blp$std.error[2]
  grp <- ref_cate_quantile_groups(S, n_groups)
  rows <- list()
  for (g in sort(unique(grp))) {
    i <- which(grp == g)
    wi <- w[i]
    gate <- sum(wi * gamma[i]) / sum(wi)
    rows[[length(rows) + 1]] <- data.frame(
      group = g, n = length(i),
      mean_score = sum(wi * S[i]) / sum(wi),
      gate = gate,
      std.error = sqrt(sum(wi^2 * (gamma[i] - gate)^2)) / sum(wi),
      mean_truth = if (is.null(truth)) NA_real_ else sum(wi * truth[i]) / sum(wi))
  }
  list(blp = blp,
       p_het_zero = 2 * pnorm(-abs(het / se_het)),
       p_het_one = 2 * pnorm(-abs((het - 1) / se_het)),
       groups = do.call(rbind, rows),
       group_of_row = grp)
}

# ---------------------------------------------------------------------------------------------
# 5. Rank-weighted average treatment effect (AUTOC, QINI) and the TOC curve
# ---------------------------------------------------------------------------------------------

ref_rate <- function(gamma, S, w = NULL, q = seq(0.1, 1, by = 0.1)) {
  n <- length(gamma)
  w <- ref_cate_weights(w, n)
  o <- order(-S)
  s <- S[o]; g <- gamma[o]; ws <- w[o]
  for (v in unique(s)) {                               # tied S: block's weighted-mean gamma
    b <- which(s == v)
    g[b] <- sum(ws[b] * g[b]) / sum(ws[b])
  }
  W <- cumsum(ws)
  Wtot <- sum(ws)
  qj <- W / Wtot
  toc <- cumsum(ws * g) / W - sum(ws * g) / Wtot
  autoc <- sum(ws / Wtot * toc)
  qini <- sum(ws / Wtot * qj * toc)
  toc_q <- sapply(q, function(qq) toc[which(qj >= qq - 1e-12)[1]])
  list(autoc = autoc, qini = qini, toc = data.frame(q = q, toc = toc_q))
}

# Half-sample bootstrap standard errors (half samples have twice the variance, hence / sqrt(2)).
ref_rate_bootstrap <- function(gamma, S, w = NULL, cluster = NULL, B, seed) {
  n <- length(gamma)
  w <- ref_cate_weights(w, n)
  set.seed(seed)
  draws <- matrix(NA_real_, B, 2, dimnames = list(NULL, c("autoc", "qini")))
  for (b in seq_len(B)) {
    if (is.null(cluster)) {
      idx <- sort(sample.int(n, floor(n / 2)))  # rows keep their order: ties are broken by row
    } else {
      ids <- sort(unique(cluster))
      G <- length(ids)
      keep <- sample.int(G, floor(G / 2))
      idx <- which(cluster %in% ids[keep])
    }
    r <- ref_rate(gamma[idx], S[idx], w[idx])
    draws[b, ] <- c(r$autoc, r$qini)
  }
  list(autoc_se = sd(draws[, 1]) / sqrt(2), qini_se = sd(draws[, 2]) / sqrt(2), draws = draws)
}

# ---------------------------------------------------------------------------------------------
# 6. Accuracy of CATE estimates against the truth
# ---------------------------------------------------------------------------------------------

# rmse, mae, ate_bias and top_true_mean use w-weighted means; correlation is unweighted.
ref_cate_accuracy <- function(estimate, truth, w = NULL, top = 0.2) {
  n <- length(estimate)
  w <- ref_cate_weights(w, n)
  wm <- function(x, rows = seq_len(n)) sum(w[rows] * x[rows]) / sum(w[rows])
  k <- ceiling(top * n)
  top_est <- order(-estimate)[seq_len(k)]
  top_true <- order(-truth)[seq_len(k)]
  data.frame(rmse = sqrt(wm((estimate - truth)^2)),
             mae = wm(abs(estimate - truth)),
             correlation = cor(estimate, truth),
             ate_bias = wm(estimate) - wm(truth),
             top_true_mean = wm(truth, top_est),
             top_capture = sum(top_true %in% top_est) / k)
}

# ---------------------------------------------------------------------------------------------
# 7. Linear meta-learners (OLS with intercept at every stage, no cross-fitting)
# ---------------------------------------------------------------------------------------------

# OLS of y on X (with intercept) using rows `rows`; predictions cbind(1, X) %*% beta for ALL
# rows (aliased coefficients, NA in lm, count as 0, as predict.lm does).
ref_cate_ols_predict <- function(y, X, rows) {
  Xr <- X[rows, , drop = FALSE]
  beta <- coef(lm(y[rows] ~ Xr))
  beta[is.na(beta)] <- 0
  drop(cbind(1, X) %*% beta)
}

ref_x_learner_linear <- function(y, d, X, propensity) {
  X <- as.matrix(X)
  treated <- which(d == 1)
  control <- which(d == 0)
  mu0 <- ref_cate_ols_predict(y, X, control)
  mu1 <- ref_cate_ols_predict(y, X, treated)
  D <- ifelse(d == 1, y - mu0, mu1 - y)                # D1 on treated, D0 on controls
  tau1 <- ref_cate_ols_predict(D, X, treated)
  tau0 <- ref_cate_ols_predict(D, X, control)
  propensity * tau0 + (1 - propensity) * tau1
}

ref_s_learner_linear <- function(y, d, X) {
  X <- as.matrix(X)
  n <- nrow(X)
  Z <- cbind(1, X, d, d * X)                           # y ~ X + d + d:X
  beta <- coef(lm(y ~ 0 + Z))
  beta[is.na(beta)] <- 0
  Z1 <- cbind(1, X, 1, X)                              # d = 1
  Z0 <- cbind(1, X, 0, 0 * X)                          # d = 0
  drop(Z1 %*% beta - Z0 %*% beta)
}
