#' Sensitivity to unobserved confounding
#'
#' How strong would a hidden confounder have to be to change the conclusion? The
#' omitted-variable-bias bounds of Chernozhukov, Cinelli, Newey, Sharma and Syrgkanis (2022,
#' "Long Story Short"; DESIGN.md §4) for every DML fit, computed from its cross-fitted
#' nuisances without refitting. A confounder that explains a share `cf_y` of the outcome's
#' residual variation and a share `cf_d` of the Riesz representer's variation (for a binary
#' treatment, roughly of the variation in the treatment left after the covariates) moves the
#' estimate by at most `max_bias = |rho| sqrt(cf_y cf_d / (1 - cf_d)) S`, where
#' `S = sqrt(sigma2 nu2)` (`max_bias_base`) with sigma2 the mean squared outcome residual and
#' nu2 the second moment of the Riesz representer (PLR: the inverse residual variance of the
#' treatment; IRM and each multi-arm contrast: inverse propensity weights; ATT versions).
#'
#' Returned per term: the bounds `theta_lower`, `theta_upper` (estimate -/+ max_bias), the
#' bias-aware confidence interval `ci_lower`, `ci_upper` (the bounds -/+ a one-sided normal
#' quantile at `level` times the standard error of each bound, from its influence function
#' IF -/+ `|rho| sqrt(cf_y cf_d / (1 - cf_d))` psi_S), and robustness values: `rv`, the common
#' strength cf_y = cf_d at which the bound reaches `null` (Chernozhukov et al.), `rva` the same
#' for the bias-aware CI (0 when the plain CI already contains `null`); `rv_d`, `rva_d`, the
#' CX case study's variant: the cf_d that reaches `null` at the scenario's cf_y (spec §5).
#' With repeated cross-fitting every quantity is computed per repetition and the median is
#' reported, as for the estimate. Observation weights and clusters are respected (cluster sums
#' of the influence functions).
#'
#' `signed = TRUE` gives the CX reference's signed variant (spec §5): nu2 is replaced by
#' `mean(max(0, 2 m_alpha cf_y + alpha^2 cf_d' + 2 rho sqrt(cf_y cf_d') sqrt(2 m_alpha) alpha))`
#' with `cf_d' = cf_d / (1 - cf_d)`, the bound is `sqrt(sigma2 nu2)`, the CI widens it by the
#' estimate's sampling error, and no robustness values are defined.
#'
#' @param fit A fit from [dml_plr()], [dml_irm()] or [dml_multi_irm()].
#' @param cf_y Strength of the confounder on the outcome (share of the residual outcome
#'   variation it explains), >= 0; one value or one per term.
#' @param cf_d Strength on the treatment (share of the Riesz representer's variation), in
#'   \[0, 1); one value or one per term. (The CX case study calls it `r2_d`.)
#' @param rho Correlation of the confounder's two effects, in \[-1, 1\]; 1 is the worst case.
#' @param level Confidence level of the bias-aware interval.
#' @param null The value H0 the robustness values refer to.
#' @param r2_y Alternative to `cf_y`: the partial R2 of the confounder with the outcome
#'   (`cf_y = r2_y / (1 - r2_y)`).
#' @param r2_d Another name of `cf_d`.
#' @param signed Use the signed variant (see Details).
#' @param benchmarks Optional table of [sensitivity_benchmark()] to mark on the contour plot.
#' @return An object of class `fastdml_sensitivity`: `table` (one row per term: `term`,
#'   `estimate`, `std.error`, `cf_y`, `cf_d`, `rho`, `theta_lower`, `theta_upper`, `ci_lower`,
#'   `ci_upper`, `max_bias`, `max_bias_base`, `sigma2`, `nu2`, `rv`, `rva`, `rv_d`, `rva_d`),
#'   `stats` (per term and repetition the sufficient statistics `theta`, `se`, `sigma2`, `nu2`,
#'   `max_bias_base`, `v_if`, `c_if_s`, `v_s` from which any scenario is O(1)), `scenario`,
#'   `benchmarks`; with `print`, `summary`, `tidy` and `autoplot` methods.
#' @references Chernozhukov, V., Cinelli, C., Newey, W., Sharma, A. and Syrgkanis, V. (2022).
#'   Long story short: omitted variable bias in causal machine learning. NBER w30302.
#' @family sensitivity
#' @examples
#' spec <- causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                     c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
#'                seed = 1)
#' sens <- sensitivity(fit, cf_y = 0.03, cf_d = 0.03)
#' sens
#' tidy(sens)
#' @export
sensitivity <- function(fit, cf_y = 0.03, cf_d = 0.03, rho = 1, level = 0.95, null = 0,
                        r2_y = NULL, r2_d = NULL, signed = FALSE, benchmarks = NULL) {
  check_sensitivity_fit(fit)
  terms <- names(fit$coefficients)
  if (!is.null(r2_y)) {
    if (!missing(cf_y)) fd_abort("argument", "Give {.arg cf_y} or {.arg r2_y}, not both.")
    check_scenario_values(r2_y, "r2_y", terms, 0, 1, upper_open = TRUE)
    cf_y <- r2_y / (1 - r2_y)
  }
  if (!is.null(r2_d)) {
    if (!missing(cf_d)) fd_abort("argument", "Give {.arg cf_d} or {.arg r2_d}, not both.")
    cf_d <- r2_d
  }
  cf_y <- check_scenario_values(cf_y, "cf_y", terms, 0, Inf)
  cf_d <- check_scenario_values(cf_d, "cf_d", terms, 0, 1, upper_open = TRUE)
  rho <- check_scenario_values(rho, "rho", terms, -1, 1)
  check_level(level)
  check_number(null, "null")
  check_flag(signed, "signed")
  if (!is.null(benchmarks) && (!is.data.frame(benchmarks) ||
                               !all(c("term", "cf_y", "cf_d") %in% names(benchmarks)))) {
    fd_abort("argument", c("{.arg benchmarks} must be a table from {.fn sensitivity_benchmark}.",
                           i = "It needs the columns {.field term}, {.field cf_y} and {.field cf_d}."))
  }
  stats <- sensitivity_stats(fit, rows = signed)
  check_riesz_moment(stats$stats)
  table <- sensitivity_table(stats$stats, terms, fit$se, cf_y, cf_d, rho, level, null)
  if (signed) table <- signed_bounds(table, stats, fit, cf_y, cf_d, rho, level)
  table <- cbind(data.frame(term = terms, estimate = unname(fit$coefficients), std.error = fit$se,
                            stringsAsFactors = FALSE), table)
  structure(list(table = table, stats = stats$stats,
                 scenario = list(cf_y = cf_y, cf_d = cf_d, rho = rho, level = level, null = null,
                                 signed = signed),
                 benchmarks = benchmarks, model = fit$model, estimand = fit$estimand,
                 outcome = fit$spec$outcome, n = fit$n, n_rep = fit$n_rep),
            class = "fastdml_sensitivity")
}

