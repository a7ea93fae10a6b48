# cate_forest(): the user-facing causal forest on a fit's residuals — residuals, threads,
# seeds, multi-arm contrasts, prediction, errors, and agreement with grf on the same residuals.

forest_data <- function(n = 2000, seed = 1) {
  set.seed(seed)
  X <- matrix(rnorm(n * 5), n, 5, dimnames = list(NULL, paste0("x", 1:5)))
  tau <- 1 + X[, 1] + 0.5 * (X[, 2] > 0)
  d <- rbinom(n, 1, plogis(0.6 * X[, 3]))
  data.frame(X, d = d, y = X[, 3] + 0.5 * X[, 4] + tau * d + rnorm(n), tau = tau)
}

test_that("the forest is grown on the fit's R-learner residuals", {
  df <- forest_data(600)
  fit <- irm_linear(test_spec(df), seed = 1, n_rep = 2)
  res <- fastdml:::forest_residuals(fit, 1L, seq_len(600))
  nu <- fit$nuisances
  m <- pmin(pmax(nu$m, 0.01), 0.99)
  l <- m * nu$g1 + (1 - m) * nu$g0
  expect_equal(res$y, rowMeans(df$y - l), tolerance = 1e-12)
  expect_equal(res$d, rowMeans(df$d - m), tolerance = 1e-12)
})

test_that("cate_forest() is bit-identical across thread counts and reproducible by seed", {
  df <- forest_data(1500)
  fit <- irm_linear(test_spec(df), seed = 1)
  one <- cate_forest(fit, num_trees = 100, seed = 5, num.threads = 1)
  three <- cate_forest(fit, num_trees = 100, seed = 5, num.threads = 3)
  expect_identical(one$estimates, three$estimates)
  expect_identical(one$variance, three$variance)
  expect_identical(predict(one, df[1:50, ], variance = TRUE), predict(three, df[1:50, ], variance = TRUE, num.threads = 3))
  set.seed(9)
  a <- cate_forest(fit, num_trees = 50)
  set.seed(9)
  b <- cate_forest(fit, num_trees = 50)
  expect_identical(a$estimates, b$estimates)
  expect_false(identical(a$estimates, cate_forest(fit, num_trees = 50, seed = 6)$estimates))
})

test_that("cate_forest() recovers a known CATE and reports intervals and importance", {
  df <- forest_data(3000, seed = 2)
  fit <- irm_linear(test_spec(df), seed = 2)
  cf <- cate_forest(fit, num_trees = 500, seed = 1)
  expect_gt(cor(cf$estimates, df$tau), 0.85)
  expect_lt(sqrt(mean((cf$estimates - df$tau)^2)), 0.5 * sd(df$tau))
  expect_true(all(cf$variance >= 0))
  covered <- mean(abs(cf$estimates - df$tau) <= 1.96 * sqrt(cf$variance))
  expect_gt(covered, 0.6)
  expect_identical(cf$importance$term[1], "x1")
  expect_equal(sum(cf$importance$importance), 1, tolerance = 1e-8)
  expect_output(print(cf), "Variable importance")
  new <- predict(cf, df[1:20, ], variance = TRUE)
  expect_named(new, c("estimate", "variance"))
  expect_equal(predict(cf), cf$estimates)
  tab <- tidy(cf)
  expect_equal(tab$std.error, sqrt(cf$variance))
  expect_equal(tab$conf.high - tab$estimate, qnorm(0.975) * sqrt(cf$variance), tolerance = 1e-12)
  expect_identical(nobs(cf), 3000L)
  expect_error(predict(cf, df[, 1:3]), class = "fastdml_error_column", regexp = "x4")
})

test_that("cate_forest() agrees with grf::causal_forest on the same residuals", {
  skip_if_not_installed("grf")
  df <- forest_data(3000, seed = 3)
  fit <- irm_linear(test_spec(df), seed = 3)
  res <- fastdml:::forest_residuals(fit, 1L, seq_len(3000))
  X <- as.matrix(df[paste0("x", 1:5)])
  ours <- cate_forest(fit, num_trees = 1000, seed = 1)
  theirs <- grf::causal_forest(X, df$y, df$d, Y.hat = df$y - res$y, W.hat = df$d - res$d,
                               num.trees = 1000, seed = 1, num.threads = 2)
  test <- forest_data(1000, seed = 33)
  X_test <- as.matrix(test[paste0("x", 1:5)])
  ours_test <- predict(ours, X_test)
  theirs_test <- predict(theirs, X_test)$predictions
  expect_gt(cor(ours_test, theirs_test), 0.9)
  rmse <- function(e) sqrt(mean((e - test$tau)^2))
  expect_lt(rmse(ours_test), 1.1 * rmse(theirs_test))
})

