test_that("folds are stratified, balanced and reproducible", {
  spec <- test_spec(make_test_data(n = 203))
  f1 <- make_folds(spec, n_folds = 5, n_rep = 3, seed = 10)
  f2 <- make_folds(spec, n_folds = 5, n_rep = 3, seed = 10)
  expect_identical(f1, f2)
  expect_identical(dim(f1), c(203L, 3L))
  for (s in 1:3) {
    counts <- table(f1[, s], spec$d)
    expect_lte(max(counts[, "1"]) - min(counts[, "1"]), 1)
    expect_lte(max(counts[, "0"]) - min(counts[, "0"]), 1)
  }
  expect_false(identical(f1[, 1], f1[, 2]))
})

test_that("a seed does not disturb the caller's random stream", {
  spec <- test_spec(make_test_data(n = 50))
  set.seed(99); a <- runif(1)
  set.seed(99); make_folds(spec, seed = 1); b <- runif(1)
  expect_identical(a, b)
})

test_that("clustered folds keep clusters together", {
  spec <- test_spec(make_test_data(n = 300, n_clusters = 30), cluster = "cl")
  folds <- make_folds(spec, n_folds = 5, seed = 2)
  per_cluster <- tapply(folds[, 1], spec$cluster, function(f) length(unique(f)))
  expect_true(all(per_cluster == 1))
  expect_error(make_folds(spec, n_folds = 31), "exceeds the number of clusters")
})

test_that("bad fold arguments are rejected", {
  spec <- test_spec(make_test_data(n = 30))
  expect_error(dml_plr(spec, n_folds = 1), "n_folds.*>= 2")
  expect_error(dml_plr(spec, n_folds = 31), "exceeds")
  expect_error(dml_plr(spec, folds = 1:10), "length n = 30")
  expect_error(dml_plr(spec, folds = rep(c(1, 3), 15)), "no rows in fold 2")
  expect_error(dml_plr(spec, folds = rep(1, 30)), "single fold")
  expect_error(dml_plr(spec, folds = c(NA, rep(1:2, 14), 1)), "without missing")
  expect_error(dml_plr(spec, n_rep = 0), "n_rep")
})

test_that("user folds that split clusters draw a warning", {
  spec <- test_spec(make_test_data(n = 200, n_clusters = 20), cluster = "cl")
  expect_warning(dml_plr(spec, folds = rep(1:5, 40)), "splits .* clusters? across folds")
  expect_no_warning(dml_plr(spec, folds = make_folds(spec, 5, seed = 1)))
})

test_that("fold assignment is balanced overall and within strata, never empty", {
  for (seed in 1:20) {
    d <- c(1, 0, 0, 1, rep(0, 7))
    spec <- causal_data(data.frame(y = rnorm(11), d = d, x = rnorm(11)), "y", "d", "x")
    folds <- make_folds(spec, n_folds = 5, seed = seed)
    sizes <- tabulate(folds[, 1], 5)
    expect_lte(max(sizes) - min(sizes), 1)
    expect_true(all(sizes > 0))
    per_arm <- table(folds[, 1], d)
    expect_lte(max(per_arm[, "0"]) - min(per_arm[, "0"]), 1)
  }
  expect_identical(make_folds(10, 10, seed = 1)[order(make_folds(10, 10, seed = 1))], 1:10)
})

test_that("n_folds and n_rep must agree with the folds given", {
  spec <- test_spec(make_test_data(n = 60))
  folds <- make_folds(spec, 3, n_rep = 2, seed = 1)
  expect_error(dml_plr(spec, folds = folds, n_folds = 5), "n_folds.* disagrees", class = "fastdml_error_folds")
  expect_error(dml_plr(spec, folds = folds, n_rep = 1), "n_rep.* disagrees", class = "fastdml_error_folds")
  # The default (boosting) learners draw a seed when none is given: fix it.
  expect_identical(coef(dml_plr(spec, folds = folds, n_folds = 3, n_rep = 2, seed = 1)),
                   coef(dml_plr(spec, folds = folds, seed = 1)))
  expect_identical(coef(plr_linear(spec, folds = folds, n_folds = 3, n_rep = 2)),
                   coef(plr_linear(spec, folds = folds)))
  fit <- dml_plr(spec, folds = folds)
  expect_error(dml_plr(spec, nuisances = nuisances(fit), n_rep = 3), "n_rep", class = "fastdml_error_nuisances")
  expect_error(dml_plr(spec, nuisances = nuisances(fit), n_folds = 4), "n_folds", class = "fastdml_error_folds")
})