check_sensitivity_fit <- function(fit) {
  if (!inherits(fit, c("dml_plr", "dml_irm", "dml_multi_irm"))) {
    fd_abort("argument", c("{.fn sensitivity} needs a fit from {.fn dml_plr}, {.fn dml_irm} or {.fn dml_multi_irm}.",
                           x = "It got a {.cls {class(fit)}}."))
  }
}

# nu2 estimates E[alpha^2] > 0; a value <= 0 (extreme or badly calibrated propensities, e.g.
# with Hajek normalisation of the ATT) leaves no meaningful bound (DoubleML stops too).
check_riesz_moment <- function(stats) {
  bad <- stats[!(stats$nu2 > 0), ]
  if (nrow(bad)) {
    fd_abort("sensitivity", c("The Riesz representer's second moment nu2 is not positive for {.val {unique(bad$term)}} (repetition{?s} {bad$rep}: {format(bad$nu2, digits = 3)}), so the bias bound is undefined.",
                              i = "The propensities are too extreme or miscalibrated: use a larger {.arg trim}, {.code normalize = FALSE}, or a better propensity learner."))
  }
}

# A scenario parameter: one value, or one per term, within [lower, upper] (upper excluded when
# upper_open); returned with one value per term.
check_scenario_values <- function(x, arg, terms, lower, upper, upper_open = FALSE) {
  ok <- is.numeric(x) && length(x) %in% c(1L, length(terms)) && !anyNA(x) &&
    all(x >= lower) && all(if (upper_open) x < upper else x <= upper)
  if (!ok) {
    range <- sprintf("[%s, %s%s", format(lower), format(upper), if (upper_open) ")" else "]")
    fd_abort("argument", c("{.arg {arg}} must be one number in {range} or one per term ({length(terms)}), not {.val {format_value(x)}}.",
                           i = "The terms are {.val {terms}}."))
  }
  rep_len(as.double(x), length(terms))
}

