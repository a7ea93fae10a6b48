#' G-computation with a cluster bootstrap
#'
#' The plug-in average effect mean(m1(X) - m0(X)) from outcome models fitted on all rows:
#' one model of the outcome on the covariates and the treatment (`outcome_style =
#' "s_learner"`, as `specs/recsys-aipw.md` step 5) or one model per arm (`"t_learner"`).
#' Intervals come from the cluster bootstrap with the outcome models held fixed: clusters (or
#' rows) are resampled and the mean contrast recomputed, in C++ with draws from R's RNG (see
#' [bootstrap_cluster()]); they ignore the variability of fitting the models, which is why the
#' doubly robust [dml_irm()] is the estimator to report.
#'
#' @inheritParams diff_in_means
#' @param learner The outcome learner.
#' @param outcome_style `"s_learner"` or `"t_learner"`.
#' @param B Bootstrap draws (0: no interval).
#' @param seed Seed of the bootstrap.
#' @return A `fastdml_estimate` (see [diff_in_means()]) with `$uplift` per row and, with
#'   `B > 0`, bootstrap columns `boot.se`, `boot.low`, `boot.high` in `tidy()`.
#' @family baselines
#' @examples
#' df <- sim_lesson(600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' g_computation(spec, learner = lrn_linear(), B = 200, seed = 1)
#' @export
g_computation <- function(spec, ..., learner = lrn_boost(), outcome_style = c("s_learner", "t_learner"),
                          B = 0L, level = 0.95, seed = NULL,
                          num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  outcome_style <- arg_match(outcome_style, c("s_learner", "t_learner"), "outcome_style")
  check_count(B, "B", 0L)
  check_level(level)
  threads <- resolve_num_threads(num.threads)
  uplift <- if (outcome_style == "s_learner") {
    s_learner_uplift(spec, learner, threads, interactions = FALSE)
  } else {
    mu <- arm_predictions(spec, learner, threads)
    mu$mu1 - mu$mu0
  }
  w <- unit_weights(spec$weights, spec$n)
  estimate <- sum(w * uplift) / spec$n
  boot <- if (B > 0L) mean_bootstrap(w * uplift, w, spec$cluster, B, seed, level)
  out <- new_estimate(sprintf("g-computation (%s %s)%s", sub("_", "-", outcome_style), learner$label,
                              if (B > 0L) sprintf("; %s bootstrap, models fixed", bootstrap_unit(spec)) else ""),
                      spec, estimate, if (is.null(boot)) NA_real_ else boot$boot.se, level)
  out$boot <- boot
  out$uplift <- uplift
  out
}

# Bootstrap of a ratio of sums sum(num) / sum(den) over resampled clusters (rows without):
# its SE and percentile interval as a one-row data frame.
mean_bootstrap <- function(num, den, cluster, B, seed, level) {
  draws <- cluster_bootstrap_draws(matrix(num), matrix(den), cluster, B, seed)
  bootstrap_columns(draws[, 1L], level)
}

bootstrap_columns <- function(draws, level) {
  limits <- percentile_limits(draws, level)
  data.frame(boot.se = stats::sd(draws, na.rm = TRUE), boot.low = limits[1L], boot.high = limits[2L])
}

bootstrap_unit <- function(spec) if (is.null(spec$cluster)) "row" else "cluster"
