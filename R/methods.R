# Standard generics for every fit of class fastdml_fit (PLR, IRM, and later models).

estimate_table <- function(x, level = 0.95) {
  z <- stats::qnorm(1 - (1 - level) / 2)
  theta <- unname(x$coefficients)
  data.frame(term = names(x$coefficients), estimate = theta, std.error = x$se,
             statistic = theta / x$se, p.value = 2 * stats::pnorm(-abs(theta / x$se)),
             conf.low = theta - z * x$se, conf.high = theta + z * x$se,
             stringsAsFactors = FALSE)
}

check_digits <- function(digits) {
  if (!is.numeric(digits) || length(digits) != 1L || is.na(digits) || digits < 1 || digits > 22) {
    fd_abort("argument", "{.arg digits} must be a whole number from 1 to 22, not {.val {format_value(digits)}}.")
  }
}

check_level <- function(level, arg = "level") {
  if (!is.numeric(level) || length(level) != 1L || is.na(level) || !(level > 0 && level < 1)) {
    fd_abort("argument", "{.arg {arg}} must be a number in (0, 1), not {.val {format_value(level)}}.")
  }
}

fit_title <- function(x) {
  spec <- x$spec
  what <- switch(x$model,
    PLR = sprintf("PLR (%s score), effect of %s", x$score, spec$treatment),
    IRM = sprintf("IRM, %s of %s (%s vs %s)", x$estimand, spec$treatment,
                  spec$treatment_levels[2], spec$treatment_levels[1]),
    `multi-arm IRM` = sprintf("Multi-arm IRM, %s of %s (%d arms vs %s)", x$estimand, spec$treatment,
                              length(spec$treatment_levels) - 1L, spec$treatment_levels[1]),
    x$model)
  folds <- if (is.na(x$n_folds)) "external nuisances" else
    sprintf("%d folds x %d repetition%s", x$n_folds, x$n_rep, if (x$n_rep > 1) "s" else "")
  sprintf("%s on %s; n = %d, %s", what, spec$outcome, x$n, folds)
}

#' @export
print.fastdml_fit <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat("<fastdml> ", fit_title(x), "\n", sep = "")
  tab <- estimate_table(x)
  rownames(tab) <- tab$term
  print(format(tab[, -1], digits = digits), quote = FALSE)
  cat("Nuisances: ", quality_line(x), "\n", sep = "")
  ci_label <- ci_dml_label(x$ci_dml)
  if (!is.null(ci_label)) cat("Weighted residual regression (CI-DML): ", ci_label, if (is.na(x$n_clusters)) "; HC0 SE", "\n", sep = "")
  if (!is.null(x$stacking) && nrow(x$stacking)) cat(stacking_lines(x$stacking), sep = "\n")
  if (!is.null(x$clipped_share) && any(x$clipped_share > 0)) {
    cat(sprintf("Propensities clipped to [%g, %g]: %.2f%% of rows\n", x$trim, 1 - x$trim,
                100 * mean(x$clipped_share)))
  }
  if (!is.na(x$n_clusters)) {
    cat("Cluster-robust SE over", x$n_clusters, "clusters",
        if (isTRUE(x$cluster_correction)) "(G/(G-1) corrected)", "\n")
  }
  invisible(x)
}

# One line per stacked nuisance: its weights (averaged over repetitions).
stacking_lines <- function(stacking) {
  vapply(unique(stacking$nuisance), function(name) {
    rows <- stacking[stacking$nuisance == name]
    weights <- tapply(rows$weight, factor(rows$learner, unique(rows$learner)), mean)
    sprintf("Stack weights (%s): %s", name,
            paste(sprintf("%s %.3f", names(weights), weights), collapse = ", "))
  }, character(1))
}

quality_line <- function(x) {
  q <- x$quality[is.na(x$quality$fold)]
  parts <- vapply(unique(q$nuisance), function(name) {
    rows <- q[q$nuisance == name]
    metric <- if (!is.na(rows$auc[1]) && rows$learner[1] != "linear") {
      sprintf("AUC %.3f", mean(rows$auc))
    } else {
      sprintf("R2 %.3f", mean(rows$r2))
    }
    sprintf("%s %s (%s)", name, rows$learner[1], metric)
  }, character(1))
  paste(parts, collapse = ", ")
}

