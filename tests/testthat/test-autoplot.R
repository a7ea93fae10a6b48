# autoplot(): out-of-fold nuisance quality for every learner kind, and propensity calibration.

# Fits muffling the fit-time quality warnings small data may trigger.
quiet_fit <- function(code) collect_warnings(code)$value

lm_learner <- lrn_custom(
  fit = function(x, y) stats::lm.fit(cbind(1, x), y)$coefficients,
  predict = function(model, x) drop(cbind(1, x) %*% model),
  name = "lm.fit")

autoplot_fits <- function() {
  df <- make_test_data(n = 400, seed = 51)
  spec <- test_spec(df)
  boost <- quiet_fit(dml_irm(spec, n_folds = 3, n_rep = 2, seed = 1))
  list(
    df = df,
    boost = boost,
    linear = quiet_fit(dml_plr(spec, lrn_linear(), lrn_linear(), n_folds = 3, seed = 1)),
    custom = quiet_fit(dml_plr(spec, lm_learner, lm_learner, n_folds = 3, seed = 1)),
    stack = quiet_fit(dml_plr(spec, lrn_stack(lrn_linear(), lm_learner),
                              lrn_stack(lrn_logistic(), lrn_linear()), n_folds = 3, seed = 1)),
    external = quiet_fit(dml_irm(spec, nuisances = list(g0 = boost$nuisances$g0[, 1],
                                                        g1 = boost$nuisances$g1[, 1],
                                                        m = boost$nuisances$m[, 1]))))
}
fits <- autoplot_fits()

# Independent calibration table: deciles by quantile with cut(), means per bin, exact
# binomial intervals from binom.test().
reference_calibration <- function(p, d, level = 0.95) {
  bin <- cut(p, unique(quantile(p, seq(0, 1, 0.1))), include.lowest = TRUE, labels = FALSE)
  n <- as.vector(table(bin))
  treated <- as.vector(tapply(d, bin, sum))
  ci <- t(mapply(function(x, m) binom.test(x, m, conf.level = level)$conf.int, treated, n))
  data.frame(bin = sort(unique(bin)), n = n, predicted = as.vector(tapply(p, bin, mean)),
             observed = as.vector(tapply(d, bin, mean)), conf.low = ci[, 1], conf.high = ci[, 2])
}

test_that("the calibration table matches deciles computed by hand", {
  d <- fits$df$d
  for (name in c("boost", "linear", "custom", "stack", "external")) {
    fit <- fits[[name]]
    tab <- fastdml:::propensity_calibration(fit)
    expect_s3_class(tab, "data.table")
    expect_identical(names(tab), c("bin", "n", "predicted", "observed", "conf.low", "conf.high"))
    ref <- reference_calibration(nuisances(fit)$m[, 1], d)
    expect_equal(as.data.frame(tab), ref, tolerance = 1e-12, ignore_attr = TRUE, label = name)
    expect_identical(sum(tab$n), 400L)
  }
  # continuous (tie-free) linear propensities: ten bins of 40 rows
  expect_identical(fastdml:::propensity_calibration(fits$linear)$n, rep(40L, 10))
  # second repetition and another level
  tab2 <- fastdml:::propensity_calibration(fits$boost, repetition = 2L, level = 0.8)
  expect_equal(as.data.frame(tab2), reference_calibration(nuisances(fits$boost)$m[, 2], d, 0.8),
               tolerance = 1e-12, ignore_attr = TRUE)
})

test_that("the calibration plot draws the table of the first repetition", {
  p <- ggplot2::autoplot(fits$boost, type = "calibration")
  expect_equal(as.data.frame(p$data), as.data.frame(fastdml:::propensity_calibration(fits$boost)))
  expect_match(p$labels$subtitle, "repetition 1 of 2")
  p90 <- ggplot2::autoplot(fits$boost, type = "calibration", level = 0.9)
  expect_equal(p90$data$conf.low, fastdml:::propensity_calibration(fits$boost, level = 0.9)$conf.low)
  expect_error(ggplot2::autoplot(fits$boost, type = "calibration", level = 1.5),
               class = "fastdml_error_argument")
})

test_that("every plot type builds for boost, linear, custom, stack and external fits", {
  for (name in c("boost", "linear", "custom", "stack", "external")) {
    for (type in c("estimates", "overlap", "nuisances", "calibration")) {
      p <- ggplot2::autoplot(fits[[name]], type = type)
      expect_s3_class(p, "ggplot")
      expect_no_warning(built <- ggplot2::ggplot_build(p))
      expect_s3_class(built, "ggplot_built")
    }
  }
})