# Sufficient statistics of every (term, repetition) from the C++ core; with rows = TRUE also the
# per-row alpha, m_alpha (n x (S T), term-major) and g_hat (n x S).
sensitivity_stats <- function(fit, rows = FALSE) {
  spec <- fit$spec
  terms <- names(fit$coefficients)
  n_rep <- fit$n_rep
  nu <- fit$nuisances
  theta <- matrix(fit$theta_rep, nrow = n_rep)
  if (inherits(fit, "dml_plr")) {
    model <- "plr"
    nuisances <- list(l = nu$l, m = nu$m, g = nu$g)
    options <- list(score = fit$score)
  } else {
    model <- "arms"
    arms <- spec$treatment_levels
    nuisances <- if (inherits(fit, "dml_multi_irm")) {
      list(g = unname(nu[paste0("g_", arms)]), m = unname(nu[paste0("m_", arms)]))
    } else {
      list(g = list(nu$g0, nu$g1), m = list(1 - nu$m, nu$m))
    }
    options <- list(estimand = fit$estimand, trim = fit$trim, normalize = fit$normalize)
    if (any(vapply(nuisances$g, is.null, logical(1)))) {
      fd_abort("nuisances", c("The sensitivity analysis needs the outcome regression of every arm (sigma2 is the residual variance at the observed arm); this ATT fit's external nuisances lack {if (inherits(fit, 'dml_multi_irm')) 'some g_<arm>' else 'g1'}.",
                              i = "Fit again with the outcome regressions of all arms in {.arg nuisances}."))
    }
  }
  cluster <- if (is.null(spec$cluster)) NULL else spec$cluster - 1L
  out <- core_call(.fastdml_sensitivity_stats(
    model, spec$y, spec$d, spec$weights, cluster,
    if (is.null(cluster)) 0L else max(spec$cluster), isTRUE(fit$cluster_correction),
    nuisances, matrix(fit$psi_a, nrow = fit$n), matrix(fit$psi_b, nrow = fit$n), theta,
    options, rows, resolve_num_threads(getOption("fastdml.num.threads", 2L))))
  se <- matrix(fit$se_rep, nrow = n_rep)
  out$stats <- data.frame(term = rep(terms, each = n_rep), rep = rep(seq_len(n_rep), length(terms)),
                          theta = as.vector(theta), se = as.vector(se), out$stats,
                          stringsAsFactors = FALSE)
  out
}

# Bounds of every term at the scenario (vectors of one value per term), aggregated over
# repetitions by the median, with the robustness values; `se` the terms' standard errors.
sensitivity_table <- function(stats, terms, se, cf_y, cf_d, rho, level, null) {
  z2 <- stats::qnorm(1 - (1 - level) / 2)
  rows <- lapply(seq_along(terms), function(k) {
    st <- stats[stats$term == terms[k], ]
    theta <- stats::median(st$theta)
    S <- stats::median(st$max_bias_base)
    data.frame(cf_y = cf_y[k], cf_d = cf_d[k], rho = rho[k],
               scenario_bounds(st, strength(cf_y[k], cf_d[k], rho[k]), level),
               max_bias_base = S, sigma2 = stats::median(st$sigma2), nu2 = stats::median(st$nu2),
               rv = robustness_value(st, rho[k], level, null, "theta"),
               rva = robustness_value(st, rho[k], level, null, "ci"),
               rv_d = rv_d(abs(theta - null), S, cf_y[k], rho[k]),
               rva_d = rv_d(max(abs(theta - null) - z2 * se[k], 0), S, cf_y[k], rho[k]))
  })
  do.call(rbind, rows)
}

# |rho| sqrt(cf_y cf_d / (1 - cf_d)): the bias per unit of max_bias_base (vectorised).
strength <- function(cf_y, cf_d, rho) abs(rho) * sqrt(cf_y * cf_d / (1 - cf_d))

# Bounds at strength C (one value) from a term's per-repetition statistics, aggregated by the
# median: O(1) per repetition (the bound's influence function IF -/+ C psi_S has variance
# v_if -/+ 2 C c_if_s + C^2 v_s).
scenario_bounds <- function(st, C, level) {
  z1 <- stats::qnorm(level)
  bias <- C * st$max_bias_base
  se_lower <- sqrt(pmax(st$v_if - 2 * C * st$c_if_s + C^2 * st$v_s, 0))
  se_upper <- sqrt(pmax(st$v_if + 2 * C * st$c_if_s + C^2 * st$v_s, 0))
  data.frame(theta_lower = stats::median(st$theta - bias),
             theta_upper = stats::median(st$theta + bias),
             ci_lower = stats::median(st$theta - bias - z1 * se_lower),
             ci_upper = stats::median(st$theta + bias + z1 * se_upper),
             max_bias = stats::median(bias))
}

