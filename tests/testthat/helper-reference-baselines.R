# Independent base-R reference implementations of simple causal-effect
# estimators, written from the formulas only (not from the package code).
# Used by the tests as ground truth. Function definitions only.
#
# Common inputs: y numeric outcome, d 0/1 treatment, w non-negative weights
# (NULL = all 1), cluster ids (NULL = each row its own cluster).

# Cluster-robust SE from an influence function:
#   SE = sqrt( sum_g (sum_{i in g} IF_i)^2 ) / n
ref_if_se <- function(IF, cluster = NULL) {
  n <- length(IF)
  if (is.null(cluster)) cluster <- seq_len(n)
  sqrt(sum(rowsum(IF, cluster, reorder = FALSE)^2)) / n
}

# Estimate, SE and normal-quantile confidence interval as a list.
ref_result <- function(estimate, se, level) {
  z <- stats::qnorm(1 - (1 - level) / 2)
  list(estimate = estimate, std.error = se,
       conf.low = estimate - z * se, conf.high = estimate + z * se)
}

# 1. Difference in (weighted) means.
#   mu1 = sum(w d y) / sum(w d),  mu0 = sum(w (1-d) y) / sum(w (1-d))
#   SE: Welch if w and cluster are both NULL, else cluster-robust from
#   IF_i = n * ( w_i d_i (y_i - mu1)/sum(w d) - w_i (1-d_i) (y_i - mu0)/sum(w (1-d)) )
ref_diff_in_means <- function(y, d, w = NULL, cluster = NULL, level = 0.95) {
  n <- length(y)
  if (is.null(w) && is.null(cluster)) {
    y1 <- y[d == 1]; y0 <- y[d == 0]
    est <- mean(y1) - mean(y0)
    se <- sqrt(stats::var(y1) / length(y1) + stats::var(y0) / length(y0))
    return(ref_result(est, se, level))
  }
  if (is.null(w)) w <- rep(1, n)
  s1 <- sum(w * d); s0 <- sum(w * (1 - d))
  mu1 <- sum(w * d * y) / s1
  mu0 <- sum(w * (1 - d) * y) / s0
  IF <- n * (w * d * (y - mu1) / s1 - w * (1 - d) * (y - mu0) / s0)
  ref_result(mu1 - mu0, ref_if_se(IF, cluster), level)
}

# Cross-check of ref_diff_in_means: WLS of y on cbind(1, d) with a CR0
# cluster-robust sandwich (no small-sample factor):
#   bread = (X' W X)^{-1},  meat = sum_g s_g s_g',  s_g = sum_{i in g} x_i w_i e_i
#   V = bread %*% meat %*% bread;  returns coefficient and SE for d.
# (With w = NULL and cluster = NULL this is HC0, not Welch.)
ref_diff_in_means_wls <- function(y, d, w = NULL, cluster = NULL) {
  n <- length(y)
  if (is.null(w)) w <- rep(1, n)
  if (is.null(cluster)) cluster <- seq_len(n)
  X <- cbind(1, d)
  bread <- solve(crossprod(X, w * X))
  beta <- bread %*% crossprod(X, w * y)
  e <- as.vector(y - X %*% beta)
  scores <- rowsum(X * (w * e), cluster, reorder = FALSE)  # one row per cluster
  meat <- crossprod(scores)
  V <- bread %*% meat %*% bread
  list(estimate = beta[2], std.error = sqrt(V[2, 2]))
}

# 2. Inverse probability weighting (Hajek form) with given propensities e.
#   e clipped to [trim, 1 - trim]
#   w1 = w d / e,  w0 = w (1-d) / (1-e)
#   mu1 = sum(w1 y)/sum(w1),  mu0 = sum(w0 y)/sum(w0)
#   IF_i = n * ( w1_i (y_i - mu1)/sum(w1) - w0_i (y_i - mu0)/sum(w0) )
#   (propensities treated as known)
ref_ipw <- function(y, d, e, w = NULL, cluster = NULL, trim = 0.01,
                    level = 0.95) {
  n <- length(y)
  if (is.null(w)) w <- rep(1, n)
  e <- pmin(pmax(e, trim), 1 - trim)
  w1 <- w * d / e
  w0 <- w * (1 - d) / (1 - e)
  mu1 <- sum(w1 * y) / sum(w1)
  mu0 <- sum(w0 * y) / sum(w0)
  IF <- n * (w1 * (y - mu1) / sum(w1) - w0 * (y - mu0) / sum(w0))
  ref_result(mu1 - mu0, ref_if_se(IF, cluster), level)
}

# 3. Logistic propensity: glm(d ~ X, binomial) on all rows, fitted
#    probabilities for all rows.
ref_logistic_propensity <- function(X, d) {
  X <- as.matrix(X)
  fit <- stats::glm(d ~ X, family = stats::binomial(),
                    control = stats::glm.control(epsilon = 1e-12, maxit = 100))
  as.vector(stats::fitted(fit))
}

# 4. T-learner: OLS of y on (1, X) separately in treated and control rows,
#    predict mu1(x), mu0(x) for all rows; return sum(w (mu1 - mu0)) / sum(w).
ref_t_learner_mean <- function(y, d, X, w = NULL) {
  Xd <- cbind(1, as.matrix(X))
  predict_arm <- function(rows) {
    b <- stats::lm.fit(Xd[rows, , drop = FALSE], y[rows])$coefficients
    b[is.na(b)] <- 0  # aliased columns dropped, as predict.lm does
    as.vector(Xd %*% b)
  }
  tau <- predict_arm(d == 1) - predict_arm(d == 0)
  if (is.null(w)) w <- rep(1, length(y))
  sum(w * tau) / sum(w)
}
