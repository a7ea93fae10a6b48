fold_by_fold <- function(df, folds, fit_one) {
  out <- numeric(nrow(df))
  for (k in sort(unique(folds))) {
    test <- folds == k
    out[test] <- fit_one(df[!test, ], df[test, ])
  }
  out
}

# Ridge references on the standardised covariates, fold by fold: the linear learner's penalised
# normal equations and the logistic learner's penalised Newton iterations, written out.
ref_ridge_crossfit <- function(X, y, d, folds, lambda) {
  Z <- cbind(1, scale(X))
  pen <- diag(c(0, rep(lambda, ncol(X))))
  ref_l <- ref_m <- numeric(nrow(X))
  for (k in sort(unique(folds))) {
    tr <- folds != k
    ref_l[!tr] <- Z[!tr, ] %*% solve(crossprod(Z[tr, ]) + pen, crossprod(Z[tr, ], y[tr]))
    beta <- rep(0, ncol(Z))
    for (it in 1:60) {
      p <- plogis(drop(Z[tr, ] %*% beta))
      grad <- crossprod(Z[tr, ], d[tr] - p) - pen %*% beta
      beta <- beta + solve(crossprod(Z[tr, ] * (p * (1 - p)), Z[tr, ]) + pen, grad)
    }
    ref_m[!tr] <- plogis(Z[!tr, ] %*% beta)
  }
  list(l = ref_l, m = ref_m)
}

# PLR with ridge learners of penalty lambda (outcome linear, treatment logistic) against it.
expect_ridge_matches_reference <- function(spec, X, folds, lambda) {
  fit <- dml_plr(spec, learner_outcome = lrn_linear(ridge = lambda),
                 learner_treatment = lrn_logistic(ridge = lambda), folds = folds)
  ref <- ref_ridge_crossfit(X, spec$y, spec$d, folds[, 1], lambda)
  expect_equal(nuisances(fit)$l[, 1], ref$l, tolerance = 1e-8)
  expect_equal(nuisances(fit)$m[, 1], ref$m, tolerance = 1e-8)
}

test_that("lrn_linear matches lm() fold by fold, on all rows and on one arm", {
  df <- make_test_data(n = 500, p = 5, seed = 3)
  df$x5 <- df$x5 * 1e4 + 5e4   # badly scaled column, like income
  spec <- test_spec(df)
  folds <- make_folds(spec, 5, seed = 1)
  fit <- irm_linear(spec, folds = folds)
  plr <- plr_linear(spec, folds = folds)
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
  expect_ridge_matches_reference(spec, as.matrix(df[, c("x1", "x2", "x3")]), folds, lambda = 5)
})

test_that("lrn_custom runs any R model with the same folds", {
  df <- make_test_data(n = 300, seed = 5)
  spec <- test_spec(df)
  folds <- make_folds(spec, 4, n_rep = 2, seed = 3)
  wrapped_lm <- lrn_custom(fit = function(x, y) lm.fit(cbind(1, x), y)$coefficients,
                           predict = function(model, x) drop(cbind(1, x) %*% model),
                           name = "lm.fit")
  a <- dml_plr(spec, learner_outcome = wrapped_lm, learner_treatment = wrapped_lm, folds = folds)
  b <- plr_linear(spec, folds = folds)
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
  fit <- irm_linear(spec, folds = folds)
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
  run <- collect_warnings(irm_linear(spec, seed = 1))   # the logistic propensity separates
  fit <- run$value
  expect_setequal(run$classes, c("fastdml_warning_overlap", "fastdml_warning_separation"))
  expect_gt(mean(fit$clipped_share), 0.9)
  expect_true(is.finite(coef(fit)) && is.finite(fit$se))
  # The default boosting propensity stays inside (0, 1); the overlap check still fires.
  boost <- collect_warnings(dml_irm(spec, seed = 1))
  expect_true("fastdml_warning_overlap" %in% boost$classes)
  expect_true(is.finite(coef(boost$value)) && is.finite(boost$value$se))
})

test_that("ridge with p >= n runs on the principal axes and equals ridge on the covariates", {
  set.seed(61)
  n <- 60
  p <- 90
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  X[, 2] <- X[, 2] * 1000 + 5
  df <- data.frame(X, d = rbinom(n, 1, plogis(X[, 1])))
  df$y <- df$d + X[, 1] + rnorm(n)
  spec <- causal_data(df, "y", "d")
  folds <- make_folds(spec, 3, seed = 1)
  expect_ridge_matches_reference(spec, X, folds, lambda = 7)
})

test_that("custom learners' output is validated and their errors located", {
  df <- make_test_data(n = 150, seed = 62)
  spec <- test_spec(df)
  folds <- make_folds(spec, 3, n_rep = 2, seed = 1)
  glm_fit <- function(x, y) stats::glm.fit(cbind(1, x), y, family = stats::binomial())$coefficients
  by_class <- lrn_custom(glm_fit, function(model, x) {
    p1 <- stats::plogis(drop(cbind(1, x) %*% model))
    cbind(`0` = 1 - p1, `1` = p1)
  }, name = "glm by class")
  one_col <- lrn_custom(glm_fit, function(model, x) stats::plogis(drop(cbind(1, x) %*% model)))
  a <- dml_irm(spec, learner_treatment = by_class, folds = folds)
  b <- dml_irm(spec, learner_treatment = one_col, folds = folds)
  expect_identical(nuisances(a)$m, nuisances(b)$m)
  unnamed <- lrn_custom(glm_fit, function(model, x) cbind(0.5, 0.5)[rep(1, nrow(x)), ])
  expect_error(dml_irm(spec, learner_treatment = unnamed, folds = folds), "column per class",
               class = "fastdml_error_learner")
  wide <- lrn_custom(function(x, y) NULL, function(model, x) cbind(x[, 1], x[, 2]))
  expect_error(dml_plr(spec, learner_outcome = wide, folds = folds), "matrix with 2 columns .*nuisance l, fold 1, repetition 1",
               class = "fastdml_error_learner")
  text <- lrn_custom(function(x, y) NULL, function(model, x) rep("a", nrow(x)))
  expect_error(dml_plr(spec, learner_outcome = text, folds = folds), "character", class = "fastdml_error_learner")
  calls <- 0
  flaky <- lrn_custom(function(x, y) {
    calls <<- calls + 1
    if (calls == 5) stop("singular design")
    NULL
  }, function(model, x) rep(0, nrow(x)))
  err <- expect_error(dml_plr(spec, learner_outcome = flaky, folds = folds), class = "fastdml_error_learner")
  expect_match(conditionMessage(err), "nuisance l, fold 2, repetition 2")
  expect_match(conditionMessage(err$parent), "singular design")
})
