# Covariate balance after inverse propensity weighting, specs/cx-multitreatment.md §4.

#' Covariate balance diagnostics of an IRM fit
#'
#' For each contrast "arm k vs control" of a binary ([dml_irm()]) or multi-arm
#' ([dml_multi_irm()]) fit, compares the covariate means of arm k and of the controls after
#' weighting each unit by the inverse of its trimmed propensity (repetition `rep`, as used in
#' the scores): ATE weights w_0 = 1/m_0 on the controls and w_k = 1/m_k on arm k (an ATT fit
#' uses its own weights: w_k = 1 on arm k, w_0 = m_k/m_0 on the controls). Observation weights
#' of the data ([causal_data()]) multiply both. Per covariate, with the weighted means
#' mu = sum(w x)/sum(w) and variances v = sum(w (x - mu)^2)/sum(w) in each arm,
#'
#' SMD = |mu_k - mu_0| / sqrt((v_k + v_0) / 2);
#'
#' when both standard deviations are below 1e-8 max(1, |mu_k|, |mu_0|) the SMD is 0 if the
#' means agree to that tolerance and `Inf` otherwise. The unweighted SMD (`smd_raw`, the same
#' formula with only the observation weights) shows the imbalance before weighting.
#'
#' Per contrast: `max_smd` (largest weighted SMD; GREEN below `threshold`, YELLOW below
#' 2 `threshold`, RED otherwise), `frac_violations` (share of covariates with weighted
#' SMD >= `threshold`; GREEN below 0.10, YELLOW below 0.25, RED otherwise); `overall_flag` is
#' the worst of the two and the contrast passes when every SMD is below `threshold` and
#' `frac_violations` < 0.10 (that is, when both flags are GREEN). The row `"overall"` pools
#' all covariate x contrast cells. Covariates with an undefined SMD (NaN) are left out of
#' these summaries; an infinite SMD counts as a violation.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param threshold Largest acceptable standardised mean difference, a positive number
#'   (default 0.10).
#' @param rep Repetition of the cross-fitting whose propensities are used (default 1).
#' @return An object of class `fastdml_balance`, a list with
#'   * `table`: a data.table with one row per contrast and covariate: `comparison` (arm
#'     label), `covariate`, `mean_control`, `mean_arm` (unweighted means), `smd_raw`,
#'     `mean_control_weighted`, `mean_arm_weighted`, `smd_weighted` and `flag` (the weighted
#'     SMD graded against `threshold` and 2 `threshold`);
#'   * `summary`: a data.table with one row per contrast and a last row `"overall"`:
#'     `comparison`, `n_covariates`, `max_smd_raw`, `max_smd`, `frac_violations`,
#'     `flag_max_smd`, `flag_violations`, `overall_flag`, `pass`;
#'   * `smd`, `smd_raw`: covariates x contrasts matrices of the weighted and unweighted SMDs;
#'   * `top`: a data.table of the (at most) 10 covariates with the largest weighted SMD over
#'     the contrasts: `covariate`, `comparison` (where it is largest), `smd_weighted`,
#'     `smd_raw`;
#'   * `overall_flag`, `pass` (of the `"overall"` row), `threshold`, `estimand`, `rep`,
#'     `arms`.
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' bal <- diagnose_balance(fit, threshold = 0.10)
#' bal
#' bal$table
#' ggplot2::autoplot(bal)
#' @export
diagnose_balance <- function(fit, threshold = 0.10, rep = 1L) {
  check_irm_fit(fit, "diagnose_balance")
  check_threshold(threshold)
  rep <- check_rep(rep, fit)
  out <- balance_metrics(fit_arm_index(fit), arm_propensities(fit, rep, trimmed = TRUE),
                         fit$spec$X, threshold, fit_arms(fit), fit$spec$weights,
                         fit_estimand(fit))
  out$rep <- rep
  out
}

# The balance diagnostic from the arm index d (0..K-1), the trimmed n x K propensities
# (control first), the covariate matrix, the SMD threshold, the arm labels, optional
# observation weights and the estimand ("ATE" or "ATT").
balance_metrics <- function(d, M_trim, X, threshold, arms, weights = NULL, estimand = "ATE") {
  K <- length(arms)
  covariates <- colnames(X)
  if (is.null(covariates)) covariates <- paste0("x", seq_len(ncol(X)))
  w_obs <- if (is.null(weights)) rep(1, length(d)) else as.numeric(weights)
  rows0 <- which(d == 0)
  X0 <- X[rows0, , drop = FALSE]
  raw0 <- weighted_moments(X0, w_obs[rows0])
  ate0 <- if (estimand == "ATE") weighted_moments(X0, w_obs[rows0] / M_trim[rows0, 1L])
  table <- data.table::rbindlist(lapply(seq_len(K - 1L), function(k) {
    rowsk <- which(d == k)
    Xk <- X[rowsk, , drop = FALSE]
    rawk <- weighted_moments(Xk, w_obs[rowsk])
    if (estimand == "ATE") {
      wt0 <- ate0
      wtk <- weighted_moments(Xk, w_obs[rowsk] / M_trim[rowsk, k + 1L])
    } else {
      wt0 <- weighted_moments(X0, w_obs[rows0] * M_trim[rows0, k + 1L] / M_trim[rows0, 1L])
      wtk <- rawk
    }
    data.table::data.table(
      comparison = arms[k + 1L], covariate = covariates,
      mean_control = raw0$mean, mean_arm = rawk$mean, smd_raw = abs(smd_of(rawk, raw0)),
      mean_control_weighted = wt0$mean, mean_arm_weighted = wtk$mean,
      smd_weighted = abs(smd_of(wtk, wt0)))
  }))
  table$flag <- grade_below(table$smd_weighted, threshold, 2 * threshold)
  comparisons <- arms[-1L]
  summary <- data.table::rbindlist(c(
    lapply(comparisons, function(cmp) {
      rows <- table$comparison == cmp
      balance_summary_row(cmp, table$smd_weighted[rows], table$smd_raw[rows], threshold)
    }),
    list(balance_summary_row("overall", table$smd_weighted, table$smd_raw, threshold))))
  as_matrix <- function(v) {
    matrix(v, nrow = length(covariates), dimnames = list(covariates, comparisons))
  }
  smd <- as_matrix(table$smd_weighted)
  worst <- apply(smd, 1L, function(v) if (all(is.na(v))) NA_integer_ else which.max(replace(v, is.na(v), -Inf)))
  worst_value <- smd[cbind(seq_along(covariates), worst)]
  ord <- utils::head(order(worst_value, decreasing = TRUE, na.last = NA), 10L)
  top <- data.table::data.table(covariate = covariates[ord], comparison = comparisons[worst[ord]],
                                smd_weighted = worst_value[ord],
                                smd_raw = as_matrix(table$smd_raw)[cbind(ord, worst[ord])])
  overall <- summary[summary$comparison == "overall"]
  structure(list(table = table, summary = summary, smd = smd, smd_raw = as_matrix(table$smd_raw),
                 top = top, overall_flag = overall$overall_flag, pass = overall$pass,
                 threshold = threshold, estimand = estimand, arms = arms),
            class = "fastdml_balance")
}

