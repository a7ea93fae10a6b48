# Multi-arm IRM against the independent reference (helper-reference-multi-irm.R). Most tests pass
# external nuisances (random but fixed g and m, with some propensities below the trim), so they
# check the score, trimming, normalisation, aggregation and inference exactly.

# lrn_logistic() for K >= 3 arms fits a multinomial model; skip its tests while that is missing.
multinom_available <- function() {
  df <- make_multi_data(n = 150, K = 3, seed = 99)
  res <- try(suppressWarnings(dml_multi_irm(multi_spec(df), learner_outcome = lrn_linear(),
                                            learner_treatment = lrn_logistic(), n_folds = 2, seed = 1)),
             silent = TRUE)
  !(inherits(res, "try-error") && grepl("unknown built-in learner kind 'multinomial'", res))
}

# Arm index 0..K-1 of the data in the spec's order, and the nuisance K-lists reordered from the
# data's label order to the spec's order.
spec_arm <- function(df, spec) match(as.character(df$arm), spec$treatment_levels) - 1L
to_spec_order <- function(x, df_labels, spec) x[match(spec$treatment_levels, df_labels)]

multi_fit_ext <- function(spec, nu, labels, ...) {
  suppressWarnings(dml_multi_irm(spec, nuisances = multi_nuisance_list(nu$g, nu$m, labels), ...))
}

test_that("the reference's floor-and-rescale trimming is the binary clip with two arms", {
  expect_equal(ref_multi_trim_row(c(0.995, 0.005), 0.01), c(0.99, 0.01))
  expect_equal(ref_multi_trim_row(c(0.3, 0.7), 0.01), c(0.3, 0.7))
  # second round: rescaling pushes another arm below the floor
  r <- ref_multi_trim_row(c(0.005, 0.01004, 0.98496), 0.01)
  expect_equal(r, c(0.01, 0.01, 0.98))
  # rows need not sum to one
  expect_equal(ref_multi_trim_row(c(0.2, 0.4, 0.6), 0.01), c(1, 2, 3) / 6)
  expect_equal(sum(ref_multi_trim_row(c(0.2, 0.5, 0.001, 0.25), 0.05)), 1)
})

test_that("ATE and ATT match the reference with 3 and 4 arms, with and without normalisation", {
  for (K in 3:4) {
    df <- make_multi_data(n = 900, K = K, seed = 10 + K)
    spec <- multi_spec(df)
    labels <- c("ctl", "alpha", "beta", "gamma")[seq_len(K)]
    expect_identical(spec$treatment_levels, labels)
    nu <- ref_multi_random_nuisances(df, seed = 20 + K)
    # trimming matters: some raw propensities lie below the trim
    expect_gt(mean(do.call(cbind, nu$m) < 0.01), 0.005)
    arm <- spec_arm(df, spec)
    for (estimand in c("ATE", "ATT")) {
      for (normalize in c(FALSE, TRUE)) {
        for (trim in c(0.01, 0.05)) {
          fit <- multi_fit_ext(spec, nu, labels, estimand = estimand, normalize = normalize, trim = trim)
          ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = estimand, normalize = normalize,
                               trim = trim, labels = labels)
          expect_multi_matches_reference(fit, ref)
          expect_equal(unname(fit$psi_b), unname(ref$psi_b[[1]]), tolerance = 1e-8)
          expect_equal(unname(fit$psi_a), unname(ref$psi_a[[1]]), tolerance = 1e-8)
          expect_gt(fit$clipped_share, 0)
        }
      }
    }
    # arm shares
    expect_equal(fit$arms$arm, labels)
    expect_equal(fit$arms$n, as.vector(table(factor(df$arm, levels = labels))))
    expect_equal(fit$arms$mean_outcome, as.vector(tapply(df$y, factor(df$arm, levels = labels), mean)),
                 tolerance = 1e-12)
  }
})

