# Pseudo-outcomes, BLP, GATE and cluster-score heterogeneity against the independent reference
# of helper-reference-cate.R (plain R and sandwich).

cate_fit <- function(n = 600, seed = 1, n_clusters = 0, weights = FALSE, ...) {
  df <- make_test_data(n = n, p = 4, seed = seed, n_clusters = n_clusters, weights = weights)
  spec <- test_spec(df, cluster = if (n_clusters > 0) "cl", weights = if (weights) "w")
  list(df = df, fit = irm_linear(spec, seed = seed, ...))
}

test_that("binary pseudo-outcomes equal the reference, averaged over repetitions", {
  case <- cate_fit(n_rep = 3, trim = 0.05)
  fit <- case$fit
  nu <- fit$nuisances
  ref <- ref_pseudo_outcomes(fit$spec$y, fit$spec$d, nu$g0, nu$g1, nu$m, 0.05)
  expect_equal(fastdml:::pseudo_outcomes(fit, 1L), ref, tolerance = 1e-12)
})

test_that("the mean pseudo-outcome is the AIPW estimate (normalize = FALSE, one repetition)", {
  fit <- cate_fit()$fit
  expect_equal(mean(fastdml:::pseudo_outcomes(fit, 1L)), unname(coef(fit)), tolerance = 1e-12)
})

test_that("multi-arm pseudo-outcomes per contrast equal the reference (floor-and-rescale trimming)", {
  skip_if_not_installed("sandwich")
  df <- make_multi_data(n = 900, K = 3, seed = 4)
  nu <- ref_multi_random_nuisances(df, S = 1, seed = 2, perturb = FALSE)
  ext <- multi_nuisance_list(nu$g, nu$m, c("ctl", "alpha", "beta"))
  fit <- suppressWarnings(dml_multi_irm(multi_spec(df), nuisances = ext, trim = 0.03))
  arm <- fastdml:::fit_arm_index(fit)
  G <- sapply(nu$g, function(g) g[, 1])
  E <- sapply(nu$m, function(m) m[, 1])
  for (k in 1:2) {
    expect_equal(fastdml:::pseudo_outcomes(fit, k), ref_pseudo_outcomes_multi(fit$spec$y, arm, G, E, k, 0.03),
                 tolerance = 1e-10)
  }
  blp <- cate_blp(fit, ~ x1, contrast = "beta")
  expect_identical(blp$contrast, "beta vs ctl")
  ref <- ref_blp(ref_pseudo_outcomes_multi(fit$spec$y, arm, G, E, 2, 0.03), cbind(x1 = df$x1))
  expect_equal(tidy(blp)$estimate, ref$estimate, tolerance = 1e-8)
  expect_error(cate_blp(fit, ~ x1), class = "fastdml_error_argument", regexp = "one contrast")
  expect_error(cate_blp(fit, ~ x1, contrast = "ctl"), class = "fastdml_error_argument", regexp = "treated arms")
})

test_that("BLP coefficients and HC0-HC3 standard errors equal sandwich::vcovHC, with weights", {
  skip_if_not_installed("sandwich")
  fit <- cate_fit(weights = TRUE)$fit
  gamma <- fastdml:::pseudo_outcomes(fit, 1L)
  B <- cbind(x1 = fit$spec$X[, "x1"], x2 = fit$spec$X[, "x2"], x2sq = fit$spec$X[, "x2"]^2)
  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    blp <- cate_blp(fit, ~ x1 + x2 + I(x2^2), vcov_type = type)
    ref <- ref_blp(gamma, B, w = fit$spec$weights, type = type)
    expect_equal(tidy(blp)$estimate, ref$estimate, tolerance = 1e-8)
    expect_equal(tidy(blp)$std.error, ref$std.error, tolerance = 1e-8)
    expect_equal(tidy(blp)$p.value, ref$p.value, tolerance = 1e-8)
    expect_equal(unname(sqrt(diag(vcov(blp)))), ref_blp_manual(gamma, B, fit$spec$weights, type = type)$std.error,
                 tolerance = 1e-8)
  }
})

test_that("BLP with clusters equals sandwich::vcovCL (HC0 and HC1, G/(G-1) adjustment)", {
  skip_if_not_installed("sandwich")
  fit <- cate_fit(n = 800, n_clusters = 40, weights = TRUE)$fit
  gamma <- fastdml:::pseudo_outcomes(fit, 1L)
  B <- fit$spec$X[, c("x1", "x3")]
  for (type in c("HC0", "HC1")) {
    blp <- cate_blp(fit, ~ x1 + x3, vcov_type = type)
    ref <- ref_blp(gamma, B, w = fit$spec$weights, cluster = fit$spec$cluster, type = type)
    expect_equal(tidy(blp)$std.error, ref$std.error, tolerance = 1e-8)
  }
  expect_match(blp$method, "cluster-robust")
  expect_error(cate_blp(fit, ~ x1, vcov_type = "HC3"), class = "fastdml_error_argument", regexp = "clusters")
})