#' Summarise a DML fit
#'
#' @param object A fit from [dml_plr()] or [dml_irm()].
#' @param level Confidence level.
#' @param ... Unused.
#' @return An object of class `summary.fastdml_fit` with the coefficient table
#'   (`coefficients`), per-repetition estimates (`repetitions`) and the out-of-fold nuisance
#'   quality (`quality`); it prints them.
#' @family methods
#' @export
summary.fastdml_fit <- function(object, level = 0.95, ...) {
  check_level(level)
  structure(list(
    title = fit_title(object),
    coefficients = estimate_table(object, level),
    repetitions = data.frame(rep = seq_len(object$n_rep), estimate = object$theta_rep,
                             std.error = object$se_rep),
    quality = object$quality[is.na(object$quality$fold)],
    clipped_share = object$clipped_share, trim = object$trim,
    normalize = object$normalize, n_clusters = object$n_clusters,
    weighted = !is.null(object$spec$weights), level = level
  ), class = "summary.fastdml_fit")
}

#' @export
print.summary.fastdml_fit <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat("<fastdml> ", x$title, "\n\n", sep = "")
  tab <- x$coefficients
  rownames(tab) <- tab$term
  names(tab)[names(tab) %in% c("conf.low", "conf.high")] <-
    sprintf("%s %g%%", c("lower", "upper"), 100 * x$level)
  print(format(tab[, -1], digits = digits), quote = FALSE)
  if (nrow(x$repetitions) > 1) {
    cat("\nRepetitions (aggregated by the median):\n")
    print(format(x$repetitions, digits = digits), row.names = FALSE)
  }
  cat("\nOut-of-fold nuisance quality:\n")
  q <- as.data.frame(x$quality)[, c("nuisance", "learner", "rep", "n", "rmse", "r2", "log_loss", "auc")]
  print(format(q, digits = digits), row.names = FALSE)
  if (!is.null(x$trim)) {
    cat(sprintf("\nPropensities clipped to [%g, %g]: %.2f%% of rows%s\n", x$trim, 1 - x$trim,
                100 * mean(x$clipped_share), if (isTRUE(x$normalize)) "; Hajek-normalised weights" else ""))
  }
  if (!is.na(x$n_clusters)) cat("Cluster-robust standard errors over", x$n_clusters, "clusters\n")
  if (x$weighted) cat("Observation weights used in the scores\n")
  invisible(x)
}

#' @export
vcov.fastdml_fit <- function(object, ...) {
  matrix(object$se^2, 1, 1, dimnames = list(names(object$coefficients), names(object$coefficients)))
}

#' @export
confint.fastdml_fit <- function(object, parm, level = 0.95, ...) {
  check_level(level)
  tab <- estimate_table(object, level)
  out <- cbind(tab$conf.low, tab$conf.high)
  dimnames(out) <- list(tab$term, sprintf("%s %%", format(100 * c((1 - level) / 2, 1 - (1 - level) / 2), trim = TRUE)))
  if (!missing(parm)) {
    known <- if (is.character(parm)) parm %in% rownames(out) else parm %in% seq_len(nrow(out))
    if (!all(known)) {
      fd_abort("argument", c("{.arg parm} must name estimated terms: {.val {rownames(out)}}.",
                             x = "Unknown: {.val {format_value(parm[!known])}}."))
    }
    out <- out[parm, , drop = FALSE]
  }
  out
}

#' @export
nobs.fastdml_fit <- function(object, ...) object$n

