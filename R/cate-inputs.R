# What every heterogeneity tool reads from a fit (no refit of nuisances): the contrasts, the
# doubly robust pseudo-outcomes of DESIGN.md §4, the effect modifiers, and the R-learner
# residuals of the causal forest; plus the `fastdml_cate` object they return.

# The contrasts of a fit as list(term, arm): binary fits have one (arm 1 against 0), multi-arm
# fits one per treated arm. `contrast` selects by arm label or term name; NULL keeps all.
fit_contrasts <- function(fit, contrast = NULL, single = FALSE, caller = "this function") {
  check_cate_fit(fit, caller)
  arms <- fit_arms(fit)
  terms <- names(fit$coefficients)
  all <- lapply(seq_along(terms), function(k) list(term = terms[k], arm = k))
  if (is.null(contrast)) {
    if (single && length(all) > 1L) {
      fd_abort("argument", c("{.fn {caller}} estimates one contrast at a time; this fit has {length(all)}.",
                             i = "Choose one with {.code contrast = } one of {.val {arms[-1L]}}."))
    }
    return(all)
  }
  if (!is.character(contrast) || length(contrast) != 1L || is.na(contrast)) {
    fd_abort("argument", "{.arg contrast} must be one arm label or term name, e.g. {.val {arms[2L]}}.")
  }
  k <- match(contrast, arms[-1L])
  if (is.na(k)) k <- match(contrast, terms)
  if (is.na(k)) {
    fd_abort("argument", c("Unknown contrast {.val {contrast}}.",
                           i = "Use one of the treated arms {.val {arms[-1L]}} (the control is {.val {arms[1L]}})."))
  }
  all[k]
}

check_cate_fit <- function(fit, caller) {
  if (!inherits(fit, c("dml_irm", "dml_multi_irm"))) {
    fd_abort("argument", c("{.fn {caller}} needs a fit from {.fn dml_irm} or {.fn dml_multi_irm}.",
                           x = "It got a {.cls {class(fit)[1L]}}.",
                           i = if (inherits(fit, "dml_plr")) "The doubly robust pseudo-outcomes need the outcome regression of each arm; refit with {.fn dml_irm}."))
  }
  if (anyNA(arm_outcomes(fit))) {
    fd_abort("nuisances", c("This fit has no outcome regression of the treated ({.field g1}); the pseudo-outcomes need it.",
                            i = "Refit with {.code estimand = \"ATE\"}, or supply {.field g1} in {.arg nuisances}."))
  }
  invisible(fit)
}

# Doubly robust pseudo-outcomes of contrast `arm` (against the control, arm 0):
# Gamma = g_k - g_0 + 1{D = k}(Y - g_k)/e_k - 1{D = 0}(Y - g_0)/e_0 with the propensities as
# the scores use them (clipped, or floored and rescaled for several arms), averaged over the
# repetitions. Not Hajek-normalised; the mean equals the fit's ATE when normalize = FALSE.
pseudo_outcomes <- function(fit, arm) {
  y <- fit$spec$y
  d <- fit_arm_index(fit)
  treated <- d == arm
  control <- d == 0L
  per_rep <- vapply(seq_len(fit$n_rep), function(rep) {
    E <- arm_propensities(fit, rep, trimmed = TRUE)
    G <- arm_outcomes(fit, rep)
    G[, arm + 1L] - G[, 1L] + treated * (y - G[, arm + 1L]) / E[, arm + 1L] -
      control * (y - G[, 1L]) / E[, 1L]
  }, numeric(fit$n))
  rowMeans(matrix(per_rep, nrow = fit$n))
}

# Observation weights rescaled to mean one (all ones without weights): every weighted mean,
# projection and sum of the heterogeneity and policy tools is invariant to the scale of the
# weights, and this keeps their sums finite for huge weights.
unit_weights <- function(weights, n) {
  if (is.null(weights)) return(rep(1, n))
  w <- weights / max(weights)
  w / mean(w)
}

