# sensitivity() against the independent reference (helper-reference-sensitivity.R), written from
# the formulas of DESIGN.md §4 ("Sensitivity (Long Story Short)") and
# specs/cx-multitreatment.md §5. Most tests pass fixed external nuisances, so that every column
# is checked exactly; then robustness values by root-finding, the identities, the tidy/print
# methods and bad input, and the O(1) contour grid. The anchor against sensemakr and the
# coverage simulation are in test-sensitivity-truth.R.

quiet <- function(x) suppressWarnings(suppressMessages(x))

# Fits from the fixed cases of the helper (external nuisances with folds).
#   spec_args: weights = "w" and/or cluster = "cl"; ...: estimator arguments.
fit_plr_case <- function(case, score = "partialling out", spec_args = list(), ...) {
  nu <- case$nu
  if (score == "partialling out") nu$g <- NULL
  spec <- do.call(test_spec, c(list(case$df), spec_args))
  quiet(dml_plr(spec, score = score, nuisances = c(nu, list(folds = case$folds)), ...))
}
fit_irm_case <- function(case, spec_args = list(), ...) {
  spec <- do.call(test_spec, c(list(case$df), spec_args))
  quiet(dml_irm(spec, nuisances = c(case$nu, list(folds = case$folds)), ...))
}
fit_multi_case <- function(case, spec_args = list(), ...) {
  spec <- do.call(multi_spec, c(list(case$df), spec_args))
  stopifnot(identical(spec$treatment_levels, case$labels))
  quiet(dml_multi_irm(spec, nuisances = multi_nuisance_list(case$nu$g, case$nu$m, case$labels,
                                                            case$folds), ...))
}

# The reference elements of a fit built from `case` (settings read from the fit's options, the
# data and nuisances from the case itself).
ref_of <- function(fit, case) {
  df <- case$df
  weights <- if (!is.null(fit$spec$weights)) df$w
  cluster <- if (!is.null(fit$spec$cluster)) df$cl
  cc <- isTRUE(fit$cluster_correction)
  if (inherits(fit, "dml_plr")) {
    sref_elements("PLR", df$y, df$d, case$nu, score = fit$score, weights = weights,
                  cluster = cluster, cluster_correction = cc, labels = names(coef(fit)))
  } else if (inherits(fit, "dml_multi_irm")) {
    sref_elements("MULTI", df$y, match(df$arm, case$labels) - 1L, case$nu,
                  estimand = fit$estimand, trim = fit$trim, normalize = fit$normalize,
                  weights = weights, cluster = cluster, cluster_correction = cc,
                  labels = case$labels)
  } else {
    sref_elements("IRM", df$y, df$d, case$nu, estimand = fit$estimand, trim = fit$trim,
                  normalize = fit$normalize, weights = weights, cluster = cluster,
                  cluster_correction = cc, labels = names(coef(fit)))
  }
}

TABLE_COLS <- c("term", "estimate", "std.error", "cf_y", "cf_d", "rho", "theta_lower",
                "theta_upper", "ci_lower", "ci_upper", "max_bias", "max_bias_base", "sigma2",
                "nu2", "rv", "rva", "rv_d", "rva_d")
STATS_COLS <- c("term", "rep", "theta", "se", "sigma2", "nu2", "max_bias_base", "v_if",
                "c_if_s", "v_s")

