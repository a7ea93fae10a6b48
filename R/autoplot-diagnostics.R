# Plots of the design diagnostics: propensity overlap per contrast and the love plot of
# covariate balance.

#' Plot overlap and balance diagnostics
#'
#' * `autoplot(<fastdml_overlap>)`: densities of the pair score s = m_k / (m_k + m_0) (raw,
#'   untrimmed propensities; for a binary fit the propensity m itself) of the arm-k units and
#'   of the controls, one panel per contrast, with dashed lines at the trimming bounds `trim`
#'   and `1 - trim` (where the propensities are clipped in the scores). Mass near 0 or 1 in one
#'   arm only shows a lack of overlap.
#' * `autoplot(<fastdml_balance>)`: love plot of the absolute standardised mean difference of
#'   every covariate before (unweighted) and after inverse propensity weighting, one panel per
#'   contrast, covariates ordered by their largest unweighted SMD, with dashed lines at
#'   `threshold` and `2 * threshold` (0.1 and 0.2 by default), the YELLOW and RED limits.
#'   Infinite SMDs are drawn at the panel's right edge.
#'
#' @param object A result of [diagnose_overlap()] or [diagnose_balance()].
#' @param ... Unused.
#' @return A ggplot object.
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' ggplot2::autoplot(diagnose_overlap(fit))
#' ggplot2::autoplot(diagnose_balance(fit))
#' @name autoplot-diagnostics
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_overlap <- function(object, ...) {
  df <- object$scores
  trim <- if (is.null(object$trim)) numeric(0) else c(object$trim, 1 - object$trim)
  binary <- length(object$arms) == 2L
  ggplot2::ggplot(df, ggplot2::aes(x = .data$score, fill = .data$arm, colour = .data$arm)) +
    ggplot2::geom_density(alpha = 0.35, adjust = 0.8) +
    ggplot2::geom_vline(xintercept = trim, linetype = "dashed", colour = "grey30") +
    ggplot2::facet_wrap(~comparison, scales = "free_y",
                        labeller = ggplot2::labeller(comparison = function(x) {
                          sprintf("%s vs %s", x, object$arms[1L])
                        })) +
    ggplot2::coord_cartesian(xlim = c(0, 1)) +
    ggplot2::labs(x = if (binary) "cross-fitted propensity m (raw)" else
                    "pair score m_k / (m_k + m_control) (raw propensities)",
                  y = "density", fill = "arm", colour = "arm",
                  title = "Overlap of the propensity scores",
                  subtitle = sprintf("overall %s; dashed: trimming bounds %g and %g",
                                     object$overall_flag, object$trim, 1 - object$trim)) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}

#' @rdname autoplot-diagnostics
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_balance <- function(object, ...) {
  tab <- object$table
  covariates <- unique(tab$covariate)
  raw_max <- vapply(covariates, function(v) max(tab$smd_raw[tab$covariate == v], -Inf, na.rm = TRUE),
                    numeric(1))
  levels <- covariates[order(raw_max)]
  df <- data.frame(
    comparison = factor(rep(tab$comparison, 2L), levels = object$arms[-1L]),
    covariate = factor(rep(tab$covariate, 2L), levels = levels),
    smd = c(tab$smd_raw, tab$smd_weighted),
    sample = factor(rep(c("unweighted", "weighted"), each = nrow(tab)),
                    levels = c("unweighted", "weighted")))
  segments <- data.frame(comparison = factor(tab$comparison, levels = object$arms[-1L]),
                         covariate = factor(tab$covariate, levels = levels),
                         from = tab$smd_raw, to = tab$smd_weighted)
  tau <- object$threshold
  ggplot2::ggplot(df, ggplot2::aes(x = .data$smd, y = .data$covariate)) +
    ggplot2::geom_vline(xintercept = c(tau, 2 * tau), linetype = "dashed", colour = "grey45") +
    ggplot2::geom_vline(xintercept = 0, colour = "grey70") +
    ggplot2::geom_segment(data = segments, ggplot2::aes(x = .data$from, xend = .data$to,
                                                        y = .data$covariate, yend = .data$covariate),
                          colour = "grey70", na.rm = TRUE) +
    ggplot2::geom_point(ggplot2::aes(colour = .data$sample, shape = .data$sample), size = 2,
                        na.rm = TRUE) +
    ggplot2::scale_colour_manual(values = c(unweighted = "grey50", weighted = "black"), name = NULL) +
    ggplot2::scale_shape_manual(values = c(unweighted = 1, weighted = 16), name = NULL) +
    ggplot2::facet_wrap(~comparison, labeller = ggplot2::labeller(comparison = function(x) {
      sprintf("%s vs %s", x, object$arms[1L])
    })) +
    ggplot2::labs(x = "absolute standardised mean difference", y = NULL,
                  title = "Covariate balance (love plot)",
                  subtitle = sprintf("%s inverse-propensity weights; overall %s; dashed: %g and %g",
                                     object$estimand, object$overall_flag, tau, 2 * tau)) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}
