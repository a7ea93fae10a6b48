#' Budget curve: the value of treating the top share by predicted effect
#'
#' For each budget (share of rows that may be treated), treats the rows with the largest
#' predicted effects and reports the doubly robust gain against treating no one: `value` (mean
#' of pi (Gamma(k) - Gamma(0)), the gross gain) and `net value` (after the cost of each treated
#' row), with influence-function standard errors and Gaussian multiplier-bootstrap percentile
#' intervals (the same multipliers for every share, see [policy_value()]). With `support`, only
#' rows whose cross-fitted propensity (the pair score m_k / (m_k + m_0) for a multi-arm
#' contrast) lies inside the interval may be treated: where one arm is almost never seen the
#' predicted effects are extrapolations.
#'
#' @inheritParams calibration
#' @param shares Budgets as shares of all rows, in (0, 1].
#' @param support Propensity interval of the rows that may be treated, or `NULL` for all.
#' @param cost Cost of treating one row, in outcome units.
#' @param n_boot Multiplier-bootstrap draws (default 300; 0: analytic intervals only).
#' @return A `fastdml_budget_curve` object: `$table` (share, n_treated, term, estimate,
#'   std.error, conf.low, conf.high, boot.low, boot.high); `print`, `tidy`, `autoplot`.
#' @family policy
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' dr <- cate_dr(fit, learner = lrn_linear())
#' budget_curve(dr, fit, cost = 0.1, n_boot = 100, seed = 1)
#' @export
budget_curve <- function(cate, fit, shares = seq(0.1, 0.5, by = 0.1), support = c(0.1, 0.9),
                         cost = 0, n_boot = 300L, contrast = NULL, level = 0.95, seed = NULL) {
  inputs <- evaluation_inputs(cate, fit, contrast, "budget_curve")
  if (!is.numeric(shares) || !length(shares) || anyNA(shares) || any(shares <= 0 | shares > 1)) {
    fd_abort("argument", c("{.arg shares} must be shares in (0, 1].",
                           i = "For example {.code seq(0.1, 0.5, by = 0.1)}."))
  }
  if (!is.null(support) && (!is.numeric(support) || length(support) != 2L || anyNA(support) ||
                            support[1L] < 0 || support[2L] > 1 || support[1L] >= support[2L])) {
    fd_abort("argument", c("{.arg support} must be an interval c(lower, upper) inside [0, 1], or NULL.",
                           i = "The default c(0.1, 0.9) treats only rows whose propensity lies in it."))
  }
  check_number(cost, "cost")
  check_count(n_boot, "n_boot", 0L)
  check_level(level)
  arm <- fit_contrasts(fit, inputs$contrast, single = TRUE, caller = "budget_curve")[[1L]]$arm
  n <- fit$n
  eligible <- rep(TRUE, n)
  if (!is.null(support)) {
    score <- pair_propensity(fit, arm)
    eligible <- score >= support[1L] & score <= support[2L]
  }
  ranked <- which(eligible)[order(-inputs$S[eligible])]
  treated <- lapply(shares, function(share) ranked[seq_len(min(round(share * n), length(ranked)))])
  values <- do.call(cbind, lapply(treated, function(rows) {
    pi <- replace(numeric(n), rows, 1)
    cbind(pi * inputs$gamma, pi * (inputs$gamma - cost))
  }))
  table <- data.frame(share = rep(shares, each = 2L), n_treated = rep(lengths(treated), each = 2L),
                      term = rep(c("value", "net value"), length(shares)))
  table <- cbind(table, mean_inference(values, fit$spec, level, n_boot, seed))
  structure(list(table = table, contrast = inputs$contrast, method = inputs$method,
                 eligible_share = mean(eligible), support = support, cost = cost, level = level,
                 n_boot = n_boot, n = n),
            class = "fastdml_budget_curve")
}

# Raw cross-fitted propensity of arm k within the pair (arm k, control), averaged over
# repetitions (for a binary fit: m).
pair_propensity <- function(fit, arm) {
  total <- 0
  for (rep in seq_len(fit$n_rep)) {
    E <- arm_propensities(fit, rep, trimmed = FALSE)
    total <- total + E[, arm + 1L] / (E[, arm + 1L] + E[, 1L])
  }
  total / fit$n_rep
}

#' @export
print.fastdml_budget_curve <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_budget_curve} of {x$method}: contrast {.val {x$contrast}}, cost {x$cost}, {x$n} rows"), "\n", sep = "")
  if (!is.null(x$support)) {
    cat(sprintf("Eligible: %.1f%% of rows with propensity in [%g, %g]\n", 100 * x$eligible_share,
                x$support[1L], x$support[2L]))
  }
  print(format_coefficient_table(x$table), row.names = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_budget_curve <- function(x, ...) x$table
