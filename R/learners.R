#' Nuisance learners
#'
#' Learners fit the nuisance functions (outcome and treatment regressions) fold by fold.
#' `lrn_linear()` and `lrn_logistic()` run entirely in C++: the cross-fit of all folds,
#' repetitions and nuisances is one threaded call. `lrn_linear()` is least squares (ridge when
#' `ridge > 0`) with an intercept; per-fold solves reuse one pass of Gram matrices.
#' `lrn_logistic()` is logistic regression by Newton/IRLS, warm-started from the full-sample
#' fit; it predicts probabilities and needs a 0/1 target. Covariates are standardised
#' internally (mean 0, sd 1 over the whole sample), so `ridge` penalises
#' `ridge * sum(beta^2)` on the standardised scale and the intercept is never penalised; with
#' `ridge = 0` the predictions equal those of `lm()` / `glm(family = binomial)`.
#'
#' `lrn_custom(fit, predict)` wraps any R model: `fit(x, y)` gets the training covariate matrix
#' (original scale, with column names) and target and returns a model; `predict(model, x)`
#' returns one prediction per row of `x`. It runs fold by fold from R with the same folds.
#' Its output is checked: one finite number per row (for a 0/1 target, such as a propensity,
#' it may instead return a column per class named `"0"`/`"1"`); an error inside `fit` or `predict`
#' comes back as a `fastdml_error_learner` naming the nuisance, fold and repetition.
#'
#' With many covariates (p + 1 above half the training rows of a fold) an unpenalised
#' `lrn_linear()` or `lrn_logistic()` learner is switched to ridge with penalty p and a `fastdml_warning_high_dimensional`; when
#' p >= n the fit runs on the principal axes of the standardised covariates, which gives the
#' same ridge predictions with n x n instead of p x p solves.
#'
#' @param ridge Non-negative ridge penalty on the standardised coefficients.
#' @param fit,predict Functions, see Details.
#' @param name A short label shown in printed results.
#' @return A `fastdml_learner` object.
#' @family learners
#' @examples
#' lrn_linear()
#' lrn_logistic(ridge = 0.1)
#' forest_like <- lrn_custom(
#'   fit = function(x, y) stats::lm.fit(cbind(1, x), y)$coefficients,
#'   predict = function(model, x) drop(cbind(1, x) %*% model),
#'   name = "lm.fit")
#' @export
lrn_linear <- function(ridge = 0) {
  check_ridge(ridge)
  new_learner("linear", ridge = ridge, label = if (ridge > 0) sprintf("ridge(%g)", ridge) else "linear")
}

#' @rdname lrn_linear
#' @export
lrn_logistic <- function(ridge = 0) {
  check_ridge(ridge)
  new_learner("logistic", ridge = ridge,
              label = if (ridge > 0) sprintf("logistic ridge(%g)", ridge) else "logistic",
              classifier = TRUE)
}

#' @rdname lrn_linear
#' @export
lrn_custom <- function(fit, predict, name = "custom") {
  if (missing(fit) || missing(predict) || !is.function(fit) || !is.function(predict)) {
    fd_abort("argument", "{.arg fit} and {.arg predict} must be functions: {.code fit(x, y)} and {.code predict(model, x)}.")
  }
  check_string(name, "name")
  new_learner("custom", ridge = NA_real_, label = name, fit = fit, predict = predict)
}

new_learner <- function(kind, ridge, label, classifier = FALSE, fit = NULL, predict = NULL) {
  structure(list(kind = kind, ridge = as.double(ridge), label = label, classifier = classifier,
                 fit = fit, predict = predict, builtin = kind %in% c("linear", "logistic", "boost")),
            class = "fastdml_learner")
}

check_ridge <- function(ridge) {
  if (!is.numeric(ridge) || length(ridge) != 1L || !is.finite(ridge) || ridge < 0) {
    fd_abort("argument", "{.arg ridge} must be a single non-negative number, not {.val {format_value(ridge)}}.")
  }
}

check_learner <- function(learner, arg) {
  if (!inherits(learner, "fastdml_learner")) {
    fd_abort("argument", c("{.arg {arg}} must be a learner such as {.fn lrn_boost}, {.fn lrn_linear}, {.fn lrn_logistic}, {.fn lrn_ranger} or {.fn lrn_custom}.",
                     x = "It is a {.cls {class(learner)}}."))
  }
  invisible(learner)
}

#' @export
print.fastdml_learner <- function(x, ...) {
  where <- if (x$builtin) "C++, threaded" else "R, fold by fold"
  cat(cli::format_inline("{.cls fastdml_learner} {x$label} ({where})"), "\n", sep = "")
  invisible(x)
}
