# sensitivity_benchmark(): the short model equals a fresh fit on the reduced data (same folds,
# learners, seeds and options), and the strengths equal an independent hand computation in base
# R from the long and short fits' sensitivity elements ("refit") or from the long fit's
# nuisances ("residual"). The sensitivity elements themselves (sigma2, nu2) are checked
# against hand formulas for one case here and in full in test-sensitivity.R.

# --- independent references (base R) -----------------------------------------------------

bench_weights <- function(spec) {
  if (is.null(spec$weights)) rep(1, spec$n) else spec$weights / mean(spec$weights)
}

# Medians over repetitions of sigma2 and nu2 per term, from sensitivity()$stats.
bench_elements <- function(fit) {
  st <- sensitivity(fit, cf_y = 0, cf_d = 0)$stats
  terms <- names(coef(fit))
  list(sigma2 = sapply(terms, function(k) median(st$sigma2[st$term == k])),
       nu2 = sapply(terms, function(k) median(st$nu2[st$term == k])))
}

# method = "refit" (DESIGN.md §4): from the long and short fits.
bench_refit_ref <- function(long, short) {
  w <- bench_weights(long$spec)
  y <- long$spec$y
  var_y <- sum(w * (y - sum(w * y) / sum(w))^2) / sum(w)
  el <- bench_elements(long)
  es <- bench_elements(short)
  r2_long <- 1 - el$sigma2 / var_y
  r2_short <- 1 - es$sigma2 / var_y
  cf_y <- (r2_long - r2_short) / (1 - r2_long)
  r2_alpha <- es$nu2 / el$nu2
  cf_d <- (1 - r2_alpha) / r2_alpha
  delta <- coef(long) - coef(short)
  gain_y <- es$sigma2 - el$sigma2
  gain_d <- el$nu2 - es$nu2
  ok <- gain_y > 0 & gain_d > 0
  rho <- rep(NA_real_, length(delta))
  rho[ok] <- pmin(abs(delta[ok]) / sqrt(gain_y[ok] * gain_d[ok]), 1)
  list(cf_y = unname(pmax(cf_y, 0)), cf_d = unname(pmax(cf_d, 0)), rho = unname(rho),
       delta = unname(delta))
}

# Multi-arm trimming: floor every arm at trim and rescale the others, until none is below.
bench_trim_row <- function(p0, trim) {
  fixed <- rep(FALSE, length(p0))
  p <- p0
  repeat {
    below <- !fixed & p < trim
    if (!any(below)) break
    fixed <- fixed | below
    p[fixed] <- trim
    p[!fixed] <- p0[!fixed] * (1 - sum(fixed) * trim) / sum(p0[!fixed])
  }
  p
}

# Long model's residuals of repetition s from nuisances(fit): r_y and r_d (n x terms).
bench_residuals <- function(fit, s) {
  nu <- nuisances(fit)
  y <- fit$spec$y
  d <- fit$spec$d
  if (inherits(fit, "dml_plr")) {
    theta <- fit$theta_rep[s]
    g_hat <- if (fit$score == "IV-type") {
      nu$g[, s] + theta * d
    } else {
      nu$l[, s] + theta * (d - nu$m[, s])
    }
    return(list(r_y = y - g_hat, r_d = cbind(d - nu$m[, s])))
  }
  if (inherits(fit, "dml_multi_irm")) {
    arms <- fit$spec$treatment_levels
    G <- sapply(arms, function(a) nu[[paste0("g_", a)]][, s])
    M <- t(apply(sapply(arms, function(a) nu[[paste0("m_", a)]][, s]), 1L, bench_trim_row,
                 trim = fit$trim))
    D <- sapply(seq_along(arms) - 1L, function(a) as.numeric(d == a))
    g_hat <- rowSums(D * G)
    r_d <- sapply(seq_along(arms)[-1L], function(k) (D[, k] - M[, k]) - (D[, 1] - M[, 1]))
    return(list(r_y = y - g_hat, r_d = r_d))
  }
  m <- pmin(pmax(nu$m[, s], fit$trim), 1 - fit$trim)
  g_hat <- ifelse(d == 1, nu$g1[, s], nu$g0[, s])
  list(r_y = y - g_hat, r_d = cbind(d - m))
}

