# Plots of policy values and budget curves.

#' Plot policy values and budget curves
#'
#' * `autoplot(<fastdml_policy_value>)`: the net value (gain against treating no one) of each
#'   rule with its interval (bootstrap when drawn, else analytic), and the treated share.
#' * `autoplot(<fastdml_budget_curve>)`: value and net value against the budget share, with
#'   interval bands (bootstrap when drawn).
#'
#' @param object A result of [policy_value()] or [budget_curve()].
#' @param ... Unused.
#' @return A ggplot object.
#' @family policy
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' ggplot2::autoplot(policy_value(fit, list(young = df$age < 40, all = rep(TRUE, 800)), cost = 0.1))
#' @name autoplot-policy
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_policy_value <- function(object, ...) {
  tab <- interval_columns(object$table[object$table$term == "net value", ])
  tab <- merge(tab, object$rules, by = "rule", sort = FALSE)
  tab$label <- sprintf("%s (treats %.0f%%)", tab$rule, 100 * tab$treated_share)
  tab$label <- factor(tab$label, levels = rev(tab$label))
  ggplot2::ggplot(tab, ggplot2::aes(x = .data$estimate, y = .data$label)) +
    ggplot2::geom_vline(xintercept = 0, linetype = "dashed", colour = "grey40") +
    ggplot2::geom_pointrange(ggplot2::aes(xmin = .data$low, xmax = .data$high)) +
    ggplot2::labs(x = "net value per row (gain against treating no one, after costs)", y = NULL,
                  title = "Value of the targeting rules",
                  subtitle = sprintf("%g%% %s intervals", 100 * object$level,
                                     if (object$n_boot > 0) "multiplier-bootstrap" else "normal")) +
    ggplot2::theme(plot.title.position = "plot")
}

#' @rdname autoplot-policy
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_budget_curve <- function(object, ...) {
  tab <- interval_columns(object$table)
  ggplot2::ggplot(tab, ggplot2::aes(x = .data$share, y = .data$estimate, colour = .data$term, fill = .data$term)) +
    ggplot2::geom_hline(yintercept = 0, linetype = "dashed", colour = "grey40") +
    ggplot2::geom_ribbon(ggplot2::aes(ymin = .data$low, ymax = .data$high), alpha = 0.2, colour = NA) +
    ggplot2::geom_line() + ggplot2::geom_point() +
    ggplot2::scale_x_continuous(labels = function(x) sprintf("%.0f%%", 100 * x)) +
    ggplot2::labs(x = "budget: share treated (highest predicted effects first)",
                  y = "gain per row against treating no one", colour = NULL, fill = NULL,
                  title = "Budget curve",
                  subtitle = sprintf("cost %g per treated row%s", object$cost,
                                     if (is.null(object$support)) "" else
                                       sprintf("; only propensities in [%g, %g] treated", object$support[1L], object$support[2L]))) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}

# The interval to draw: bootstrap percentiles when present, else the normal interval.
interval_columns <- function(tab) {
  boot <- !is.null(tab$boot.low)
  tab$low <- if (boot) tab$boot.low else tab$conf.low
  tab$high <- if (boot) tab$boot.high else tab$conf.high
  tab
}

#' @rdname autoplot-policy
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_policy_tree <- function(object, ...) {
  tree <- object$model$tree
  n_nodes <- length(tree$var)
  x <- y <- numeric(n_nodes)
  leaves <- 0
  place <- function(node, depth) {
    i <- node + 1L
    y[i] <<- -depth
    if (tree$var[i] < 0L) {
      leaves <<- leaves + 1
      x[i] <<- leaves
    } else {
      x[i] <<- (place(tree$left[i], depth + 1L) + place(tree$right[i], depth + 1L)) / 2
    }
    x[i]
  }
  place(0L, 0L)
  split <- tree$var >= 0L
  label <- ifelse(split,
                  sprintf("%s <= %s\n%d rows", object$columns[pmax(tree$var, 0L) + 1L],
                          format(signif(tree$threshold, 3)), tree$size),
                  sprintf("%s\n%d rows", object$arms[pmax(tree$action, 1L)], tree$size))
  nodes <- data.frame(x = x, y = y, label = label,
                      what = ifelse(split, "split", object$arms[pmax(tree$action, 1L)]))
  parents <- which(split)
  edges <- data.frame(x = rep(x[parents], 2L), y = rep(y[parents], 2L),
                      xend = x[c(tree$left[parents], tree$right[parents]) + 1L],
                      yend = y[c(tree$left[parents], tree$right[parents]) + 1L],
                      side = rep(c("yes", "no"), each = length(parents)))
  ggplot2::ggplot() +
    ggplot2::geom_segment(data = edges, ggplot2::aes(x = .data$x, y = .data$y, xend = .data$xend, yend = .data$yend),
                          colour = "grey50") +
    ggplot2::geom_text(data = edges, ggplot2::aes(x = (.data$x + .data$xend) / 2, y = (.data$y + .data$yend) / 2,
                                                  label = .data$side), size = 3, colour = "grey30", vjust = -0.4) +
    ggplot2::geom_label(data = nodes, ggplot2::aes(x = .data$x, y = .data$y, label = .data$label, fill = .data$what),
                        size = 3.2, alpha = 0.6) +
    ggplot2::scale_y_continuous(expand = ggplot2::expansion(add = 0.4)) +
    ggplot2::scale_x_continuous(expand = ggplot2::expansion(add = 0.6)) +
    ggplot2::labs(title = sprintf("Policy tree (depth %d)", object$depth), fill = NULL,
                  subtitle = "left branch: condition holds") +
    ggplot2::theme_void() +
    ggplot2::theme(legend.position = "bottom", plot.title.position = "plot")
}
