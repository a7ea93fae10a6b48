test_that("sim_lesson follows the lesson's data-generating process", {
  df <- sim_lesson(5000, seed = 63)
  expect_identical(names(df), c("age", "browsing_time", "income", "treatment", "outcome",
                                "true_propensity", "true_effect"))
  expect_identical(attr(df, "true_ate"), 0.15)
  expect_true(all(df$age >= 18 & df$age <= 64 & df$age == round(df$age)))
  expect_true(all(df$outcome >= 0 & df$outcome <= 1))
  expect_equal(df$true_propensity,
               plogis(-0.5 + 0.04 * (df$browsing_time - 4) + 0.00003 * (df$income - 55000)))
  unclipped <- 0.1 + 0.002 * (df$age - 30) + 0.00001 * (df$income - 50000) +
    0.15 * df$treatment + 0.005 * (df$browsing_time - 4)
  expect_equal(df$outcome, pmin(pmax(unclipped, 0), 1))
  expect_identical(sim_lesson(50, seed = 1), sim_lesson(50, seed = 1))
})

test_that("baselines match hand-written references", {
  df <- sim_lesson(600, seed = 63)
  spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
  X <- as.matrix(df[, c("age", "browsing_time", "income")])
  dim_ref <- ref_diff_in_means(df$outcome, df$treatment)
  dim_fit <- diff_in_means(spec)
  expect_equal(unname(coef(dim_fit)), dim_ref$estimate, tolerance = 1e-12)
  expect_equal(tidy(dim_fit)$std.error, dim_ref$std.error, tolerance = 1e-12)
  e <- ref_logistic_propensity(X, df$treatment)
  ipw_fit <- ipw(spec)
  ipw_ref <- ref_ipw(df$outcome, df$treatment, e)
  expect_equal(unname(coef(ipw_fit)), ipw_ref$estimate, tolerance = 1e-6)
  expect_equal(tidy(ipw_fit)$std.error, ipw_ref$std.error, tolerance = 1e-6)
  expect_equal(unname(coef(t_learner(spec))), ref_t_learner_mean(df$outcome, df$treatment, X),
               tolerance = 1e-8)
  boot <- t_learner(spec, n_boot = 20, seed = 1)
  expect_true(is.finite(boot$se) && boot$se > 0)
  expect_identical(boot$se, t_learner(spec, n_boot = 20, seed = 1)$se)
  expect_identical(coef(diff_in_means(df, "outcome", "treatment", "age")), coef(dim_fit))
})

test_that("baselines honour observation weights and clusters", {
  df <- make_test_data(n = 500, seed = 31, n_clusters = 40, weights = TRUE)
  X <- X_of(df)
  e <- ref_logistic_propensity(X, df$d)
  for (setting in list(list(w = "w", cl = NULL), list(w = NULL, cl = "cl"), list(w = "w", cl = "cl"))) {
    spec <- test_spec(df, weights = setting$w, cluster = setting$cl)
    w <- if (is.null(setting$w)) NULL else df$w
    cl <- if (is.null(setting$cl)) NULL else df$cl
    dim_ref <- ref_diff_in_means(df$y, df$d, w = w, cluster = cl)
    dim_fit <- suppressWarnings(diff_in_means(spec))
    expect_equal(unname(coef(dim_fit)), dim_ref$estimate, tolerance = 1e-12)
    expect_equal(dim_fit$se, dim_ref$std.error, tolerance = 1e-12)
    ipw_ref <- ref_ipw(df$y, df$d, e, w = w, cluster = cl)
    ipw_fit <- ipw(spec)
    expect_equal(unname(coef(ipw_fit)), ipw_ref$estimate, tolerance = 1e-8)
    expect_equal(ipw_fit$se, ipw_ref$std.error, tolerance = 1e-8)
    expect_equal(unname(coef(t_learner(spec))), ref_t_learner_mean(df$y, df$d, X, w = w),
                 tolerance = 1e-8)
  }
  weighted <- test_spec(df, weights = "w")
  expect_false(isTRUE(all.equal(coef(diff_in_means(weighted)), coef(diff_in_means(test_spec(df))))))
  clustered <- test_spec(df, cluster = "cl")
  boot <- t_learner(clustered, n_boot = 30, seed = 2)
  expect_match(boot$method, "bootstrap over clusters")
  expect_true(is.finite(boot$se) && boot$se > 0)
})

test_that("a custom learner's output is validated in the baselines too", {
  df <- make_test_data(n = 120, seed = 32)
  spec <- test_spec(df)
  short <- lrn_custom(function(x, y) NULL, function(model, x) rep(0.5, 10), name = "short")
  expect_error(ipw(spec, learner = short), class = "fastdml_error_learner")
  expect_error(ipw(spec, learner = short), "10 predictions .* for 120 rows")
  wide <- lrn_custom(function(x, y) NULL, function(model, x) cbind(a = 0.4, b = 0.6)[rep(1, nrow(x)), ])
  expect_error(t_learner(spec, learner = wide), "matrix with 2 columns", class = "fastdml_error_learner")
  failing <- lrn_custom(function(x, y) stop("no convergence"), function(model, x) 0)
  err <- expect_error(t_learner(spec, learner = failing), class = "fastdml_error_learner")
  expect_match(conditionMessage(err), "failed \\(nuisance g1, fitted on all rows\\)")
  expect_match(conditionMessage(err$parent), "no convergence")
  expect_error(diff_in_means(test_spec(make_test_data(n = 50, binary_d = FALSE))),
               class = "fastdml_error_treatment")
})

test_that("every method recovers the lesson's true effect of 0.15 except the naive one", {
  df <- sim_lesson(600, seed = 63)
  spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
  estimates <- c(ipw = coef(ipw(spec)), dml = coef(dml_plr(spec, n_folds = 2, seed = 1)),
                 t = coef(t_learner(spec)))
  expect_true(all(abs(estimates - 0.15) < 0.01))
})