# method = "residual" (spec §5): (weighted) OLS with intercept on the standardised columns.
bench_residual_ref <- function(fit, columns) {
  w <- bench_weights(fit$spec)
  Z <- fit$spec$X[, columns, drop = FALSE]
  Z <- apply(Z, 2L, function(z) {
    z <- z - sum(w * z) / sum(w)
    z / sqrt(sum(w * z^2) / sum(w))
  })
  ols <- function(target) {
    f <- lm.wfit(cbind(1, Z), target, w)
    fitted <- f$fitted.values - sum(w * f$fitted.values) / sum(w)
    centred <- target - sum(w * target) / sum(w)
    list(fitted = fitted, r2 = sum(w * fitted^2) / sum(w * centred^2))
  }
  wcor <- function(a, b) sum(w * a * b) / sqrt(sum(w * a^2) * sum(w * b^2))
  n_terms <- length(coef(fit))
  per_rep <- sapply(seq_len(fit$n_rep), function(s) {
    res <- bench_residuals(fit, s)
    fy <- ols(res$r_y)
    unlist(lapply(seq_len(n_terms), function(k) {
      fd <- ols(res$r_d[, k])
      c(r2_y = fy$r2, r2_d = fd$r2, rho = wcor(fy$fitted, fd$fitted))
    }))
  })
  per_rep <- matrix(per_rep, ncol = fit$n_rep)
  med <- apply(per_rep, 1L, median)
  idx <- function(j) med[(seq_len(n_terms) - 1L) * 3L + j]
  list(cf_y = idx(1) / (1 - idx(1)), cf_d = idx(2), rho = idx(3))
}

bench_spec <- function(df, covariates, ...) {
  causal_data(df, outcome = "y", treatment = "d", covariates = covariates, ...)
}

expect_benchmark_table <- function(tab, fit, drop_label, method) {
  expect_s3_class(tab, c("fastdml_benchmark", "data.frame"), exact = TRUE)
  expect_named(tab, c("term", "drop", "cf_y", "cf_d", "rho", "theta_long", "theta_short",
                      "delta", "method"))
  expect_identical(tab$term, names(coef(fit)))
  expect_identical(unique(tab$drop), drop_label)
  expect_identical(unique(tab$method), method)
  expect_equal(tab$theta_long, unname(coef(fit)), tolerance = 1e-14)
  expect_equal(tab$delta, tab$theta_long - tab$theta_short, tolerance = 1e-14)
}

# --- PLR ---------------------------------------------------------------------------------------

# The refit method's table against the short fit and the hand formulas (1e-12).
expect_refit_strengths <- function(tab, fit, short) {
  expect_equal(tab$theta_short, unname(coef(short)), tolerance = 1e-12)
  ref <- bench_refit_ref(fit, short)
  expect_equal(tab$cf_y, ref$cf_y, tolerance = 1e-12)
  expect_equal(tab$cf_d, ref$cf_d, tolerance = 1e-12)
  expect_equal(tab$rho, ref$rho, tolerance = 1e-12)
}

test_that("PLR: the short model is a fresh fit on the reduced data; strengths match the formulas", {
  df <- make_test_data(n = 2000, p = 4, seed = 11, binary_d = FALSE)
  covs <- paste0("x", 1:4)
  fit <- dml_plr(bench_spec(df, covs), lrn_linear(), lrn_linear(), n_rep = 3, seed = 1)
  short <- dml_plr(bench_spec(df, c("x2", "x4")), lrn_linear(), lrn_linear(), n_rep = 3, seed = 1)
  expect_identical(nuisances(short)$folds, nuisances(fit)$folds)

  tab <- sensitivity_benchmark(fit, drop = c("x1", "x3"))
  expect_benchmark_table(tab, fit, "x1+x3", "refit")
  expect_refit_strengths(tab, fit, short)
  expect_true(tab$cf_y > 0 && tab$cf_d > 0)

  res <- sensitivity_benchmark(fit, drop = c("x1", "x3"), method = "residual")
  expect_benchmark_table(res, fit, "x1+x3", "residual")
  expect_equal(res$theta_short, tab$theta_short, tolerance = 1e-14)
  rref <- bench_residual_ref(fit, c("x1", "x3"))
  expect_equal(res$cf_y, rref$cf_y, tolerance = 1e-10)
  expect_equal(res$cf_d, rref$cf_d, tolerance = 1e-10)
  expect_equal(res$rho, rref$rho, tolerance = 1e-10)
})

