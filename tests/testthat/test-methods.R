test_that("generics return broom-shaped, mutually consistent results", {
  spec <- test_spec(make_test_data(n = 400, seed = 41))
  fit <- dml_irm(spec, n_rep = 2, seed = 1)
  td <- tidy(fit)
  expect_identical(names(td), c("term", "estimate", "std.error", "statistic", "p.value",
                                "conf.low", "conf.high"))
  expect_identical(td$term, "d")
  expect_equal(td$estimate, unname(coef(fit)))
  expect_equal(td$std.error, sqrt(vcov(fit)[1, 1]))
  expect_equal(td$statistic, td$estimate / td$std.error)
  expect_equal(td$p.value, 2 * pnorm(-abs(td$statistic)))
  expect_equal(c(td$conf.low, td$conf.high), unname(confint(fit)[1, ]))
  expect_equal(unname(confint(fit, level = 0.8)[1, ]),
               td$estimate + c(-1, 1) * qnorm(0.9) * td$std.error)
  expect_identical(colnames(confint(fit, level = 0.8)), c("10 %", "90 %"))
  expect_false("conf.low" %in% names(tidy(fit, conf.int = FALSE)))
  expect_equal(tidy(fit, conf.level = 0.9)$conf.low, unname(confint(fit, level = 0.9)[1, 1]))
  expect_identical(nobs(fit), 400L)
  gl <- glance(fit)
  expect_identical(nrow(gl), 1L)
  expect_identical(gl$n_rep, 2L)
  expect_identical(gl$estimand, "ATE")
  expect_true(all(c("r2_g0", "r2_g1", "auc_m", "learner_m") %in% names(gl)))
  expect_error(confint(fit, level = 2), "level")
})

test_that("print and summary show the estimate, repetitions and nuisance quality", {
  spec <- test_spec(make_test_data(n = 300, seed = 42))
  fit <- dml_irm(spec, n_rep = 3, seed = 1, estimand = "ATT")
  expect_output(print(fit), "IRM, ATT of d \\(1 vs 0\\) on y; n = 300, 5 folds x 3 repetitions")
  s <- summary(fit)
  expect_s3_class(s, "summary.fastdml_fit")
  expect_identical(nrow(s$repetitions), 3L)
  expect_output(print(s), "Repetitions \\(aggregated by the median\\)")
  expect_output(print(s), "Out-of-fold nuisance quality")
  expect_output(print(dml_plr(spec, seed = 1)), "PLR \\(partialling out score\\)")
})

test_that("nuisances() returns folds, predictions and an out-of-fold quality table", {
  df <- make_test_data(n = 300, seed = 43)
  spec <- test_spec(df)
  # The default (boosting) learners, and the linear outcome / logistic propensity ones.
  for (boosted in c(TRUE, FALSE)) {
    fit <- if (boosted) dml_irm(spec, n_folds = 3, n_rep = 2, seed = 2) else irm_linear(spec, n_folds = 3, n_rep = 2, seed = 2)
    nu <- nuisances(fit)
    expect_identical(names(nu), c("folds", "g0", "g1", "m", "quality", "stacking"))
    expect_identical(dim(nu$folds), c(300L, 2L))
    expect_identical(dim(nu$m), c(300L, 2L))
    expect_s3_class(nu$stacking, "data.table")
    expect_identical(nrow(nu$stacking), 0L)   # no lrn_stack()
    q <- nu$quality
    expect_s3_class(q, "data.table")
    expect_identical(nrow(q), 3L * 2L * 4L)   # nuisances x reps x (pooled + 3 folds)
    # boosting rounds kept per fold (their mean on the pooled rows); NA for other learners
    expect_identical(all(!is.na(q$rounds)), boosted)
    expect_identical(all(is.na(q$rounds)), !boosted)
    if (boosted) {
      by_fold <- q[q$nuisance == "m" & q$rep == 2 & !is.na(q$fold)]
      expect_equal(q[q$nuisance == "m" & q$rep == 2 & is.na(q$fold)]$rounds, mean(by_fold$rounds))
      expect_true(all(q$rounds >= 1 & q$rounds <= 500))
    }
    pooled <- q[q$nuisance == "g0" & is.na(q$fold) & q$rep == 1]
    control <- df$d == 0
    resid <- df$y[control] - nu$g0[control, 1]
    expect_equal(pooled$rmse, sqrt(mean(resid^2)))
    expect_equal(pooled$r2, 1 - sum(resid^2) / sum((df$y[control] - mean(df$y[control]))^2))
    m_row <- q[q$nuisance == "m" & is.na(q$fold) & q$rep == 2]
    p <- nu$m[, 2]
    expect_equal(m_row$log_loss, -mean(df$d * log(p) + (1 - df$d) * log(1 - p)))
    pairs <- outer(p[df$d == 1], p[df$d == 0], ">") + 0.5 * outer(p[df$d == 1], p[df$d == 0], "==")
    expect_equal(m_row$auc, mean(pairs))
  }
})

test_that("autoplot draws estimates, overlap and nuisance calibration", {
  spec <- test_spec(make_test_data(n = 300, seed = 44))
  fit <- dml_irm(spec, n_rep = 2, seed = 1)
  p <- ggplot2::autoplot(fit, type = "estimates")
  expect_s3_class(p, "ggplot")
  expect_identical(nrow(p$data), 3L)
  expect_equal(p$data$estimate[3], unname(coef(fit)))
  overlap <- ggplot2::autoplot(fit, type = "overlap")
  expect_equal(overlap$data$propensity, nuisances(fit)$m[, 1])
  calib <- ggplot2::autoplot(fit, type = "nuisances")
  expect_setequal(unique(calib$data$nuisance), c("g0", "g1", "m"))
  expect_s3_class(ggplot2::ggplot_build(calib), "ggplot_built")
  plr <- dml_plr(test_spec(make_test_data(n = 200, binary_d = FALSE)), seed = 1)
  expect_error(ggplot2::autoplot(plr, type = "overlap"), "binary treatment")
  expect_error(ggplot2::autoplot(fit, type = "pie"), "must be one of", class = "fastdml_error_argument")
})