test_that("BLP predictions and their variances are B beta and B V B'", {
  case <- cate_fit()
  blp <- cate_blp(case$fit, ~ x1 + poly(x2, 2))
  new <- case$df[1:5, ]
  B <- model.matrix(~ x1 + poly(x2, 2), case$df)[1:5, ]
  pred <- predict(blp, new, variance = TRUE)
  expect_equal(pred$estimate, unname(drop(B %*% coef(blp))), tolerance = 1e-10)
  expect_equal(pred$variance, unname(diag(B %*% vcov(blp) %*% t(B))), tolerance = 1e-10)
  expect_equal(predict(blp), fitted(blp), tolerance = 1e-12)
  expect_equal(unname(confint(blp)[, 1]), tidy(blp)$conf.low)
  expect_warning(collinear <- cate_blp(case$fit, ~ x1 + I(2 * x1) + x2), class = "fastdml_warning_collinear",
                 regexp = "I\\(2 \\* x1\\)")
  expect_equal(coef(collinear), coef(cate_blp(case$fit, ~ x1 + x2)), tolerance = 1e-12)
  expect_equal(predict(collinear, new), predict(cate_blp(case$fit, ~ x1 + x2), new), tolerance = 1e-12)
  expect_error(cate_blp(case$fit, ~ nope), class = "fastdml_error_column", regexp = "nope")
  expect_error(cate_blp(case$fit, y ~ x1), class = "fastdml_error_argument", regexp = "one-sided")
})

test_that("GATE estimates, SEs and the equality test equal the reference (HC and cluster)", {
  skip_if_not_installed("sandwich")
  for (clusters in c(0, 30)) {
    fit <- cate_fit(n = 700, n_clusters = clusters, weights = TRUE)$fit
    gamma <- fastdml:::pseudo_outcomes(fit, 1L)
    groups <- cut(fit$spec$X[, "x1"], c(-Inf, -0.5, 0.5, Inf))
    for (type in c("HC0", "HC1")) {
      res <- gate(fit, groups, vcov_type = type)
      ref <- ref_gate(gamma, groups, w = fit$spec$weights, cluster = fit$spec$cluster, type = type)
      expect_equal(res$table$estimate, ref$table$estimate, tolerance = 1e-8)
      expect_equal(res$table$std.error, ref$table$std.error, tolerance = 1e-8)
      expect_equal(res$table$n, ref$table$n)
      expect_equal(res$test$statistic, ref$test$statistic, tolerance = 1e-8)
      expect_equal(res$test$p.value, ref$test$p.value, tolerance = 1e-8)
    }
  }
  expect_equal(unname(vcov(res)), unname(ref$vcov), tolerance = 1e-8)
})

test_that("gate() covers every contrast of a multi-arm fit and checks its groups", {
  df <- make_multi_data(n = 900, K = 3, seed = 5)
  fit <- dml_multi_irm(multi_spec(df), learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
  res <- gate(fit, df$x2 > 0)
  expect_equal(unique(res$table$contrast), names(coef(fit)))
  expect_equal(nrow(res$test), 2L)
  expect_length(coef(res), 4L)
  expect_output(print(res), "Equal effects")
  bad <- df$x2 > 0
  expect_error(gate(fit, bad[-1]), class = "fastdml_error_length")
  bad[3] <- NA
  expect_error(gate(fit, bad), class = "fastdml_error_non_finite", regexp = "missing")
  expect_error(gate(fit, "x1"), class = "fastdml_error_argument", regexp = "distinct values")
  expect_error(gate(fit, seq_len(900) == 1), class = "fastdml_error_argument", regexp = "fewer than 2")
})

test_that("cate_clusters() regresses on soft cluster scores that sum to one", {
  skip_if_not_installed("sandwich")
  case <- cate_fit(n = 800)
  het <- cate_clusters(case$fit, k = 3, n_pc = 2, seed = 7)
  psi <- het$B
  expect_equal(rowSums(psi), rep(1, 800), tolerance = 1e-12)
  # Independent soft scores from prcomp + kmeans with the same seed.
  Z <- scale(case$fit$spec$X)
  pcs <- prcomp(Z, center = FALSE, scale. = FALSE)$x[, 1:2]
  set.seed(7)
  km <- kmeans(pcs, centers = 3, nstart = 10, iter.max = 100)
  dist <- sapply(1:3, function(c) sqrt(rowSums((pcs - matrix(km$centers[c, ], 800, 2, byrow = TRUE))^2)))
  ref_psi <- (1 / dist) / rowSums(1 / dist)
  expect_equal(unname(psi), unname(ref_psi), tolerance = 1e-8)
  gamma <- fastdml:::pseudo_outcomes(case$fit, 1L)
  lm_fit <- lm(gamma ~ 0 + ref_psi)
  expect_equal(unname(coef(het)), unname(coef(lm_fit)), tolerance = 1e-8)
  expect_equal(unname(sqrt(diag(vcov(het)))), unname(sqrt(diag(sandwich::vcovHC(lm_fit, type = "HC0")))),
               tolerance = 1e-8)
  pred <- predict(het, case$df, variance = TRUE)
  expect_equal(pred$estimate, het$estimates, tolerance = 1e-10)
  expect_equal(pred$variance, rowSums((ref_psi %*% vcov(het)) * ref_psi), tolerance = 1e-10)
  expect_error(cate_clusters(case$fit, k = 3, n_pc = 9), class = "fastdml_error_argument", regexp = "n_pc")
})

test_that("the heterogeneity tools reject fits they cannot use", {
  df <- make_test_data(n = 300)
  plr <- dml_plr(test_spec(df), learner_outcome = lrn_linear(), learner_treatment = lrn_linear(), seed = 1)
  expect_error(cate_blp(plr), class = "fastdml_error_argument", regexp = "dml_irm")
  expect_error(gate(plr, df$x1 > 0), class = "fastdml_error_argument", regexp = "dml_irm")
  att <- irm_linear(test_spec(df), estimand = "ATT", seed = 1)
  expect_s3_class(cate_blp(att, ~ x1), "fastdml_blp")
  nu <- att$nuisances
  ext <- dml_irm(test_spec(df), estimand = "ATT", nuisances = list(g0 = nu$g0, m = nu$m))
  expect_error(cate_blp(ext), class = "fastdml_error_nuisances", regexp = "g1")
})