test_that("PLR IV-type: the score is kept in the refit and g + theta D is the residual's g_hat", {
  df <- make_test_data(n = 2000, p = 4, seed = 12, binary_d = FALSE)
  fit <- dml_plr(bench_spec(df, paste0("x", 1:4)), lrn_linear(), lrn_linear(), score = "IV-type",
                 seed = 2)
  short <- dml_plr(bench_spec(df, c("x1", "x2", "x3")), lrn_linear(), lrn_linear(),
                   score = "IV-type", seed = 2)
  tab <- sensitivity_benchmark(fit, drop = "x4")
  expect_refit_strengths(tab, fit, short)
  res <- sensitivity_benchmark(fit, drop = "x4", method = "residual")
  rref <- bench_residual_ref(fit, "x4")
  expect_equal(res[c("cf_y", "cf_d", "rho")], as.data.frame(rref), tolerance = 1e-10,
               ignore_attr = TRUE)
})

test_that("PLR with clusters: the cluster correction is kept in the refit", {
  df <- make_test_data(n = 1500, p = 3, seed = 21, binary_d = FALSE, n_clusters = 60)
  fit <- dml_plr(bench_spec(df, paste0("x", 1:3), cluster = "cl"), lrn_linear(), lrn_linear(),
                 cluster_correction = TRUE, seed = 9)
  expect_true(fit$refit$args$cluster_correction)
  short <- dml_plr(bench_spec(df, c("x2", "x3"), cluster = "cl"), lrn_linear(), lrn_linear(),
                   cluster_correction = TRUE, seed = 9)
  tab <- sensitivity_benchmark(fit, drop = "x1")
  expect_refit_strengths(tab, fit, short)
})

# --- IRM ---------------------------------------------------------------------------------------

test_that("IRM ATE: short model, refit strengths and residual strengths", {
  df <- make_test_data(n = 2000, p = 4, seed = 13)
  covs <- paste0("x", 1:4)
  fit <- dml_irm(bench_spec(df, covs), learner_outcome = lrn_linear(),
                 learner_treatment = lrn_logistic(), seed = 3)
  short <- dml_irm(bench_spec(df, c("x3", "x4")), learner_outcome = lrn_linear(),
                   learner_treatment = lrn_logistic(), folds = nuisances(fit)$folds)

  # the sensitivity elements used are the contract's (ATE: alpha = D/m - (1-D)/(1-m))
  nu <- nuisances(fit)
  m <- pmin(pmax(nu$m[, 1], 0.01), 0.99)
  d <- df$d
  alpha <- d / m - (1 - d) / (1 - m)
  st <- sensitivity(fit, cf_y = 0, cf_d = 0)$stats
  g_obs <- ifelse(d == 1, nu$g1[, 1], nu$g0[, 1])
  expect_equal(st$sigma2, mean((df$y - g_obs)^2), tolerance = 1e-10)
  expect_equal(st$nu2, mean(2 * (1 / m + 1 / (1 - m)) - alpha^2), tolerance = 1e-10)

  tab <- sensitivity_benchmark(fit, drop = c("x1", "x2"))
  expect_benchmark_table(tab, fit, "x1+x2", "refit")
  expect_refit_strengths(tab, fit, short)
  expect_true(tab$cf_y > 0 && tab$cf_d > 0)

  res <- sensitivity_benchmark(fit, drop = c("x1", "x2"), method = "residual")
  rref <- bench_residual_ref(fit, c("x1", "x2"))
  expect_equal(res$cf_y, rref$cf_y, tolerance = 1e-10)
  expect_equal(res$cf_d, rref$cf_d, tolerance = 1e-10)
  expect_equal(res$rho, rref$rho, tolerance = 1e-10)
  expect_true(res$rho >= -1 && res$rho <= 1)
})

