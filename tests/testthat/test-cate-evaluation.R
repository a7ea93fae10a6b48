# DR-learner, meta-learners, calibration, RATE and accuracy against the independent reference
# of helper-reference-cate.R and hand-written fold loops.

hetero_fit <- function(n = 800, seed = 2, n_clusters = 0, weights = FALSE) {
  set.seed(seed)
  X <- matrix(rnorm(n * 3), n, 3, dimnames = list(NULL, paste0("x", 1:3)))
  tau <- 1 + X[, 1]
  d <- rbinom(n, 1, plogis(0.5 * X[, 2]))
  df <- data.frame(X, d = d, y = X[, 2] + tau * d + rnorm(n), tau = tau)
  if (n_clusters > 0) df$cl <- sample(seq_len(n_clusters), n, replace = TRUE)
  if (weights) df$w <- runif(n, 0.3, 2)
  spec <- test_spec(df, cluster = if (n_clusters > 0) "cl", weights = if (weights) "w")
  list(df = df, fit = irm_linear(spec, seed = seed))
}

test_that("cate_dr() cross-fits the pseudo-outcomes on the fit's folds (lm fold loop)", {
  case <- hetero_fit()
  fit <- case$fit
  dr <- cate_dr(fit, c("x1", "x2"), learner = lrn_linear())
  gamma <- fastdml:::pseudo_outcomes(fit, 1L)
  folds <- fit$nuisances$folds[, 1]
  Z <- fit$spec$X[, c("x1", "x2")]
  expected <- numeric(fit$n)
  for (k in unique(folds)) {
    train <- folds != k
    coefs <- lm.fit(cbind(1, Z[train, ]), gamma[train])$coefficients
    expected[!train] <- cbind(1, Z[!train, ]) %*% coefs
  }
  expect_equal(dr$estimates, expected, tolerance = 1e-8)
  expect_equal(dr$pseudo_outcomes, gamma)
  new <- data.frame(x1 = c(-1, 0, 2), x2 = c(0, 1, 0))
  full <- lm.fit(cbind(1, Z), gamma)$coefficients
  expect_equal(predict(dr, new), drop(cbind(1, as.matrix(new)) %*% full), tolerance = 1e-8)
  expect_equal(predict(dr), dr$estimates)
  expect_error(predict(dr, data.frame(x1 = 1)), class = "fastdml_error_column", regexp = "x2")
  expect_error(predict(dr, data.frame(x1 = NA, x2 = 1)), class = "fastdml_error_non_finite")
  expect_error(cate_dr(fit, "nope"), class = "fastdml_error_column", regexp = "nope")
  expect_error(cate_dr(fit, learner = lrn_logistic()), class = "fastdml_error_learner", regexp = "classifier")
  expect_output(print(dr), "out of fold")
})

test_that("cate_dr() with boosting recovers the effect's slope and is reproducible by seed", {
  case <- hetero_fit(n = 3000, seed = 5)
  a <- cate_dr(case$fit, c("x1", "x2"), seed = 3)
  b <- cate_dr(case$fit, c("x1", "x2"), seed = 3)
  expect_identical(a$estimates, b$estimates)
  expect_gt(cor(a$estimates, case$df$tau), 0.8)
})

test_that("calibration() equals the reference BLP test and quantile-group effects", {
  skip_if_not_installed("sandwich")
  for (clusters in c(0, 25)) {
    case <- hetero_fit(n_clusters = clusters, weights = TRUE)
    fit <- case$fit
    S <- case$df$tau + rnorm(fit$n, sd = 0.5)
    gamma <- fastdml:::pseudo_outcomes(fit, 1L)
    res <- calibration(S, fit, n_groups = 5, truth = case$df$tau, vcov_type = "HC1")
    ref <- ref_calibration(gamma, S, fit$spec$weights, fit$spec$cluster, "HC1", n_groups = 5,
                           truth = case$df$tau)
    expect_equal(res$test$estimate, ref$blp$estimate, tolerance = 1e-8)
    expect_equal(res$test$std.error, ref$blp$std.error, tolerance = 1e-8)
    expect_equal(res$test$p.value[2], ref$p_het_zero, tolerance = 1e-8)
    expect_equal(res$p_het_one, ref$p_het_one, tolerance = 1e-8)
    expect_equal(res$groups$estimate, ref$groups$gate, tolerance = 1e-8)
    expect_equal(res$groups$mean_prediction, ref$groups$mean_score, tolerance = 1e-10)
    expect_equal(res$groups$mean_truth, ref$groups$mean_truth, tolerance = 1e-10)
    expect_equal(res$groups$n, ref$groups$n)
  }
  res0 <- calibration(S, fit <- hetero_fit(weights = TRUE)$fit, n_groups = 4)
  ref0 <- ref_calibration(fastdml:::pseudo_outcomes(fit, 1L), S, fit$spec$weights, n_groups = 4)
  expect_equal(res0$groups$std.error, ref0$groups$std.error, tolerance = 1e-8)
  expect_output(print(res0), "HET = 1")
})