# sens$table and sens$stats against the reference. Closed forms to `tol`; the robustness values
# found by root-finding (rva always, rv with several repetitions) to `tol_root`.
expect_sens_matches <- function(sens, el, ref_tab, tol = 1e-10, tol_root = 1e-6, label = "") {
  tab <- as.data.frame(sens$table)
  expect_true(all(TABLE_COLS %in% names(tab)), label = paste(label, "table columns"))
  expect_identical(as.character(tab$term), ref_tab$term, label = paste(label, "terms"))
  for (col in setdiff(TABLE_COLS, c("term", "rv", "rva"))) {
    expect_equal(as.numeric(tab[[col]]), ref_tab[[col]], tolerance = tol,
                 label = paste0(label, " table$", col))
  }
  expect_equal(as.numeric(tab$rv), ref_tab$rv, tolerance = if (el$n_rep == 1) tol else tol_root,
               label = paste0(label, " table$rv"))
  expect_equal(as.numeric(tab$rva), ref_tab$rva, tolerance = tol_root,
               label = paste0(label, " table$rva"))
  st <- as.data.frame(sens$stats)
  expect_true(all(STATS_COLS %in% names(st)), label = paste(label, "stats columns"))
  expect_equal(nrow(st), nrow(el$stats), label = paste(label, "stats rows"))
  key <- paste(st$term, st$rep)
  idx <- match(paste(el$stats$term, el$stats$rep), key)
  expect_false(anyNA(idx), label = paste(label, "stats (term, rep) keys"))
  for (col in setdiff(STATS_COLS, c("term", "rep"))) {
    expect_equal(as.numeric(st[[col]][idx]), el$stats[[col]], tolerance = tol,
                 label = paste0(label, " stats$", col))
  }
}

# Scenarios shared by the single-term fits: (cf_y, cf_d, rho, level, null).
SCENARIOS <- list(
  list(cf_y = 0.03, cf_d = 0.05, rho = 1, level = 0.95, null = 0),
  list(cf_y = 0.1, cf_d = 0.2, rho = -0.5, level = 0.9, null = 0.1),
  list(cf_y = 0.4, cf_d = 0.6, rho = 0.8, level = 0.95, null = 1.2)
)

check_fit_scenarios <- function(fit, case, scenarios = SCENARIOS, label = "") {
  el <- ref_of(fit, case)
  # the reference's own scores reproduce the fit (so the elements below refer to the same model)
  expect_equal(unname(coef(fit)), el$estimate, tolerance = 1e-10, label = paste(label, "coef"))
  expect_equal(unname(fit$se), el$std.error, tolerance = 1e-10, label = paste(label, "se"))
  for (i in seq_along(scenarios)) {
    sc <- scenarios[[i]]
    sens <- sensitivity(fit, cf_y = sc$cf_y, cf_d = sc$cf_d, rho = sc$rho, level = sc$level,
                        null = sc$null)
    expect_s3_class(sens, "fastdml_sensitivity")
    ref_tab <- sref_table(el, sc$cf_y, sc$cf_d, sc$rho, sc$level, sc$null)
    expect_sens_matches(sens, el, ref_tab, label = paste0(label, " scenario ", i))
  }
  # r2_y replaces cf_y (cf_y = r2_y / (1 - r2_y)); r2_d is another name of cf_d
  sens <- sensitivity(fit, r2_y = 0.2, cf_d = 0.05, rho = 0.9)
  ref_tab <- sref_table(el, 0.2 / 0.8, 0.05, 0.9)
  expect_sens_matches(sens, el, ref_tab, label = paste(label, "r2_y"))
  sens_d <- sensitivity(fit, cf_y = 0.04, r2_d = 0.07, rho = 1)
  ref_tab <- sref_table(el, 0.04, 0.07, 1)
  expect_sens_matches(sens_d, el, ref_tab, label = paste(label, "r2_d"))
  invisible(el)
}

# ---------------------------------------------------------------------------
# 1. Every column against the reference
# ---------------------------------------------------------------------------

test_that("PLR (both scores) matches the reference", {
  case <- sens_plr_case(n = 400, seed = 11)
  for (score in c("partialling out", "IV-type")) {
    fit <- fit_plr_case(case, score)
    check_fit_scenarios(fit, case, label = paste("PLR", score))
  }
})

test_that("IRM ATE and ATT, with and without normalisation, match the reference", {
  case <- sens_irm_case(n = 500, seed = 12)
  # trimming matters in these nuisances
  expect_gt(mean(case$nu$m < 0.01 | case$nu$m > 0.99), 0.01)
  for (estimand in c("ATE", "ATT")) {
    for (normalize in c(FALSE, TRUE)) {
      fit <- fit_irm_case(case, estimand = estimand, normalize = normalize)
      check_fit_scenarios(fit, case, label = paste("IRM", estimand, normalize))
    }
  }
  # another trim
  fit <- fit_irm_case(case, estimand = "ATE", trim = 0.05)
  check_fit_scenarios(fit, case, SCENARIOS[1], label = "IRM trim 0.05")
})

