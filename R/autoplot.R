#' Plot a DML fit
#'
#' * `"estimates"`: the estimate of each repetition and the aggregated estimate with their
#'   confidence intervals.
#' * `"overlap"`: the distribution of the cross-fitted propensity scores (first repetition,
#'   before trimming) by treatment arm, with the trimming bounds: positivity problems show as
#'   mass near 0 or 1 in one arm only.
#' * `"balance"`: love plot of the covariates' standardised mean differences, raw and
#'   inverse-propensity weighted, for a binary IRM fit (the plot of [diagnose_balance()]).
#' * `"nuisances"`: out-of-fold quality of each nuisance (the table `nuisances(fit)$quality`),
#'   one panel per nuisance titled with its learner: R² for a continuous target, AUC for a 0/1
#'   target (such as the propensity), per fold and repetition, with the value on all folds
#'   pooled marked (black diamond, dashed line: its mean over repetitions). External nuisances
#'   given without folds show the pooled value only. Works for every learner.
#' * `"calibration"`: propensity calibration, for a binary treatment ([dml_irm()], or
#'   [dml_plr()] with a 0/1 treatment): the out-of-fold propensities of the first repetition
#'   (before trimming) are binned into deciles; each bin shows its mean predicted propensity
#'   against the observed share of treated rows (unweighted), with exact (Clopper-Pearson)
#'   binomial intervals at `level`, and the 45° line of perfect calibration.
#'
#' @param object A fit from [dml_plr()] or [dml_irm()].
#' @param type One of `"estimates"` (default), `"overlap"`, `"balance"`, `"nuisances"` or
#'   `"calibration"`; `"overlap"` and `"calibration"` need a binary treatment and `"balance"`
#'   an IRM fit (otherwise a `fastdml_error_argument`).
#' @param level Confidence level of the intervals of `"estimates"` and of the binomial
#'   intervals of `"calibration"`.
#' @param ... Unused.
#' @return A ggplot object.
#' @family methods
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(400, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")), n_rep = 3, seed = 1)
#' ggplot2::autoplot(fit, type = "overlap")
#' ggplot2::autoplot(fit, type = "nuisances")
#' ggplot2::autoplot(fit, type = "calibration")
#' @importFrom ggplot2 .data
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_fit <- function(object,
                                 type = c("estimates", "overlap", "balance", "nuisances",
                                          "calibration"),
                                 level = 0.95, ...) {
  type <- arg_match(type, c("estimates", "overlap", "balance", "nuisances", "calibration"), "type")
  switch(type,
         estimates = plot_estimates(object, level),
         overlap = plot_overlap(object),
         balance = ggplot2::autoplot(diagnose_balance(object)),
         nuisances = plot_nuisance_quality(object),
         calibration = plot_propensity_calibration(object, level))
}

plot_estimates <- function(fit, level) {
  check_level(level)
  z <- stats::qnorm(1 - (1 - level) / 2)
  reps <- data.frame(label = sprintf("repetition %d", seq_len(fit$n_rep)),
                     estimate = fit$theta_rep, se = fit$se_rep, kind = "repetition")
  all <- data.frame(label = "aggregated (median)", estimate = unname(fit$coefficients),
                    se = fit$se, kind = "aggregated")
  df <- rbind(reps, all)
  df$label <- factor(df$label, levels = rev(df$label))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$estimate, y = .data$label, colour = .data$kind)) +
    ggplot2::geom_vline(xintercept = 0, linetype = "dotted") +
    ggplot2::geom_pointrange(ggplot2::aes(xmin = .data$estimate - z * .data$se,
                                          xmax = .data$estimate + z * .data$se)) +
    ggplot2::scale_colour_manual(values = c(aggregated = "black", repetition = "grey55"),
                                 guide = "none") +
    ggplot2::labs(x = sprintf("%s of %s (%g%% CI)", fit$estimand, fit$spec$treatment, 100 * level),
                  y = NULL, title = sprintf("%s estimates by repetition", fit$model),
                  subtitle = sprintf("outcome %s; n = %d", fit$spec$outcome, fit$n)) +
    ggplot2::theme(plot.title.position = "plot")
}