test_that("IRM with weights, ATT, normalisation, trim and repetitions: the refit keeps them", {
  df <- make_test_data(n = 2000, p = 4, seed = 14, weights = TRUE)
  covs <- paste0("x", 1:4)
  fit <- dml_irm(bench_spec(df, covs, weights = "w"), estimand = "ATT",
                 learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), trim = 0.05,
                 normalize = TRUE, n_rep = 2, seed = 4)
  short <- dml_irm(bench_spec(df, c("x1", "x3", "x4"), weights = "w"), estimand = "ATT",
                   learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
                   trim = 0.05, normalize = TRUE, n_rep = 2, seed = 4)
  tab <- sensitivity_benchmark(fit, drop = "x2", num.threads = 1)
  expect_refit_strengths(tab, fit, short)
  res <- sensitivity_benchmark(fit, drop = "x2", method = "residual")
  rref <- bench_residual_ref(fit, "x2")
  expect_equal(res$cf_y, rref$cf_y, tolerance = 1e-10)
  expect_equal(res$cf_d, rref$cf_d, tolerance = 1e-10)
  expect_equal(res$rho, rref$rho, tolerance = 1e-10)
})

test_that("a pure-noise covariate: strengths clipped at 0, rho NA", {
  df <- make_test_data(n = 2000, p = 4, seed = 31)
  df$noise <- rnorm(nrow(df))
  spec <- bench_spec(df, c(paste0("x", 1:4), "noise"))
  fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
  short <- dml_irm(bench_spec(df, paste0("x", 1:4)), learner_outcome = lrn_linear(),
                   learner_treatment = lrn_logistic(), seed = 1)
  el <- bench_elements(fit)
  es <- bench_elements(short)
  expect_true(es$sigma2 < el$sigma2 && es$nu2 > el$nu2)  # the noise column hurt both fits
  tab <- sensitivity_benchmark(fit, drop = "noise")
  expect_identical(c(tab$cf_y, tab$cf_d), c(0, 0))
  expect_identical(tab$rho, NA_real_)
  expect_equal(tab$theta_short, unname(coef(short)), tolerance = 1e-12)
})

test_that("the refit reuses the fit's learner seeds (boosting drawn from the RNG)", {
  df <- make_test_data(n = 1000, p = 3, seed = 15)
  set.seed(77)
  fit <- dml_irm(bench_spec(df, paste0("x", 1:3)), learner_outcome = lrn_boost(n_rounds = 20),
                 learner_treatment = lrn_boost(n_rounds = 20), n_folds = 3)
  drawn <- fit$refit$args$learner_outcome$seed
  expect_false(is.null(drawn))
  short <- dml_irm(bench_spec(df, c("x1", "x2")),
                   learner_outcome = lrn_boost(n_rounds = 20, seed = drawn),
                   learner_treatment = lrn_boost(n_rounds = 20, seed = drawn),
                   folds = nuisances(fit)$folds)
  tab <- sensitivity_benchmark(fit, drop = "x3")
  expect_equal(tab$theta_short, unname(coef(short)), tolerance = 1e-12)
  expect_equal(sensitivity_benchmark(fit, drop = "x3", num.threads = 1)$theta_short,
               tab$theta_short, tolerance = 1e-14)
})

# --- multi-arm ---------------------------------------------------------------------------------

test_that("multi-arm: one row per contrast; short model and strengths match", {
  d <- sim_cx(n = 3000, seed = 1)
  covs <- c("age", "risk_latent", "prev_contact", "prev_repeat", "prev_apps", "prev_util")
  spec_of <- function(covariates) {
    causal_data(d, outcome = "y", treatment = "arm", control = "control", covariates = covariates)
  }
  fit <- suppressWarnings(dml_multi_irm(spec_of(covs), learner_outcome = lrn_logistic(),
                                        learner_treatment = lrn_logistic(), seed = 1))
  short <- suppressWarnings(dml_multi_irm(spec_of(setdiff(covs, c("prev_apps", "prev_util"))),
                                          learner_outcome = lrn_logistic(),
                                          learner_treatment = lrn_logistic(), seed = 1))
  tab <- suppressWarnings(sensitivity_benchmark(fit, drop = c("prev_apps", "prev_util")))
  expect_benchmark_table(tab, fit, "prev_apps+prev_util", "refit")
  expect_length(tab$term, 3L)
  expect_refit_strengths(tab, fit, short)
  # the outcome side is shared by the contrasts
  expect_equal(tab$cf_y, rep(tab$cf_y[1], 3L))

  res <- suppressWarnings(sensitivity_benchmark(fit, drop = c("prev_apps", "prev_util"),
                                                method = "residual"))
  rref <- bench_residual_ref(fit, c("prev_apps", "prev_util"))
  expect_equal(res$cf_y, rref$cf_y, tolerance = 1e-10)
  expect_equal(res$cf_d, rref$cf_d, tolerance = 1e-10)
  expect_equal(res$rho, rref$rho, tolerance = 1e-10)
})

