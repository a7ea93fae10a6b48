#' Plot a multi-arm DML fit
#'
#' * `"estimates"`: forest plot of the contrasts (each arm against control) with their
#'   confidence intervals, and the true effects when `truth` is given.
#' * `"overlap"`: propensity densities by arm for each contrast, with the trimming bound (the
#'   plot of [diagnose_overlap()]).
#' * `"balance"`: love plot of the covariates' standardised mean differences, raw and
#'   inverse-propensity weighted, per contrast (the plot of [diagnose_balance()]).
#' * `"nuisances"`: out-of-fold quality of each nuisance, as for [autoplot.fastdml_fit()].
#'
#' @param object A fit from [dml_multi_irm()].
#' @param type One of `"estimates"` (default), `"overlap"`, `"balance"`, `"nuisances"`.
#' @param level Confidence level of the intervals.
#' @param truth Optional true effects: a numeric vector named by arm (as
#'   `attr(sim_cx(), "true_ate")`, the control entry is ignored) or by term
#'   (`"<arm> vs <control>"`), or unnamed in the order of the contrasts.
#' @param ... Passed to the diagnostics (`threshold` of [diagnose_balance()]).
#' @return A ggplot object.
#' @family methods
#' @examples
#' d <- sim_cx(n = 3000, seed = 1)
#' spec <- causal_data(d, "y", "arm", c("age", "risk_latent", "prev_apps", "prev_util"),
#'                     control = "control")
#' fit <- dml_multi_irm(spec, learner_outcome = lrn_logistic(),
#'                      learner_treatment = lrn_logistic(), seed = 1)
#' ggplot2::autoplot(fit, truth = attr(d, "true_ate"))
#' @exportS3Method ggplot2::autoplot
autoplot.dml_multi_irm <- function(object, type = c("estimates", "overlap", "balance", "nuisances"),
                                   level = 0.95, truth = NULL, ...) {
  type <- arg_match(type, c("estimates", "overlap", "balance", "nuisances"), "type")
  switch(type,
         estimates = plot_contrasts(object, level, truth),
         overlap = ggplot2::autoplot(diagnose_overlap(object)),
         balance = ggplot2::autoplot(diagnose_balance(object, ...)),
         nuisances = plot_nuisance_quality(object))
}

plot_contrasts <- function(fit, level, truth) {
  check_level(level)
  tab <- estimate_table(fit, level)
  tab$term <- factor(tab$term, levels = rev(tab$term))
  plot <- ggplot2::ggplot(tab, ggplot2::aes(x = .data$estimate, y = .data$term)) +
    ggplot2::geom_vline(xintercept = 0, linetype = "dotted") +
    ggplot2::geom_pointrange(ggplot2::aes(xmin = .data$conf.low, xmax = .data$conf.high,
                                          colour = "estimate"))
  if (!is.null(truth)) {
    tab$truth <- match_truth(truth, fit)
    plot <- plot + ggplot2::geom_point(data = tab, ggplot2::aes(x = .data$truth, colour = "truth"),
                                       shape = 4, size = 3, stroke = 1.2)
  }
  plot +
    ggplot2::scale_colour_manual(values = c(estimate = "black", truth = "firebrick"), name = NULL) +
    ggplot2::labs(x = sprintf("%s on %s (%g%% CI)", fit$estimand, fit$spec$outcome, 100 * level),
                  y = NULL, title = sprintf("Effects of %s against %s", fit$spec$treatment,
                                            fit$spec$treatment_levels[1]),
                  subtitle = sprintf("n = %d; %d folds x %d repetition%s", fit$n, fit$n_folds,
                                     fit$n_rep, if (fit$n_rep > 1) "s" else "")) +
    ggplot2::theme(plot.title.position = "plot")
}

# True effects in the order of the contrasts, from a vector named by arm or by term.
match_truth <- function(truth, fit) {
  terms <- names(fit$coefficients)
  arms <- fit$spec$treatment_levels[-1L]
  if (!is.numeric(truth)) {
    fd_abort("argument", "{.arg truth} must be a numeric vector of true effects.")
  }
  if (is.null(names(truth))) {
    if (length(truth) != length(terms)) {
      fd_abort("argument", "An unnamed {.arg truth} needs one value per contrast ({length(terms)}).")
    }
    return(unname(truth))
  }
  at <- ifelse(terms %in% names(truth), match(terms, names(truth)), match(arms, names(truth)))
  if (anyNA(at)) {
    fd_abort("argument", c("{.arg truth} has no value for {.val {arms[is.na(at)]}}.",
                           i = "Name its entries by arm (as {.code attr(sim_cx(), \"true_ate\")}) or by term."))
  }
  unname(truth[at])
}
