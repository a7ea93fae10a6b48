# Classed conditions (DESIGN.md §3): every error, warning and message of the package inherits
# fastdml_error / fastdml_warning / fastdml_message and a subclass naming what went wrong
# (fastdml_error_column, fastdml_warning_overlap, ...), so that reports can catch them with
# tryCatch() or withCallingHandlers(). Messages are cli bullets that name the argument or
# column and the fix. The call shown is the user-facing fastdml function that was called.

fd_abort <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_abort(message, ..., class = c(paste0("fastdml_error_", what), "fastdml_error"),
                 call = user_call(), .envir = .envir)
}

fd_warn <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_warn(message, ..., class = c(paste0("fastdml_warning_", what), "fastdml_warning"),
                .envir = .envir)
}

fd_inform <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_inform(message, ..., class = c(paste0("fastdml_message_", what), "fastdml_message"),
                  .envir = .envir)
}

# The outermost call on the stack to an exported fastdml function (NULL when there is none).
user_call <- function() {
  exported <- getNamespaceExports(topenv(environment()))
  for (call in sys.calls()) {
    fn <- call[[1L]]
    if (is.call(fn) && identical(fn[[1L]], as.name("::"))) fn <- fn[[3L]]
    if (is.name(fn) && as.character(fn) %in% exported) return(call)
  }
  NULL
}

# match.arg() with a classed error naming the argument and its choices.
arg_match <- function(value, choices, arg) {
  if (identical(value, choices)) return(choices[1L])
  if (!is.character(value) || length(value) != 1L || is.na(value) || !value %in% choices) {
    fd_abort("argument", c("{.arg {arg}} must be one of {.val {choices}}.",
                           x = "You supplied {.val {format_value(value)}}."))
  }
  value
}

# Scalar argument checks shared by every exported function.
check_flag <- function(x, arg) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    fd_abort("argument", "{.arg {arg}} must be TRUE or FALSE, not {.val {format_value(x)}}.")
  }
  invisible(x)
}

check_string <- function(x, arg) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    fd_abort("argument", "{.arg {arg}} must be a single non-empty string, not {.val {format_value(x)}}.")
  }
  invisible(x)
}

check_number <- function(x, arg, lower = -Inf, upper = Inf, open = TRUE, hint = NULL) {
  open <- rep_len(open, 2L)  # (lower end, upper end)
  inside <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) &&
    (if (open[1L]) x > lower else x >= lower) && (if (open[2L]) x < upper else x <= upper)
  if (!inside) {
    range <- sprintf("%s%s, %s%s", if (open[1L]) "(" else "[", lower, upper, if (open[2L]) ")" else "]")
    fd_abort("argument", c("{.arg {arg}} must be a single number in {range}, not {.val {format_value(x)}}.",
                           i = hint))
  }
  invisible(x)
}

# A short printable form of any argument value for error messages.
format_value <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.function(x)) return("a function")
  if (!is.atomic(x)) return(paste0("a ", class(x)[1L]))
  if (length(x) == 0L) return(paste0("an empty ", class(x)[1L]))
  shown <- paste(utils::head(format(x), 3L), collapse = ", ")
  if (length(x) > 3L) shown <- paste0(shown, ", ...")
  shown
}

# Calls into the C++ core: its invariants are validated in R first, so an error here is a bug
# in fastdml. It is re-raised as a classed internal error; interrupts pass through untouched.
core_call <- function(code) {
  tryCatch(code, error = function(e) {
    if (inherits(e, "fastdml_error")) stop(e)
    fd_abort("internal", c("Internal error in fastdml's C++ core.",
                           x = conditionMessage(e),
                           i = "This is a bug: please report it with the code that triggered it."))
  })
}

