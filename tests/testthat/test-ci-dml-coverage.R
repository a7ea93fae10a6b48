# CI-DML in simulation (specs/amazon-ci-dml.md acceptance): HC intervals cover the weighted
# estimand about 95% of the time under heteroskedasticity while the homoscedastic one
# under-covers; the placebo outcome reveals hidden selection.

test_that("HC0-HC3 intervals cover the oracle weighted estimand ~95%; const under-covers", {
  draw <- function(n) {
    x1 <- rnorm(n); x2 <- rnorm(n); x3 <- rnorm(n)
    e <- plogis(-1 + 0.5 * x1 - 0.5 * x2)
    tau <- 2 + x3
    d <- rbinom(n, 1, e)
    y <- 1 + x1 + x2 + tau * d + rnorm(n, sd = exp(0.5 * x1))
    data.frame(y, d, x1, x2, x3, l = 1 + x1 + x2 + tau * e, e, tau)
  }
  set.seed(1)
  big <- draw(1e6)
  omega <- big$e * ((1 - big$e)^2 + big$e^2)          # ATT weights: E[w (D - e)^2 | X]
  target <- sum(omega * big$tau) / sum(omega)
  set.seed(2)
  hits <- t(replicate(200, {
    df <- draw(4000)
    fit <- suppressWarnings(dml_plr(causal_data(df, "y", "d", c("x1", "x2", "x3")), ipw = "ATT",
                                    nuisances = list(l = df$l, m = df$e)))
    tab <- tidy(fit, vcov = c("const", "HC0", "HC1", "HC2", "HC3"))
    stats::setNames(tab$conf.low <= target & tab$conf.high >= target, tab$vcov)
  }))
  coverage <- colMeans(hits)
  expect_true(all(coverage[c("HC0", "HC1", "HC2", "HC3")] >= 0.92 & coverage[c("HC0", "HC1", "HC2", "HC3")] <= 0.98))
  expect_lt(coverage[["const"]], coverage[["HC0"]] - 0.05)
})

test_that("the placebo outcome reveals hidden selection", {
  d <- sim_customer_actions(30000, 4, seed = 7, n_features = 20)
  covs <- grep("^pre_", names(d), value = TRUE)
  truth <- attr(d, "truth")
  fit_one <- function(outcome, a) {
    dml_plr(causal_data(d, paste0(outcome, "_", a), paste0("treatment_", a), covs), lrn_linear(ridge = 0.01),
            lrn_logistic(), n_folds = 3, seed = 1, ipw = "ATT", trim = 0.001, rescale = TRUE)
  }
  for (a in 1:4) {
    main <- fit_one("post", a)
    placebo <- fit_one("placebo", a)
    z <- unname(coef(placebo)) / placebo$se
    if (truth$hidden_selection[a]) expect_gt(z, 3) else expect_lt(abs(z), 3)
    expect_lt(abs(coef(main) - coef(placebo) - truth$att[a]), abs(coef(main) - truth$att[a]))
  }
})