test_that("a factor treatment orders the arms as its levels, control first", {
  df <- make_multi_data(n = 600, K = 3, seed = 31)
  nu <- ref_multi_random_nuisances(df, seed = 32)
  df_labels <- c("ctl", "alpha", "beta")
  df$arm <- factor(df$arm, levels = c("beta", "ctl", "alpha"))
  spec <- multi_spec(df)
  expect_identical(spec$treatment_levels, c("ctl", "beta", "alpha"))
  expect_equal(spec$d, spec_arm(df, spec))
  g <- to_spec_order(nu$g, df_labels, spec)
  m <- to_spec_order(nu$m, df_labels, spec)
  fit <- multi_fit_ext(spec, list(g = g, m = m), spec$treatment_levels, estimand = "ATE")
  ref <- ref_multi_irm(df$y, spec_arm(df, spec), g, m, labels = spec$treatment_levels)
  expect_identical(names(coef(fit)), c("beta vs ctl", "alpha vs ctl"))
  expect_multi_matches_reference(fit, ref)
})

test_that("weights and clusters (with and without the correction) match the reference", {
  df <- make_multi_data(n = 800, K = 3, seed = 41, n_clusters = 60, weights = TRUE)
  labels <- c("ctl", "alpha", "beta")
  nu <- ref_multi_random_nuisances(df, seed = 42)
  arm <- match(df$arm, labels) - 1
  spec_w <- multi_spec(df, weights = "w")
  spec_cw <- multi_spec(df, weights = "w", cluster = "cl")
  spec_c <- multi_spec(df, cluster = "cl")
  for (estimand in c("ATE", "ATT")) {
    for (normalize in c(FALSE, TRUE)) {
      fit <- multi_fit_ext(spec_w, nu, labels, estimand = estimand, normalize = normalize)
      ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = estimand, normalize = normalize,
                           weights = df$w, labels = labels)
      expect_multi_matches_reference(fit, ref)
      for (cc in c(FALSE, TRUE)) {
        fit <- multi_fit_ext(spec_cw, nu, labels, estimand = estimand, normalize = normalize,
                             cluster_correction = cc)
        ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = estimand, normalize = normalize,
                             weights = df$w, cluster = df$cl, cluster_correction = cc, labels = labels)
        expect_multi_matches_reference(fit, ref)
      }
    }
    fit <- multi_fit_ext(spec_c, nu, labels, estimand = estimand, cluster_correction = TRUE)
    ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = estimand, cluster = df$cl,
                         cluster_correction = TRUE, labels = labels)
    expect_multi_matches_reference(fit, ref)
    expect_equal(fit$n_clusters, 60L)
  }
})

test_that("three repetitions (matrices and a folds matrix) aggregate as the reference", {
  for (K in 3:4) {
    df <- make_multi_data(n = 700, K = K, seed = 50 + K, n_clusters = 40, weights = TRUE)
    labels <- c("ctl", "alpha", "beta", "gamma")[seq_len(K)]
    spec <- multi_spec(df)
    folds <- make_folds(spec, n_folds = 4, n_rep = 3, seed = 1)
    nu <- ref_multi_random_nuisances(df, S = 3, seed = 60 + K)
    arm <- spec_arm(df, spec)
    for (estimand in c("ATE", "ATT")) {
      for (normalize in c(FALSE, TRUE)) {
        fit <- suppressWarnings(dml_multi_irm(
          spec, estimand = estimand, normalize = normalize,
          nuisances = multi_nuisance_list(nu$g, nu$m, labels, folds = folds)))
        ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = estimand, normalize = normalize,
                             labels = labels)
        expect_equal(dim(fit$theta_rep), c(3L, K - 1L))
        expect_equal(dim(fit$se_rep), c(3L, K - 1L))
        expect_equal(fit$n_rep, 3L)
        expect_multi_matches_reference(fit, ref)
        # the aggregated joint covariance keeps diag = se^2
        expect_equal(unname(sqrt(diag(vcov(fit)))), fit$se, tolerance = 1e-12)
      }
    }
    spec_cw <- multi_spec(df, weights = "w", cluster = "cl")
    fit <- suppressWarnings(dml_multi_irm(
      spec_cw, estimand = "ATT", normalize = TRUE, cluster_correction = TRUE,
      nuisances = multi_nuisance_list(nu$g, nu$m, labels)))
    ref <- ref_multi_irm(df$y, arm, nu$g, nu$m, estimand = "ATT", normalize = TRUE, weights = df$w,
                         cluster = df$cl, cluster_correction = TRUE, labels = labels)
    expect_multi_matches_reference(fit, ref)
  }
})

