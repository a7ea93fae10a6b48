#' CI-PO: propensity-binned regression adjustment for the ATT
#'
#' The baseline "CI-PO" of `specs/amazon-ci-dml.md`: customers are binned by their propensity,
#' within each bin the outcome is regressed on the covariates among the controls, the
#' treated's counterfactual outcomes Y(0) are predicted from that regression, and the effect on
#' the treated (ATT) is the treated-weighted mean of Y - Y(0) over the bins.
#' 1. Propensity e(X): `learner` fitted in sample on all rows on `propensity_covariates`.
#'    With observation weights the fit is weighted: natively for [lrn_boost()], by
#'    [stats::glm.fit()] / [stats::lm.wfit()] for an unpenalised [lrn_logistic()] /
#'    [lrn_linear()]; penalised and custom learners are fitted unweighted (as in [ipw()]). The
#'    propensities only order the rows, so they are neither clipped nor trimmed.
#' 2. Bins: the cut points are the weighted type-1 quantiles (inverse of the weighted ECDF;
#'    without weights [stats::quantile()] with `type = 1`) of the treated rows' propensities
#'    at 1/n_bins, ..., (n_bins - 1)/n_bins, so the treated are spread evenly. Bins are
#'    right-closed (a row at a cut point goes to the lower bin); rows below the first or
#'    above the last cut point (controls outside the treated range) fall into the end bins.
#'    Tied cut points, and cut points at the highest treated propensity, are dropped (fewer
#'    bins).
#' 3. In each bin, weighted least squares of the outcome on `[1, outcome_covariates]` among the
#'    control rows (aliased columns dropped, as [stats::lm()]), predicting Y(0) of the
#'    bin's treated rows. A bin with fewer control rows (of positive weight) than
#'    columns + 1 is merged with the neighbour that has more control rows (the lower one
#'    on ties), starting from the bin with the fewest controls, until every bin has enough;
#'    if even one bin of all rows has too few, an error of class `fastdml_error_overlap`.
#' 4. ATT = sum over treated of w (Y - Y(0)) / sum over treated of w.
#' 5. Bootstrap: `bootstrap` resamples redo steps 1 to 4 (propensity fit and bins included):
#'    whole clusters when the spec has clusters, otherwise rows resampled within each arm (the
#'    arm sizes are kept). The standard error is the draws' standard deviation and the
#'    percentile interval is in `$boot` (the `boot.low`, `boot.high` columns of `print()` and
#'    `tidy()`); `confint()` gives the normal interval with the bootstrap standard error. Draws
#'    where a resample leaves too few controls are left out, with a `fastdml_warning_overlap`.
#'    `bootstrap = 0`: no interval (NA standard error).
#'
#' @inheritParams diff_in_means
#' @param spec A [causal_data()] object with a binary treatment.
#' @param n_bins Number of propensity bins (before merging).
#' @param bootstrap Number of bootstrap resamples (0: none).
#' @param propensity_covariates,outcome_covariates Covariate names (columns of `spec$X`, i.e.
#'   `spec$covariates`, factor indicators included) of the propensity model and of the
#'   per-bin outcome regressions; `NULL` means all. `outcome_covariates = character()` gives
#'   per-bin differences in means (plain subclassification).
#' @param learner The propensity classifier.
#' @param seed Seed of the whole call (bootstrap and seeded learners); the caller's RNG state
#'   is restored. `NULL` uses and advances the current stream.
#' @return A `fastdml_estimate` (see [diff_in_means()]) with extra fields `bins` (a
#'   data.table: `bin`, propensity range `e_low`, `e_high`, `n_treated`, `n_control` (rows of
#'   positive weight) and the bin's `att`), `draws` (the bootstrap estimates), `boot`,
#'   `propensity` and `elapsed` (seconds of the whole call).
#' @family baselines
#' @examples
#' df <- sim_lesson(600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- ci_po(spec, n_bins = 4, bootstrap = 50, seed = 1)
#' fit
#' fit$bins
#' @export
ci_po <- function(spec, n_bins = 10, bootstrap = 200, propensity_covariates = NULL,
                  outcome_covariates = NULL, learner = lrn_logistic(), seed = NULL, level = 0.95,
                  num.threads = getOption("fastdml.num.threads", 2L)) {
  start <- proc.time()[["elapsed"]]
  check_spec(spec)
  check_treatment_type(spec, "ci_po()")
  n_bins <- check_count(n_bins, "n_bins", 1L)
  bootstrap <- check_count(bootstrap, "bootstrap", 0L)
  check_level(level)
  check_learner(learner, "learner")
  threads <- resolve_num_threads(num.threads)
  with_seed(seed, NULL)
  ps_cols <- po_columns(spec, propensity_covariates, "propensity_covariates", allow_empty = FALSE)
  out_cols <- po_columns(spec, outcome_covariates, "outcome_covariates", allow_empty = TRUE)
  if (bootstrap > 0L) check_cluster_count(spec)
  once <- function(s) po_estimate(s, n_bins, ps_cols, out_cols, learner, threads)
  res <- with_seed(seed, {
    full <- once(spec)
    draws <- vapply(seq_len(bootstrap), function(b) {
      resampled <- resample_spec(spec, bootstrap_rows(spec))
      tryCatch(once(resampled)$att, fastdml_error_overlap = function(e) NA_real_)
    }, numeric(1))
    list(full = full, draws = draws)
  })
  draws <- res$draws
  failed <- sum(is.na(draws))
  if (failed > 0L) {
    fd_warn("overlap", c("{failed} of {bootstrap} bootstrap resample{?s} left too few control rows for the per-bin regressions and {?was/were} left out.",
                         i = "Use fewer {.arg outcome_covariates} or fewer {.arg n_bins}."))
  }
  boot <- if (bootstrap > 0L && failed < bootstrap - 1L) bootstrap_columns(draws, level)
  se <- if (is.null(boot)) NA_real_ else boot$boot.se
  bins <- res$full$bins
  method <- sprintf("CI-PO (%s propensity bin%s%s, %s)", nrow(bins), if (nrow(bins) == 1L) "" else "s",
                    if (nrow(bins) < n_bins) sprintf(" of %d requested", n_bins) else "",
                    if (bootstrap > 0L) sprintf("%d %sbootstrap draws", bootstrap,
                                                if (is.null(spec$cluster)) "" else "cluster ") else "no bootstrap")
  estimate <- res$full$att
  check_finite_result(estimate, se, allow_na_se = TRUE)
  # new_estimate() warns on an NA standard error; here it means "no bootstrap" (checked above).
  out <- withCallingHandlers(new_estimate(method, spec, estimate, se, level),
                             fastdml_warning_non_finite_result = function(w) invokeRestart("muffleWarning"))
  out$boot <- boot
  out$bins <- bins
  out$draws <- draws
  out$propensity <- res$full$e
  out$elapsed <- proc.time()[["elapsed"]] - start
  out
}