test_that("multi-arm ATE and ATT (K = 3) match the reference, with per-term scenarios", {
  case <- sens_multi_case(n = 600, K = 3, seed = 13)
  per_term <- list(
    list(cf_y = c(0.03, 0.08), cf_d = c(0.05, 0.02), rho = c(1, -0.3), level = 0.95, null = 0),
    list(cf_y = c(0.1, 0.01), cf_d = c(0.2, 0.3), rho = c(-0.5, 0.7), level = 0.9, null = 0.1)
  )
  for (estimand in c("ATE", "ATT")) {
    for (normalize in c(FALSE, TRUE)) {
      fit <- fit_multi_case(case, estimand = estimand, normalize = normalize)
      expect_identical(names(coef(fit)), c("alpha vs ctl", "beta vs ctl"))
      check_fit_scenarios(fit, case, c(SCENARIOS[1:2], per_term),
                          label = paste("multi", estimand, normalize))
      sens <- sensitivity(fit, cf_y = c(0.03, 0.08), cf_d = c(0.05, 0.02), rho = c(1, -0.3))
      expect_equal(sens$scenario$cf_y, c(0.03, 0.08))
      expect_equal(sens$scenario$cf_d, c(0.05, 0.02))
      expect_equal(sens$scenario$rho, c(1, -0.3))
    }
  }
  # four arms
  case4 <- sens_multi_case(n = 700, K = 4, seed = 14)
  fit4 <- fit_multi_case(case4, estimand = "ATE")
  check_fit_scenarios(fit4, case4, list(
    list(cf_y = c(0.03, 0.08, 0.2), cf_d = c(0.05, 0.02, 0.1), rho = c(1, -0.3, 0.6),
         level = 0.95, null = 0)), label = "multi K = 4")
})

test_that("weights match the reference (PLR, IRM, multi-arm)", {
  case <- sens_plr_case(n = 400, seed = 21, weights = TRUE)
  check_fit_scenarios(fit_plr_case(case, spec_args = list(weights = "w")), case, label = "PLR w")
  check_fit_scenarios(fit_plr_case(case, "IV-type", spec_args = list(weights = "w")), case,
                      SCENARIOS[1:2], label = "PLR IV w")
  case <- sens_irm_case(n = 500, seed = 22, weights = TRUE)
  for (estimand in c("ATE", "ATT")) {
    fit <- fit_irm_case(case, spec_args = list(weights = "w"), estimand = estimand,
                        normalize = estimand == "ATT")
    check_fit_scenarios(fit, case, SCENARIOS[1:2], label = paste("IRM w", estimand))
  }
  case <- sens_multi_case(n = 600, seed = 23, weights = TRUE)
  for (estimand in c("ATE", "ATT")) {
    fit <- fit_multi_case(case, spec_args = list(weights = "w"), estimand = estimand,
                          normalize = TRUE)
    check_fit_scenarios(fit, case, SCENARIOS[1:2], label = paste("multi w", estimand))
  }
})

