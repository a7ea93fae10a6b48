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
  expect_equal(unname(coef(dim_fit)), dim_ref$theta, tolerance = 1e-12)
  expect_equal(tidy(dim_fit)$std.error, dim_ref$se, tolerance = 1e-12)
  e <- fitted(glm(treatment ~ age + browsing_time + income, binomial(), df,
                  control = glm.control(epsilon = 1e-12)))
  ipw_fit <- ipw(spec)
  expect_equal(unname(coef(ipw_fit)),
               ref_ipw_hajek(df$outcome, df$treatment, pmin(pmax(e, 0.01), 0.99)), tolerance = 1e-6)
  expect_equal(unname(coef(t_learner(spec))), ref_t_learner(X, df$outcome, df$treatment),
               tolerance = 1e-8)
  boot <- t_learner(spec, n_boot = 20, seed = 1)
  expect_true(is.finite(boot$se) && boot$se > 0)
  expect_identical(boot$se, t_learner(spec, n_boot = 20, seed = 1)$se)
  expect_identical(coef(diff_in_means(df, "outcome", "treatment", "age")), coef(dim_fit))
})

test_that("every method recovers the lesson's true effect of 0.15 except the naive one", {
  df <- sim_lesson(600, seed = 63)
  spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
  estimates <- c(ipw = coef(ipw(spec)), dml = coef(dml_plr(spec, n_folds = 2, seed = 1)),
                 t = coef(t_learner(spec)))
  expect_true(all(abs(estimates - 0.15) < 0.01))
})