# Validated covariate names (NULL: all covariates of the spec).
po_columns <- function(spec, columns, arg, allow_empty) {
  if (is.null(columns)) return(colnames(spec$X))
  if (!is.character(columns) || anyNA(columns) || (!allow_empty && length(columns) == 0L)) {
    fd_abort("argument", "{.arg {arg}} must be a character vector of covariate names{if (allow_empty) '' else ' (at least one)'}, not {.val {format_value(columns)}}.")
  }
  unknown <- setdiff(columns, colnames(spec$X))
  if (length(unknown)) {
    fd_abort(c("argument", "column"), c("{.arg {arg}} names {.field {unknown}}, not {cli::qty(length(unknown))}{?a covariate/covariates} of {.arg spec}.",
                                        i = "Covariates of {.arg spec}: {.field {colnames(spec$X)}}."))
  }
  unique(columns)
}

# One CI-PO estimate on a spec: propensity, bins (merged where controls are too few), per-bin
# WLS on the controls, ATT over the treated. Returns list(att, bins, e).
po_estimate <- function(spec, n_bins, ps_cols, out_cols, learner, threads) {
  w <- observation_weights(spec)
  e <- po_propensity(spec, ps_cols, learner, threads)
  treated <- spec$d == 1 & w > 0
  control <- spec$d == 0 & w > 0
  breaks <- if (n_bins > 1L) {
    cuts <- unique(weighted_type1_quantiles(e[treated], w[treated], seq_len(n_bins - 1L) / n_bins))
    cuts[cuts < max(e[treated])]  # no bin above the highest treated propensity
  } else numeric()
  need <- length(out_cols) + 2L  # columns of [1, covariates] + 1
  first_short <- NULL
  repeat {
    bin <- findInterval(e, breaks, left.open = TRUE) + 1L
    n_control <- tabulate(bin[control], length(breaks) + 1L)
    short <- which(n_control < need)
    if (!length(short)) break
    k <- short[which.min(n_control[short])]
    if (is.null(first_short)) first_short <- sprintf("%d of %d", k, length(breaks) + 1L)
    if (!length(breaks)) {
      fd_abort("overlap", c("Propensity bin {first_short} has too few control rows for the outcome regression on {need - 1L} column{?s}: even merged into one bin of all rows, {n_control} control row{?s} of positive weight, fewer than {need}.",
                            i = "Use fewer {.arg outcome_covariates} (or {.code character()} for per-bin means)."))
    }
    neighbours <- intersect(c(k - 1L, k + 1L), seq_along(n_control))
    j <- neighbours[which.max(n_control[neighbours])]
    breaks <- breaks[-min(k, j)]
  }
  X <- if (length(out_cols) == ncol(spec$X)) spec$X else spec$X[, out_cols, drop = FALSE]
  y0 <- rep(NA_real_, spec$n)
  for (k in seq_len(length(breaks) + 1L)) {
    rows_c <- which(control & bin == k)
    rows_t <- which(spec$d == 1 & bin == k)
    if (!length(rows_t)) next
    design <- cbind(1, X[rows_c, , drop = FALSE])
    coef <- stats::lm.wfit(design, spec$y[rows_c], w[rows_c])$coefficients
    coef[is.na(coef)] <- 0
    y0[rows_t] <- drop(cbind(1, X[rows_t, , drop = FALSE]) %*% coef)
  }
  is_t <- spec$d == 1
  gap <- (spec$y - y0)[is_t]
  wt <- w[is_t]
  bt <- bin[is_t]
  n_out <- length(breaks) + 1L
  att_bin <- vapply(seq_len(n_out), function(k) {
    in_k <- bt == k
    sum(wt[in_k] * gap[in_k]) / sum(wt[in_k])
  }, numeric(1))
  edges <- c(min(e), breaks, max(e))
  bins <- data.table::data.table(bin = seq_len(n_out), e_low = edges[-length(edges)], e_high = edges[-1L],
                                 n_treated = tabulate(bin[treated], n_out),
                                 n_control = tabulate(bin[control], n_out), att = att_bin)
  list(att = sum(wt * gap) / sum(wt), bins = bins, e = e)
}