# Robustness value: the common strength r = cf_y = cf_d at which the bound nearest null reaches
# it (closed form for the point bound of one repetition, root-finding otherwise); 0 when it is
# already reached at r = 0, 1 when it never is (rho = 0).
robustness_value <- function(st, rho, level, null, bound) {
  theta <- stats::median(st$theta)
  gap <- function(r) {
    value <- grid_bounds(st, strength(r, r, rho), level, null, bound)
    if (theta > null) value - null else null - value
  }
  if (gap(0) <= 0) return(0)
  if (rho == 0) return(1)
  if (bound == "theta" && nrow(st) == 1L) {
    a <- abs(theta - null) / (abs(rho) * st$max_bias_base)
    return((-a^2 + sqrt(a^4 + 4 * a^2)) / 2)
  }
  upper <- 1 - 1e-12
  if (gap(upper) > 0) return(1)
  stats::uniroot(gap, c(0, upper), tol = 1e-12)$root
}

# The CX reference's robustness value at the scenario's cf_y: D / (1 + D) with
# D = (distance / (|rho| S sqrt(cf_y)))^2; 0 for a zero distance.
rv_d <- function(distance, S, cf_y, rho) {
  if (distance <= 0) return(0)
  if (rho == 0 || cf_y == 0 || S == 0) return(1)
  D <- (distance / (abs(rho) * S * sqrt(cf_y)))^2
  D / (1 + D)
}

# The signed variant (specs/cx-multitreatment.md §5): per row the signed Riesz term, then the
# bound sqrt(sigma2 nu2_signed) per repetition (median over repetitions), the CI widened by the
# one-sided quantile times the estimate's standard error; no robustness values.
signed_bounds <- function(table, stats, fit, cf_y, cf_d, rho, level) {
  n <- fit$n
  n_rep <- fit$n_rep
  w <- if (is.null(fit$spec$weights)) rep(1, n) else fit$spec$weights / mean(fit$spec$weights)
  z1 <- stats::qnorm(level)
  for (k in seq_len(nrow(table))) {
    cf <- cf_d[k] / (1 - cf_d[k])
    bias <- vapply(seq_len(n_rep), function(s) {
      column <- (k - 1L) * n_rep + s
      alpha <- stats$alpha[, column]
      m_alpha <- stats$m_alpha[, column]
      riesz <- 2 * m_alpha * cf_y[k] + alpha^2 * cf + 2 * rho[k] * sqrt(cf_y[k] * cf) *
        sqrt(pmax(2 * m_alpha, 0)) * alpha
      sigma2 <- stats$stats$sigma2[stats$stats$rep == s][k]
      sqrt(sigma2 * mean(w * pmax(riesz, 0)))
    }, numeric(1))
    theta <- stats::median(matrix(fit$theta_rep, nrow = n_rep)[, k])
    max_bias <- stats::median(bias)
    table$max_bias[k] <- max_bias
    table$theta_lower[k] <- theta - max_bias
    table$theta_upper[k] <- theta + max_bias
    table$ci_lower[k] <- theta - max_bias - z1 * fit$se[k]
    table$ci_upper[k] <- theta + max_bias + z1 * fit$se[k]
  }
  table[c("rv", "rva", "rv_d", "rva_d")] <- NA_real_
  table
}

# The bound nearest null of one term at every (cf_d, cf_y) pair of a grid (outer product),
# O(1) per point from the stored statistics: a length(cf_d) x length(cf_y) matrix.
sensitivity_grid <- function(sens, cf_d, cf_y, term = 1L, bound = c("theta", "ci")) {
  bound <- arg_match(bound, c("theta", "ci"), "bound")
  terms <- sens$table$term
  k <- if (is.character(term)) match(term, terms) else as.integer(term)
  if (length(k) != 1L || is.na(k) || k < 1L || k > length(terms)) {
    fd_abort("argument", c("{.arg term} must name one of the terms {.val {terms}} (or be its index).",
                           x = "It is {.val {format_value(term)}}."))
  }
  if (any(cf_d < 0 | cf_d >= 1) || any(cf_y < 0)) {
    fd_abort("argument", "The grid needs {.arg cf_d} in [0, 1) and {.arg cf_y} >= 0.")
  }
  st <- sens$stats[sens$stats$term == terms[k], ]
  level <- sens$scenario$level
  null <- sens$scenario$null
  rho <- sens$scenario$rho[k]
  C <- outer(cf_d, cf_y, function(d, y) strength(y, d, rho))
  matrix(grid_bounds(st, as.vector(C), level, null, bound), nrow = length(cf_d))
}