test_that("clusters, with and without the correction, match the reference", {
  case <- sens_plr_case(n = 400, seed = 31, n_clusters = 40, weights = TRUE)
  for (cc in c(FALSE, TRUE)) {
    fit <- fit_plr_case(case, spec_args = list(cluster = "cl"), cluster_correction = cc)
    check_fit_scenarios(fit, case, SCENARIOS[1:2], label = paste("PLR cl", cc))
  }
  fit <- fit_plr_case(case, spec_args = list(cluster = "cl", weights = "w"),
                      cluster_correction = TRUE)
  check_fit_scenarios(fit, case, SCENARIOS[1:2], label = "PLR cl w")
  case <- sens_irm_case(n = 500, seed = 32, n_clusters = 50, weights = TRUE)
  for (cc in c(FALSE, TRUE)) {
    for (estimand in c("ATE", "ATT")) {
      fit <- fit_irm_case(case, spec_args = list(cluster = "cl", weights = "w"),
                          estimand = estimand, cluster_correction = cc)
      check_fit_scenarios(fit, case, SCENARIOS[1:2], label = paste("IRM cl", estimand, cc))
    }
  }
  case <- sens_multi_case(n = 600, seed = 33, n_clusters = 45)
  for (cc in c(FALSE, TRUE)) {
    fit <- fit_multi_case(case, spec_args = list(cluster = "cl"), estimand = "ATT",
                          cluster_correction = cc)
    check_fit_scenarios(fit, case, SCENARIOS[1:2], label = paste("multi cl", cc))
  }
  # the correction scales v_if, c_if_s and v_s by G / (G - 1)
  f0 <- fit_multi_case(case, spec_args = list(cluster = "cl"), estimand = "ATE")
  f1 <- fit_multi_case(case, spec_args = list(cluster = "cl"), estimand = "ATE",
                       cluster_correction = TRUE)
  s0 <- as.data.frame(sensitivity(f0, cf_y = 0.03, cf_d = 0.05)$stats)
  s1 <- as.data.frame(sensitivity(f1, cf_y = 0.03, cf_d = 0.05)$stats)
  G <- length(unique(case$df$cl))
  for (col in c("v_if", "c_if_s", "v_s")) {
    expect_equal(s1[[col]], s0[[col]] * G / (G - 1), tolerance = 1e-12)
  }
})

test_that("three repetitions (medians) match the reference", {
  case <- sens_plr_case(n = 400, S = 3, seed = 41)
  for (score in c("partialling out", "IV-type")) {
    fit <- fit_plr_case(case, score)
    expect_equal(fit$n_rep, 3L)
    check_fit_scenarios(fit, case, label = paste("PLR S=3", score))
  }
  case <- sens_irm_case(n = 500, S = 3, seed = 42, n_clusters = 60, weights = TRUE)
  for (estimand in c("ATE", "ATT")) {
    fit <- fit_irm_case(case, spec_args = list(cluster = "cl", weights = "w"),
                        estimand = estimand, normalize = TRUE, cluster_correction = TRUE)
    check_fit_scenarios(fit, case, label = paste("IRM S=3", estimand))
  }
  case <- sens_multi_case(n = 600, S = 3, seed = 43)
  for (estimand in c("ATE", "ATT")) {
    fit <- fit_multi_case(case, estimand = estimand)
    el <- check_fit_scenarios(fit, case, label = paste("multi S=3", estimand))
    sens <- sensitivity(fit, cf_y = 0.05, cf_d = 0.05)
    expect_equal(sens$n_rep, 3L)
    expect_equal(nrow(sens$stats), 6L)
  }
})

# ---------------------------------------------------------------------------
# 2. Robustness values and identities
# ---------------------------------------------------------------------------

