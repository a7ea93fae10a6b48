#' Baseline estimators for teaching and comparison
#'
#' Simple estimators that the DML fits are compared with (`vignette("getting-started")`).
#' All honour the observation weights and clusters of the [causal_data()] object.
#' * `diff_in_means()`: mean outcome of the treated minus the control's, Welch standard error
#'   and normal confidence interval: the A/B-test read-out, confounded in observational data.
#'   With weights: weighted means; with weights or clusters the standard error comes from the
#'   influence function, summed within clusters (equal to the cluster-robust CR0 sandwich of a
#'   weighted regression of the outcome on the treatment).
#' * `ipw()`: inverse-probability weighting with a propensity model fitted on all rows
#'   (unweighted) and Hajek-normalised weights w D / e and w (1 - D) / (1 - e); propensities
#'   are clipped to `[trim, 1 - trim]`. The standard error (cluster-robust with clusters)
#'   treats the propensities as known. With `stabilized = TRUE` or `adjust`, the marginal
#'   structural model of `specs/recsys-aipw.md` step 5: weighted least squares of the outcome
#'   on the treatment (and the `adjust` terms) with stabilised weights p/e for the treated and
#'   (1 - p)/(1 - e) for the controls, p the treated share; the estimate is the treatment's
#'   coefficient, with a cluster-robust (HC0) sandwich standard error. `B > 0` adds a cluster
#'   (or row) bootstrap percentile interval with the propensities held fixed.
#' * `t_learner()`, `s_learner()`, `x_learner()`: the meta-learners, see [t_learner()].
#'
#' @param spec A [causal_data()] object (or a table, with the arguments of [causal_data()] in
#'   `...`). The treatment must be binary.
#' @param ... Passed to [causal_data()] when `spec` is a table.
#' @param level Confidence level.
#' @param learner The propensity classifier (built-in or [lrn_custom()]).
#' @param trim Clipping of the propensities.
#' @param stabilized For `ipw()`, use stabilised weights in a weighted regression (MSM).
#' @param adjust For `ipw()`, a one-sided formula of covariates of `spec` added to the MSM
#'   regression (e.g. `~ day_of_week + calendar_day_index`).
#' @param B For `ipw()`, bootstrap draws (0: none).
#' @param seed For `ipw()`, the seed of the bootstrap.
#' @param num.threads Threads for built-in learners.
#' @return An object of class `fastdml_estimate` with `print`, `coef`, `confint`, `nobs`,
#'   `tidy` and `glance` methods (same columns as for DML fits).
#' @family baselines
#' @examples
#' df <- sim_lesson(600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' diff_in_means(spec)
#' ipw(spec)
#' @export
diff_in_means <- function(spec, ..., level = 0.95) {
  spec <- as_binary_spec(spec, ...)
  check_level(level)
  check_cluster_count(spec)
  d <- spec$d
  y <- spec$y
  if (is.null(spec$weights) && is.null(spec$cluster)) {
    estimate <- mean(y[d == 1]) - mean(y[d == 0])
    se <- sqrt(stats::var(y[d == 1]) / sum(d == 1) + stats::var(y[d == 0]) / sum(d == 0))
    return(new_estimate("difference in means (Welch SE)", spec, estimate, se, level))
  }
  w <- observation_weights(spec)
  contrast <- weighted_contrast(y, w * d, w * (1 - d), spec$cluster)
  new_estimate(sprintf("difference in means (%s)", baseline_se_label(spec)), spec,
               contrast$estimate, contrast$se, level)
}

#' @rdname diff_in_means
#' @export
ipw <- function(spec, ..., learner = lrn_logistic(), trim = 0.01, level = 0.95, stabilized = FALSE,
                adjust = NULL, B = 0L, seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  check_number(trim, "trim", 0, 0.5)
  check_level(level)
  check_cluster_count(spec)
  e <- fit_predict_full(spec, learner, spec$d, spec$treatment, NULL,
                        resolve_num_threads(num.threads), "propensity")
  if (any(e < 0 | e > 1)) {
    fd_warn("propensity", c("{sum(e < 0 | e > 1)} propensity prediction{?s} of {.val {learner$label}} fell outside [0, 1] and {cli::qty(sum(e < 0 | e > 1))}{?was/were} clipped.",
                            i = "Use a classifier such as {.fn lrn_logistic} for {.arg learner}."))
  }
  e <- pmin(pmax(e, trim), 1 - trim)
  check_flag(stabilized, "stabilized")
  check_count(B, "B", 0L)
  if (stabilized || !is.null(adjust)) return(ipw_msm(spec, e, learner, adjust, level, B, seed))
  w <- observation_weights(spec)
  contrast <- weighted_contrast(spec$y, w * spec$d / e, w * (1 - spec$d) / (1 - e), spec$cluster)
  out <- new_estimate(sprintf("IPW (Hajek, %s propensity; %s)", learner$label, baseline_se_label(spec)),
                      spec, contrast$estimate, contrast$se, level)
  if (B > 0L) {
    out$boot <- ratio_difference_bootstrap(spec, w * spec$d / e, w * (1 - spec$d) / (1 - e), B, seed, level)
  }
  out$propensity <- e
  out
}