# The bound nearest null at each strength of C (a vector), vectorised over strengths and
# repetitions (a points x repetitions matrix, then the median of each row): theta_lower (bound
# "theta") or ci_lower (bound "ci") when the estimate is above null, else the upper ones, as
# scenario_bounds() gives them.
grid_bounds <- function(st, C, level, null, bound) {
  sign <- if (stats::median(st$theta) > null) -1 else 1
  value <- sign * outer(C, st$max_bias_base) + rep(st$theta, each = length(C))
  if (bound == "ci") {
    variance <- rep(st$v_if, each = length(C)) + sign * 2 * outer(C, st$c_if_s) + outer(C^2, st$v_s)
    value <- value + sign * stats::qnorm(level) * sqrt(pmax(variance, 0))
  }
  row_medians(value)
}

# Medians of the rows of a matrix, all rows at once (one sort of the values by row).
row_medians <- function(x) {
  k <- ncol(x)
  if (k == 1L) return(x[, 1L])
  sorted <- matrix(x[order(row(x), x)], ncol = k, byrow = TRUE)
  (sorted[, (k + 1L) %/% 2L] + sorted[, k %/% 2L + 1L]) / 2
}

#' @export
print.fastdml_sensitivity <- function(x, digits = 4, ...) {
  check_digits(digits)
  sc <- x$scenario
  what <- if (identical(x$model, x$estimand)) x$model else paste(x$model, x$estimand)
  cat(sprintf("<fastdml sensitivity> %s on %s; n = %d%s\n", what, x$outcome, x$n,
              if (x$n_rep > 1) sprintf(", median over %d repetitions", x$n_rep) else ""))
  cat(sprintf("Scenario: %s; %s bias-aware CI; H0 = %g%s\n",
              scenario_text(sc), paste0(format(100 * sc$level), "%"), sc$null,
              if (sc$signed) "; signed variant" else ""))
  tab <- x$table[, c("estimate", "std.error", "max_bias", "theta_lower", "theta_upper",
                     "ci_lower", "ci_upper", "rv", "rva", "rv_d", "rva_d")]
  rownames(tab) <- x$table$term
  print(format(tab, digits = digits), quote = FALSE)
  cat(sprintf("max_bias = |rho| sqrt(cf_y cf_d / (1 - cf_d)) x max_bias_base (%s)\n",
              paste(format(x$table$max_bias_base, digits = digits), collapse = ", ")))
  invisible(x)
}

scenario_text <- function(sc) {
  show <- function(v) if (length(unique(v)) == 1L) format(v[1]) else paste(format(v), collapse = "/")
  sprintf("cf_y = %s, cf_d = %s, rho = %s", show(sc$cf_y), show(sc$cf_d), show(sc$rho))
}

#' @export
summary.fastdml_sensitivity <- function(object, ...) {
  structure(list(sensitivity = object,
                 elements = object$table[, c("term", "sigma2", "nu2", "max_bias_base")],
                 per_rep = object$stats), class = "summary.fastdml_sensitivity")
}

#' @export
print.summary.fastdml_sensitivity <- function(x, digits = 4, ...) {
  print(x$sensitivity, digits = digits)
  cat("\nSensitivity elements (median over repetitions):\n")
  print(format(x$elements, digits = digits), row.names = FALSE)
  cat("\nRobustness values: rv, rva = common strength cf_y = cf_d that moves the bound, or the\n",
      "bias-aware CI, to H0; rv_d, rva_d = the cf_d that does it at the scenario's cf_y.\n", sep = "")
  invisible(x)
}

#' @rdname sensitivity
#' @param x A `fastdml_sensitivity` object.
#' @param ... Unused.
#' @export
tidy.fastdml_sensitivity <- function(x, ...) {
  x$table[, c("term", "estimate", "theta_lower", "theta_upper", "ci_lower", "ci_upper",
              "max_bias", "rv", "rva", "rv_d", "rva_d")]
}
