# PLR against the independent reference (helper-reference-dml.R) on the same folds; the
# reference fits linear nuisances, so these fits pass lrn_linear() (plr_linear(), helper-data.R).

test_that("PLR partialling out matches the reference (continuous and binary D, repetitions)", {
  for (binary in c(FALSE, TRUE)) {
    df <- make_test_data(n = 600, p = 4, seed = 11, binary_d = binary)
    spec <- test_spec(df)
    folds <- make_folds(spec, n_folds = 5, n_rep = 3, seed = 1)
    fit <- plr_linear(spec, folds = folds)
    ref <- ref_plr_fit(X_of(df), df$y, df$d, folds)
    expect_equal(nuisances(fit)$l, ref$l, tolerance = 1e-8, ignore_attr = TRUE)
    expect_equal(nuisances(fit)$m, ref$m, tolerance = 1e-8, ignore_attr = TRUE)
    expect_matches_reference(fit, ref)
  }
})

test_that("PLR IV-type score matches the reference", {
  df <- make_test_data(n = 500, seed = 12, binary_d = FALSE)
  spec <- test_spec(df)
  folds <- make_folds(spec, n_folds = 4, n_rep = 2, seed = 2)
  fit <- plr_linear(spec, score = "IV-type", folds = folds)
  ref <- ref_plr_fit(X_of(df), df$y, df$d, folds, score = "IV-type")
  expect_equal(nuisances(fit)$g, ref$g, tolerance = 1e-8, ignore_attr = TRUE)
  expect_matches_reference(fit, ref)
})

test_that("PLR with weights and clusters matches the reference", {
  df <- make_test_data(n = 600, seed = 13, n_clusters = 40, weights = TRUE)
  spec <- test_spec(df, cluster = "cl", weights = "w")
  folds <- make_folds(spec, n_folds = 5, n_rep = 2, seed = 3)
  fit <- plr_linear(spec, folds = folds)
  ref <- ref_plr_fit(X_of(df), df$y, df$d, folds, weights = df$w, cluster = df$cl)
  expect_matches_reference(fit, ref)
  expect_identical(fit$n_clusters, 40L)
  expect_output(print(fit), "Cluster-robust SE over 40 clusters")
})

test_that("PLR with external nuisances fits nothing and reproduces the fit", {
  df <- make_test_data(n = 300, seed = 14)
  spec <- test_spec(df)
  fit <- dml_plr(spec, n_rep = 2, seed = 5)
  ext <- dml_plr(spec, nuisances = nuisances(fit))
  expect_identical(coef(ext), coef(fit))
  expect_identical(ext$se, fit$se)
  expect_identical(nuisances(ext)$folds, nuisances(fit)$folds)
  expect_identical(unname(ext$learners), c("external", "external"))
  ref <- ref_plr(df$y, df$d, nuisances(fit)$l, nuisances(fit)$m)
  expect_matches_reference(ext, ref)
  no_folds <- dml_plr(spec, nuisances = list(l = nuisances(fit)$l, m = nuisances(fit)$m))
  expect_identical(coef(no_folds), coef(fit))
  expect_error(dml_plr(spec, nuisances = list(l = 1:3)), "lacks .*m")
  bad <- nuisances(fit); bad$l[1, 1] <- NA
  expect_error(dml_plr(spec, nuisances = bad), "non-finite")
  bad <- nuisances(fit); bad$m <- bad$m[, 1, drop = FALSE]
  expect_error(dml_plr(spec, nuisances = bad), "same number of columns")
})

