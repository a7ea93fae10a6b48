# CI-DML (specs/amazon-ci-dml.md, DESIGN.md §4 "HC standard errors for the weighted residual
# regression"): the PLR residual regression Y~ = beta D~ + e solved by weighted least squares
# with IPW weights, after trimming and optional propensity rescaling; closed-form HC variances.

ci_dml_types <- c("const", "HC0", "HC1", "HC2", "HC3")

# Validated options of the weighted residual regression; `active` is FALSE for the plain PLR.
ci_dml_options <- function(ipw = "none", trim = 0, trim_mode = "drop", rescale = FALSE,
                           intercept = FALSE) {
  ipw <- arg_match(ipw, c("none", "ATE", "ATT"), "ipw")
  check_number(trim, "trim", 0, 0.5, open = FALSE,
               hint = "The CI-DML paper uses 0.001: units with a propensity outside [0.001, 0.999] are dropped.")
  if (trim >= 0.5) fd_abort("argument", "{.arg trim} must be below 0.5, not {.val {trim}}.")
  trim_mode <- arg_match(trim_mode, c("drop", "clip"), "trim_mode")
  check_flag(rescale, "rescale")
  check_flag(intercept, "intercept")
  list(ipw = ipw, trim = trim, trim_mode = trim_mode, rescale = rescale, intercept = intercept,
       active = ipw != "none" || trim > 0 || rescale || intercept)
}

check_ci_dml_spec <- function(spec, options, score) {
  if (!options$active) return(invisible())
  if (score != "partialling out") {
    fd_abort("argument", c("{.arg ipw}, {.arg trim}, {.arg rescale} and {.arg intercept} need {.code score = \"partialling out\"}.",
                           i = "The weighted residual regression of CI-DML is a partialling-out regression."))
  }
  if ((options$ipw != "none" || options$trim > 0 || options$rescale) && spec$treatment_type != "binary") {
    fd_abort("treatment", c("IPW weights, trimming and rescaling need a 0/1 treatment; {.field {spec$treatment}} is {spec$treatment_type}.",
                            i = "Use {.code ipw = \"none\", trim = 0} for a continuous treatment."))
  }
}

# Weights of one repetition: IPW weights from the (rescaled, clipped) propensity times the
# observation weights; 0 for rows dropped by trimming. D~ keeps the raw propensity m.
# `rescale_factor` (mean(D) / mean(e) on the retained rows) is computed here unless given (the
# scale-out passes compute it from sums over all chunks).
ci_dml_weights <- function(d, m, obs_weights, options, rescale_factor = NULL) {
  trim <- options$trim
  retained <- if (trim > 0 && options$trim_mode == "drop") m >= trim & m <= 1 - trim else rep(TRUE, length(m))
  if (is.null(rescale_factor) && !any(retained)) {
    fd_abort("overlap", c("Trimming at {trim} drops every row: all propensities lie outside [{trim}, {1 - trim}].",
                          i = "Lower {.arg trim} or use {.code trim_mode = \"clip\"}."))
  }
  e <- m
  if (options$rescale) {
    if (is.null(rescale_factor)) {
      ow <- obs_weights[retained]
      rescale_factor <- sum(ow * d[retained]) / sum(ow * m[retained])
    }
    e <- m * rescale_factor
  }
  if (trim > 0) e <- pmin(pmax(e, trim), 1 - trim)
  w <- switch(options$ipw,
              none = rep(1, length(m)),
              ATE = d / e + (1 - d) / (1 - e),
              ATT = d + (1 - d) * e / (1 - e))
  w <- w * obs_weights * retained
  if (any(!is.finite(w))) {
    fd_abort("propensity", c("IPW weights are not finite: some propensities are 0 or 1.",
                             i = "Set {.arg trim} above 0 (the paper uses 0.001) so that weights stay bounded."))
  }
  list(weights = w, retained = retained, e = e)
}

# Regressors of the residual regression for one repetition: Z = basis * D~ (basis NULL: Z = D~),
# the residual Y~, the weights, and the intercept choice.
ci_dml_design <- function(spec, l, m, options, basis = NULL) {
  obs <- observation_weights(spec)
  wt <- ci_dml_weights(spec$d, m, obs, options)
  dtilde <- spec$d - m
  Z <- if (is.null(basis)) matrix(dtilde, ncol = 1L) else basis * dtilde
  list(Z = Z, ytilde = spec$y - l, w = wt$weights, retained = wt$retained, e = wt$e)
}