# --- names, warnings, printing, errors ---------------------------------------------------------

test_that("a factor covariate may be dropped by its name (its indicator columns)", {
  df <- make_test_data(n = 1500, p = 3, seed = 16)
  df$region <- factor(sample(c("A", "B", "C"), nrow(df), replace = TRUE))
  df$y <- df$y + 0.5 * (df$region == "B")
  spec <- suppressMessages(bench_spec(df, c("x1", "x2", "x3", "region")))
  expect_true(all(c("regionB", "regionC") %in% spec$covariates))
  fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 5)
  expect_message(by_name <- sensitivity_benchmark(fit, drop = "region"),
                 class = "fastdml_message_expanded")
  by_columns <- sensitivity_benchmark(fit, drop = c("regionB", "regionC"))
  expect_identical(by_name$drop, "region")
  expect_equal(by_name[c("cf_y", "cf_d", "rho", "theta_short")],
               by_columns[c("cf_y", "cf_d", "rho", "theta_short")])
})

test_that("the refit's fit-time warnings are passed on with their class and a note", {
  df <- make_test_data(n = 1000, p = 3, seed = 17, binary_d = FALSE)
  df$d <- df$x1 + rnorm(nrow(df), sd = 0.05)  # nearly a function of x1: weak treatment residual
  fit <- suppressWarnings(dml_plr(bench_spec(df, paste0("x", 1:3)), lrn_linear(), lrn_linear(),
                                  seed = 6))
  expect_warning(tab <- sensitivity_benchmark(fit, drop = "x3"),
                 "refit of the short model without x3", class = "fastdml_warning_weak_treatment")
  expect_s3_class(tab, "fastdml_benchmark")
})

test_that("print shows the group, the method and the table", {
  df <- make_test_data(n = 800, p = 3, seed = 18)
  fit <- dml_irm(bench_spec(df, paste0("x", 1:3)), learner_outcome = lrn_linear(),
                 learner_treatment = lrn_logistic(), seed = 7)
  tab <- sensitivity_benchmark(fit, drop = c("x1", "x2"))
  out <- capture.output(print(tab))
  expect_match(out[1], "dropping x1\\+x2 \\(method \"refit\"\\)")
  expect_true(any(grepl("theta_short", out)))
  capture.output(shown <- withVisible(print(tab)))
  expect_false(shown$visible)
  expect_identical(shown$value, tab)
})

test_that("bad input gives classed errors", {
  df <- make_test_data(n = 800, p = 3, seed = 19)
  spec <- bench_spec(df, paste0("x", 1:3))
  fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 8)
  expect_error(sensitivity_benchmark(lm(y ~ x1, data = df), drop = "x1"),
               class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = "x9"), "x1, x2, and x3",
               class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = "y"), class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = c("x1", "x2", "x3")), "every covariate",
               class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit), class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = character()), class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = NA_character_), class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = 1), class = "fastdml_error_argument")
  expect_error(sensitivity_benchmark(fit, drop = "x1", method = "ols"),
               class = "fastdml_error_argument")
  nu <- nuisances(fit)
  external <- dml_irm(spec, nuisances = nu[c("g0", "g1", "m", "folds")])
  expect_null(external$refit)
  expect_error(sensitivity_benchmark(external, drop = "x1"), "external",
               class = "fastdml_error_argument")
})
