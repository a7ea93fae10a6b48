# policy_value(), the multiplier bootstrap and budget_curve() against the independent reference
# of helper-reference-policy.R.

policy_case <- function(n = 600, seed = 1, n_clusters = 0, weights = FALSE, ...) {
  df <- make_test_data(n = n, p = 4, seed = seed, n_clusters = n_clusters, weights = weights)
  spec <- test_spec(df, cluster = if (n_clusters > 0) "cl", weights = if (weights) "w")
  list(df = df, fit = irm_linear(spec, seed = seed, ...))
}

binary_scores <- function(fit) {
  nu <- fit$nuisances
  reps <- seq_len(fit$n_rep)
  ref_policy_scores(fit$spec$y, fit$spec$d, lapply(reps, function(r) cbind(nu$g0[, r], nu$g1[, r])),
                    lapply(reps, function(r) cbind(1 - nu$m[, r], nu$m[, r])), fit$trim)
}

test_that("policy values and their SEs equal the reference (weights, clusters, repetitions)", {
  for (clusters in c(0, 25)) {
    case <- policy_case(n_clusters = clusters, weights = TRUE, n_rep = 2, trim = 0.05)
    fit <- case$fit
    S <- binary_scores(fit)
    rule <- case$df$x1 > 0
    res <- policy_value(fit, rule, cost = 0.3)
    ref <- ref_policy_value(S, as.integer(rule), c(0, 0.3), fit$spec$weights, fit$spec$cluster)
    expect_equal(res$table$term, ref$term)
    expect_equal(res$table$estimate, ref$estimate, tolerance = 1e-8)
    expect_equal(res$table$std.error, ref$std.error, tolerance = 1e-8)
    expect_equal(res$table$conf.low, ref$conf.low, tolerance = 1e-8)
  }
  expect_equal(res$rules$treated_share, mean(rule))
})

test_that("the multiplier bootstrap with a seed equals the R loop", {
  for (clusters in c(0, 25)) {
    case <- policy_case(n_clusters = clusters, weights = TRUE)
    fit <- case$fit
    S <- binary_scores(fit)
    rules <- list(a = case$df$x1 > 0, b = case$df$x2 > 0.5)
    res <- policy_value(fit, rules, cost = 0.1, n_boot = 50, seed = 17)
    C <- do.call(cbind, lapply(rules, function(r) ref_policy_contributions(S, as.integer(r), c(0, 0.1))))
    inf <- ref_policy_influence(C, fit$spec$weights)
    draws <- ref_multiplier_bootstrap(inf$phi, fit$spec$cluster, B = 50, seed = 17)
    ref <- ref_boot_interval(inf$estimate, draws, 0.95)
    expect_equal(res$table$estimate, unname(inf$estimate), tolerance = 1e-10)
    expect_equal(res$table$boot.low, ref$conf.low, tolerance = 1e-10)
    expect_equal(res$table$boot.high, ref$conf.high, tolerance = 1e-10)
    phi <- matrix(rnorm(60), 20, 3)
    expect_equal(fastdml:::multiplier_draws(phi, NULL, 7L, 3), ref_multiplier_bootstrap(phi, NULL, 7, 3),
                 tolerance = 1e-12, ignore_attr = TRUE)
  }
})

