#' Every propensity x outcome learner pair on the same folds
#'
#' Fits [dml_irm()] once per pair of a propensity learner and an outcome learner, all on the
#' same folds (grouped by cluster when the data have clusters), and lays the results side by
#' side (`specs/recsys-aipw.md` step 3): the AIPW estimate, the standard deviation of the
#' doubly robust score, the g-computation part mean(g1 - g0) and the mean outcome predictions,
#' the analytic (cluster-robust) standard error and, with `B > 0`, the cluster-bootstrap
#' percentile interval with nuisances fixed ([bootstrap_cluster()]). Disagreement between the
#' pairs shows how much the estimate rests on the choice of nuisance models.
#'
#' @inheritParams dml_irm
#' @param learners_treatment,learners_outcome Named lists of learners.
#' @param B Cluster-bootstrap draws per pair (0: none).
#' @param level Confidence level of the bootstrap intervals.
#' @param ... Further arguments of [dml_irm()] (e.g. `trim`, `estimand`, `outcome_style`).
#' @return A `fastdml_nuisance_grid` object: `$table` (propensity, outcome, estimate,
#'   std.error, sd_score, gcomp, mean_g1, mean_g0 and, with `B > 0`, boot.se, conf.low,
#'   conf.high) and `$fits`; `print` and `tidy`.
#' @family estimators
#' @examples
#' df <- sim_lesson(600, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' nuisance_grid(spec, list(logistic = lrn_logistic()),
#'               list(linear = lrn_linear(), ridge = lrn_linear(ridge = 10)), seed = 1)
#' @export
nuisance_grid <- function(spec, learners_treatment = list(logistic = lrn_logistic(), boost = lrn_boost()),
                          learners_outcome = list(ridge = lrn_linear(ridge = 1), boost = lrn_boost()),
                          n_folds = 5L, B = 0L, seed = NULL, level = 0.95, ...) {
  check_spec(spec)
  for (learners in list(learners_treatment, learners_outcome)) {
    if (!is.list(learners) || !length(learners) || is.null(names(learners)) || any(!nzchar(names(learners)))) {
      fd_abort("argument", c("{.arg learners_treatment} and {.arg learners_outcome} must be named lists of learners.",
                             i = "For example {.code list(logistic = lrn_logistic(), boost = lrn_boost())}."))
    }
  }
  check_count(B, "B", 0L)
  check_level(level)
  folds <- draw_folds(spec, n_folds, 1L, TRUE, seed)
  pairs <- expand.grid(propensity = names(learners_treatment), outcome = names(learners_outcome),
                       stringsAsFactors = FALSE)
  fits <- lapply(seq_len(nrow(pairs)), function(k) {
    dml_irm(spec, learner_outcome = learners_outcome[[pairs$outcome[k]]],
            learner_treatment = learners_treatment[[pairs$propensity[k]]], folds = folds, seed = seed, ...)
  })
  rows <- lapply(seq_along(fits), function(k) {
    fit <- fits[[k]]
    gamma <- pseudo_outcomes(fit, 1L)
    G <- arm_outcomes(fit)
    row <- data.frame(propensity = pairs$propensity[k], outcome = pairs$outcome[k],
                      estimate = unname(fit$coefficients), std.error = fit$se, sd_score = stats::sd(gamma),
                      gcomp = mean(G[, 2L] - G[, 1L]), mean_g1 = mean(G[, 2L]), mean_g0 = mean(G[, 1L]))
    if (B > 0L) {
      boot <- bootstrap_cluster(fit, B = B, seed = seed, level = level)$table
      row <- cbind(row, boot[c("boot.se", "conf.low", "conf.high")])
    }
    row
  })
  structure(list(table = do.call(rbind, rows), fits = fits, B = B, level = level,
                 clusters = if (is.null(spec$cluster)) NA_integer_ else max(spec$cluster)),
            class = "fastdml_nuisance_grid")
}

#' @export
print.fastdml_nuisance_grid <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_nuisance_grid}: {nrow(x$table)} learner pair{?s} on the same folds{if (is.na(x$clusters)) '' else paste0(', ', x$clusters, ' clusters')}"), "\n", sep = "")
  print(format_coefficient_table(x$table), row.names = FALSE)
  if (x$B > 0) cat(sprintf("conf.*: %d-draw cluster bootstrap percentile interval, nuisances fixed\n", x$B))
  invisible(x)
}

#' @export
tidy.fastdml_nuisance_grid <- function(x, ...) x$table
