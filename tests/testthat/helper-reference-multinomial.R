# Independent reference for the multinomial logistic learner (learner kind "multinomial"),
# written in plain base R from the mathematics, for checking the package's C++ code in tests.
# Model: classes 0..K-1 (class 0 the reference, its coefficients fixed at 0); for a row with
# design z = (1, standardised covariates), eta_k = z' b_k and p_k = exp(eta_k) / sum_l exp(eta_l).
# The coefficients minimise the weighted deviance -2 sum_i w_i log p_{i, y_i} plus
# ridge * sum_k sum_{j >= 2} b_kj^2 (intercepts unpenalised). Fitted by plain Newton with step
# halving, the gradient and Hessian built class pair by class pair. Deliberately simple.
# This file only defines functions; it contains no expectations.

ref_row_max <- function(M) Reduce(pmax, lapply(seq_len(ncol(M)), function(k) M[, k]))

# Row-wise class probabilities (n x K) from the non-reference linear predictors (n x (K - 1)).
ref_softmax <- function(eta_free) {
  eta <- cbind(0, eta_free)
  top <- ref_row_max(eta)
  e <- exp(eta - top)
  e / rowSums(e)
}

# Penalised weighted deviance of the coefficients B (q x (K - 1)).
ref_multinom_objective <- function(Z, Y, w, B, ridge) {
  eta <- cbind(0, Z %*% B)
  top <- ref_row_max(eta)
  log_total <- top + log(rowSums(exp(eta - top)))
  loglik <- rowSums(Y * eta) - log_total   # log p of the observed class
  -2 * sum(w * loglik) + ridge * sum(B[-1, , drop = FALSE]^2)
}

# Newton fit of the penalised multinomial model. Z: n x q design (first column the intercept);
# Y: n x K one-hot 0/1 matrix, column 1 the reference class; w: weights (NULL = all 1).
# Returns B, q x (K - 1), column k the coefficients of class k (column k + 1 of Y).
ref_multinom_fit <- function(Z, Y, w = NULL, ridge = 0, max_iter = 200, tol = 1e-13) {
  n <- nrow(Z)
  q <- ncol(Z)
  J <- ncol(Y) - 1
  if (is.null(w)) w <- rep(1, n)
  B <- matrix(0, q, J)
  penalty <- rep(c(0, rep(ridge, q - 1)), J)   # per coefficient, stacked class by class
  for (it in seq_len(max_iter)) {
    P <- ref_softmax(Z %*% B)
    # Half the gradient of the objective (sign: descent direction) and half its Hessian.
    descent <- numeric(q * J)
    H <- matrix(0, q * J, q * J)
    for (j in seq_len(J)) {
      rj <- ((j - 1) * q + 1):(j * q)
      descent[rj] <- crossprod(Z, w * (Y[, j + 1] - P[, j + 1])) - penalty[rj] * B[, j]
      for (l in seq_len(J)) {
        rl <- ((l - 1) * q + 1):(l * q)
        v <- w * P[, j + 1] * ((j == l) - P[, l + 1])
        H[rj, rl] <- crossprod(Z, Z * v)
      }
    }
    step <- matrix(solve(H + diag(penalty), descent), q, J)
    current <- ref_multinom_objective(Z, Y, w, B, ridge)
    halvings <- 0
    while (ref_multinom_objective(Z, Y, w, B + step, ridge) > current && halvings < 50) {
      step <- step / 2
      halvings <- halvings + 1
    }
    B <- B + step
    if (max(abs(step)) < tol * (1 + max(abs(B)))) break
  }
  B
}

# Standardised design as the package builds it: intercept and each column centred and scaled by
# its mean and standard deviation over all rows.
ref_multinom_design <- function(X) cbind(1, scale(X))

# Cross-fitted class probabilities (n x K) for one repetition: fold k's rows are predicted by
# the fit on the other folds' rows (restricted to mask == 1 when a mask is given).
ref_multinom_crossfit <- function(X, Y, folds, w = NULL, ridge = 0, mask = NULL) {
  Z <- ref_multinom_design(X)
  out <- matrix(NA_real_, nrow(X), ncol(Y))
  for (k in sort(unique(folds))) {
    test <- folds == k
    train <- !test
    if (!is.null(mask)) train <- train & mask == 1L
    B <- ref_multinom_fit(Z[train, , drop = FALSE], Y[train, , drop = FALSE],
                          if (is.null(w)) NULL else w[train], ridge)
    out[test, ] <- ref_softmax(Z[test, , drop = FALSE] %*% B)
  }
  out
}