test_that("cate_forest() estimates each contrast of a multi-arm fit on its pair of arms", {
  df <- make_multi_data(n = 1500, K = 3, seed = 7)
  fit <- dml_multi_irm(multi_spec(df), learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
  cf <- cate_forest(fit, num_trees = 100, contrast = "beta", seed = 1)
  expect_identical(cf$contrast, "beta vs ctl")
  expect_length(cf$estimates, 1500)
  expect_false(anyNA(cf$estimates))
  expect_equal(mean(cf$estimates), unname(coef(fit)[2]), tolerance = 0.2)
  expect_error(cate_forest(fit), class = "fastdml_error_argument", regexp = "one contrast")
})

test_that("cate_forest() validates its options", {
  fit <- irm_linear(test_spec(forest_data(300)), seed = 1)
  expect_error(cate_forest(fit, num_trees = 101), class = "fastdml_error_argument", regexp = "multiple")
  expect_error(cate_forest(fit, sample_fraction = 0.8), class = "fastdml_error_argument", regexp = "little bags")
  expect_error(cate_forest(fit, mtry = 9), class = "fastdml_error_argument", regexp = "mtry")
  expect_error(cate_forest(fit, alpha = 0.3), class = "fastdml_error_argument", regexp = "alpha")
  expect_error(cate_forest(fit, "x9"), class = "fastdml_error_column", regexp = "x9")
  no_bags <- cate_forest(fit, num_trees = 20, ci_group_size = 1, sample_fraction = 0.7, seed = 1)
  expect_null(no_bags$variance)
  expect_error(predict(no_bags, variance = TRUE), class = "fastdml_error_argument", regexp = "little bags")
})

test_that("cate_forest() without clusters is bit-identical to the forest before clusters existed", {
  # Saved from the build before clusters were added (x86_64 Linux, R 4.2.2).
  skip_if_not(R.version$arch == "x86_64", "saved output is from x86_64")
  df <- forest_data(800, seed = 4)
  fit <- irm_linear(test_spec(df), seed = 1)
  cf <- cate_forest(fit, num_trees = 60, seed = 3, num.threads = 2)
  expect_null(cf$model$cluster)
  expect_identical(cf$estimates[1:4], as.numeric(c("0x1.45cf80caabd1ap+0", "0x1.7da86680d1ec5p-1",
                                                   "0x1.12d959e13785dp+1", "0x1.f287c87616cc8p+0")))
  expect_identical(fingerprint(list(cf$estimates, cf$variance, predict(cf, df[1:40, ], variance = TRUE))),
                   "45284fe786c10ed61ce070cd87d5792e")
})

test_that("cate_forest() on a clustered fit samples clusters and gives sensible estimates", {
  df <- forest_data(2400, seed = 6)
  set.seed(6)
  df$cl <- sample(rep(sprintf("u%03d", 1:240), 10))
  fit <- irm_linear(test_spec(df, cluster = "cl"), seed = 1)
  one <- cate_forest(fit, num_trees = 300, seed = 2, num.threads = 1)
  three <- cate_forest(fit, num_trees = 300, seed = 2, num.threads = 3)
  expect_identical(one$estimates, three$estimates)
  expect_identical(one$variance, three$variance)
  expect_identical(one$model$cluster, fit$spec$cluster)
  expect_identical(predict(one, df[1:30, ], variance = TRUE), predict(three, df[1:30, ], variance = TRUE))
  set.seed(4)
  a <- cate_forest(fit, num_trees = 50)
  set.seed(4)
  expect_identical(a$estimates, cate_forest(fit, num_trees = 50)$estimates)
  plain <- cate_forest(irm_linear(test_spec(df), seed = 1), num_trees = 300, seed = 2)
  expect_false(identical(one$estimates, plain$estimates))
  expect_true(all(is.finite(one$estimates)))
  expect_true(all(one$variance >= 0))
  expect_gt(cor(one$estimates, df$tau), 0.8)
  expect_lt(sqrt(mean((one$estimates - df$tau)^2)), 0.6 * sd(df$tau))
  expect_identical(one$importance$term[1], "x1")
})

test_that("cate_forest() renumbers the clusters of a multi-arm contrast's rows", {
  df <- make_multi_data(n = 1500, K = 3, seed = 7)
  # Clusters nested in arms: the "alpha" clusters have no row in the beta-vs-ctl contrast.
  df$cl <- paste(df$arm, sample(1:40, 1500, replace = TRUE))
  fit <- dml_multi_irm(multi_spec(df, cluster = "cl"), learner_outcome = lrn_linear(),
                       learner_treatment = lrn_logistic(), seed = 1)
  cf <- cate_forest(fit, num_trees = 100, contrast = "beta", seed = 1)
  rows <- df$arm %in% c("ctl", "beta")
  expect_identical(cf$model$cluster, as.integer(factor(df$cl[rows])))
  expect_false(anyNA(cf$estimates))
  expect_equal(mean(cf$estimates), unname(coef(fit)[2]), tolerance = 0.2)
})