# rv, rva by root-finding on the reference's aggregated bound; rv_d, rva_d in closed form from
# the table's own values; max_bias = max_bias_base |rho| sqrt(cf_y cf_d / (1 - cf_d)).
check_robustness <- function(fit, case, cf_y, cf_d, rho, level = 0.95, null = 0) {
  el <- ref_of(fit, case)
  sens <- sensitivity(fit, cf_y = cf_y, cf_d = cf_d, rho = rho, level = level, null = null)
  tab <- as.data.frame(sens$table)
  J <- nrow(tab)
  rho <- rep_len(rho, J)
  cf_y <- rep_len(cf_y, J)
  cf_d <- rep_len(cf_d, J)
  z2 <- qnorm(1 - (1 - level) / 2)
  for (k in seq_len(J)) {
    st <- el$stats[el$stats$term == el$terms[k], ]
    est <- el$estimate[k]
    for (bound in c("theta", "ci")) {
      value <- if (bound == "theta") tab$rv[k] else tab$rva[k]
      root <- sref_rv_root(st, est, rho[k], level, null, bound)
      expect_equal(value, root, tolerance = 1e-6, label = paste("rv", bound, tab$term[k]))
      if (root > 0 && root < 1) {
        # the reference bound at the implementation's value reaches H0
        at <- sref_bound_at_r(st, est, value, rho[k], level, null, bound)
        expect_lt(abs(at - null), 1e-6)
        # and so does sensitivity() itself at cf_y = cf_d = value
        at_sens <- sensitivity(fit, cf_y = value, cf_d = value, rho = rho, level = level,
                               null = null)$table
        side <- if (est > null) "lower" else "upper"
        col <- if (bound == "theta") paste0("theta_", side) else paste0("ci_", side)
        expect_lt(abs(at_sens[[col]][k] - null), 1e-6)
      }
    }
    if (el$n_rep == 1) {
      a <- abs(est - null) / (abs(rho[k]) * tab$max_bias_base[k])
      expect_equal(tab$rv[k], (-a^2 + sqrt(a^4 + 4 * a^2)) / 2, tolerance = 1e-10)
      expect_equal(tab$theta_lower[k], tab$estimate[k] - tab$max_bias[k], tolerance = 1e-12)
      expect_equal(tab$theta_upper[k], tab$estimate[k] + tab$max_bias[k], tolerance = 1e-12)
    }
    gap <- abs(tab$estimate[k] - null)
    D <- (gap / (abs(rho[k]) * tab$max_bias_base[k] * sqrt(cf_y[k])))^2
    expect_equal(tab$rv_d[k], D / (1 + D), tolerance = 1e-10)
    gap_a <- max(gap - z2 * tab$std.error[k], 0)
    Da <- (gap_a / (abs(rho[k]) * tab$max_bias_base[k] * sqrt(cf_y[k])))^2
    expect_equal(tab$rva_d[k], if (gap_a == 0) 0 else Da / (1 + Da), tolerance = 1e-10)
    expect_equal(tab$max_bias[k],
                 tab$max_bias_base[k] * abs(rho[k]) * sqrt(cf_y[k] * cf_d[k] / (1 - cf_d[k])),
                 tolerance = 1e-12)
    expect_equal(tab$max_bias[k], median(st$max_bias_base) * sref_C(cf_y[k], cf_d[k], rho[k]),
                 tolerance = 1e-10)
  }
  invisible(tab)
}

test_that("rv and rva are the roots of the bounds; rv_d, rva_d and max_bias their closed forms", {
  case <- sens_plr_case(n = 400, seed = 51)
  fit <- fit_plr_case(case)
  tab <- check_robustness(fit, case, 0.03, 0.05, 1)
  expect_gt(tab$rva, 0)  # the plain CI excludes 0: a proper root
  check_robustness(fit, case, 0.1, 0.2, -0.6, level = 0.9, null = 0.3)
  # H0 above the estimate (upper bounds) and H0 inside the plain CI (rva = 0)
  tab <- check_robustness(fit, case, 0.1, 0.2, 0.7, null = 1.5)
  tab <- check_robustness(fit, case, 0.1, 0.2, 1, null = unname(coef(fit)) - 0.5 * fit$se)
  expect_equal(tab$rva, 0)
  expect_equal(tab$rva_d, 0)
  # three repetitions: medians of the per-repetition bounds
  case3 <- sens_irm_case(n = 500, S = 3, seed = 52)
  fit3 <- fit_irm_case(case3, estimand = "ATT")
  tab <- check_robustness(fit3, case3, 0.05, 0.05, 0.8)
  expect_gt(tab$rv, 0)
  check_robustness(fit3, case3, 0.05, 0.05, -1, level = 0.9, null = 2)
  casem <- sens_multi_case(n = 600, S = 3, seed = 53)
  fitm <- fit_multi_case(casem, estimand = "ATE")
  tab <- check_robustness(fitm, casem, c(0.03, 0.1), c(0.05, 0.2), c(1, 0.5))
  # one contrast above, one below H0 = 0 (lower and upper bounds)
  expect_true(all(sign(tab$estimate) == c(1, -1)))
  expect_true(all(tab$rva > 0 & tab$rva < tab$rv))
})

