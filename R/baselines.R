#' Baseline estimators for teaching and comparison
#'
#' Simple estimators that the DML fits are compared with (`vignette("getting-started")`):
#' * `diff_in_means()`: mean outcome of the treated minus the control's, Welch standard error
#'   and normal confidence interval: the A/B-test read-out, confounded in observational data.
#' * `ipw()`: inverse-probability weighting with a logistic propensity model fitted on all rows
#'   (standardised covariates) and Hajek-normalised weights; propensities are clipped to
#'   `[trim, 1 - trim]`. The standard error treats the propensities as known.
#' * `t_learner()`: two outcome models (one per arm), the average of the predicted uplift
#'   mu1(x) - mu0(x) over all rows. Standard error by a nonparametric bootstrap of `n_boot`
#'   resamples (`NA` when `n_boot = 0`).
#'
#' @param spec A [causal_data()] object (or a table, with the arguments of [causal_data()] in
#'   `...`). The treatment must be binary.
#' @param ... Passed to [causal_data()] when `spec` is a table.
#' @param level Confidence level.
#' @param learner For `ipw()` the propensity classifier, for `t_learner()` the outcome
#'   learner (built-in or [lrn_custom()]).
#' @param trim Clipping of the propensities.
#' @param n_boot Bootstrap resamples for the T-learner's standard error.
#' @param seed Optional seed for the bootstrap.
#' @param num.threads Threads for built-in learners.
#' @return An object of class `fastdml_estimate` with `print`, `coef`, `confint`, `nobs`,
#'   `tidy` and `glance` methods (same columns as for DML fits).
#' @family baselines
#' @examples
#' df <- sim_lesson(600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' diff_in_means(spec)
#' ipw(spec)
#' t_learner(spec)
#' @export
diff_in_means <- function(spec, ..., level = 0.95) {
  spec <- as_binary_spec(spec, ...)
  y1 <- spec$y[spec$d == 1]
  y0 <- spec$y[spec$d == 0]
  estimate <- mean(y1) - mean(y0)
  se <- sqrt(stats::var(y1) / length(y1) + stats::var(y0) / length(y0))
  new_estimate("difference in means (Welch SE)", spec, estimate, se, level)
}

#' @rdname diff_in_means
#' @export
ipw <- function(spec, ..., learner = lrn_logistic(), trim = 0.01, level = 0.95,
                num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  if (!is.numeric(trim) || length(trim) != 1L || !(trim > 0 && trim < 0.5)) {
    cli::cli_abort("{.arg trim} must be a number in (0, 0.5), not {.val {trim}}.")
  }
  e <- fit_predict_full(spec, learner, spec$d, spec$treatment, NULL, resolve_num_threads(num.threads))
  e <- pmin(pmax(e, trim), 1 - trim)
  d <- spec$d
  y <- spec$y
  w1 <- d / e
  w0 <- (1 - d) / (1 - e)
  mu1 <- sum(w1 * y) / sum(w1)
  mu0 <- sum(w0 * y) / sum(w0)
  influence <- w1 * (y - mu1) / mean(w1) - w0 * (y - mu0) / mean(w0)
  out <- new_estimate("IPW (Hajek, logistic propensity)", spec, mu1 - mu0,
                      sqrt(mean(influence^2) / spec$n), level)
  out$propensity <- e
  out
}

#' @rdname diff_in_means
#' @export
t_learner <- function(spec, ..., learner = lrn_linear(), n_boot = 0L, level = 0.95,
                      seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  check_count(n_boot, "n_boot", 0L)
  threads <- resolve_num_threads(num.threads)
  uplift <- function(s) {
    mu1 <- fit_predict_full(s, learner, s$y, s$outcome, s$d == 1, threads)
    mu0 <- fit_predict_full(s, learner, s$y, s$outcome, s$d == 0, threads)
    mu1 - mu0
  }
  tau <- uplift(spec)
  se <- NA_real_
  if (n_boot > 0) {
    boot <- with_seed(seed, vapply(seq_len(n_boot), function(b) {
      mean(uplift(resample_spec(spec, sample.int(spec$n, replace = TRUE))))
    }, numeric(1)))
    se <- stats::sd(boot)
  }
  out <- new_estimate(sprintf("T-learner (%s), average uplift", learner$label), spec, mean(tau),
                      se, level)
  out$uplift <- tau
  out
}

as_binary_spec <- function(spec, ...) {
  if (!is_causal_data(spec)) spec <- causal_data(spec, ...)
  if (spec$treatment_type != "binary") {
    cli::cli_abort("The treatment {.field {spec$treatment}} must be binary for this estimator.")
  }
  spec
}

resample_spec <- function(spec, rows) {
  spec$X <- spec$X[rows, , drop = FALSE]
  spec$y <- spec$y[rows]
  spec$d <- spec$d[rows]
  spec$n <- length(rows)
  spec
}

# Fit a learner on the rows of `mask` (all rows when NULL) and predict every row, no
# cross-fitting (built-in learners in C++, custom learners in R).
fit_predict_full <- function(spec, learner, target, target_name, mask, num_threads) {
  check_classifier_target(nuisance_def(learner, target, target_name), "full-sample fit")
  if (learner$builtin) {
    group <- list(learner = list(kind = learner$kind, ridge = learner$ridge),
                  targets = list(as.double(target)),
                  mask = if (is.null(mask)) NULL else as.integer(mask))
    return(drop(.fastdml_fit_predict(spec$X, group, num_threads)[[1L]]))
  }
  train <- if (is.null(mask)) seq_len(spec$n) else which(mask)
  model <- learner$fit(spec$X[train, , drop = FALSE], target[train])
  as.double(learner$predict(model, spec$X))
}

new_estimate <- function(method, spec, estimate, se, level) {
  check_level(level)
  structure(list(method = method, coefficients = stats::setNames(estimate, spec$treatment),
                 se = se, n = spec$n, level = level), class = "fastdml_estimate")
}

#' @export
print.fastdml_estimate <- function(x, digits = 4, ...) {
  cat("<fastdml> ", x$method, "; n = ", x$n, "\n", sep = "")
  tab <- estimate_table(x, x$level)
  rownames(tab) <- tab$term
  print(format(tab[, -1], digits = digits), quote = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_estimate <- function(x, conf.int = TRUE, conf.level = 0.95, ...) {
  tab <- estimate_table(x, conf.level)
  tab$method <- x$method
  if (!conf.int) tab <- tab[, setdiff(names(tab), c("conf.low", "conf.high"))]
  tab
}

#' @export
glance.fastdml_estimate <- function(x, ...) data.frame(nobs = x$n, method = x$method)

#' @export
confint.fastdml_estimate <- function(object, parm, level = 0.95, ...) {
  confint.fastdml_fit(object, parm, level = level)
}

#' @export
vcov.fastdml_estimate <- function(object, ...) vcov.fastdml_fit(object)

#' @export
nobs.fastdml_estimate <- function(object, ...) object$n
