# Short-stacking: the simplex weights against closed forms and optim(), their KKT conditions,
# and crossfit_stack() against the base learners cross-fitted alone.

stack_mse <- function(P, y, w) mean((y - drop(P %*% w))^2)
stack_mse_grad <- function(P, y, w) -2 * drop(crossprod(P, y - drop(P %*% w))) / nrow(P)
stack_logloss <- function(P, y, w) {
  q <- pmin(pmax(drop(P %*% w), 1e-12), 1 - 1e-12)
  -mean(y * log(q) + (1 - y) * log(1 - q))
}
stack_logloss_grad <- function(P, y, w) {
  q <- drop(P %*% w)
  drop(crossprod(P, (q - y) / (q * (1 - q)))) / nrow(P)
}

# Sum-to-one least squares without the sign constraint, from its KKT system.
sum_to_one_lsq <- function(P, y) {
  L <- ncol(P)
  K <- rbind(cbind(2 * crossprod(P), 1), c(rep(1, L), 0))
  solve(K, c(2 * crossprod(P, y), 1))[seq_len(L)]
}

# Minimum over the simplex by optim() on softmax weights, best of a few starts.
optim_simplex <- function(objective, L, starts = 4L) {
  best <- Inf
  for (s in seq_len(starts)) {
    a0 <- if (s == 1L) rep(0, L) else stats::rnorm(L)
    res <- stats::optim(a0, function(a) objective(exp(a) / sum(exp(a))), method = "BFGS",
                        control = list(reltol = 1e-15, maxit = 5000))
    best <- min(best, res$value)
  }
  best
}

# KKT of min f over the simplex: gradient equal on the support, not smaller off it.
expect_simplex_kkt <- function(g, w, tol = 1e-8) {
  expect_true(all(w >= 0))
  expect_equal(sum(w), 1, tolerance = 1e-12)
  on <- w > 0
  expect_lte(max(g[on]) - min(g[on]), tol)
  if (any(!on)) expect_gte(min(g[!on]) - mean(g[on]), -tol)
}

test_that("stack_weights puts all weight on a learner that predicts y exactly", {
  set.seed(11)
  y <- rnorm(100)
  P <- cbind(noisy = y + rnorm(100), exact = y)
  w <- fastdml:::stack_weights(P, y, FALSE)
  expect_equal(unname(w), c(0, 1), tolerance = 1e-12)
})

test_that("stack_weights equals the sum-to-one least squares when it is inside the simplex", {
  set.seed(12)
  n <- 200
  signal <- rnorm(n)
  y <- signal + rnorm(n, sd = 0.3)
  P <- cbind(signal + rnorm(n, sd = 0.5), signal + rnorm(n, sd = 0.6), signal + rnorm(n, sd = 0.7))
  ref <- sum_to_one_lsq(P, y)
  expect_true(all(ref > 0))
  w <- fastdml:::stack_weights(P, y, FALSE)
  expect_equal(unname(w), ref, tolerance = 1e-10)
  expect_simplex_kkt(stack_mse_grad(P, y, w), w)
})

test_that("stack_weights solves the constrained problem when a free weight would be negative", {
  set.seed(13)
  n <- 200
  signal <- rnorm(n)
  y <- signal + rnorm(n, sd = 0.3)
  p1 <- signal + rnorm(n, sd = 0.4)
  p2 <- signal + rnorm(n, sd = 0.5)
  p3 <- 0.5 * signal + 0.8 * (p1 - signal)   # shares p1's error: a free fit sets it negative
  P <- cbind(p1, p2, p3)
  expect_true(any(sum_to_one_lsq(P, y) < 0))
  w <- fastdml:::stack_weights(P, y, FALSE)
  expect_true(any(w == 0))
  # brute force: a grid over the 2-simplex, then optim() from several starts
  grid <- expand.grid(a = seq(0, 1, by = 0.01), b = seq(0, 1, by = 0.01))
  grid <- grid[grid$a + grid$b <= 1 + 1e-12, ]
  on_grid <- min(apply(grid, 1, function(ab) stack_mse(P, y, c(ab, max(0, 1 - sum(ab))))))
  best <- optim_simplex(function(v) stack_mse(P, y, v), 3L)
  expect_lte(stack_mse(P, y, w), on_grid + 1e-12)
  expect_lte(stack_mse(P, y, w), best + 1e-12)
  expect_equal(stack_mse(P, y, w), best, tolerance = 1e-6)
  # on its support it is the sum-to-one least squares of the remaining learners
  on <- w > 0
  expect_equal(unname(w[on]), unname(sum_to_one_lsq(P[, on, drop = FALSE], y)), tolerance = 1e-10)
  expect_simplex_kkt(stack_mse_grad(P, y, w), w)
  # invariant to the scale of y and the predictions
  expect_equal(fastdml:::stack_weights(P * 1e4, y * 1e4, FALSE), w, tolerance = 1e-8)
})

