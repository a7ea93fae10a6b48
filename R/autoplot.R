#' Plot a DML fit
#'
#' * `"estimates"`: the estimate of each repetition and the aggregated estimate with their
#'   confidence intervals.
#' * `"overlap"`: the distribution of the cross-fitted propensity scores (first repetition,
#'   before trimming) by treatment arm, with the trimming bounds: positivity problems show as
#'   mass near 0 or 1 in one arm only.
#' * `"nuisances"`: calibration of each nuisance: mean observed target against mean
#'   prediction in 20 quantile bins of the out-of-fold predictions (first repetition), on the
#'   rows where the target is observed.
#'
#' @param object A fit from [dml_plr()] or [dml_irm()].
#' @param type One of `"estimates"`, `"overlap"`, `"nuisances"`.
#' @param level Confidence level for `"estimates"`.
#' @param ... Unused.
#' @return A ggplot object.
#' @family methods
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(400, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")), n_rep = 3, seed = 1)
#' ggplot2::autoplot(fit, type = "overlap")
#' @importFrom ggplot2 .data
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_fit <- function(object, type = c("estimates", "overlap", "nuisances"),
                                 level = 0.95, ...) {
  type <- arg_match(type, c("estimates", "overlap", "nuisances"), "type")
  switch(type,
         estimates = plot_estimates(object, level),
         overlap = plot_overlap(object),
         nuisances = plot_nuisance_calibration(object))
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
  trim <- if (is.null(fit$trim)) numeric(0) else c(fit$trim, 1 - fit$trim)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$propensity, fill = .data$arm)) +
    ggplot2::geom_histogram(bins = 40, alpha = 0.6, position = "identity") +
    ggplot2::geom_vline(xintercept = trim, linetype = "dashed") +
    ggplot2::coord_cartesian(xlim = c(0, 1)) +
    ggplot2::labs(x = "cross-fitted propensity score", y = "rows", fill = spec$treatment,
                  title = "Overlap of the propensity scores")
}

plot_nuisance_calibration <- function(fit) {
  spec <- fit$spec
  targets <- list(l = spec$y, m = spec$d, g = spec$y, g0 = spec$y, g1 = spec$y)
  masks <- list(g0 = spec$d == 0, g1 = spec$d == 1)
  names_fit <- setdiff(names(fit$nuisances), "folds")
  df <- do.call(rbind, lapply(names_fit, function(name) {
    keep <- if (is.null(masks[[name]])) rep(TRUE, spec$n) else masks[[name]]
    pred <- fit$nuisances[[name]][keep, 1]
    obs <- targets[[name]][keep]
    if (name == "g") obs <- obs - unname(fit$coefficients) * spec$d[keep]
    bins <- cut(rank(pred, ties.method = "first"), breaks = min(20L, length(pred)), labels = FALSE)
    data.frame(nuisance = name, predicted = tapply(pred, bins, mean),
               observed = tapply(obs, bins, mean))
  }))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$predicted, y = .data$observed)) +
    ggplot2::geom_abline(slope = 1, intercept = 0, linetype = "dashed", colour = "grey50") +
    ggplot2::geom_point() +
    ggplot2::facet_wrap(~nuisance, scales = "free") +
    ggplot2::labs(x = "mean out-of-fold prediction (bin)", y = "mean observed target (bin)",
                  title = "Nuisance calibration")
}