test_that("the ATT with external nuisances needs only the control's g", {
  df <- make_multi_data(n = 500, K = 3, seed = 71)
  labels <- c("ctl", "alpha", "beta")
  spec <- multi_spec(df)
  nu <- ref_multi_random_nuisances(df, seed = 72)
  full <- multi_fit_ext(spec, nu, labels, estimand = "ATT")
  nu_ctl <- nu
  nu_ctl$g[2:3] <- list(NULL)
  part <- suppressWarnings(dml_multi_irm(spec, estimand = "ATT",
                                         nuisances = multi_nuisance_list(nu_ctl$g, nu$m, labels)))
  expect_identical(coef(part), coef(full))
  expect_identical(part$se, full$se)
  expect_error(suppressWarnings(dml_multi_irm(spec, estimand = "ATE",
                                              nuisances = multi_nuisance_list(nu_ctl$g, nu$m, labels))),
               "g_alpha", class = "fastdml_error")
})

test_that("with two arms the results equal dml_irm()'s", {
  df <- make_multi_data(n = 800, K = 2, seed = 81, n_clusters = 50, weights = TRUE)
  labels <- c("ctl", "alpha")
  nu <- ref_multi_random_nuisances(df, S = 2, seed = 82, perturb = FALSE)
  m1 <- nu$m[[2]]
  m1[1:5, 1] <- 0.003   # some propensities outside [trim, 1 - trim] on both sides
  m1[6:10, 2] <- 0.998
  d <- as.numeric(df$arm == "alpha")
  for (spec in list(multi_spec(df), multi_spec(df, weights = "w", cluster = "cl"))) {
    for (estimand in c("ATE", "ATT")) {
      for (normalize in c(FALSE, TRUE)) {
        for (trim in c(0.01, 0.05)) {
          bin <- suppressWarnings(dml_irm(spec, estimand = estimand, normalize = normalize, trim = trim,
                                          nuisances = list(g0 = nu$g[[1]], g1 = nu$g[[2]], m = m1)))
          multi <- suppressWarnings(dml_multi_irm(
            spec, estimand = estimand, normalize = normalize, trim = trim,
            nuisances = list(g_ctl = nu$g[[1]], g_alpha = nu$g[[2]], m_ctl = 1 - m1, m_alpha = m1)))
          expect_equal(unname(coef(multi)), unname(coef(bin)), tolerance = 1e-12)
          expect_equal(multi$se, bin$se, tolerance = 1e-12)
          expect_equal(as.vector(multi$theta_rep), as.vector(bin$theta_rep), tolerance = 1e-12)
          expect_equal(as.vector(multi$se_rep), as.vector(bin$se_rep), tolerance = 1e-12)
          expect_equal(unname(multi$psi_b), unname(bin$psi_b), tolerance = 1e-12)
          expect_equal(unname(multi$psi_a), unname(bin$psi_a), tolerance = 1e-12)
          expect_equal(unname(diag(vcov(multi))), multi$se^2, tolerance = 1e-12)
          expect_identical(names(coef(multi)), "alpha vs ctl")
          # and both equal the multi-arm reference
          ref <- ref_multi_irm(df$y, d, nu$g, list(1 - m1, m1), estimand = estimand,
                               normalize = normalize, trim = trim, weights = spec$weights,
                               cluster = spec$cluster, labels = labels)
          expect_multi_matches_reference(multi, ref)
        }
      }
    }
  }
})