#' Doubly robust scores of a fit
#'
#' The per-row doubly robust pseudo-outcomes (AIPW scores) of a contrast, from the fit's
#' cross-fitted nuisances: Gamma = g1 - g0 + D (Y - g1) / m - (1 - D) (Y - g0) / (1 - m) with the
#' propensities as the scores use them, averaged over repetitions (see [cate_blp()]). Their
#' mean is the AIPW estimate of the ATE (with `normalize = FALSE`); their spread and tails show
#' how noisy it is.
#'
#' @inheritParams cate_blp
#' @return A numeric vector, one score per row of the fit.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(600, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' quantile(dr_scores(fit), c(0.05, 0.5, 0.95))
#' @export
dr_scores <- function(fit, contrast = NULL) {
  contrast <- fit_contrasts(fit, contrast, single = TRUE, caller = "dr_scores")[[1L]]
  pseudo_outcomes(fit, contrast$arm)
}

# R-learner residuals of contrast `arm` on the rows of arms 0 and k (all rows for a binary
# fit): D~ = 1{D = k} - e, Y~ = Y - (e g_k + (1 - e) g_0) with e = e_k / (e_k + e_0) the
# propensity of arm k among the two, averaged over repetitions.
forest_residuals <- function(fit, arm, rows) {
  y <- fit$spec$y[rows]
  treated <- as.double(fit_arm_index(fit)[rows] == arm)
  parts <- lapply(seq_len(fit$n_rep), function(rep) {
    E <- arm_propensities(fit, rep, trimmed = TRUE)[rows, , drop = FALSE]
    G <- arm_outcomes(fit, rep)[rows, , drop = FALSE]
    e <- E[, arm + 1L] / (E[, arm + 1L] + E[, 1L])
    cbind(y - (e * G[, arm + 1L] + (1 - e) * G[, 1L]), treated - e)
  })
  res <- Reduce(`+`, parts) / length(parts)
  list(y = res[, 1L], d = res[, 2L])
}

# Effect modifiers as a numeric matrix of the fit's rows: column names of the fit's covariates
# (default all), or a matrix / data frame with one row per row of the fit.
effect_modifier_matrix <- function(fit, effect_modifiers) {
  X <- fit$spec$X
  if (is.null(effect_modifiers)) return(X)
  if (is.character(effect_modifiers)) {
    unknown <- setdiff(effect_modifiers, colnames(X))
    if (length(unknown)) {
      fd_abort("column", c("Unknown effect modifier{?s} {.field {unknown}}: not among the fit's covariates.",
                           i = "Use covariates of the fit ({.field {utils::head(colnames(X), 8)}}{if (ncol(X) > 8) ', ...'}), or pass a matrix or data frame with one row per row of the fit."))
    }
    return(X[, unique(effect_modifiers), drop = FALSE])
  }
  Z <- numeric_table(effect_modifiers, "effect_modifiers")
  if (nrow(Z) != fit$n) {
    fd_abort("length", c("{.arg effect_modifiers} has {nrow(Z)} rows, the fit {fit$n}.",
                         i = "Pass one row per row of the data the fit was estimated on, in the same order."))
  }
  Z
}