#' Tidy and glance at a DML fit
#'
#' `tidy()` returns one row per estimated effect with broom's column names; `glance()` one row
#' describing the fit.
#'
#' @param x A fit from [dml_plr()] or [dml_irm()].
#' @param conf.int Include `conf.low` / `conf.high`.
#' @param conf.level Confidence level.
#' @param ... Unused.
#' @return `tidy()`: a data.frame with columns `term`, `estimate`, `std.error`, `statistic`
#'   (z), `p.value`, `conf.low`, `conf.high`. `glance()`: a one-row data.frame with `nobs`,
#'   `model`, `estimand`, `score`, `n_folds`, `n_rep`, `n_clusters`, the learners, and the
#'   pooled out-of-fold R2 (regressions) or AUC (classifiers) of each nuisance.
#' @family methods
#' @examples
#' fit <- dml_plr(causal_data(sim_lesson(400, seed = 2), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")), seed = 1)
#' tidy(fit)
#' glance(fit)
#' @export
tidy.fastdml_fit <- function(x, conf.int = TRUE, conf.level = 0.95, ...) {
  check_level(conf.level, "conf.level")
  check_flag(conf.int, "conf.int")
  tab <- estimate_table(x, conf.level)
  if (!conf.int) tab <- tab[, setdiff(names(tab), c("conf.low", "conf.high"))]
  tab
}

#' @rdname tidy.fastdml_fit
#' @export
glance.fastdml_fit <- function(x, ...) {
  q <- x$quality[is.na(x$quality$fold)]
  base <- data.frame(nobs = x$n, model = x$model, estimand = x$estimand, score = x$score,
                     n_folds = x$n_folds, n_rep = x$n_rep, n_clusters = x$n_clusters,
                     stringsAsFactors = FALSE)
  for (name in unique(q$nuisance)) {
    rows <- q[q$nuisance == name]
    base[[paste0("learner_", name)]] <- rows$learner[1]
    base[[paste0("r2_", name)]] <- mean(rows$r2)
    if (!all(is.na(rows$auc))) base[[paste0("auc_", name)]] <- mean(rows$auc)
  }
  if (!is.null(x$clipped_share)) base$clipped_share <- mean(x$clipped_share)
  base
}

#' Cross-fitted nuisance predictions of a fit
#'
#' Nuisances are data: every fit keeps its out-of-fold predictions and fold plan so that
#' diagnostics, sensitivity analysis and heterogeneity work from them without refitting, and so
#' that they can be passed back as external nuisances (argument `nuisances` of the estimators).
#'
#' @param fit A fit from [dml_plr()], [dml_irm()] or [dml_multi_irm()].
#' @return A list with `folds` (n x n_rep integer matrix), one n x n_rep matrix per nuisance
#'   (PLR: `l` = E\[Y|X\], `m` = E\[D|X\], and `g` for the IV-type score; IRM: `g0`, `g1`, `m`
#'   (untrimmed); multi-arm: `g_<arm>` and `m_<arm>` (raw propensities) for every arm), and
#'   `quality`: a data.table with one row per nuisance, repetition and fold
#'   (`fold` NA = all folds pooled) giving `n`, `rmse`, `r2`, and for binary targets
#'   `log_loss` and `auc`, computed on the rows where the target is observed (g0: control
#'   rows, g1: treated rows; g_<arm>: that arm's rows), and `rounds`, the boosting rounds kept per fold by early
#'   stopping ([lrn_boost()]; on the pooled rows their mean; NA for other learners); and
#'   `stacking`: the weights of each [lrn_stack()] nuisance (columns `nuisance`, `learner`,
#'   `rep`, `weight`), empty without stacks.
#' @family methods
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(400, seed = 2), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")), seed = 1)
#' str(nuisances(fit)$m)
#' nuisances(fit)$quality
#' @export
nuisances <- function(fit) {
  UseMethod("nuisances")
}

#' @export
nuisances.default <- function(fit) {
  fd_abort("argument", c("{.fn nuisances} needs a fit from {.fn dml_plr} or {.fn dml_irm}.",
                         x = "It got a {.cls {class(fit)}}."))
}

#' @export
nuisances.fastdml_fit <- function(fit) {
  c(fit$nuisances, list(quality = fit$quality, stacking = fit$stacking))
}