test_that("rate() equals the reference AUTOC, QINI, TOC and the seeded half-sample bootstrap", {
  for (clusters in c(0, 30)) {
    case <- hetero_fit(n = 600, n_clusters = clusters, weights = TRUE)
    fit <- case$fit
    S <- round(case$df$tau + rnorm(fit$n, sd = 0.5), 1)  # ties
    gamma <- fastdml:::pseudo_outcomes(fit, 1L)
    q <- c(0.1, 0.25, 0.5, 1)
    res <- rate(S, fit, q = q, n_boot = 40, seed = 11)
    ref <- ref_rate(gamma, S, fit$spec$weights, q = q)
    boot <- ref_rate_bootstrap(gamma, S, fit$spec$weights, fit$spec$cluster, B = 40, seed = 11)
    expect_equal(res$estimates$estimate, c(ref$autoc, ref$qini), tolerance = 1e-10)
    expect_equal(res$toc$toc, ref$toc$toc, tolerance = 1e-10)
    expect_equal(res$estimates$std.error, c(boot$autoc_se, boot$qini_se), tolerance = 1e-10)
  }
  expect_equal(res$toc$toc[4], 0, tolerance = 1e-12)
  expect_output(print(res), "AUTOC")
  expect_error(rate(S, fit, q = 1.5), class = "fastdml_error_argument")
  expect_error(rate(S[-1], fit), class = "fastdml_error_length")
})

test_that("cate_accuracy() equals the reference and reports segment bias", {
  set.seed(3)
  truth <- rnorm(400)
  est <- truth + rnorm(400, sd = 0.4)
  w <- runif(400, 0.5, 2)
  res <- cate_accuracy(list(a = est, b = -est), truth, weights = w, top = 0.25, cost = 0.1,
                       segments = list(pos = truth > 0, all = rep(TRUE, 400)))
  ref <- ref_cate_accuracy(est, truth, w, top = 0.25)
  for (col in names(ref)) expect_equal(res[[col]][1], ref[[col]], tolerance = 1e-10)
  expect_equal(res$share_above_cost[1], sum(w * (est > 0.1)) / sum(w))
  seg <- attr(res, "segments")
  expect_equal(seg$bias[seg$segment == "all" & seg$estimator == "a"], ref$ate_bias, tolerance = 1e-10)
  expect_output(print(res), "Bias by segment")
  expect_error(cate_accuracy(est[-1], truth), class = "fastdml_error_argument")
  expect_error(cate_accuracy(list(est), truth), class = "fastdml_error_argument", regexp = "named")
  expect_error(cate_accuracy(est, truth, segments = list(s = truth)), class = "fastdml_error_argument")
})

test_that("S- and X-learners equal the OLS reference", {
  case <- hetero_fit(weights = FALSE)
  spec <- case$fit$spec
  X <- spec$X
  s <- s_learner(spec)
  expect_equal(s$uplift, unname(ref_s_learner_linear(spec$y, spec$d, X)), tolerance = 1e-8)
  e <- fitted(glm(spec$d ~ X, family = binomial()))
  x <- x_learner(spec)
  expect_equal(x$uplift, unname(ref_x_learner_linear(spec$y, spec$d, X, e)), tolerance = 1e-6)
  t <- t_learner(spec)
  expect_equal(unname(coef(t)), mean(t$uplift))
  boot <- x_learner(spec, n_boot = 5, seed = 1)
  expect_true(is.finite(boot$se))
})

test_that("CATE autoplots build", {
  case <- hetero_fit()
  fit <- case$fit
  dr <- cate_dr(fit, learner = lrn_linear())
  plots <- list(ggplot2::autoplot(calibration(dr, fit, n_groups = 4, truth = case$df$tau)),
                ggplot2::autoplot(rate(dr, fit, n_boot = 10, seed = 1)),
                ggplot2::autoplot(gate(fit, case$df$x1 > 0)),
                ggplot2::autoplot(dr),
                ggplot2::autoplot(cate_clusters(fit, k = 3, n_pc = 2, seed = 1), type = "pca"),
                ggplot2::autoplot(cate_blp(fit, ~ x1)),
                ggplot2::autoplot(cate_accuracy(list(dr = dr), case$df$tau)),
                ggplot2::autoplot(cate_accuracy(list(dr = dr), case$df$tau, segments = list(a = case$df$x1 > 0)),
                                  type = "segments"))
  for (p in plots) expect_s3_class(ggplot2::ggplot_build(p), "ggplot_built")
  expect_error(ggplot2::autoplot(dr, type = "pca"), class = "fastdml_error_argument")
})

test_that("cate_importance() ranks the modifier that drives the effect first", {
  case <- hetero_fit(n = 1500, seed = 4)
  dr <- cate_dr(case$fit, learner = lrn_linear())
  imp <- cate_importance(dr, seed = 1)
  expect_identical(imp$term[1], "x1")
  expect_equal(sum(imp$importance), 1, tolerance = 1e-12)
  # For a linear smoother the permutation change of column j is beta_j^2 * mean((z_j - perm z_j)^2).
  Z <- case$fit$spec$X
  beta <- lm.fit(cbind(1, Z), dr$pseudo_outcomes)$coefficients[-1]
  set.seed(1)
  change <- vapply(1:3, function(j) mean((beta[j] * (Z[, j] - Z[sample.int(1500), j]))^2), numeric(1))
  expect_equal(imp$importance[match(colnames(Z), imp$term)], change / sum(change), tolerance = 1e-8)
  expect_error(cate_importance(cate_blp(case$fit)), class = "fastdml_error_argument")
})