# A finite numeric matrix with column names from a matrix or data frame; errors name the column.
numeric_table <- function(x, what, columns = NULL) {
  if (is.data.frame(x)) {
    missing_cols <- setdiff(columns, names(x))
    if (length(missing_cols)) {
      fd_abort("column", c("{.arg {what}} lacks {length(missing_cols)} column{?s}: {.field {missing_cols}}.",
                           i = "Supply every effect modifier the object was fitted on."))
    }
    if (!is.null(columns)) x <- x[columns]
    bad <- names(x)[!vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))]
    if (length(bad)) {
      fd_abort("column", c("Not numeric in {.arg {what}}: {length(bad)} column{?s} {.field {bad}}.",
                           i = "Convert factors to indicators first (e.g. with {.fn model.matrix})."))
    }
    x <- as.matrix(as.data.frame(lapply(x, as.double), col.names = names(x)))
  }
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x))) {
    fd_abort("argument", "{.arg {what}} must be a numeric matrix or a data frame.")
  }
  if (is.null(colnames(x))) colnames(x) <- paste0("z", seq_len(ncol(x)))
  if (!is.null(columns)) {
    missing_cols <- setdiff(columns, colnames(x))
    if (length(missing_cols)) fd_abort("column", "{.arg {what}} lacks {length(missing_cols)} column{?s}: {.field {missing_cols}}.")
    x <- x[, columns, drop = FALSE]
  }
  storage.mode(x) <- "double"
  bad <- colnames(x)[colSums(!is.finite(x)) > 0]
  if (length(bad)) {
    fd_abort("non_finite", c("Missing or non-finite values in {.arg {what}}: {length(bad)} column{?s} {.field {bad}}.",
                          i = "Impute them first (see {.fn median_imputer}) or drop those rows."))
  }
  x
}

# The result of cate_dr(), cate_forest() and the other CATE estimators: per-row estimates for
# the fit's rows (out of fold or out of bag), optionally their variances, and what predict()
# needs.
new_cate <- function(class, method, fit, contrast, estimates, variance = NULL, ...) {
  structure(list(method = method, contrast = contrast$term, arm = contrast$arm, arms = fit_arms(fit),
                 estimates = unname(estimates), variance = variance,
                 n = length(estimates), weights = fit$spec$weights, ...),
            class = c(class, "fastdml_cate"))
}

#' @export
print.fastdml_cate <- function(x, ...) {
  cat(cli::format_inline("{.cls {class(x)[1L]}}: {x$method}"), "\n", sep = "")
  cat(cli::format_inline("Contrast {.val {x$contrast}}, {x$n} rows"), "\n", sep = "")
  q <- stats::quantile(x$estimates, c(0, 0.1, 0.5, 0.9, 1), names = FALSE)
  cat(sprintf("CATE (out of fold): mean %.4g, sd %.4g; min %.4g, 10%% %.4g, median %.4g, 90%% %.4g, max %.4g\n",
              mean(x$estimates), stats::sd(x$estimates), q[1], q[2], q[3], q[4], q[5]))
  if (!is.null(x$variance)) {
    se <- sqrt(x$variance)
    cat(sprintf("Pointwise standard errors: median %.4g; %.1f%% of 95%% intervals exclude 0\n",
                stats::median(se), 100 * mean(abs(x$estimates) > stats::qnorm(0.975) * se)))
  }
  invisible(x)
}

#' Per-row CATE estimates as a tidy table
#'
#' @param x A CATE object (from [cate_dr()], [cate_forest()], [cate_blp()], [cate_clusters()]).
#' @param conf.level Confidence level of the pointwise intervals (where variances exist).
#' @param ... Unused.
#' @return A data.frame with `row`, `estimate`, `std.error`, `conf.low` and `conf.high` (`NA`
#'   without variances) for the rows of the fit; for [cate_blp()] objects the coefficients (see
#'   [cate_blp()]).
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' head(tidy(cate_forest(fit, num_trees = 100, seed = 1)))
#' @export
tidy.fastdml_cate <- function(x, conf.level = 0.95, ...) {
  check_level(conf.level, "conf.level")
  se <- if (is.null(x$variance)) rep(NA_real_, x$n) else sqrt(x$variance)
  z <- stats::qnorm((1 + conf.level) / 2)
  data.frame(row = seq_len(x$n), estimate = x$estimates, std.error = se,
             conf.low = x$estimates - z * se, conf.high = x$estimates + z * se)
}

#' @export
nobs.fastdml_cate <- function(object, ...) object$n

#' @export
fitted.fastdml_cate <- function(object, ...) object$estimates