# In-sample propensities of `learner` on the columns `cols`, weighted when the spec has weights
# and the learner allows it (boosting natively; unpenalised linear/logistic by lm.wfit/glm.fit).
po_propensity <- function(spec, cols, learner, threads) {
  if (length(cols) < ncol(spec$X)) {
    spec$X <- spec$X[, cols, drop = FALSE]
    spec$covariates <- cols
  }
  w <- spec$weights
  if (!is.null(w) && learner$kind %in% c("linear", "logistic") && learner$ridge == 0 &&
      ncol(spec$X) + 1 <= sum(w > 0) / 2) {
    Z <- cbind(1, spec$X)
    coef <- if (learner$kind == "logistic") {
      stats::glm.fit(Z, spec$d, weights = w, family = stats::quasibinomial(),
                     control = stats::glm.control(epsilon = 1e-10, maxit = 50))$coefficients
    } else {
      stats::lm.wfit(Z, spec$d, w)$coefficients
    }
    coef[is.na(coef)] <- 0
    eta <- drop(Z %*% coef)
    return(if (learner$kind == "logistic") stats::plogis(eta) else eta)
  }
  fit_predict_full(spec, learner, spec$d, spec$treatment, NULL, threads, "propensity")
}

# Weighted type-1 quantiles: the smallest x whose weighted ECDF reaches p (quantile(type = 1)
# for equal weights; integer weights give the quantiles of the rows repeated).
weighted_type1_quantiles <- function(x, w, probs) {
  o <- order(x)
  x <- x[o]
  cw <- cumsum(w[o])
  total <- cw[length(cw)]
  index <- vapply(probs, function(p) {
    which.max(cw >= p * total - 4 * .Machine$double.eps * total)
  }, integer(1))
  x[index]
}
