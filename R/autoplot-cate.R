# Plots of heterogeneous effects and their evaluation: calibration by quantile group, the TOC
# curve, group effects, CATE distributions and estimated-vs-true comparisons.

#' Plot CATE estimates and their evaluation
#'
#' * `autoplot(<fastdml_calibration>)`: per quantile group of the estimates, the group average
#'   effect from the pseudo-outcomes with its interval next to the mean estimate (and the mean
#'   true effect when the calibration was given `truth`); well-calibrated estimates line up.
#' * `autoplot(<fastdml_rate>)`: the TOC curve (mean effect of the top q share minus the
#'   average effect) with pointwise half-sample bootstrap intervals.
#' * `autoplot(<fastdml_gate>)`: group effects with intervals (bootstrap when drawn), one panel
#'   per segmentation and contrast, small groups in grey, true group means as red crosses when
#'   `gate()` was given `truth`.
#' * `autoplot(<fastdml_cate>)`: histogram of the estimates (`type = "histogram"`, with the
#'   share of unit intervals excluding 0 when variances are available) or, for
#'   [cate_clusters()], the explained variance of the principal components (`type = "pca"`).
#' * `autoplot(<fastdml_cate_accuracy>)`: estimated against true effects per estimator
#'   (`type = "scatter"`, with the 45-degree line) or the heatmap of the bias per segment and
#'   estimator (`type = "segments"`).
#'
#' @param object A result of [calibration()], [rate()], [gate()], a CATE estimator or
#'   [cate_accuracy()].
#' @param type Which plot (see Details).
#' @param ... Unused.
#' @return A ggplot object.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' dr <- cate_dr(fit, learner = lrn_linear())
#' ggplot2::autoplot(calibration(dr, fit, n_groups = 4))
#' ggplot2::autoplot(rate(dr, fit, n_boot = 20, seed = 1))
#' @name autoplot-cate
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_calibration <- function(object, ...) {
  g <- object$groups
  points <- data.frame(group = g$group, value = g$mean_prediction, what = "mean estimate")
  if (!is.null(g$mean_truth)) points <- rbind(points, data.frame(group = g$group, value = g$mean_truth, what = "mean true effect"))
  ggplot2::ggplot(g, ggplot2::aes(x = .data$group)) +
    ggplot2::geom_pointrange(ggplot2::aes(y = .data$estimate, ymin = .data$conf.low, ymax = .data$conf.high,
                                          colour = "group effect (DR scores)")) +
    ggplot2::geom_point(data = points, ggplot2::aes(y = .data$value, colour = .data$what), shape = 4, size = 3) +
    ggplot2::geom_line(data = points, ggplot2::aes(y = .data$value, colour = .data$what, group = .data$what)) +
    ggplot2::scale_x_continuous(breaks = g$group) +
    ggplot2::labs(x = "quantile group of the estimates (1 = lowest)", y = "effect", colour = NULL,
                  title = "Calibration of the CATE estimates",
                  subtitle = sprintf("BLP slope HET = %.2f (SE %.2f); 1 = well calibrated",
                                     object$test$estimate[2L], object$test$std.error[2L])) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}

#' @rdname autoplot-cate
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_rate <- function(object, ...) {
  est <- object$estimates
  ggplot2::ggplot(object$toc, ggplot2::aes(x = .data$q, y = .data$toc)) +
    ggplot2::geom_hline(yintercept = 0, linetype = "dashed", colour = "grey40") +
    (if (object$n_boot > 0) ggplot2::geom_ribbon(ggplot2::aes(ymin = .data$conf.low, ymax = .data$conf.high),
                                                 fill = "steelblue", alpha = 0.25)) +
    ggplot2::geom_line(colour = "steelblue4") +
    ggplot2::labs(x = "share treated q (highest estimates first)", y = "TOC(q): top-q effect minus ATE",
                  title = "Targeting operator characteristic",
                  subtitle = sprintf("AUTOC %.3g (SE %.2g), QINI %.3g (SE %.2g)", est$estimate[1L],
                                     est$std.error[1L], est$estimate[2L], est$std.error[2L])) +
    ggplot2::theme(plot.title.position = "plot")
}