plot_overlap <- function(fit) {
  spec <- fit$spec
  if (spec$treatment_type != "binary" || is.null(fit$nuisances$m)) {
    fd_abort("argument", "The overlap plot needs a binary treatment and its propensity {.field m}.")
  }
  df <- data.frame(propensity = fit$nuisances$m[, 1],
                   arm = factor(ifelse(spec$d == 1, spec$treatment_levels[2], spec$treatment_levels[1]),
                                levels = spec$treatment_levels))
  alpha <- if (!is.null(fit$trim)) fit$trim else if (isTRUE(fit$ci_dml$trim > 0)) fit$ci_dml$trim
  trim <- if (is.null(alpha)) numeric(0) else c(alpha, 1 - alpha)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$propensity, fill = .data$arm)) +
    ggplot2::geom_histogram(bins = 40, alpha = 0.6, position = "identity") +
    ggplot2::geom_vline(xintercept = trim, linetype = "dashed") +
    ggplot2::coord_cartesian(xlim = c(0, 1)) +
    ggplot2::labs(x = "cross-fitted propensity score", y = "rows", fill = spec$treatment,
                  title = "Overlap of the propensity scores")
}

# Out-of-fold quality per nuisance from fit$quality: R^2 for a continuous target, AUC for a 0/1
# target (a nuisance whose quality rows carry an AUC), per fold and repetition (grey) and on
# all folds pooled (black diamonds; dashed line: the pooled value averaged over repetitions).
# External nuisances without folds only have pooled rows. Facets are titled
# "<nuisance>: <learner>" and the metric.
plot_nuisance_quality <- function(fit) {
  q <- as.data.frame(fit$quality)
  nuisance_names <- unique(q$nuisance)
  binary <- vapply(nuisance_names, function(name) any(!is.na(q$auc[q$nuisance == name])),
                   logical(1))
  metric <- ifelse(binary, "AUC", "R\u00b2")
  learner <- q$learner[match(nuisance_names, q$nuisance)]
  panels <- sprintf("%s: %s\nout-of-fold %s", nuisance_names, learner, metric)
  at <- match(q$nuisance, nuisance_names)
  n_folds <- if (all(is.na(q$fold))) 0L else max(q$fold, na.rm = TRUE)
  df <- data.frame(
    nuisance = q$nuisance, learner = q$learner, rep = factor(q$rep), fold = q$fold,
    metric = metric[at], value = ifelse(binary[at], q$auc, q$r2),
    panel = factor(panels[at], levels = panels),
    where = factor(ifelse(is.na(q$fold), "pooled", as.character(q$fold)),
                   levels = c(as.character(seq_len(n_folds)), "pooled")),
    kind = ifelse(is.na(q$fold), "pooled", "fold"))
  pooled <- df[df$kind == "pooled" & is.finite(df$value), ]
  reference <- data.frame(panel = factor(panels, levels = panels),
                          value = vapply(panels, function(p) mean(pooled$value[pooled$panel == p]),
                                         numeric(1)))
  reference <- reference[is.finite(reference$value), ]
  dodge <- ggplot2::position_dodge(width = if (fit$n_rep > 1L) 0.5 else 0)
  subtitle <- if (n_folds == 0L) {
    "external nuisances without folds: all rows pooled"
  } else {
    sprintf("per fold (%d folds x %d repetition%s, one point per repetition) and %s",
            n_folds, fit$n_rep, if (fit$n_rep > 1L) "s" else "", "on all folds pooled")
  }
  ggplot2::ggplot(df, ggplot2::aes(x = .data$where, y = .data$value, group = .data$rep)) +
    ggplot2::geom_hline(data = reference, ggplot2::aes(yintercept = .data$value),
                        linetype = "dashed", colour = "grey50") +
    ggplot2::geom_point(ggplot2::aes(colour = .data$kind, shape = .data$kind, size = .data$kind),
                        position = dodge, na.rm = TRUE) +
    ggplot2::scale_colour_manual(values = c(fold = "grey45", pooled = "black"), name = NULL) +
    ggplot2::scale_shape_manual(values = c(fold = 16, pooled = 18), name = NULL) +
    ggplot2::scale_size_manual(values = c(fold = 1.8, pooled = 3.2), name = NULL) +
    ggplot2::facet_wrap(~panel, scales = "free_y") +
    ggplot2::labs(x = "fold", y = "out-of-fold R\u00b2 or AUC (see panel)",
                  title = "Out-of-fold nuisance quality", subtitle = subtitle) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}