test_that("rv is 1 when rho = 0 and 0 at the null; max_bias is 0 at rho = 0", {
  case <- sens_plr_case(n = 400, seed = 54)
  fit <- fit_plr_case(case)
  tab <- sensitivity(fit, cf_y = 0.1, cf_d = 0.1, rho = 0)$table
  expect_equal(tab$rv, 1)
  expect_equal(tab$max_bias, 0)
  expect_equal(tab$theta_lower, unname(coef(fit)), tolerance = 1e-12)
  tab <- sensitivity(fit, cf_y = 0.1, cf_d = 0.1, null = unname(coef(fit)))$table
  expect_equal(tab$rv, 0)
  expect_equal(tab$rva, 0)
  expect_equal(tab$rv_d, 0)
  expect_equal(tab$rva_d, 0)
  # cf_y = cf_d = 0: bounds = estimate, CI = one-sided plain interval
  tab <- sensitivity(fit, cf_y = 0, cf_d = 0, level = 0.9)$table
  expect_equal(tab$theta_lower, unname(coef(fit)), tolerance = 1e-12)
  expect_equal(tab$ci_lower, unname(coef(fit)) - qnorm(0.9) * fit$se, tolerance = 1e-12)
  expect_equal(tab$ci_upper, unname(coef(fit)) + qnorm(0.9) * fit$se, tolerance = 1e-12)
})

test_that("signed variant (spec §5) matches the reference with one repetition", {
  check_signed <- function(fit, case, cf_y, cf_d, rho, level = 0.95) {
    el <- ref_of(fit, case)
    w <- sref_weights(if (!is.null(fit$spec$weights)) case$df$w, nrow(case$df))
    sens <- sensitivity(fit, cf_y = cf_y, cf_d = cf_d, rho = rho, level = level, signed = TRUE)
    tab <- as.data.frame(sens$table)
    z1 <- qnorm(level)
    for (k in seq_along(el$terms)) {
      mb <- sref_signed_max_bias(el$per[[k]][[1]], w, cf_y, cf_d, rho)
      expect_equal(tab$max_bias[k], mb, tolerance = 1e-10)
      expect_equal(tab$theta_lower[k], el$estimate[k] - mb, tolerance = 1e-10)
      expect_equal(tab$theta_upper[k], el$estimate[k] + mb, tolerance = 1e-10)
      expect_equal(tab$ci_lower[k], el$estimate[k] - mb - z1 * el$std.error[k], tolerance = 1e-10)
      expect_equal(tab$ci_upper[k], el$estimate[k] + mb + z1 * el$std.error[k], tolerance = 1e-10)
    }
    expect_true(all(is.na(tab$rv) & is.na(tab$rva) & is.na(tab$rv_d) & is.na(tab$rva_d)))
    expect_true(isTRUE(sens$scenario$signed))
  }
  case <- sens_irm_case(n = 500, seed = 55, weights = TRUE)
  for (estimand in c("ATE", "ATT")) {
    fit <- fit_irm_case(case, spec_args = list(weights = "w"), estimand = estimand)
    check_signed(fit, case, 0.05, 0.1, 1)
    check_signed(fit, case, 0.1, 0.05, -0.5, level = 0.9)
  }
  case <- sens_plr_case(n = 400, seed = 56)
  check_signed(fit_plr_case(case), case, 0.05, 0.1, 0.3)
  case <- sens_multi_case(n = 600, seed = 57)
  check_signed(fit_multi_case(case, estimand = "ATE"), case, 0.05, 0.1, -1)
})

# ---------------------------------------------------------------------------
# 3. Methods and bad input
# ---------------------------------------------------------------------------