# Weighted least squares of y on Z (after an unpenalised intercept column when asked) with the
# five variances of the spec, for the Z columns: const = sigma^2 A with
# sigma^2 = sum w u^2 / (n - p), and HC0-HC3 from robust_vcov() (A [sum w^2 u^2 Z'Z] A,
# n/(n-p), u^2/(1-h), u^2/(1-h)^2 with h_ii = w_i Z_i A Z_i'). Rows with weight 0 do not count.
weighted_residual_regression <- function(y, Z, w, intercept = FALSE) {
  keep <- w > 0
  X <- if (intercept) cbind(1, Z[keep, , drop = FALSE]) else Z[keep, , drop = FALSE]
  y <- y[keep]
  w <- w[keep]
  n <- length(y)
  p <- ncol(X)
  if (n <= p) fd_abort("overlap", "The residual regression has {n} row{?s} with positive weight for {p} coefficient{?s}.")
  A <- solve(crossprod(X, X * w))
  beta <- drop(A %*% crossprod(X, w * y))
  u <- y - drop(X %*% beta)
  slopes <- seq_len(ncol(Z)) + intercept
  vc <- c(list(const = sum(w * u^2) / (n - p) * A),
          stats::setNames(lapply(ci_dml_types[-1L], function(type) robust_vcov(X, u, w, NULL, type)),
                          ci_dml_types[-1L]))
  list(coefficients = beta[slopes], vcov = lapply(vc, function(v) v[slopes, slopes, drop = FALSE]), n = n)
}

# Scores of the (centred) weighted residual regression for the C++ inference: with weights w and
# the W-centred residuals (intercept = TRUE) psi_a = -w Z^2, psi_b = w Z Y~, so the influence
# function standard error is the HC0 one (cluster-robust with clusters).
ci_dml_scores <- function(spec, preds, options) {
  n_rep <- ncol(preds$m)
  psi_a <- psi_b <- matrix(0, spec$n, n_rep)
  retained <- numeric(n_rep)
  for (s in seq_len(n_rep)) {
    des <- ci_dml_design(spec, preds$l[, s], preds$m[, s], options)
    z <- des$Z[, 1]
    y <- des$ytilde
    if (options$intercept) {
      sw <- sum(des$w)
      z <- z - sum(des$w * z) / sw
      y <- y - sum(des$w * y) / sw
    }
    psi_a[, s] <- -des$w * z^2
    psi_b[, s] <- des$w * z * y
    retained[s] <- mean(des$retained)
  }
  list(psi_a = psi_a, psi_b = psi_b, retained_share = retained)
}

# Standard errors of one variance type, per repetition and aggregated by the median rule of
# DESIGN.md §4 (SE = sqrt(median_s(n SE_s^2 + (theta_s - theta)^2) / n)).
ci_dml_se <- function(fit, type) {
  if (type == "cluster") {
    if (is.na(fit$n_clusters)) fd_abort("argument", c("{.code vcov = \"cluster\"} needs clusters in the data.", i = "Give {.arg cluster} to {.fn causal_data}."))
    return(fit$se)
  }
  options <- if (is.null(fit$ci_dml)) ci_dml_options() else fit$ci_dml
  preds <- fit$nuisances
  se_rep <- vapply(seq_len(fit$n_rep), function(s) {
    des <- ci_dml_design(fit$spec, preds$l[, s], preds$m[, s], options)
    sqrt(weighted_residual_regression(des$ytilde, des$Z, des$w, options$intercept)$vcov[[type]][1, 1])
  }, numeric(1))
  n <- fit$n
  sqrt(stats::median(n * se_rep^2 + (fit$theta_rep - fit$coefficients)^2) / n)
}

check_vcov_types <- function(vcov, fit) {
  allowed <- c(ci_dml_types, "cluster")
  bad <- setdiff(vcov, allowed)
  if (!is.character(vcov) || length(vcov) == 0L || length(bad)) {
    fd_abort("argument", c("{.arg vcov} must be among {.val {allowed}}.", x = "Unknown: {.val {format_value(bad)}}."))
  }
  if (fit$model != "PLR" || fit$score != "partialling out") {
    fd_abort("argument", "{.arg vcov} types apply to {.fn dml_plr} fits with the partialling-out score.")
  }
  unique(vcov)
}

