# Fit-time checks (R/utils-fit-checks.R): each fires a classed warning on the design that calls
# for it and stays silent on a healthy one.

test_that("a healthy fit raises no warning", {
  spec <- test_spec(make_test_data(n = 500, seed = 51, n_clusters = 40), cluster = "cl")
  expect_no_warning(dml_irm(spec, seed = 1))
  expect_no_warning(dml_irm(spec, estimand = "ATT", seed = 1))
  expect_no_warning(dml_plr(spec, seed = 1))
})

test_that("an overfitting outcome model warns with its out-of-fold R2", {
  set.seed(52)
  n <- 120
  df <- data.frame(x = runif(n, -1, 1), d = rbinom(n, 1, 0.5))
  df$y <- df$d + rnorm(n)
  spec <- causal_data(y ~ d | poly(x, 25, raw = TRUE), data = df)
  run <- collect_warnings(plr_linear(spec, seed = 1))   # an unpenalised linear fit of 25 terms
  expect_true("fastdml_warning_nuisance_fit" %in% run$classes)
  l_r2 <- run$value$quality[is.na(fold) & nuisance == "l", r2]
  expect_lt(l_r2, -0.1)
})

test_that("near-separation of the logistic propensity is reported", {
  set.seed(53)
  df <- data.frame(x1 = rnorm(300), x2 = rnorm(300))
  df$d <- as.numeric(df$x1 + 0.01 * rnorm(300) > 0)
  df$y <- df$d + df$x1 + rnorm(300)
  run <- collect_warnings(irm_linear(causal_data(df, "y", "d", c("x1", "x2")), seed = 1))
  expect_true("fastdml_warning_separation" %in% run$classes)
  ridge <- collect_warnings(irm_linear(causal_data(df, "y", "d", c("x1", "x2")), seed = 1,
                                       learner_treatment = lrn_logistic(ridge = 1)))
  expect_false("fastdml_warning_separation" %in% ridge$classes)
})

test_that("a weakly or not identified treatment is caught in PLR", {
  set.seed(54)
  df <- data.frame(x1 = rnorm(300), x2 = rnorm(300))
  df$y <- df$x1 + rnorm(300)
  df$d <- 2 * df$x1 - df$x2
  spec <- causal_data(df, "y", "d", c("x1", "x2"))
  # The linear treatment model recovers an exactly linear treatment; boosting only approximates
  # it, and the exact linear check behind the weak-treatment warning catches it.
  expect_error(plr_linear(spec, seed = 1), "deterministic function", class = "fastdml_error_degenerate")
  expect_error(dml_plr(spec, seed = 1), "deterministic function", class = "fastdml_error_degenerate")
  expect_error(plr_linear(spec, seed = 1, score = "IV-type"), class = "fastdml_error_degenerate")
  df$d <- 2 * df$x1 + 0.05 * rnorm(300)
  weak <- causal_data(df, "y", "d", c("x1", "x2"))
  expect_warning(fit <- plr_linear(weak, seed = 1), "nearly explained", class = "fastdml_warning_weak_treatment")
  expect_lt(fit$treatment_residual_share, 0.01)
  expect_equal(fit$treatment_residual_share,
               sum((df$d - nuisances(fit)$m[, 1])^2) / sum((df$d - mean(df$d))^2), tolerance = 1e-12)
})

test_that("few clusters warn; the G/(G-1) correction is applied on request", {
  df <- make_test_data(n = 300, seed = 55, n_clusters = 6)
  spec <- test_spec(df, cluster = "cl")
  folds <- make_folds(spec, 3, seed = 1)
  # The default (boosting) learners draw a seed when none is given: fix it.
  expect_warning(plain <- dml_plr(spec, folds = folds, seed = 1), "Only 6 clusters", class = "fastdml_warning_few_clusters")
  corrected <- suppressWarnings(dml_plr(spec, folds = folds, seed = 1, cluster_correction = TRUE))
  expect_identical(coef(corrected), coef(plain))
  expect_equal(corrected$se, plain$se * sqrt(6 / 5), tolerance = 1e-12)
  ref <- ref_plr(df$y, df$d, nuisances(plain)$l, nuisances(plain)$m, cluster = df$cl)
  expect_equal(plain$se, ref$se, tolerance = 1e-10)
  expect_warning(linear <- plr_linear(spec, folds = folds), "Only 6 clusters", class = "fastdml_warning_few_clusters")
  linear_corrected <- suppressWarnings(plr_linear(spec, folds = folds, cluster_correction = TRUE))
  expect_identical(coef(linear_corrected), coef(linear))
  expect_equal(linear_corrected$se, linear$se * sqrt(6 / 5), tolerance = 1e-12)
  expect_output(print(corrected), "G/\\(G-1\\) corrected")
  expect_error(dml_plr(spec, cluster_correction = NA), class = "fastdml_error_argument")
})

test_that("the overlap warning looks at the estimand's propensities and fires for a tiny trim", {
  set.seed(56)
  n <- 2000
  df <- data.frame(x1 = rnorm(n), x2 = rnorm(n))
  df$d <- rbinom(n, 1, plogis(-4 + 2.2 * df$x1))
  df$y <- df$d + df$x1 + rnorm(n)
  spec <- causal_data(df, "y", "d", c("x1", "x2"))
  folds <- make_folds(spec, 5, seed = 1)
  ate <- collect_warnings(dml_irm(spec, folds = folds, trim = 1e-6))
  expect_true("fastdml_warning_overlap" %in% ate$classes)
  expect_lt(mean(ate$value$clipped_share), 0.05)
  att <- collect_warnings(dml_irm(spec, estimand = "ATT", folds = folds, trim = 1e-6))
  expect_false("fastdml_warning_overlap" %in% att$classes)
  m <- nuisances(att$value)$m[, 1]
  expect_lt(mean(m[df$d == 0] > 0.99), 0.05)
})

test_that("p close to or above n switches to ridge and returns quickly", {
  set.seed(57)
  n <- 100
  p <- 2000
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  df <- data.frame(X, d = rbinom(n, 1, 0.5))
  df$y <- df$d + X[, 1] + rnorm(n)
  spec <- causal_data(df, "y", "d")
  run <- collect_warnings(irm_linear(spec, seed = 1))
  expect_true(all(run$classes == "fastdml_warning_high_dimensional"))
  expect_length(run$classes, 3L)
  expect_true(is.finite(coef(run$value)) && is.finite(run$value$se))
  expect_match(run$value$learners[["m"]], "ridge\\(2000\\)")
  plr <- collect_warnings(plr_linear(spec, seed = 1))
  expect_true(is.finite(coef(plr$value)))
  # The default (boosting) learners need no switch.
  boost <- collect_warnings(dml_irm(spec, seed = 1))
  expect_false("fastdml_warning_high_dimensional" %in% boost$classes)
  expect_true(is.finite(coef(boost$value)) && is.finite(boost$value$se))
})