test_that("tidy(), print() and summary() of a sensitivity analysis", {
  case <- sens_multi_case(n = 600, seed = 61)
  fit <- fit_multi_case(case, estimand = "ATE")
  sens <- sensitivity(fit, cf_y = 0.05, cf_d = 0.05, rho = 1)
  td <- as.data.frame(tidy(sens))
  expect_identical(names(td), c("term", "estimate", "theta_lower", "theta_upper", "ci_lower",
                                "ci_upper", "max_bias", "rv", "rva", "rv_d", "rva_d"))
  expect_identical(as.character(td$term), names(coef(fit)))
  tab <- as.data.frame(sens$table)
  for (col in names(td)[-1]) expect_equal(td[[col]], tab[[col]], tolerance = 1e-15)
  expect_equal(sens$n, nrow(case$df))
  expect_equal(sens$n_rep, 1L)
  expect_null(sens$benchmarks)
  expect_equal(sens$scenario$level, 0.95)
  expect_equal(sens$scenario$null, 0)
  expect_output(print(sens), "alpha vs ctl")
  expect_output(print(sens), "beta vs ctl")
  expect_output(print(sens), "[Bb]ias|[Ss]ensitiv")
  expect_output(print(summary(sens)), "alpha vs ctl")
  expect_output(print(summary(sens)), "rv|[Rr]obustness")
  fit <- fit_plr_case(sens_plr_case(n = 300, seed = 62))
  sens <- sensitivity(fit, cf_y = 0.03, cf_d = 0.03)
  expect_output(print(sens), "0\\.03")
  expect_identical(nrow(tidy(sens)), 1L)
})

test_that("bad input is rejected with a fastdml_error", {
  fit <- fit_plr_case(sens_plr_case(n = 300, seed = 63))
  fitm <- fit_multi_case(sens_multi_case(n = 600, seed = 64), estimand = "ATE")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 1), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 1.2), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = -0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = -0.1, cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = NA, cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = "a", cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 0.1, rho = 2), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 0.1, rho = -1.5), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 0.1, level = 1.5), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 0.1, level = 0), class = "fastdml_error")
  expect_error(sensitivity(fit, cf_y = 0.1, cf_d = 0.1, null = NA), class = "fastdml_error")
  # one value per term or a scalar
  expect_error(sensitivity(fit, cf_y = c(0.1, 0.2), cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fitm, cf_y = c(0.1, 0.2, 0.3), cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fitm, cf_y = 0.1, cf_d = c(0.1, 0.2, 0.3)), class = "fastdml_error")
  expect_error(sensitivity(fitm, cf_y = 0.1, cf_d = 0.1, rho = c(1, 1, 1)),
               class = "fastdml_error")
  expect_error(sensitivity(fitm, cf_y = 0.1, cf_d = 0.1, rho = c(1, 2)), class = "fastdml_error")
  expect_silent(sensitivity(fitm, cf_y = c(0.1, 0.2), cf_d = 0.1, rho = c(1, -1)))
  # r2_y and cf_y together; r2_y = 1
  expect_error(sensitivity(fit, cf_y = 0.1, r2_y = 0.1, cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, r2_y = 1, cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(fit, r2_y = -0.1, cf_d = 0.1), class = "fastdml_error")
  # not a fit
  expect_error(sensitivity(list(a = 1), cf_y = 0.1, cf_d = 0.1), class = "fastdml_error")
  expect_error(sensitivity(lm(dist ~ speed, cars), cf_y = 0.1, cf_d = 0.1),
               class = "fastdml_error")
  expect_error(sensitivity(fit$spec, cf_y = 0.1, cf_d = 0.1), class = "fastdml_error")
  # a fit from external nuisances is fine
  expect_s3_class(sensitivity(fit, cf_y = 0.1, cf_d = 0.1), "fastdml_sensitivity")
})


# ---------------------------------------------------------------------------
# 6. The O(1) contour grid
# ---------------------------------------------------------------------------

