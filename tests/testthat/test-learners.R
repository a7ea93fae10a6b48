fold_by_fold <- function(df, folds, fit_one) {
  out <- numeric(nrow(df))
  for (k in sort(unique(folds))) {
    test <- folds == k
    out[test] <- fit_one(df[!test, ], df[test, ])
  }
  out
}

test_that("lrn_linear matches lm() fold by fold, on all rows and on one arm", {
  df <- make_test_data(n = 500, p = 5, seed = 3)
  df$x5 <- df$x5 * 1e4 + 5e4   # badly scaled column, like income
  spec <- test_spec(df)
  folds <- make_folds(spec, 5, seed = 1)
  fit <- dml_irm(spec, folds = folds)
  plr <- dml_plr(spec, folds = folds)
  form <- y ~ x1 + x2 + x3 + x4 + x5
  ref_l <- fold_by_fold(df, folds[, 1], function(tr, te) predict(lm(form, tr), te))
  ref_g1 <- fold_by_fold(df, folds[, 1], function(tr, te) predict(lm(form, tr[tr$d == 1, ]), te))
  ref_m <- fold_by_fold(df, folds[, 1], function(tr, te) {
    predict(glm(d ~ x1 + x2 + x3 + x4 + x5, binomial(), tr, control = glm.control(epsilon = 1e-12)),
            te, type = "response")
  })
  expect_equal(nuisances(plr)$l[, 1], unname(ref_l), tolerance = 1e-6)
  expect_equal(nuisances(fit)$g1[, 1], unname(ref_g1), tolerance = 1e-6)
  expect_equal(nuisances(fit)$m[, 1], unname(ref_m), tolerance = 1e-6)
})

test_that("ridge learners solve the penalised problems on standardised covariates", {
  df <- make_test_data(n = 300, p = 3, seed = 4)
  spec <- test_spec(df)
  folds <- make_folds(spec, 3, seed = 2)
  lambda <- 5
  fit <- dml_plr(spec, learner_outcome = lrn_linear(ridge = lambda),
                 learner_treatment = lrn_logistic(ridge = lambda), folds = folds)
  X <- as.matrix(df[, c("x1", "x2", "x3")])
  Z <- cbind(1, scale(X))
  pen <- diag(c(0, rep(lambda, 3)))
  ref_l <- ref_m <- numeric(300)
  for (k in 1:3) {
    tr <- folds[, 1] != k
    b <- solve(crossprod(Z[tr, ]) + pen, crossprod(Z[tr, ], df$y[tr]))
    ref_l[!tr] <- Z[!tr, ] %*% b
    beta <- rep(0, 4)   # penalised Newton, written out
    for (it in 1:50) {
      p <- plogis(drop(Z[tr, ] %*% beta))
      grad <- crossprod(Z[tr, ], df$d[tr] - p) - pen %*% beta
      hess <- crossprod(Z[tr, ] * (p * (1 - p)), Z[tr, ]) + pen
      beta <- beta + solve(hess, grad)
    }
    ref_m[!tr] <- plogis(Z[!tr, ] %*% beta)
  }
  expect_equal(nuisances(fit)$l[, 1], ref_l, tolerance = 1e-8)
  expect_equal(nuisances(fit)$m[, 1], ref_m, tolerance = 1e-8)
})

test_that("lrn_custom runs any R model with the same folds", {
  df <- make_test_data(n = 300, seed = 5)
  spec <- test_spec(df)
  folds <- make_folds(spec, 4, n_rep = 2, seed = 3)
  wrapped_lm <- lrn_custom(fit = function(x, y) lm.fit(cbind(1, x), y)$coefficients,
                           predict = function(model, x) drop(cbind(1, x) %*% model),
                           name = "lm.fit")
  a <- dml_plr(spec, learner_outcome = wrapped_lm, learner_treatment = wrapped_lm, folds = folds)
  b <- dml_plr(spec, folds = folds)
  expect_equal(nuisances(a)$l, nuisances(b)$l, tolerance = 1e-8)
  expect_equal(coef(a), coef(b), tolerance = 1e-8)
  expect_identical(unname(a$learners), c("lm.fit", "lm.fit"))
  broken <- lrn_custom(function(x, y) NULL, function(model, x) 1)
  expect_error(dml_plr(spec, learner_outcome = broken, folds = folds), "returned 1 prediction")
})

test_that("learner arguments are validated", {
  expect_error(lrn_linear(ridge = -1), "non-negative")
  expect_error(lrn_logistic(ridge = NA), "non-negative")
  expect_error(lrn_custom(1, 2), "must be functions")
  spec <- test_spec(make_test_data(n = 100, binary_d = FALSE))
  expect_error(dml_plr(spec, learner_treatment = lrn_logistic()), "not binary 0/1")
  expect_error(dml_plr(spec, learner_outcome = "lm"), "must be a learner")
  expect_output(print(lrn_linear()), "linear (C++, threaded)", fixed = TRUE)
})

test_that("collinear covariates give lm()/glm() predictions (minimum-norm solve)", {
  set.seed(3)
  n <- 500
  df <- data.frame(x1 = rnorm(n), x2 = rnorm(n))
  df$x3 <- df$x1 + 2 * df$x2
  df$d <- rbinom(n, 1, plogis(df$x1))
  df$y <- df$d + df$x1 + rnorm(n)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  folds <- make_folds(spec, 5, seed = 1)
  fit <- dml_irm(spec, folds = folds)
  ref_g1 <- fold_by_fold(df, folds[, 1], function(tr, te) {
    suppressWarnings(predict(lm(y ~ x1 + x2 + x3, tr[tr$d == 1, ]), te))
  })
  ref_m <- fold_by_fold(df, folds[, 1], function(tr, te) {
    suppressWarnings(predict(glm(d ~ x1 + x2 + x3, binomial(), tr), te, type = "response"))
  })
  expect_equal(nuisances(fit)$g1[, 1], unname(ref_g1), tolerance = 1e-8)
  expect_equal(nuisances(fit)$m[, 1], unname(ref_m), tolerance = 1e-6)
})

test_that("perfect separation ends quickly with clipped propensities and a warning", {
  set.seed(4)
  df <- data.frame(x1 = rnorm(400), x2 = rnorm(400))
  df$d <- as.numeric(df$x1 > 0)
  df$y <- df$d + df$x1 + rnorm(400)
  spec <- causal_data(df, "y", "d", c("x1", "x2"))
  run <- collect_warnings(dml_irm(spec, seed = 1))
  fit <- run$value
  expect_setequal(run$classes, c("fastdml_warning_overlap", "fastdml_warning_separation"))
  expect_gt(mean(fit$clipped_share), 0.9)
  expect_true(is.finite(coef(fit)) && is.finite(fit$se))
})
