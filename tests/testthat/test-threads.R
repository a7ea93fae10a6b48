# Results must be bit-identical for any thread count: n is large enough for several row
# chunks (32768 rows each) per fold, so both the chunked Gram/IRLS reductions and the
# (nuisance x fold x repetition) tasks run in parallel; for the boosting learners, the
# training folds are large enough for the threaded histograms (8192 rows and more), and the
# random validation splits and row/column subsamples come from per-task seeds.
test_that("PLR and IRM fits are identical for 1 and 2 threads", {
  df <- make_test_data(n = 70000, p = 5, seed = 31)
  spec <- test_spec(df)
  folds <- make_folds(spec, n_folds = 3, n_rep = 2, seed = 1)
  for (fit_fun in list(
    # linear outcome and linear / logistic treatment models
    function(t) plr_linear(spec, folds = folds, num.threads = t),
    function(t) plr_linear(spec, learner_treatment = lrn_logistic(ridge = 0.5), folds = folds, num.threads = t),
    function(t) irm_linear(spec, folds = folds, num.threads = t),
    function(t) irm_linear(spec, estimand = "ATT", folds = folds, normalize = TRUE, num.threads = t),
    # the default boosting learners (their seed fixed; without one it is drawn from R's stream);
    # one repetition for IRM, to save time
    function(t) dml_plr(spec, folds = folds, num.threads = t, seed = 1),
    function(t) dml_irm(spec, folds = folds[, 1, drop = FALSE], num.threads = t, seed = 1),
    function(t) dml_irm(spec, estimand = "ATT", learner_outcome = lrn_boost(subsample = 0.5, colsample = 0.6),
                        folds = folds[, 2, drop = FALSE], normalize = TRUE, num.threads = t, seed = 1))) {
    a <- fit_fun(1)
    b <- fit_fun(2)
    expect_identical(a$nuisances, b$nuisances)
    expect_identical(a$quality, b$quality)
    expect_identical(coef(a), coef(b))
    expect_identical(a$se, b$se)
  }
})

test_that("a seed reproduces the folds and the fit", {
  spec <- test_spec(make_test_data(n = 500, seed = 32))
  a <- dml_irm(spec, n_rep = 2, seed = 9)
  b <- dml_irm(spec, n_rep = 2, seed = 9)
  expect_identical(a$nuisances, b$nuisances)
  expect_identical(coef(a), coef(b))
})

test_that("the thread count follows the option and OMP_THREAD_LIMIT", {
  withr_env <- Sys.getenv("OMP_THREAD_LIMIT", NA)
  on.exit(if (is.na(withr_env)) Sys.unsetenv("OMP_THREAD_LIMIT") else Sys.setenv(OMP_THREAD_LIMIT = withr_env))
  old <- options(fastdml.num.threads = 1)
  on.exit(options(old), add = TRUE)
  Sys.unsetenv("OMP_THREAD_LIMIT")
  expect_identical(fastdml:::resolve_num_threads(NULL), 1L)
  Sys.setenv(OMP_THREAD_LIMIT = "1")
  expect_identical(fastdml:::resolve_num_threads(8), 1L)
  expect_error(fastdml:::resolve_num_threads(0), "num.threads")
  expect_error(fastdml:::resolve_num_threads("two"), "num.threads")
})
