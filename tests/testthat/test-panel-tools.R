# Panel tools (specs/recsys-aipw.md): cluster bootstrap of fits and group effects, S-learner
# outcome nuisances, the learner-pair grid, the stabilised MSM and g-computation, against
# independent R code (helper-reference-cluster-bootstrap.R, lm + sandwich).

panel_case <- function(n_clusters = 40, per = 15, seed = 1, weights = FALSE, ...) {
  df <- make_test_data(n = n_clusters * per, p = 4, seed = seed, weights = weights)
  df$cl <- rep(seq_len(n_clusters), each = per)
  spec <- test_spec(df, cluster = "cl", weights = if (weights) "w")
  list(df = df, spec = spec, fit = irm_linear(spec, seed = seed, ...))
}

test_that("bootstrap_cluster() equals the R loop over clusters, with repetitions and weights", {
  case <- panel_case(weights = TRUE, n_rep = 3)
  fit <- case$fit
  res <- bootstrap_cluster(fit, B = 60, seed = 5)
  num <- -matrix(fit$psi_b, nrow = fit$n)
  den <- matrix(fit$psi_a, nrow = fit$n)
  draws <- ref_cluster_bootstrap(num, den, fit$spec$cluster, B = 60, seed = 5)
  per_draw <- apply(draws, 1, median)
  expect_equal(unname(res$draws[, 1]), per_draw, tolerance = 1e-10)
  expect_equal(res$table$conf.low, unname(quantile(per_draw, 0.025)), tolerance = 1e-10)
  expect_equal(res$table$boot.se, sd(per_draw), tolerance = 1e-10)
  expect_equal(res$table$std.error, fit$se)
  expect_lt(abs(median(per_draw) - unname(coef(fit))), 3 * fit$se)
  expect_output(print(res), "40 clusters")
  one <- bootstrap_cluster(irm_linear(test_spec(case$df), seed = 1), B = 20, seed = 1)
  expect_match(one$unit, "rows")
})

test_that("the ATE's cluster bootstrap is the resampled mean of the pseudo-outcomes", {
  case <- panel_case()
  fit <- case$fit
  gamma <- fastdml:::pseudo_outcomes(fit, 1L)
  draws <- ref_cluster_bootstrap(matrix(gamma), matrix(1, fit$n), fit$spec$cluster, B = 30, seed = 2)
  expect_equal(unname(bootstrap_cluster(fit, B = 30, seed = 2)$draws[, 1]), draws[, 1], tolerance = 1e-10)
})

test_that("gate() on quartile bins: size flags, cluster counts and bootstrap intervals", {
  case <- panel_case(n_clusters = 30, per = 20, weights = TRUE)
  fit <- case$fit
  bins <- quartile_bins(case$df, c("x1", "x2"))
  expect_named(bins, c("x1", "x2"))
  expect_equal(nlevels(bins$x1), 4L)
  expect_match(levels(bins$x1)[1], "^Q1 \\[")
  res <- gate(fit, bins, min_rows = 140, min_clusters = 25, B = 40, seed = 3)
  expect_equal(unique(res$table$segmentation), c("x1", "x2"))
  tab <- res$table[res$table$segmentation == "x1", ]
  expect_equal(tab$n, as.vector(table(bins$x1)))
  expect_equal(tab$clusters, vapply(levels(bins$x1), function(g) length(unique(case$df$cl[bins$x1 == g])), integer(1)),
               ignore_attr = TRUE)
  expect_equal(tab$size_ok, tab$n >= 140 & tab$clusters >= 25)
  gamma <- fastdml:::pseudo_outcomes(fit, 1L)
  w <- fit$spec$weights
  G <- outer(as.integer(bins$x1), 1:4, `==`) * 1
  draws <- ref_cluster_bootstrap(w * gamma * G, w * G, fit$spec$cluster, B = 40, seed = 3)
  expect_equal(tab$boot.low, unname(apply(draws, 2, quantile, 0.025, na.rm = TRUE)), tolerance = 1e-10)
  expect_equal(tab$treated_share, as.vector(tapply(w * fit$spec$d, bins$x1, sum) / tapply(w, bins$x1, sum)), tolerance = 1e-12)
  expect_output(print(res), "x2")
  expect_s3_class(ggplot2::ggplot_build(ggplot2::autoplot(res)), "ggplot_built")
  expect_error(quartile_bins(case$df, "nope"), class = "fastdml_error_column")
})

test_that("S-learner outcome nuisances are out of fold and one model of Y on [X, D]", {
  case <- panel_case()
  spec <- case$spec
  fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
                 outcome_style = "s_learner", seed = 1)
  folds <- fit$nuisances$folds[, 1]
  X <- cbind(1, spec$X, d = spec$d)
  for (k in 1:2) {
    train <- folds != k
    beta <- lm.fit(X[train, ], spec$y[train])$coefficients
    X1 <- X[!train, ]
    X1[, "d"] <- 1
    X0 <- X1
    X0[, "d"] <- 0
    expect_equal(fit$nuisances$g1[!train, 1], drop(X1 %*% beta), tolerance = 1e-8)
    expect_equal(fit$nuisances$g0[!train, 1], drop(X0 %*% beta), tolerance = 1e-8)
  }
  expect_match(fit$learners[["g0"]], "S-learner")
  expect_identical(fit$outcome_style, "s_learner")
})

