# Coverage of the 95% confidence interval in a simulation with known truth (theta = 0.5):
# 300 replications of a small problem with a correctly specified linear PLR and IRM design.
# With 300 replications the Monte Carlo standard error of a 95% coverage is about 1.3 points.
simulate_coverage <- function(reps, fit_one) {
  hits <- vapply(seq_len(reps), function(r) {
    ci <- fit_one(r)
    ci[1] <= 0.5 && 0.5 <= ci[2]
  }, logical(1))
  mean(hits)
}

test_that("PLR 95% intervals cover the truth in [0.92, 0.98] of 300 replications", {
  coverage <- simulate_coverage(300, function(r) {
    set.seed(1000 + r)
    n <- 1000
    X <- matrix(rnorm(n * 3), n)
    d <- drop(X %*% c(0.6, -0.4, 0.2)) + rnorm(n)
    y <- 0.5 * d + drop(X %*% c(1, 0.5, -0.5)) + rnorm(n)
    spec <- causal_data(data.frame(X, d = d, y = y), "y", "d")
    confint(dml_plr(spec, lrn_linear(), lrn_linear(), n_folds = 5, num.threads = 1))[1, ]
  })
  expect_gte(coverage, 0.92)
  expect_lte(coverage, 0.98)
})

test_that("IRM ATE 95% intervals cover the truth in [0.92, 0.98] of 300 replications", {
  coverage <- simulate_coverage(300, function(r) {
    set.seed(2000 + r)
    n <- 600
    X <- matrix(rnorm(n * 3), n)
    d <- rbinom(n, 1, plogis(drop(X %*% c(0.7, -0.5, 0.3))))
    y <- 0.5 * d + drop(X %*% c(1, 0.5, -0.5)) + rnorm(n)
    spec <- causal_data(data.frame(X, d = d, y = y), "y", "d")
    confint(dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
                    n_folds = 5, num.threads = 1))[1, ]
  })
  expect_gte(coverage, 0.92)
  expect_lte(coverage, 0.98)
})