# Propensity calibration table: the out-of-fold propensities m of `repetition` (before
# trimming) binned at their deciles (`bins` quantile bins, stats::quantile type 7; bin k holds
# q[k-1] < m <= q[k], the first bin also m = q[0]; tied quantiles merge bins, empty bins are
# dropped), with per bin the rows, the mean predicted propensity, the observed (unweighted)
# share of treated rows and its exact Clopper-Pearson interval at `level`.
propensity_calibration <- function(fit, bins = 10L, repetition = 1L, level = 0.95) {
  spec <- fit$spec
  if (!identical(spec$treatment_type, "binary") || is.null(fit$nuisances$m)) {
    fd_abort("argument", c(
      "The calibration plot needs a binary treatment and its propensity {.field m}.",
      x = if (!identical(spec$treatment_type, "binary")) "Treatment {.field {spec$treatment}} is continuous.",
      i = "{.code type = \"nuisances\"} shows the out-of-fold R\u00b2 of its regression {.field m}."))
  }
  p <- fit$nuisances$m[, repetition]
  d <- spec$d
  breaks <- unique(stats::quantile(p, probs = seq(0, 1, length.out = bins + 1L), names = FALSE))
  bin <- if (length(breaks) < 2L) rep_len(1L, length(p)) else
    findInterval(p, breaks, left.open = TRUE, rightmost.closed = TRUE)
  counts <- tabulate(bin, nbins = max(1L, length(breaks) - 1L))
  keep <- which(counts > 0L)
  n <- counts[keep]
  treated <- vapply(keep, function(k) sum(d[bin == k]), numeric(1))
  alpha <- 1 - level
  data.table::data.table(
    bin = keep, n = n,
    predicted = vapply(keep, function(k) mean(p[bin == k]), numeric(1)),
    observed = treated / n,
    conf.low = ifelse(treated == 0, 0, stats::qbeta(alpha / 2, treated, n - treated + 1)),
    conf.high = ifelse(treated == n, 1, stats::qbeta(1 - alpha / 2, treated + 1, n - treated)))
}

plot_propensity_calibration <- function(fit, level) {
  check_level(level)
  tab <- propensity_calibration(fit, level = level)
  spec <- fit$spec
  learner <- fit$quality$learner[match("m", fit$quality$nuisance)]
  ggplot2::ggplot(tab, ggplot2::aes(x = .data$predicted, y = .data$observed)) +
    ggplot2::geom_abline(slope = 1, intercept = 0, linetype = "dashed", colour = "grey50") +
    ggplot2::geom_line(colour = "grey65") +
    ggplot2::geom_pointrange(ggplot2::aes(ymin = .data$conf.low, ymax = .data$conf.high)) +
    ggplot2::coord_equal(xlim = range(0, 1, tab$predicted), ylim = c(0, 1)) +
    ggplot2::labs(x = "mean out-of-fold propensity (decile bin)",
                  y = sprintf("observed share treated (%s = %s)", spec$treatment,
                              spec$treatment_levels[2]),
                  title = "Propensity calibration",
                  subtitle = sprintf("m: %s; deciles of repetition 1%s; exact binomial %g%% %s",
                                     learner, if (fit$n_rep > 1L) sprintf(" of %d", fit$n_rep) else "",
                                     100 * level, "intervals")) +
    ggplot2::theme(plot.title.position = "plot")
}