# Weighted means and variances (divided by the sum of the weights) of the columns of Xa.
weighted_moments <- function(Xa, w) {
  sw <- sum(w)
  if (!(sw > 0)) {
    fd_abort("weights", c("An arm has no positive weight, so its covariate means are undefined.",
                          i = "Check the observation weights of that arm."))
  }
  mu <- drop(crossprod(Xa, w)) / sw
  Xc <- Xa - rep(mu, each = nrow(Xa))
  list(mean = mu, var = pmax(drop(crossprod(Xc * Xc, w)) / sw, 0), n = nrow(Xa))
}

# Signed standardised mean difference (a - b) / sqrt((v_a + v_b) / 2) of two sets of
# moments; both standard deviations below 1e-8 max(1, |means|): 0 if the means agree to that
# tolerance, +-Inf otherwise.
smd_of <- function(a, b) {
  diff <- a$mean - b$mean
  tol <- 1e-8 * pmax(1, abs(a$mean), abs(b$mean))
  out <- diff / sqrt((a$var + b$var) / 2)
  zero <- sqrt(a$var) <= tol & sqrt(b$var) <= tol
  out[zero] <- ifelse(abs(diff[zero]) <= tol[zero], 0, sign(diff[zero]) * Inf)
  out
}

balance_thresholds <- list(frac = c(warn = 0.10, strong = 0.25))

balance_summary_row <- function(label, smd_weighted, smd_raw, threshold) {
  v <- smd_weighted[!is.na(smd_weighted)]
  max_smd <- if (length(v)) max(v) else NA_real_
  frac <- if (length(v)) mean(v >= threshold) else NA_real_
  flag_max <- grade_below(max_smd, threshold, 2 * threshold)
  flag_frac <- grade_below(frac, balance_thresholds$frac[1], balance_thresholds$frac[2])
  overall <- worst_flag(flag_max, flag_frac)
  data.table::data.table(
    comparison = label, n_covariates = length(smd_weighted),
    max_smd_raw = if (all(is.na(smd_raw))) NA_real_ else max(smd_raw, na.rm = TRUE),
    max_smd = max_smd, frac_violations = frac, flag_max_smd = flag_max,
    flag_violations = flag_frac, overall_flag = overall,
    pass = length(v) > 0L && all(v < threshold) && frac < balance_thresholds$frac[[1]])
}

# The per-comparison flags in long form (comparison, metric, value, flag), for diagnose().
balance_flags_long <- function(summary) {
  data.table::rbindlist(lapply(seq_len(nrow(summary)), function(i) {
    data.table::data.table(comparison = summary$comparison[i],
                           metric = c("max_smd", "frac_violations"),
                           value = c(summary$max_smd[i], summary$frac_violations[i]),
                           flag = c(summary$flag_max_smd[i], summary$flag_violations[i]))
  }))
}

#' @export
print.fastdml_balance <- function(x, digits = 3, ...) {
  check_digits(digits)
  cat(sprintf("<fastdml balance> %s weights, threshold %g; overall %s (%s)\n", x$estimand,
              x$threshold, x$overall_flag, if (x$pass) "pass" else "fail"))
  s <- x$summary
  print(data.frame(comparison = s$comparison, max_smd_raw = signif(s$max_smd_raw, digits),
                   max_smd = value_flag(s$max_smd, s$flag_max_smd, digits),
                   frac_violations = value_flag(s$frac_violations, s$flag_violations, digits),
                   overall = s$overall_flag, stringsAsFactors = FALSE),
        row.names = FALSE, right = FALSE)
  if (nrow(x$top)) {
    cat("Largest weighted SMDs:\n")
    top <- as.data.frame(x$top)
    top$smd_weighted <- signif(top$smd_weighted, digits)
    top$smd_raw <- signif(top$smd_raw, digits)
    print(top, row.names = FALSE, right = FALSE)
  }
  invisible(x)
}