test_that("learned nuisances: boosting propensities, passed back as external nuisances", {
  df <- make_multi_data(n = 1200, K = 3, seed = 91)
  spec <- multi_spec(df)
  fit <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_boost(n_rounds = 50), n_folds = 3, seed = 1))
  nu <- nuisances(fit)
  expect_setequal(intersect(names(nu), c("g_ctl", "g_alpha", "g_beta", "m_ctl", "m_alpha", "m_beta", "folds")),
                  c("g_ctl", "g_alpha", "g_beta", "m_ctl", "m_alpha", "m_beta", "folds"))
  # the raw boosting propensities are a softmax: rows sum to one
  expect_equal(drop(nu$m_ctl + nu$m_alpha + nu$m_beta), rep(1, nrow(df)), tolerance = 1e-10)
  ext <- suppressWarnings(dml_multi_irm(spec, nuisances = nu[c("g_ctl", "g_alpha", "g_beta",
                                                               "m_ctl", "m_alpha", "m_beta", "folds")]))
  expect_equal(coef(ext), coef(fit), tolerance = 1e-12)
  expect_equal(ext$se, fit$se, tolerance = 1e-12)
  expect_equal(vcov(ext), vcov(fit), tolerance = 1e-12)
  expect_equal(relative_effects(ext), relative_effects(fit), tolerance = 1e-12)
  # the linear outcome models are per-arm OLS on the training rows of that arm
  labels <- spec$treatment_levels
  arm <- spec_arm(df, spec)
  X <- as.matrix(df[, grep("^x", names(df))])
  for (k in seq_along(labels)) {
    expect_equal(nu[[paste0("g_", labels[k])]], ref_crossfit_lm(X, df$y, nu$folds, subset = arm == k - 1),
                 tolerance = 1e-8, ignore_attr = TRUE)
  }
  # the estimates are the reference's on these nuisances
  ref <- ref_multi_irm(df$y, arm, nu[paste0("g_", labels)], nu[paste0("m_", labels)], labels = labels)
  expect_multi_matches_reference(fit, ref)
  # folds are stratified on the arm: each fold holds about a third of each arm
  tab <- table(nu$folds[, 1], arm)
  expect_true(all(apply(tab, 2, function(x) max(x) - min(x)) <= 1))
  # reproducible with the same seed, independent of the threads
  again <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                          learner_treatment = lrn_boost(n_rounds = 50), n_folds = 3,
                                          seed = 1, num.threads = 1))
  expect_identical(coef(again), coef(fit))
  two <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_boost(n_rounds = 50), n_folds = 3,
                                        seed = 1, num.threads = 2))
  expect_identical(coef(two), coef(again))
  expect_identical(two$se, again$se)
})

test_that("learned nuisances: multinomial logistic propensities", {
  skip_if(!multinom_available(), "lrn_logistic() has no multinomial model yet")
  df <- make_multi_data(n = 1000, K = 4, seed = 101)
  spec <- multi_spec(df)
  fit <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_logistic(), seed = 1))
  nu <- nuisances(fit)
  labels <- spec$treatment_levels
  arm <- spec_arm(df, spec)
  X <- as.matrix(df[, grep("^x", names(df))])
  ref_m <- ref_crossfit_multinom(X, arm + 1L, length(labels), nu$folds)
  for (k in seq_along(labels)) {
    expect_equal(nu[[paste0("m_", labels[k])]], ref_m[[k]], tolerance = 1e-6, ignore_attr = TRUE)
  }
  ext <- suppressWarnings(dml_multi_irm(spec, nuisances = nu[c(paste0("g_", labels), paste0("m_", labels),
                                                               "folds")]))
  expect_equal(coef(ext), coef(fit), tolerance = 1e-12)
  expect_equal(ext$se, fit$se, tolerance = 1e-12)
  ref <- ref_multi_irm(df$y, arm, nu[paste0("g_", labels)], nu[paste0("m_", labels)], labels = labels)
  expect_multi_matches_reference(fit, ref)
  one <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_logistic(), seed = 1, num.threads = 1))
  two <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_logistic(), seed = 1, num.threads = 2))
  expect_identical(coef(one), coef(two))
  expect_identical(coef(one), coef(fit))
})

test_that("the estimates find known constant arm effects", {
  truth <- c(0, 1, -0.5, 0.25)
  df <- make_multi_data(n = 20000, K = 4, seed = 111, effects = truth)
  spec <- multi_spec(df)
  # E[Y(0)] (ATE) or E[Y(0) | arm k] (ATT): the true control regression averaged over the rows
  g0 <- attr(df, "g_true")[, 1]
  mu_true <- function(estimand) {
    if (estimand == "ATE") return(rep(mean(g0), 3))
    sapply(c("alpha", "beta", "gamma"), function(a) mean(g0[df$arm == a]), USE.NAMES = FALSE)
  }
  check_truth <- function(fit, estimand = "ATE") {
    expect_true(all(abs(coef(fit) - truth[-1]) < 4 * fit$se))
    mu <- mu_true(estimand)
    expect_true(all(abs(fit$baseline$estimate - mu) < 4 * fit$baseline$std.error))
    rel <- relative_effects(fit)
    expect_true(all(abs(rel$estimate - 100 * truth[-1] / mu) < 4 * rel$std.error))
  }
  for (estimand in c("ATE", "ATT")) {
    fit <- suppressWarnings(dml_multi_irm(spec, estimand = estimand, learner_outcome = lrn_linear(),
                                          learner_treatment = lrn_boost(n_rounds = 100), n_folds = 3, seed = 1))
    check_truth(fit, estimand)
  }
  skip_if(!multinom_available(), "lrn_logistic() has no multinomial model yet")
  fit <- suppressWarnings(dml_multi_irm(spec, learner_outcome = lrn_linear(),
                                        learner_treatment = lrn_logistic(), seed = 1))
  check_truth(fit)
})