test_that("sensitivity_grid() equals sensitivity() point by point", {
  case <- sens_multi_case(n = 600, S = 3, seed = 71)
  fit <- fit_multi_case(case, estimand = "ATE")
  el <- ref_of(fit, case)
  grid_d <- c(0, 0.01, 0.05, 0.1, 0.3)
  grid_y <- c(0, 0.02, 0.1, 0.5)
  rho <- c(0.8, -0.6)
  for (sc in list(list(level = 0.95, null = 0), list(level = 0.9, null = 0.2))) {
    sens <- sensitivity(fit, cf_y = 0.05, cf_d = 0.05, rho = rho, level = sc$level,
                        null = sc$null)
    for (k in seq_along(el$terms)) {
      term <- el$terms[k]
      est <- el$estimate[k]
      st <- el$stats[el$stats$term == term, ]
      for (bound in c("theta", "ci")) {
        G <- fastdml:::sensitivity_grid(sens, cf_d = grid_d, cf_y = grid_y, term = term,
                                        bound = bound)
        expect_equal(dim(G), c(5L, 4L))
        side <- if (est > sc$null) "lower" else "upper"
        col <- paste0(if (bound == "theta") "theta_" else "ci_", side)
        want <- matrix(NA_real_, 5, 4)
        refm <- matrix(NA_real_, 5, 4)
        for (i in 1:5) {
          for (j in 1:4) {
            tab <- sensitivity(fit, cf_y = grid_y[j], cf_d = grid_d[i], rho = rho,
                               level = sc$level, null = sc$null)$table
            want[i, j] <- tab[[col]][k]
            refm[i, j] <- sref_bounds_at(st, sref_C(grid_y[j], grid_d[i], rho[k]),
                                         sc$level)[[col]]
          }
        }
        expect_equal(unname(G), want, tolerance = 1e-12)
        expect_equal(unname(G), refm, tolerance = 1e-10)
      }
    }
  }
  # a single-term fit needs no term
  fit1 <- fit_plr_case(sens_plr_case(n = 300, seed = 72))
  sens1 <- sensitivity(fit1, cf_y = 0.05, cf_d = 0.05)
  G1 <- fastdml:::sensitivity_grid(sens1, cf_d = grid_d, cf_y = grid_y, term = names(coef(fit1)),
                                   bound = "theta")
  expect_equal(G1[5, 4], sensitivity(fit1, cf_y = 0.5, cf_d = 0.3)$table$theta_lower,
               tolerance = 1e-12)
})

test_that("a non-positive Riesz moment nu2 stops with a named error", {
  df <- make_test_data(n = 500, seed = 12)
  spec <- test_spec(df)
  lin <- drop(spec$X %*% rep(1, ncol(spec$X))) / sqrt(ncol(spec$X))
  set.seed(3)
  m <- stats::plogis(3 * lin + stats::rnorm(spec$n, sd = 0.5))
  partial <- suppressWarnings(dml_irm(spec, estimand = "ATT", normalize = TRUE,
                                      nuisances = list(g0 = spec$y * 0.5, m = m)))
  expect_error(sensitivity(partial), "g1", class = "fastdml_error_nuisances")
  fit <- suppressWarnings(dml_irm(spec, estimand = "ATT", normalize = TRUE,
                                  nuisances = list(g0 = spec$y * 0.5, g1 = spec$y * 0.5, m = m)))
  nu2 <- sensitivity_stats(fit)$stats$nu2
  if (nu2 > 0) skip("this design gave a positive nu2")
  expect_error(sensitivity(fit), "nu2", class = "fastdml_error_sensitivity")
})

test_that("benchmarks must be a benchmark table", {
  df <- make_test_data(n = 300, seed = 4)
  fit <- suppressWarnings(dml_irm(test_spec(df), learner_outcome = lrn_linear(),
                                  learner_treatment = lrn_logistic(), seed = 1))
  expect_error(sensitivity(fit, benchmarks = list(a = 1)), "benchmarks", class = "fastdml_error_argument")
  expect_error(sensitivity(fit, benchmarks = data.frame(term = "d")), "cf_y", class = "fastdml_error_argument")
  tab <- data.frame(term = names(coef(fit)), drop = "x1", cf_y = 0.01, cf_d = 0.02)
  expect_identical(sensitivity(fit, benchmarks = tab)$benchmarks, tab)
})