test_that("nuisance_grid() fits every learner pair on the same folds", {
  case <- panel_case()
  grid <- nuisance_grid(case$spec, list(logistic = lrn_logistic()),
                        list(linear = lrn_linear(), ridge = lrn_linear(ridge = 50)), B = 20, seed = 4)
  expect_equal(nrow(grid$table), 2L)
  expect_identical(grid$fits[[1]]$nuisances$folds, grid$fits[[2]]$nuisances$folds)
  fit <- grid$fits[[1]]
  expect_equal(grid$table$estimate[1], unname(coef(fit)))
  expect_equal(grid$table$gcomp[1], mean(fit$nuisances$g1 - fit$nuisances$g0), tolerance = 1e-12)
  expect_equal(grid$table$conf.low[1], bootstrap_cluster(fit, B = 20, seed = 4)$table$conf.low)
  expect_output(print(grid), "same folds")
})

test_that("the stabilised MSM equals weighted lm with a cluster-robust sandwich", {
  skip_if_not_installed("sandwich")
  case <- panel_case(weights = TRUE)
  spec <- case$spec
  res <- ipw(spec, stabilized = TRUE, adjust = ~ x3 + x4, B = 30, seed = 6)
  e <- pmin(pmax(fitted(glm(spec$d ~ spec$X, family = binomial())), 0.01), 0.99)
  p <- mean(spec$d)
  sw <- spec$weights * ifelse(spec$d == 1, p / e, (1 - p) / (1 - e))
  df <- data.frame(y = spec$y, d = spec$d, x3 = spec$X[, "x3"], x4 = spec$X[, "x4"])
  ref <- lm(y ~ d + x3 + x4, data = df, weights = sw)
  expect_equal(unname(coef(res)), unname(coef(ref)["d"]), tolerance = 1e-6)
  V <- sandwich::vcovCL(ref, cluster = spec$cluster, type = "HC0", cadjust = TRUE)
  expect_equal(res$se, sqrt(V["d", "d"]), tolerance = 1e-6)
  expect_true(res$boot$boot.low < coef(res) && coef(res) < res$boot$boot.high)
  expect_true(all(c("boot.low", "boot.high") %in% names(tidy(res))))
  plain <- ipw(spec)
  expect_equal(unname(coef(ipw(spec, stabilized = TRUE))), unname(coef(plain)), tolerance = 1e-8)
  expect_error(ipw(spec, adjust = ~ nope), class = "fastdml_error_column")
})

test_that("g_computation() is the mean contrast of the outcome models with a cluster bootstrap", {
  case <- panel_case()
  spec <- case$spec
  res <- g_computation(spec, learner = lrn_linear(), B = 25, seed = 8)
  X <- cbind(1, spec$X, d = spec$d)
  beta <- lm.fit(X, spec$y)$coefficients
  expect_equal(unname(coef(res)), unname(beta["d"]), tolerance = 1e-8)
  draws <- ref_cluster_bootstrap(matrix(res$uplift), matrix(1, spec$n), spec$cluster, B = 25, seed = 8)
  expect_equal(res$boot$boot.low, unname(quantile(draws[, 1], 0.025)), tolerance = 1e-10)
  t_style <- g_computation(spec, learner = lrn_linear(), outcome_style = "t_learner")
  expect_equal(unname(coef(t_style)), unname(coef(t_learner(spec))), tolerance = 1e-10)
})

test_that("every model keeps a cluster's rows in one fold (PLR, IRM, multi-arm, CATE, policy)", {
  case <- panel_case(n_clusters = 30, per = 12)
  one_fold_per_cluster <- function(folds, cluster) all(tapply(folds, cluster, function(f) length(unique(f))) == 1L)
  spec <- case$spec
  plr <- dml_plr(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_linear(), seed = 1, n_rep = 2)
  for (s in 1:2) expect_true(one_fold_per_cluster(plr$nuisances$folds[, s], spec$cluster))
  expect_true(one_fold_per_cluster(case$fit$nuisances$folds[, 1], spec$cluster))
  df <- make_multi_data(n = 600, K = 3, seed = 2)
  df$cl <- rep(1:40, each = 15)
  multi <- dml_multi_irm(multi_spec(df, cluster = "cl"), learner_outcome = lrn_linear(),
                         learner_treatment = lrn_logistic(), seed = 1)
  expect_true(one_fold_per_cluster(multi$nuisances$folds[, 1], df$cl))
  dr <- cate_dr(case$fit, learner = lrn_linear())
  folds <- case$fit$nuisances$folds[, 1]
  gamma <- dr$pseudo_outcomes
  k <- folds[1]
  beta <- lm.fit(cbind(1, spec$X[folds != k, ]), gamma[folds != k])$coefficients
  expect_equal(dr$estimates[folds == k], drop(cbind(1, spec$X[folds == k, ]) %*% beta), tolerance = 1e-8)
  tree <- policy_tree(case$fit, depth = 1)
  expect_identical(tree$n_folds, length(unique(folds)))
  # Fits from external nuisances have no folds; the tools then draw grouped ones.
  expect_true(one_fold_per_cluster(fastdml:::draw_folds(spec, 5L, 1L, FALSE, 1)[, 1], spec$cluster))
})