test_that("stack_weights handles duplicated and collinear learners", {
  set.seed(14)
  n <- 150
  y <- rnorm(n)
  p1 <- y + rnorm(n, sd = 0.5)
  p2 <- y + rnorm(n, sd = 0.6)
  P <- cbind(p1, p1, p2, 0.5 * p1 + 0.5 * p2)
  w <- fastdml:::stack_weights(P, y, FALSE)
  ref <- fastdml:::stack_weights(cbind(p1, p2), y, FALSE)
  expect_equal(stack_mse(P, y, w), stack_mse(cbind(p1, p2), y, ref), tolerance = 1e-12)
  expect_simplex_kkt(stack_mse_grad(P, y, w), w)
})

test_that("stack_weights minimises the log loss for classifiers", {
  set.seed(15)
  n <- 300
  z <- rnorm(n)
  d <- rbinom(n, 1, plogis(z))
  P <- cbind(good = plogis(z + rnorm(n, sd = 0.5)), flat = plogis(0.3 * z),
             noise = runif(n), constant = rep(mean(d), n))
  w <- fastdml:::stack_weights(P, d, TRUE)
  best <- optim_simplex(function(v) stack_logloss(P, d, v), ncol(P))
  expect_lte(stack_logloss(P, d, w), best + 1e-12)
  expect_equal(stack_logloss(P, d, w), best, tolerance = 1e-6)
  expect_simplex_kkt(stack_logloss_grad(P, d, w), w)
  expect_true(any(w == 0))
  # an interior optimum: two informative learners
  P2 <- cbind(plogis(z + rnorm(n, sd = 0.8)), plogis(z + rnorm(n, sd = 0.8)))
  w2 <- fastdml:::stack_weights(P2, d, TRUE)
  expect_true(all(w2 > 0))
  expect_equal(stack_logloss(P2, d, w2), optim_simplex(function(v) stack_logloss(P2, d, v), 2L),
               tolerance = 1e-6)
  expect_simplex_kkt(stack_logloss_grad(P2, d, w2), w2)
  # the log loss and the squared error give different weights
  expect_false(isTRUE(all.equal(unname(w), unname(fastdml:::stack_weights(P, d, FALSE)),
                                tolerance = 1e-4)))
})

test_that("KKT conditions hold on random problems", {
  set.seed(16)
  for (i in 1:10) {
    n <- 120
    L <- sample(2:5, 1)
    y <- rnorm(n)
    P <- sapply(seq_len(L), function(l) runif(1, -1, 1) * y + rnorm(n, sd = runif(1, 0.2, 2)))
    w <- fastdml:::stack_weights(P, y, FALSE)
    expect_simplex_kkt(stack_mse_grad(P, y, w), w)
    d <- rbinom(n, 1, plogis(2 * y))
    Q <- sapply(seq_len(L), function(l) plogis(runif(1, -2, 2) * y + rnorm(n)))
    wq <- fastdml:::stack_weights(Q, d, TRUE)
    expect_simplex_kkt(stack_logloss_grad(Q, d, wq), wq)
  }
})

quadratic_learner <- function() {
  lrn_custom(fit = function(x, y) lm.fit(cbind(1, x, x^2), y)$coefficients,
             predict = function(model, x) drop(cbind(1, x, x^2) %*% model),
             name = "quadratic")
}

test_that("crossfit_stack stacks the base learners' out-of-fold predictions", {
  df <- make_test_data(n = 300, p = 3, seed = 21)
  spec <- test_spec(df)
  folds <- make_folds(spec, 3, n_rep = 2, seed = 4)
  stack <- lrn_stack(lrn_linear(), quad = quadratic_learner())
  expect_named(stack$learners, c("linear", "quad"))
  for (masked in c(FALSE, TRUE)) {
    mask <- if (masked) spec$d == 0 else NULL
    def <- fastdml:::nuisance_def(stack, spec$y, spec$outcome, mask = mask,
                                  subset = if (masked) "control" else "all")
    out <- fastdml:::crossfit_stack(spec, folds, def, "g0", 1L)
    expect_identical(dim(out$pred), c(spec$n, 2L))
    expect_named(out$base, c("linear", "quad"))
    for (label in names(stack$learners)) {
      alone <- def
      alone$learner <- stack$learners[[label]]
      ref <- fastdml:::crossfit_nuisances(spec, folds, list(g0 = alone), 1L)$preds$g0
      expect_equal(out$base[[label]], ref, tolerance = 1e-12)
    }
    expect_identical(names(out$weights), c("nuisance", "learner", "rep", "weight"))
    expect_identical(out$weights$nuisance, rep("g0", 4))
    expect_identical(out$weights$rep, c(1L, 1L, 2L, 2L))
    rows <- if (masked) which(spec$d == 0) else seq_len(spec$n)
    for (s in 1:2) {
      w <- out$weights$weight[out$weights$rep == s]
      P <- cbind(out$base$linear[, s], out$base$quad[, s])
      expect_equal(out$pred[, s], drop(P %*% w), tolerance = 1e-12)
      expect_equal(unname(w), unname(fastdml:::stack_weights(P[rows, ], spec$y[rows], FALSE)),
                   tolerance = 1e-12)
      expect_simplex_kkt(stack_mse_grad(P[rows, ], spec$y[rows], w), w)
    }
  }
})