#' @rdname autoplot-cate
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_gate <- function(object, ...) {
  tab <- interval_columns(object$table)
  tab$group <- factor(tab$group, levels = rev(unique(tab$group)))
  tab$panel <- if (length(unique(tab$contrast)) > 1L) paste(tab$segmentation, tab$contrast, sep = ": ") else tab$segmentation
  ggplot2::ggplot(tab, ggplot2::aes(x = .data$estimate, y = .data$group)) +
    ggplot2::geom_vline(xintercept = 0, linetype = "dashed", colour = "grey40") +
    ggplot2::geom_pointrange(ggplot2::aes(xmin = .data$low, xmax = .data$high, colour = .data$size_ok)) +
    (if (!is.null(tab$mean_truth)) ggplot2::geom_point(ggplot2::aes(x = .data$mean_truth), shape = 4, size = 3, colour = "firebrick")) +
    ggplot2::scale_colour_manual(values = c(`TRUE` = "black", `FALSE` = "grey60"), name = "size ok") +
    ggplot2::facet_wrap(~panel, scales = "free_y") +
    ggplot2::labs(x = "group average effect", y = NULL, title = "Group average treatment effects",
                  subtitle = sprintf("%g%% %s intervals%s", 100 * object$level,
                                     if (object$B > 0) "cluster-bootstrap" else object$vcov_type,
                                     if (object$clustered) ", by cluster" else "")) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}

#' @rdname autoplot-cate
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_cate <- function(object, type = c("histogram", "pca"), ...) {
  type <- arg_match(type, c("histogram", "pca"), "type")
  if (type == "pca") {
    if (is.null(object$clustering)) fd_abort("argument", "{.code type = \"pca\"} needs a {.fn cate_clusters} result.")
    variance <- object$clustering$explained_variance
    df <- data.frame(component = seq_along(variance), cumulative = cumsum(variance))
    return(ggplot2::ggplot(df, ggplot2::aes(x = .data$component, y = .data$cumulative)) +
             ggplot2::geom_line() + ggplot2::geom_point() +
             ggplot2::geom_vline(xintercept = object$clustering$n_pc, linetype = "dashed") +
             ggplot2::labs(x = "principal components", y = "cumulative share of variance",
                           title = "Explained variance of the effect modifiers",
                           subtitle = sprintf("dashed: the %d components kept", object$clustering$n_pc)))
  }
  subtitle <- sprintf("mean %.3g, sd %.3g", mean(object$estimates), stats::sd(object$estimates))
  variance <- if (!is.null(object$variance)) object$variance else if (!is.null(object$B)) {
    rowSums((object$B %*% object$vcov) * object$B)
  }
  if (!is.null(variance)) {
    subtitle <- sprintf("%s; %.1f%% of unit 95%% intervals exclude 0", subtitle,
                        100 * mean(abs(object$estimates) > stats::qnorm(0.975) * sqrt(variance)))
  }
  ggplot2::ggplot(data.frame(estimate = object$estimates), ggplot2::aes(x = .data$estimate)) +
    ggplot2::geom_histogram(bins = 40, fill = "steelblue", colour = "white") +
    ggplot2::geom_vline(xintercept = 0, linetype = "dashed") +
    ggplot2::labs(x = "estimated CATE", y = "rows", title = object$method, subtitle = subtitle) +
    ggplot2::theme(plot.title.position = "plot")
}

#' @rdname autoplot-cate
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_cate_accuracy <- function(object, type = c("scatter", "segments"), ...) {
  type <- arg_match(type, c("scatter", "segments"), "type")
  if (type == "segments") {
    bias <- attr(object, "segments")
    if (is.null(bias)) fd_abort("argument", "{.code type = \"segments\"} needs {.fn cate_accuracy} with {.arg segments}.")
    return(ggplot2::ggplot(bias, ggplot2::aes(x = .data$estimator, y = .data$segment, fill = .data$bias)) +
             ggplot2::geom_tile(colour = "white") +
             ggplot2::geom_text(ggplot2::aes(label = sprintf("%+.3f", .data$bias)), size = 3.2) +
             ggplot2::scale_fill_gradient2(low = "#b2182b", mid = "white", high = "#2166ac") +
             ggplot2::labs(x = NULL, y = NULL, fill = "bias", title = "Bias by segment",
                           subtitle = "mean estimated minus mean true effect") +
             ggplot2::theme(plot.title.position = "plot"))
  }
  rows <- attr(object, "rows")
  rows$estimator <- factor(rows$estimator, levels = object$estimator)
  labels <- stats::setNames(sprintf("%s: RMSE %.3f, cor %.3f", object$estimator, object$rmse, object$correlation),
                            object$estimator)
  ggplot2::ggplot(rows, ggplot2::aes(x = .data$truth, y = .data$estimate)) +
    ggplot2::geom_point(alpha = 0.25, size = 0.8, colour = "steelblue4") +
    ggplot2::geom_abline(slope = 1, intercept = 0, linetype = "dashed") +
    ggplot2::facet_wrap(~estimator, labeller = ggplot2::as_labeller(labels)) +
    ggplot2::labs(x = "true CATE", y = "estimated CATE", title = "Estimated against true effects") +
    ggplot2::theme(plot.title.position = "plot")
}