test_that("bad designs and nuisances stop with clear errors", {
  df <- make_multi_data(n = 300, K = 3, seed = 121)
  spec <- multi_spec(df)
  labels <- spec$treatment_levels
  nu <- ref_multi_random_nuisances(df, seed = 122)
  # a training sample without an arm
  set.seed(1)
  folds <- ifelse(df$arm == "beta", 1L, sample(2:4, nrow(df), replace = TRUE))
  expect_error(dml_multi_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_boost(),
                             folds = folds),
               "beta", class = "fastdml_error")
  # an arm with fewer rows than folds
  rare <- df
  rare$arm[rare$arm == "beta"] <- "alpha"
  rare$arm[1:3] <- "beta"
  expect_error(dml_multi_irm(multi_spec(rare), learner_outcome = lrn_linear(), learner_treatment = lrn_boost(),
                             n_folds = 5),
               "beta", class = "fastdml_error")
  # trim must lie below 1 / K
  nl <- multi_nuisance_list(nu$g, nu$m, labels)
  expect_error(dml_multi_irm(spec, nuisances = nl, trim = 0.4), "trim", class = "fastdml_error")
  expect_error(dml_multi_irm(spec, nuisances = nl, trim = 1 / 3), "trim", class = "fastdml_error")
  expect_error(dml_multi_irm(spec, nuisances = nl, trim = 0), "trim", class = "fastdml_error")
  # external propensities outside [0, 1]
  bad <- nl
  bad$m_alpha[2] <- 1.3
  expect_error(dml_multi_irm(spec, nuisances = bad), "m_alpha", class = "fastdml_error")
  bad <- nl
  bad$m_ctl[5] <- -0.1
  expect_error(dml_multi_irm(spec, nuisances = bad), "m_ctl", class = "fastdml_error")
  # a missing propensity
  bad <- nl
  bad$m_beta <- NULL
  expect_error(dml_multi_irm(spec, nuisances = bad), "m_beta", class = "fastdml_error")
  # a continuous treatment
  cont <- df
  cont$arm <- rnorm(nrow(cont))
  expect_error(dml_multi_irm(causal_data(cont, outcome = "y", treatment = "arm",
                                         covariates = c("x1", "x2", "x3"))),
               class = "fastdml_error")
  # the binary estimators refuse a multi-arm spec
  expect_error(dml_irm(spec), "dml_multi_irm", class = "fastdml_error")
  expect_error(dml_plr(spec), class = "fastdml_error")
})

test_that("print, summary, tidy, confint and glance work", {
  df <- make_multi_data(n = 600, K = 4, seed = 131)
  labels <- c("ctl", "alpha", "beta", "gamma")
  spec <- multi_spec(df)
  nu <- ref_multi_random_nuisances(df, seed = 132)
  fit <- multi_fit_ext(spec, nu, labels)
  terms <- c("alpha vs ctl", "beta vs ctl", "gamma vs ctl")
  expect_output(print(fit), "Multi-arm IRM")
  expect_output(print(fit), "gamma vs ctl")
  expect_output(print(summary(fit)), "beta vs ctl")
  td <- tidy(fit)
  expect_s3_class(td, "data.frame")
  expect_identical(td$term, terms)
  expect_equal(td$estimate, unname(coef(fit)))
  expect_equal(td$std.error, fit$se)
  ci <- confint(fit)
  expect_identical(rownames(ci), terms)
  expect_equal(unname(ci[, 1]), unname(coef(fit)) - qnorm(0.975) * fit$se, tolerance = 1e-12)
  ci90 <- confint(fit, level = 0.9)
  expect_equal(unname(ci90[, 2]), unname(coef(fit)) + qnorm(0.95) * fit$se, tolerance = 1e-12)
  gl <- glance(fit)
  expect_s3_class(gl, "data.frame")
  expect_equal(nrow(gl), 1L)
  expect_equal(gl$nobs, 600L, ignore_attr = TRUE)
  expect_identical(rownames(vcov(fit)), terms)
})