#' Tidy a PLR / CI-DML fit with a choice of variance
#'
#' `tidy(fit, vcov = c("const", "HC0", "HC1", "HC2", "HC3"))` reports the estimate with each
#' variance of the weighted residual regression (one row per type, column `vcov`), chosen after
#' the fit as in fixest. `"HC0"` is the influence-function standard error the fit reports;
#' `"const"` is the classical (homoscedastic) weighted least squares variance, narrower and
#' usually too optimistic under heteroskedasticity; `"cluster"` the cluster-robust one.
#'
#' @param x A [dml_plr()] fit.
#' @param vcov `NULL` (the fit's own standard error) or a character vector of types.
#' @param conf.int,conf.level See [tidy.fastdml_fit()].
#' @param ... Unused.
#' @return A data.frame with broom's columns, plus `vcov` when `vcov` is given.
#' @family methods
#' @examples
#' d <- sim_lesson(600, seed = 3)
#' fit <- dml_plr(causal_data(d, "outcome", "treatment", c("age", "browsing_time", "income")),
#'                lrn_linear(), lrn_logistic(), ipw = "ATT", trim = 0.001, seed = 1)
#' tidy(fit, vcov = c("const", "HC0", "HC3"))
#' @export
tidy.dml_plr <- function(x, vcov = NULL, conf.int = TRUE, conf.level = 0.95, ...) {
  if (is.null(vcov)) return(NextMethod())
  types <- check_vcov_types(vcov, x)
  rows <- lapply(types, function(type) {
    copy <- x
    copy$se <- ci_dml_se(x, type)
    cbind(tidy.fastdml_fit(copy, conf.int = conf.int, conf.level = conf.level), vcov = type)
  })
  do.call(rbind, rows)
}

#' Re-score a PLR fit with other CI-DML options, without refitting the nuisances
#'
#' `update(fit, trim = 0.005)` or `update(fit, trim = 0, rescale = FALSE)` recomputes the
#' weighted residual regression of [dml_plr()] from the fit's cross-fitted nuisances (same
#' folds, same predictions). Any other argument refits through the call, as [stats::update()].
#'
#' @param object A [dml_plr()] fit.
#' @param ... Arguments of [dml_plr()]; `ipw`, `trim`, `trim_mode`, `rescale` and `intercept`
#'   alone re-score without refitting.
#' @param evaluate As in [stats::update()].
#' @return A [dml_plr()] fit.
#' @family estimators
#' @importFrom stats update
#' @export
update.dml_plr <- function(object, ..., evaluate = TRUE) {
  args <- list(...)
  rescoring <- c("ipw", "trim", "trim_mode", "rescale", "intercept")
  if (length(args) == 0L || !all(names(args) %in% rescoring) || is.null(object$nuisances$l) ||
      !isTRUE(evaluate)) {
    return(NextMethod())
  }
  options <- if (is.null(object$ci_dml)) ci_dml_options() else object$ci_dml
  options <- do.call(ci_dml_options, utils::modifyList(options[rescoring], args))
  check_ci_dml_spec(object$spec, options, object$score)
  ci_dml_refit(object, options)
}

# Scores, inference and fields of a CI-DML fit from its nuisances (used by dml_plr and update).
ci_dml_refit <- function(fit, options) {
  spec <- fit$spec
  scores <- ci_dml_scores(spec, fit$nuisances, options)
  cluster <- spec$cluster
  inf <- core_call(.fastdml_inference(scores$psi_a, scores$psi_b,
                                      if (is.null(cluster)) NULL else cluster - 1L,
                                      if (is.null(cluster)) 0L else max(cluster),
                                      fit$cluster_correction, resolve_num_threads(NULL)))
  fit$coefficients[] <- inf$theta
  fit$se <- inf$se
  fit$theta_rep <- inf$theta_rep
  fit$se_rep <- inf$se_rep
  fit$psi_a <- scores$psi_a
  fit$psi_b <- scores$psi_b
  fit$ci_dml <- c(options, list(retained_share = scores$retained_share))
  check_finite_result(fit$coefficients, fit$se)
  fit
}

ci_dml_label <- function(options) {
  if (is.null(options) || !options$active) return(NULL)
  sprintf("IPW %s weights; trim %g (%s)%s%s; %.2f%% of rows retained", options$ipw, options$trim,
          options$trim_mode, if (options$rescale) ", rescaled propensities" else "",
          if (options$intercept) ", intercept" else "", 100 * mean(options$retained_share))
}