test_that("multi-arm policy values use floor-and-rescale scores and per-arm costs", {
  df <- make_multi_data(n = 900, K = 3, seed = 4)
  nu <- ref_multi_random_nuisances(df, S = 1, seed = 2, perturb = FALSE)
  fit <- suppressWarnings(dml_multi_irm(multi_spec(df), nuisances = multi_nuisance_list(nu$g, nu$m, c("ctl", "alpha", "beta")),
                                        trim = 0.03))
  arm <- fastdml:::fit_arm_index(fit)
  S <- ref_policy_scores(fit$spec$y, arm, sapply(nu$g, function(g) g[, 1]), sapply(nu$m, function(m) m[, 1]),
                         0.03, multi = TRUE)
  labels <- c("ctl", "alpha", "beta")[1 + (df$x1 > 0) + (df$x2 > 0)]
  res <- policy_value(fit, labels, cost = c(beta = 0.2, alpha = 0.1))
  ref <- ref_policy_value(S, match(labels, c("ctl", "alpha", "beta")) - 1L, c(0, 0.1, 0.2))
  expect_equal(res$table$estimate, ref$estimate, tolerance = 1e-8)
  expect_equal(res$table$std.error, ref$std.error, tolerance = 1e-8)
  expect_false("vs treat-all" %in% res$table$term)
  cates <- lapply(c("alpha", "beta"), function(a) cate_dr(fit, learner = lrn_linear(), contrast = a))
  best <- best_arm(cates, cost = c(alpha = 0.1, beta = 0.2))
  net <- cbind(0, cates[[1]]$estimates - 0.1, cates[[2]]$estimates - 0.2)
  expect_equal(as.character(best), c("ctl", "alpha", "beta")[max.col(net, ties.method = "first")])
  expect_s3_class(policy_value(fit, best, cost = c(alpha = 0.1, beta = 0.2)), "fastdml_policy_value")
  expect_error(policy_value(fit, labels, cost = c(alpha = 0.1)), class = "fastdml_error_argument", regexp = "treated arm")
  expect_error(policy_value(fit, replace(labels, 1, "gamma")), class = "fastdml_error_argument", regexp = "gamma")
})

test_that("rules can be functions, CATE objects and lists; bad rules are named errors", {
  case <- policy_case()
  fit <- case$fit
  dr <- cate_dr(fit, learner = lrn_linear())
  by_function <- policy_value(fit, function(data) data$x1 > 0)
  by_vector <- policy_value(fit, case$df$x1 > 0)
  expect_equal(by_function$table, by_vector$table)
  by_cate <- policy_value(fit, dr, cost = 0.5)
  expect_equal(by_cate$table, policy_value(fit, as.integer(dr$estimates > 0.5), cost = 0.5)$table)
  expect_output(print(policy_value(fit, list(a = dr, b = rep(1, 600)), n_boot = 20, seed = 1)), "bootstrap")
  expect_error(policy_value(fit, rep(TRUE, 5)), class = "fastdml_error_length")
  expect_error(policy_value(fit, replace(rep(TRUE, 600), 3, NA)), class = "fastdml_error_non_finite")
  expect_error(policy_value(fit, rep(TRUE, 600), cost = Inf), class = "fastdml_error_argument", regexp = "finite")
  expect_error(policy_value(fit, list(rep(TRUE, 600))), class = "fastdml_error_argument", regexp = "names")
  expect_error(policy_value(fit, rep(2, 600)), class = "fastdml_error_argument", regexp = "unknown arm")
})

test_that("budget_curve() equals the reference, with the support filter", {
  case <- policy_case(n = 800, weights = TRUE, n_clusters = 30)
  fit <- case$fit
  S <- binary_scores(fit)
  dr <- cate_dr(fit, learner = lrn_linear())
  shares <- c(0.1, 0.3, 0.9)
  res <- budget_curve(dr, fit, shares = shares, support = c(0.2, 0.8), cost = 0.2, n_boot = 0)
  ref <- ref_budget_curve(S, dr$estimates, fit$nuisances$m[, 1], shares, c(0.2, 0.8), 0.2,
                          fit$spec$weights, fit$spec$cluster)
  expect_equal(res$table$n_treated, ref$n_treated)
  expect_equal(res$table$estimate, ref$estimate, tolerance = 1e-8)
  expect_equal(res$table$std.error, ref$std.error, tolerance = 1e-8)
  all_rows <- budget_curve(dr, fit, shares = 1, support = NULL, cost = 0.2, n_boot = 30, seed = 2)
  treat_all <- policy_value(fit, rep(TRUE, 800), cost = 0.2)
  expect_equal(all_rows$table$estimate[2], treat_all$table$estimate[2], tolerance = 1e-10)
  expect_output(print(res), "Eligible")
  expect_error(budget_curve(dr, fit, shares = 1.5), class = "fastdml_error_argument")
  expect_error(budget_curve(dr, fit, support = c(0.9, 0.1)), class = "fastdml_error_argument")
  for (p in list(ggplot2::autoplot(all_rows), ggplot2::autoplot(treat_all))) {
    expect_s3_class(ggplot2::ggplot_build(p), "ggplot_built")
  }
})
