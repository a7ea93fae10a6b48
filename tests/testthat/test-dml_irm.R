# IRM against the independent reference (helper-reference-dml.R) on the same folds; the reference
# fits linear outcome models and a logistic propensity, so these fits pass them (irm_linear()).

test_that("IRM ATE and ATT match the reference, with and without normalisation", {
  df <- make_test_data(n = 700, seed = 21)
  spec <- test_spec(df)
  folds <- make_folds(spec, n_folds = 5, n_rep = 3, seed = 1)
  for (estimand in c("ATE", "ATT")) {
    for (normalize in c(FALSE, TRUE)) {
      fit <- irm_linear(spec, estimand = estimand, folds = folds, normalize = normalize)
      ref <- ref_irm_fit(X_of(df), df$y, df$d, folds, estimand = estimand, normalize = normalize)
      expect_matches_reference(fit, ref)
    }
  }
  n <- nuisances(fit)
  expect_equal(n$g0, ref$g0, tolerance = 1e-8, ignore_attr = TRUE)
  expect_equal(n$g1, ref$g1, tolerance = 1e-8, ignore_attr = TRUE)
  expect_equal(n$m, ref$m, tolerance = 1e-6, ignore_attr = TRUE)
})

test_that("IRM trimming, weights and clusters match the reference", {
  df <- make_test_data(n = 700, seed = 22, n_clusters = 50, weights = TRUE)
  df$x1 <- 3 * df$x1   # strong selection: some propensities get clipped
  df$d <- rbinom(700, 1, plogis(2.5 * df$x1))
  spec <- test_spec(df, cluster = "cl", weights = "w")
  folds <- make_folds(spec, n_folds = 4, n_rep = 2, seed = 2)
  for (estimand in c("ATE", "ATT")) {
    expect_warning(fit <- irm_linear(spec, estimand = estimand, folds = folds, trim = 0.05),
                   "of the propensities were clipped")
    ref <- suppressWarnings(ref_irm_fit(X_of(df), df$y, df$d, folds, estimand = estimand, trim = 0.05,
                       weights = df$w, cluster = df$cl))
    expect_matches_reference(fit, ref)
  }
  expect_gt(mean(fit$clipped_share), 0)
  expect_equal(fit$clipped_share,
               colMeans(nuisances(fit)$m < 0.05 | nuisances(fit)$m > 0.95))
})

test_that("IRM external nuisances reproduce the fit and are validated", {
  df <- make_test_data(n = 400, seed = 23)
  spec <- test_spec(df)
  fit <- dml_irm(spec, estimand = "ATT", seed = 3)
  ext <- dml_irm(spec, estimand = "ATT", nuisances = nuisances(fit))
  expect_identical(coef(ext), coef(fit))
  ref <- ref_irm(df$y, df$d, nuisances(fit)$g0, nuisances(fit)$g1, nuisances(fit)$m,
                 estimand = "ATT")
  expect_matches_reference(ext, ref)
  bad <- nuisances(fit); bad$m[1] <- 1.2
  expect_error(dml_irm(spec, nuisances = bad), "outside \\[0, 1\\]")
})

test_that("IRM rejects bad designs with clear errors", {
  df <- make_test_data(n = 200, seed = 24)
  spec <- test_spec(df)
  expect_error(dml_irm(spec, trim = 0), "trim.*\\(0, 0.5\\)")
  expect_error(dml_irm(spec, trim = 0.5), "trim")
  expect_error(dml_irm(spec, normalize = NA), "normalize")
  cont <- test_spec(make_test_data(n = 100, binary_d = FALSE))
  expect_error(dml_irm(cont), "needs a binary treatment")
  rare <- df; rare$d <- 0; rare$d[1:3] <- 1
  expect_error(dml_irm(test_spec(rare), n_folds = 5), "3 rows in the treated arm, fewer than the 5 folds")
  folds <- ifelse(df$d == 1, 1L, 2L)
  expect_error(dml_irm(spec, folds = folds), "training sample of fold 1 .* has no treated rows")
  binary_y <- df; binary_y$y <- as.numeric(binary_y$y > 0)
  expect_error(dml_irm(test_spec(binary_y), learner_outcome = lrn_logistic()), NA)
  expect_error(dml_irm(spec, learner_outcome = lrn_logistic()), "not binary 0/1")
  lpm <- suppressWarnings(dml_irm(spec, learner_treatment = lrn_linear(), seed = 1))
  expect_true(is.finite(coef(lpm)))
})


test_that("external propensities at exactly 0 or 1 are clipped and the share reported", {
  df <- make_test_data(n = 300, seed = 26)
  spec <- test_spec(df)
  fit <- dml_irm(spec, seed = 1)
  nu <- nuisances(fit)
  nu$m[1:3, 1] <- 0
  nu$m[4:6, 1] <- 1
  clipped <- dml_irm(spec, nuisances = nu, trim = 0.02)
  expect_true(is.finite(coef(clipped)))
  expect_equal(clipped$clipped_share, mean(nu$m < 0.02 | nu$m > 0.98))
  expect_gte(clipped$clipped_share, 6 / 300)
  expect_output(print(clipped), "Propensities clipped to \\[0.02, 0.98\\]")
  ref <- ref_irm(df$y, df$d, nu$g0, nu$g1, nu$m, trim = 0.02)
  expect_equal(unname(coef(clipped)), ref$theta, tolerance = 1e-10)
})

test_that("the ATT with external nuisances does not need g1", {
  df <- make_test_data(n = 300, seed = 27)
  spec <- test_spec(df)
  fit <- dml_irm(spec, estimand = "ATT", seed = 1)
  nu <- nuisances(fit)
  nu$g1 <- NULL
  ext <- dml_irm(spec, estimand = "ATT", nuisances = nu)
  expect_identical(coef(ext), coef(fit))
  expect_identical(ext$se, fit$se)
  expect_false("g1" %in% names(nuisances(ext)))
  expect_error(dml_irm(spec, estimand = "ATE", nuisances = nu), "lacks .*g1", class = "fastdml_error_nuisances")
})

test_that("integer weights equal duplicated rows, also with Hajek normalisation", {
  df <- make_test_data(n = 200, seed = 28)
  df$w <- rep(1:2, 100)
  spec_w <- test_spec(df, weights = "w")
  fit <- dml_irm(spec_w, seed = 1, normalize = TRUE)
  nu <- nuisances(fit)
  rows <- rep(seq_len(200), df$w)
  spec_dup <- test_spec(df[rows, ])
  for (estimand in c("ATE", "ATT")) {
    a <- dml_irm(spec_w, estimand = estimand, normalize = TRUE, nuisances = nu[c("g0", "g1", "m")])
    b <- dml_irm(spec_dup, estimand = estimand, normalize = TRUE,
                 nuisances = lapply(nu[c("g0", "g1", "m")], function(x) x[rows, , drop = FALSE]))
    expect_equal(coef(a), coef(b), tolerance = 1e-12)
  }
})

test_that("a spec edited by hand is refused", {
  spec <- test_spec(make_test_data(n = 100, seed = 29))
  bad <- spec; bad$y[3] <- NA
  expect_error(dml_irm(bad), "field .*y", class = "fastdml_error_data")
  bad <- spec; bad$X <- bad$X[1:50, ]
  expect_error(dml_plr(bad), "field .*X", class = "fastdml_error_data")
  bad <- spec; bad$d[1] <- 2
  expect_error(diff_in_means(bad), "field .*d", class = "fastdml_error_data")
})