as_binary_spec <- function(spec, ...) {
  if (is_causal_data(spec) && ...length() > 0L) {
    unused <- names(list(...))
    fd_abort("argument", c("Unused argument{?s} {.arg {if (is.null(unused)) '...' else unused}}: {.arg spec} is already a {.fn causal_data} object.",
                           i = "Check the spelling of the estimator's arguments."))
  }
  spec <- if (is_causal_data(spec)) check_spec(spec) else causal_data(spec, ...)
  check_treatment_type(spec, "this estimator")
  spec
}

observation_weights <- function(spec) if (is.null(spec$weights)) rep(1, spec$n) else spec$weights

# Hajek contrast sum(a y)/sum(a) - sum(b y)/sum(b) of two weight vectors, with its influence
# function IF_i = n [a_i (y_i - mu1) / sum(a) - b_i (y_i - mu0) / sum(b)] and the standard error
# sqrt(sum over clusters of (sum IF)^2) / n (every row its own cluster when there are none).
weighted_contrast <- function(y, a, b, cluster) {
  mu1 <- sum(a * y) / sum(a)
  mu0 <- sum(b * y) / sum(b)
  n <- length(y)
  influence <- n * (a * (y - mu1) / sum(a) - b * (y - mu0) / sum(b))
  if (!is.null(cluster)) influence <- rowsum(influence, cluster, reorder = FALSE)
  list(estimate = mu1 - mu0, se = sqrt(sum(influence^2)) / n)
}

baseline_se_label <- function(spec) {
  if (is.null(spec$cluster)) "influence-function SE" else "cluster-robust SE"
}

# Bootstrap rows: whole clusters when the data have clusters, else rows resampled within each
# arm (so that every resample keeps both arms).
bootstrap_rows <- function(spec) {
  if (is.null(spec$cluster)) {
    treated <- which(spec$d == 1)
    control <- which(spec$d == 0)
    return(c(treated[sample.int(length(treated), replace = TRUE)],
             control[sample.int(length(control), replace = TRUE)]))
  }
  members <- split(seq_len(spec$n), spec$cluster)
  for (try in 1:100) {
    rows <- unlist(members[sample.int(length(members), replace = TRUE)], use.names = FALSE)
    if (length(unique(spec$d[rows])) == 2L) return(rows)
  }
  fd_abort("treatment", c("Cluster bootstrap resamples keep only one arm: the treatment {.field {spec$treatment}} hardly varies across clusters.",
                          i = "Use {.code n_boot = 0}, or more clusters."))
}

resample_spec <- function(spec, rows) {
  spec$X <- spec$X[rows, , drop = FALSE]
  spec$y <- spec$y[rows]
  spec$d <- spec$d[rows]
  if (!is.null(spec$weights)) spec$weights <- spec$weights[rows]
  if (!is.null(spec$cluster)) spec$cluster <- spec$cluster[rows]
  spec$n <- length(rows)
  spec
}

# Fit a learner on the rows of `mask` (all rows when NULL) and predict every row, no
# cross-fitting (built-in learners in C++, custom learners in R, both checked).
fit_predict_full <- function(spec, learner, target, target_name, mask, num_threads, name) {
  def <- nuisance_def(learner, target, target_name, mask)
  check_classifier_target(def, name)
  if (identical(learner$kind, "boost")) {
    group <- boost_group(resolve_learner_seeds(list(full = def), NULL), spec$weights)
    return(drop(core_call(.fastdml_fit_predict(spec$X, group, num_threads, FALSE))[[1L]]))
  }
  if (learner$builtin) {
    train_rows <- if (is.null(mask)) spec$n else sum(mask)
    design <- builtin_design(spec$X, stats::setNames(list(def), name), stats::setNames(train_rows, name))
    fitted <- design$defs[[name]]$learner
    group <- list(learner = list(kind = fitted$kind, ridge = fitted$ridge),
                  targets = list(as.double(target)), mask = def$mask)
    return(drop(core_call(.fastdml_fit_predict(design$X, group, num_threads, design$standardize))[[1L]]))
  }
  train <- if (is.null(mask)) seq_len(spec$n) else which(mask)
  run_custom_learner(def, spec$X[train, , drop = FALSE], target[train], spec$X,
                     sprintf("nuisance %s, fitted on all rows", name))
}