#' Conditions raised by fastdml
#'
#' Every error, warning and message of the package is a classed condition, so that a report can
#' catch exactly what it expects. Errors inherit `fastdml_error` and one of the classes below;
#' warnings inherit `fastdml_warning`, messages `fastdml_message`. Each message names the
#' argument or column at fault and the fix.
#'
#' Errors (`fastdml_error_<what>`):
#' * `data`: `data` is not a table, has no column names or fewer than 2 rows.
#' * `column`: an unknown, duplicated or doubly used column (e.g. the treatment is the outcome).
#' * `type`: a column of the wrong type (e.g. a character covariate that cannot be used).
#' * `non_finite`: missing, NaN or infinite values (the message counts them per column).
#' * `constant`: a constant outcome or covariate, a treatment with one level, one cluster.
#' * `treatment`: a treatment the estimator cannot use (several arms for a binary model, a
#'   continuous treatment for [dml_irm()] or [dml_multi_irm()]).
#' * `weights`: negative weights, or no positive weight in an arm.
#' * `length`: a vector argument whose length is not the number of rows.
#' * `formula`: a formula that cannot be read or evaluated.
#' * `argument`: an invalid scalar argument (`n_folds`, `trim`, `level`, `seed`, ...).
#' * `folds`: invalid user folds, folds disagreeing with `n_folds`/`n_rep`, or a training
#'   sample without one of the arms.
#' * `nuisances`: invalid external nuisances.
#' * `learner`: a learner that failed or returned unusable predictions (the message names the
#'   nuisance, fold and repetition; the learner's own error is the condition's `parent`), or a
#'   classifier asked for a non-binary target.
#' * `degenerate`: the treatment is a deterministic function of the covariates ([dml_plr()]).
#' * `dimension`: far too many covariates for the built-in learners.
#' * `package`: a suggested package that a learner wrapper needs is not installed (the
#'   message says how to install it).
#' * `sensitivity`: the Riesz representer's estimated second moment is not positive, so no
#'   bias bound exists ([sensitivity()]; extreme or miscalibrated propensities).
#' * `config`: a bad field of a [dml_config()] configuration, or one that does not fit the data
#'   (unknown learner, missing column, a regular expression matching nothing, cyclic include).
#' * `missing_package`: jsonlite is needed to read a JSON configuration.
#' * `overlap`: trimming leaves no rows, or a CI-PO propensity bin has too few controls.
#' * `propensity`: IPW weights are not finite (propensities of 0 or 1 without trimming).
#' * `backend`: a worker of a scale-out back end failed.
#' * `convergence`: the scale-out logistic fit did not converge.
#' * `internal`: a bug in fastdml (please report it).
#'
#' Warnings (`fastdml_warning_<what>`), raised at fit time:
#' * `overlap`: propensities near 0 or 1 where they matter for the estimand (every row for the
#'   ATE, the controls' high propensities for the ATT), a small effective sample size of the
#'   inverse-probability weights, or more than 5% of the propensities clipped.
#' * `separation`: out-of-fold probabilities of a classifier numerically 0 or 1.
#' * `nuisance_fit`: a nuisance predicts worse than a constant out of fold (R2 below -0.1 and
#'   below -6 (p + 1) / n, the expected cost of fitting noise).
#' * `weak_treatment`: less than 1% of the treatment's variance is left after partialling out
#'   the covariates ([dml_plr()]).
#' * `few_clusters`: fewer than 10 clusters (see `cluster_correction`).
#' * `high_dimensional`: an unpenalised built-in learner was switched to ridge because the
#'   covariates outnumber half the training rows.
#' * `constant_outcome`: fewer than 10 rows differ from the most common outcome value.
#' * `outcome_copy`: a covariate is (almost) a copy of the outcome (correlation above 0.9999).
#' * `propensity`: predicted propensities outside \[0, 1\] were clipped.
#' * `non_finite_result`: the estimate or its standard error is not finite.
#' * `folds`: user folds split clusters.
#' * `formula`: evaluating the formula warned (e.g. `log()` of a negative value).
#' * `collinear`: basis columns of [cate_blp()] that are linear combinations of the others were
#'   dropped.
#'
#' Messages (`fastdml_message_<what>`): `baseline` (the CI-PO baseline of [dml_run()] runs in
#' memory only), `binary_treatment` (a two-valued treatment was coded
#' 0/1, naming the control), `expanded` (a factor covariate was expanded into indicators),
#' `renamed` (an indicator was renamed to avoid a clash).
#'
#' @name fastdml_conditions
#' @family methods
#' @examples
#' df <- sim_lesson(300, seed = 1)
#' df$age[3] <- NA
#' err <- tryCatch(causal_data(df, "outcome", "treatment", c("age", "income")),
#'                 fastdml_error = function(e) e)
#' class(err)
#' conditionMessage(err)
NULL
