# The recommender case study's step 7 (specs/recsys-aipw.md), small: on user-day panels the
# AIPW estimate with user-grouped folds is close to the truth and the cluster-robust and the
# cluster-bootstrap intervals cover about 95%. Row-level (i.i.d.) standard errors are far too
# small for the difference in means, whose outcome carries the user effect; in this simulator
# the AIPW score is nearly uncorrelated within users (the user effect enters it multiplied by
# the mean-zero weight D/e - (1 - D)/(1 - e)), so there the two agree (reported).

test_that("cluster intervals cover the true ATE about 95% of the time", {
  covered <- t(vapply(seq_len(200), function(r) {
    p <- sim_user_days(150, 30, seed = 500 + r)
    covars <- attr(p, "covariates")
    spec <- causal_data(p, "outcome", "treatment", covars, cluster = "user_id")
    fit <- dml_irm(spec, learner_outcome = lrn_linear(ridge = 1), learner_treatment = lrn_logistic(),
                   n_folds = 5, seed = r, cluster_correction = TRUE)
    truth <- attr(p, "true_ate")
    theta <- unname(coef(fit))
    boot <- bootstrap_cluster(fit, B = 199, seed = r)$table
    iid_se <- sd(dr_scores(fit)) / sqrt(fit$n)
    c(cluster = abs(theta - truth) <= qnorm(0.975) * fit$se,
      bootstrap = boot$conf.low <= truth && truth <= boot$conf.high,
      iid = abs(theta - truth) <= qnorm(0.975) * iid_se,
      se_ratio = fit$se / iid_se)
  }, numeric(4)))
  rates <- colMeans(covered[, 1:3])
  message(sprintf("panel coverage over 200 replications: cluster SE %.3f, cluster bootstrap %.3f, row-level SE %.3f; cluster/row SE ratio %.2f",
                  rates[1], rates[2], rates[3], median(covered[, 4])))
  expect_gte(rates[["cluster"]], 0.90)
  expect_gte(rates[["bootstrap"]], 0.88)
})

test_that("row-level standard errors of the difference in means are far too small on a panel", {
  p <- sim_user_days(500, 55, seed = 1)
  covars <- attr(p, "covariates")
  clustered <- diff_in_means(causal_data(p, "outcome", "treatment", covars, cluster = "user_id"))
  rows <- diff_in_means(causal_data(p, "outcome", "treatment", covars))
  message(sprintf("difference in means: cluster SE %.2f, row-level SE %.2f", clustered$se, rows$se))
  expect_gt(clustered$se / rows$se, 2)
})