new_estimate <- function(method, spec, estimate, se, level) {
  check_level(level)
  check_finite_result(estimate, se, allow_na_se = grepl("-learner", method))
  structure(list(method = method, coefficients = stats::setNames(estimate, spec$treatment),
                 se = se, n = spec$n, level = level), class = "fastdml_estimate")
}

#' @export
print.fastdml_estimate <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat("<fastdml> ", x$method, "; n = ", x$n, "\n", sep = "")
  tab <- estimate_table(x, x$level)
  if (!is.null(x$boot)) tab <- cbind(tab, x$boot)
  rownames(tab) <- tab$term
  print(format(tab[, -1], digits = digits), quote = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_estimate <- function(x, conf.int = TRUE, conf.level = 0.95, ...) {
  check_level(conf.level, "conf.level")
  check_flag(conf.int, "conf.int")
  tab <- estimate_table(x, conf.level)
  if (!is.null(x$boot)) tab <- cbind(tab, x$boot)
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

# The marginal structural model: WLS of Y on [1, D, adjust] with stabilised weights.
ipw_msm <- function(spec, e, learner, adjust, level, B, seed) {
  p <- mean(spec$d)
  w <- unit_weights(spec$weights, spec$n) * ifelse(spec$d == 1, p / e, (1 - p) / (1 - e))
  X <- cbind(`(Intercept)` = 1, treatment = spec$d)
  if (!is.null(adjust)) {
    if (!inherits(adjust, "formula") || length(adjust) != 2L) {
      fd_abort("formula", "{.arg adjust} must be a one-sided formula such as {.code ~ day_of_week}.")
    }
    unknown <- setdiff(all.vars(adjust), colnames(spec$X))
    if (length(unknown)) fd_abort("column", "{.arg adjust} uses {.field {unknown}}, not covariates of {.arg spec}.")
    A <- stats::model.matrix(adjust, as.data.frame(spec$X))
    X <- cbind(X, A[, colnames(A) != "(Intercept)", drop = FALSE])
  }
  projection <- linear_projection(spec$y, X, w, spec$cluster, "HC0")
  out <- new_estimate(sprintf("IPW (MSM, stabilised weights, %s propensity%s; %s)", learner$label,
                              if (is.null(adjust)) "" else paste(",", deparse(adjust)), baseline_se_label(spec)),
                      spec, projection$coefficients[["treatment"]], sqrt(projection$vcov["treatment", "treatment"]), level)
  if (B > 0L) out$boot <- wls_bootstrap(projection$B, spec$y, w, spec$cluster, B, seed, "treatment", level)
  out$propensity <- e
  out
}

# Cluster (or row) bootstrap of a WLS coefficient with the weights held fixed, from per-cluster
# cross products (X'WX and X'Wy summed over the drawn clusters; draws from R's RNG as
# sample.int(G, G, replace = TRUE)).
wls_bootstrap <- function(X, y, w, cluster, B, seed, coefficient, level) {
  units <- if (is.null(cluster)) seq_len(nrow(X)) else cluster
  G <- max(units)
  k <- ncol(X)
  index <- match(coefficient, colnames(X))
  cross <- rowsum(X[, rep(seq_len(k), k), drop = FALSE] * X[, rep(seq_len(k), each = k), drop = FALSE] * w,
                  units, reorder = TRUE)
  moment <- rowsum(X * (w * y), units, reorder = TRUE)
  draws <- with_seed(seed, vapply(seq_len(B), function(b) {
    idx <- sample.int(G, G, replace = TRUE)
    A <- matrix(colSums(cross[idx, , drop = FALSE]), k, k)
    beta <- tryCatch(solve(A, colSums(moment[idx, , drop = FALSE])), error = function(e) rep(NA_real_, k))
    beta[index]
  }, numeric(1)))
  bootstrap_columns(draws, level)
}

# Bootstrap of a Hajek contrast sum(a y)/sum(a) - sum(b y)/sum(b) over clusters (rows without).
ratio_difference_bootstrap <- function(spec, a, b, B, seed, level) {
  draws <- cluster_bootstrap_draws(cbind(a * spec$y, b * spec$y), cbind(a, b), spec$cluster, B, seed)
  bootstrap_columns(draws[, 1L] - draws[, 2L], level)
}