test_that("crossfit_stack uses the log loss for a binary target with probabilities", {
  df <- make_test_data(n = 300, p = 3, seed = 22)
  spec <- test_spec(df)
  folds <- make_folds(spec, 3, seed = 5)
  stack <- lrn_stack(lrn_logistic(), lrn_logistic(ridge = 5))
  expect_true(stack$classifier)
  def <- fastdml:::nuisance_def(stack, spec$d, spec$treatment)
  out <- fastdml:::crossfit_stack(spec, folds, def, "m", 1L)
  P <- do.call(cbind, lapply(out$base, function(p) p[, 1]))
  w <- out$weights$weight
  expect_equal(unname(w), unname(fastdml:::stack_weights(P, spec$d, TRUE)), tolerance = 1e-12)
  expect_simplex_kkt(stack_logloss_grad(P, spec$d, w), w)
  expect_equal(out$pred[, 1], drop(P %*% w), tolerance = 1e-12)
})

test_that("lrn_stack labels, prints and validates its learners", {
  stack <- lrn_stack(lrn_linear(), lrn_linear(), lrn_linear(ridge = 2), name = "avg")
  expect_s3_class(stack, c("fastdml_stack", "fastdml_learner"), exact = TRUE)
  expect_identical(stack$kind, "stack")
  expect_identical(stack$label, "avg")
  expect_false(stack$builtin)
  expect_false(stack$classifier)
  expect_named(stack$learners, c("linear", "linear_2", "ridge(2)"))
  expect_output(print(stack), "linear_2: linear \\(C\\+\\+, threaded\\)")
  expect_output(print(lrn_stack(a = lrn_linear(), b = quadratic_learner())),
                "b: quadratic \\(R, fold by fold\\)")
  expect_true(lrn_stack(lrn_logistic(), lrn_logistic(ridge = 1))$classifier)
  expect_error(lrn_stack(lrn_linear()), class = "fastdml_error_argument")
  expect_error(lrn_stack(), class = "fastdml_error_argument")
  expect_error(lrn_stack(lrn_linear(), "linear"), class = "fastdml_error_argument")
  expect_error(lrn_stack(lrn_linear(), lm), class = "fastdml_error_argument")
  expect_error(lrn_stack(lrn_linear(), lrn_stack(lrn_linear(), lrn_logistic())),
               class = "fastdml_error_argument")
  expect_error(lrn_stack(a = lrn_linear(), a = lrn_logistic()), class = "fastdml_error_argument")
  expect_error(lrn_stack(lrn_linear(), lrn_logistic(), name = ""), class = "fastdml_error_argument")
})

test_that("a stack in a fit: weights in nuisances(fit)$stacking and in print(fit)", {
  df <- make_test_data(n = 400, seed = 21)
  stacked <- lrn_stack(linear = lrn_linear(), boost = lrn_boost(n_rounds = 30L))
  fit <- dml_plr(test_spec(df), learner_outcome = stacked, learner_treatment = lrn_logistic(),
                 n_rep = 2, seed = 1)
  weights <- nuisances(fit)$stacking
  expect_setequal(names(weights), c("nuisance", "learner", "rep", "weight"))
  expect_equal(unique(weights$nuisance), "l")
  expect_equal(as.vector(tapply(weights$weight, weights$rep, sum)), c(1, 1), tolerance = 1e-12)
  base <- lapply(c(linear = "linear", boost = "boost"), function(name) {
    dml_plr(test_spec(df), learner_outcome = stacked$learners[[name]], learner_treatment = lrn_logistic(),
            folds = nuisances(fit)$folds, seed = 1)
  })
  for (s in 1:2) {
    w <- weights[weights$rep == s]
    combined <- w$weight[w$learner == "linear"] * nuisances(base$linear)$l[, s] +
      w$weight[w$learner == "boost"] * nuisances(base$boost)$l[, s]
    expect_equal(nuisances(fit)$l[, s], combined, tolerance = 1e-12)
  }
  expect_output(print(fit), "Stack weights \\(l\\): linear [0-9.]+, boost [0-9.]+")
  expect_equal(nrow(nuisances(dml_plr(test_spec(df), lrn_linear(), lrn_linear(), seed = 1))$stacking), 0)
})