test_that("the nuisance plot shows R^2 or AUC per fold and pooled, titled by learner", {
  p <- ggplot2::autoplot(fits$boost, type = "nuisances")
  q <- nuisances(fits$boost)$quality
  label <- fits$boost$learners[["m"]]
  expect_identical(levels(p$data$panel),
                   sprintf("%s: %s\nout-of-fold %s", c("g0", "g1", "m"), label,
                           c("R\u00b2", "R\u00b2", "AUC")))
  expect_identical(nrow(p$data), nrow(q))
  expect_equal(p$data$value, ifelse(q$nuisance == "m", q$auc, q$r2))
  expect_identical(levels(p$data$where), c("1", "2", "3", "pooled"))
  expect_identical(as.character(p$data$where[is.na(q$fold)]), rep("pooled", 6))
  expect_match(p$labels$y, "R\u00b2 .*AUC")
  # dashed line at the pooled value averaged over the repetitions
  built <- ggplot2::ggplot_build(p)
  expect_equal(sort(built$data[[1]]$yintercept),
               sort(c(mean(q$r2[q$nuisance == "g0" & is.na(q$fold)]),
                      mean(q$r2[q$nuisance == "g1" & is.na(q$fold)]),
                      mean(q$auc[q$nuisance == "m" & is.na(q$fold)]))))
  lin <- ggplot2::autoplot(fits$linear, type = "nuisances")$data
  expect_identical(unique(as.character(lin$metric)), c("R\u00b2", "AUC"))
  expect_match(levels(ggplot2::autoplot(fits$custom, type = "nuisances")$data$panel), "lm.fit")
  expect_match(levels(ggplot2::autoplot(fits$stack, type = "nuisances")$data$panel), "stack")
  ext <- ggplot2::autoplot(fits$external, type = "nuisances")
  expect_identical(levels(ext$data$where), "pooled")
  expect_match(ext$labels$subtitle, "without folds")
})

test_that("a 0/1 outcome is scored by AUC, a continuous treatment by R^2", {
  df <- make_test_data(n = 400, seed = 52)
  df$y <- as.double(df$y > median(df$y))
  binary_y <- quiet_fit(dml_irm(test_spec(df), n_folds = 3, seed = 1))
  expect_identical(unique(ggplot2::autoplot(binary_y, type = "nuisances")$data$metric), "AUC")
  cont <- quiet_fit(dml_plr(test_spec(make_test_data(n = 400, seed = 53, binary_d = FALSE)),
                            n_folds = 3, seed = 1))
  p <- ggplot2::autoplot(cont, type = "nuisances")
  expect_identical(unique(p$data$metric), "R\u00b2")
  expect_s3_class(ggplot2::ggplot_build(p), "ggplot_built")
})

test_that("the calibration plot refuses a continuous treatment", {
  cont <- quiet_fit(dml_plr(test_spec(make_test_data(n = 400, seed = 53, binary_d = FALSE)),
                            lrn_linear(), lrn_linear(), n_folds = 3, seed = 1))
  expect_error(ggplot2::autoplot(cont, type = "calibration"), "binary treatment",
               class = "fastdml_error_argument")
  expect_error(fastdml:::propensity_calibration(cont), class = "fastdml_error_argument")
})

test_that("multi-arm fits plot their contrasts (with the truth), overlap, balance and nuisances", {
  d <- sim_cx(n = 3000, seed = 5)
  spec <- causal_data(d, "y", "arm", c("age", "risk_latent", "prev_contact", "prev_apps", "prev_util"),
                      control = "control")
  fit <- quiet_fit(dml_multi_irm(spec, learner_outcome = lrn_logistic(),
                                 learner_treatment = lrn_logistic(), seed = 1))
  truth <- attr(d, "true_ate")
  p <- ggplot2::autoplot(fit, truth = truth)
  expect_s3_class(p, "ggplot")
  built <- ggplot2::ggplot_build(p)
  layer_truth <- built$data[[3]]
  expect_equal(sort(layer_truth$x), sort(unname(truth[-1])))
  expect_equal(match_truth(truth[-1][c(3, 1, 2)], fit), unname(truth[-1]))
  expect_equal(match_truth(stats::setNames(unname(truth[-1]), names(coef(fit))), fit), unname(truth[-1]))
  expect_equal(match_truth(c(1, 2, 3), fit), c(1, 2, 3))
  expect_error(match_truth(c(1, 2), fit), class = "fastdml_error_argument")
  expect_error(match_truth(c(control = 0, error_flg = 1), fit), "no value", class = "fastdml_error_argument")
  for (type in c("overlap", "balance", "nuisances")) {
    expect_s3_class(ggplot2::autoplot(fit, type = type), "ggplot")
  }
  expect_error(ggplot2::autoplot(fit, type = "calibration"), class = "fastdml_error_argument")
})
