#' Benchmark omitted-confounder strengths against an observed covariate group
#'
#' How strong would an unobserved confounder be if it were as strong as a group of the observed
#' covariates? `sensitivity_benchmark()` pretends that the group `drop` was never observed: it
#' fits the model again without those covariates (the "short" model), on the same folds, with
#' the same learners (and learner seeds) and the same options (estimand, score, trimming,
#' normalisation, cluster correction), and measures how much the group explained of the outcome
#' and of the Riesz representer (the treatment side) and how much the estimate moved
#' (Chernozhukov, Cinelli, Newey, Sharma, Syrgkanis 2022, "Long Story Short"; DESIGN.md §4).
#' The resulting strengths `(cf_d, cf_y)` are plausible values of the confounding scenario of
#' [sensitivity()]: "a confounder as strong as `drop`". Pass the table as
#' `sensitivity(fit, ..., benchmarks = tab)` to mark each row as a point `(cf_d, cf_y)` on
#' `autoplot(sens, type = "contour")`, or use a row's `cf_y`, `cf_d` and `rho` as the scenario.
#'
#' **`method = "refit"`** (the default, as DoubleML). With sigma2 = mean(w (Y - g_hat)^2) the
#' residual variance of the outcome regression and nu2 the second moment of the Riesz
#' representer (the elements of [sensitivity()], its `$stats`) of the long (`fit`) and short
#' models, each the median over the repetitions of the cross-fitting:
#' * R2_y = 1 - sigma2 / Var(Y) (Var(Y) = mean(w (Y - mean(w Y))^2), the population variance,
#'   weights normalised to mean one), and
#'   `cf_y` = (R2_y,long - R2_y,short) / (1 - R2_y,long) = (sigma2_short - sigma2_long) /
#'   sigma2_long: how much the outcome's residual variance grows, relative to the long model's,
#'   when the group is dropped;
#' * R2_alpha = nu2_short / nu2_long and `cf_d` = (1 - R2_alpha) / R2_alpha =
#'   (nu2_long - nu2_short) / nu2_short: the relative gain in the Riesz representer's second
#'   moment from the group;
#' * `rho` = |delta| / sqrt((sigma2_short - sigma2_long) (nu2_long - nu2_short)), capped at 1:
#'   the "degree of adversity" that reproduces the observed change of the estimate; NA when
#'   either difference is not positive (then the group did not improve that nuisance and the
#'   ratio means nothing; this includes both differences negative, whose product is positive);
#' * negative `cf_y` or `cf_d` (the group made a nuisance fit worse out of fold) are set to 0.
#'   They are not capped above: `cf_d` >= 1 (nu2_short at most half of nu2_long, a group that
#'   dominates the treatment side) lies outside the range \[0, 1) of `cf_d` in [sensitivity()].
#'
#' These are DoubleML's statistics with two differences: DoubleML also caps `cf_y` and `cf_d`
#' at 1, takes medians of the per-repetition strengths rather than of sigma2 and nu2, and
#' reports a signed `rho` (the sign of the change of the estimate, which is `delta` here).
#'
#' **`method = "residual"`** (the CX case study, `specs/cx-multitreatment.md` §5). From the long
#' model's cross-fitted nuisances: the outcome residual r_y = Y - g_hat, with g_hat the outcome
#' regression at the observed treatment (PLR partialling out: l + theta (D - m); IV-type:
#' g + theta D; interactive models: the observed arm's g), and the treatment residual of each
#' contrast (PLR: D - m; binary: D - m; arm k against control 0: (D_k - m_k) - (D_0 - m_0)), with
#' the propensities trimmed as in the scores (no Hajek normalisation). Each residual is regressed
#' by least squares (weighted by the observation weights, if any) on the centred and
#' standardised dropped columns with an intercept; r2 = ||fitted||^2 / ||centred residual||^2.
#' Then `cf_y` = r2_y / (1 - r2_y), `cf_d` = r2_d and `rho` = the correlation of the two fitted
#' residuals. With repetitions r2_y, r2_d and rho are the medians over the repetitions (each
#' from that repetition's nuisances and estimate). `theta_short` still comes from the refit.
#'
#' **Warnings.** The short model is an ordinary fit, so its fit-time checks (overlap, nuisance
#' quality, ...) run again. Their warnings are passed on, with their classes (see
#' [fastdml_conditions]), and a note that they come from the refit without `drop`: a weak
#' short model is worth knowing about, since the benchmark compares against it.
#'
#' `drop` names columns of the covariate matrix `fit$spec$X` (`fit$spec$covariates`). A factor
#' covariate expanded by [causal_data()] into indicator columns (named the column name followed
#' by the level, e.g. `regionB`) may be named by its original name: a name that is not a column
#' stands for every column whose name starts with it, and a message lists them.
#'
#' @param fit A fit from [dml_plr()], [dml_irm()] or [dml_multi_irm()] whose nuisances were
#'   fitted by learners (not external `nuisances`, which cannot be refitted).
#' @param drop Names of the covariates forming the benchmark group (columns of
#'   `fit$spec$X`; see Details for factor covariates). At least one covariate must remain.
#' @param method `"refit"` (default) or `"residual"`, see Details.
#' @param num.threads Threads of the refit; default `getOption("fastdml.num.threads", 2)`.
#'   Results do not depend on it.
#' @return A data.frame of class `fastdml_benchmark`, one row per term (contrast) of the fit,
#'   with columns
#'   * `term`: the coefficient's name (multi-arm: `"<arm> vs <control>"`);
#'   * `drop`: the benchmark group, its names joined by `"+"`;
#'   * `cf_y`: the group's strength on the outcome (partial R2 odds of the outcome regression's
#'     residual, the `cf_y` of [sensitivity()]);
#'   * `cf_d`: its strength on the treatment side (the `cf_d` of [sensitivity()]; the case
#'     study's `r2_d`);
#'   * `rho`: the correlation of the two confounding effects, in \[0, 1\] for `"refit"`, in
#'     \[-1, 1\] for `"residual"`;
#'   * `theta_long`, `theta_short`: the estimates with and without the group (medians over
#'     repetitions); `delta` = `theta_long - theta_short`;
#'   * `method`: the method used.
#' @family sensitivity
#' @examples
#' df <- sim_lesson(n = 1000, seed = 1)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
#'                seed = 1)
#' # a confounder as strong as income (this simulated outcome has no noise, hence a large cf_y)
#' tab <- sensitivity_benchmark(fit, drop = "income")
#' tab
#' sensitivity_benchmark(fit, drop = c("age", "income"), method = "residual")
#' # kept with the sensitivity analysis, to be marked on its contour plot
#' sens <- sensitivity(fit, cf_y = 0.03, cf_d = 0.03, benchmarks = tab)
#' sens$benchmarks
#' @export
sensitivity_benchmark <- function(fit, drop, method = c("refit", "residual"),
                                  num.threads = getOption("fastdml.num.threads", 2L)) {
  if (!inherits(fit, "fastdml_fit")) {
    fd_abort("argument", c("{.fn sensitivity_benchmark} needs a fit from {.fn dml_plr}, {.fn dml_irm} or {.fn dml_multi_irm}.",
                           x = "It got a {.cls {class(fit)}}."))
  }
  method <- arg_match(method, c("refit", "residual"), "method")
  if (is.null(fit$refit)) {
    fd_abort("argument", c("{.fn sensitivity_benchmark} refits the model without the dropped covariates, but this fit has no learners to refit.",
                           x = "Its nuisances were given as external {.arg nuisances} (or it was made by an older fastdml).",
                           i = "Fit the model with learners, or refit the short model yourself and compare."))
  }
  if (missing(drop)) fd_abort("argument", "Name the covariates to {.arg drop}.")
  group <- resolve_benchmark_drop(drop, colnames(fit$spec$X))
  short <- benchmark_refit(fit, group$columns, group$label, num.threads)
  theta_long <- stats::coef(fit)
  theta_short <- stats::coef(short)[names(theta_long)]
  strengths <- if (method == "refit") {
    benchmark_refit_strengths(fit, short, theta_long - theta_short)
  } else {
    benchmark_residual_strengths(fit, group$columns)
  }
  out <- data.frame(term = names(theta_long), drop = group$label, cf_y = strengths$cf_y,
                    cf_d = strengths$cf_d, rho = strengths$rho, theta_long = unname(theta_long),
                    theta_short = unname(theta_short),
                    delta = unname(theta_long - theta_short), method = method,
                    stringsAsFactors = FALSE)
  class(out) <- c("fastdml_benchmark", "data.frame")
  out
}

#' @export
print.fastdml_benchmark <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat(sprintf("<fastdml benchmark> dropping %s (method \"%s\"): %d term%s\n",
              paste(unique(x$drop), collapse = ", "), paste(unique(x$method), collapse = ", "),
              nrow(x), if (nrow(x) == 1L) "" else "s"))
  shown <- as.data.frame(unclass(x), stringsAsFactors = FALSE)
  shown <- shown[setdiff(names(shown), c("drop", "method"))]
  numeric <- vapply(shown, is.numeric, logical(1))
  shown[numeric] <- lapply(shown[numeric], function(v) formatC(v, digits = digits, format = "fg"))
  print(shown, row.names = FALSE, right = TRUE)
  invisible(x)
}

# The dropped columns: exact column names, or a name standing for the indicator columns of a
# factor covariate (the columns starting with it).
resolve_benchmark_drop <- function(drop, available) {
  if (!is.character(drop) || length(drop) == 0L || anyNA(drop) || !all(nzchar(drop))) {
    fd_abort("argument", c("{.arg drop} must be a character vector of covariate names, not {.val {format_value(drop)}}.",
                           i = "The covariates: {.field {available}}."))
  }
  drop <- unique(drop)
  columns <- lapply(drop, function(name) {
    if (name %in% available) return(name)
    available[startsWith(available, name)]
  })
  unknown <- drop[lengths(columns) == 0L]
  if (length(unknown)) {
    fd_abort("argument", c("{.arg drop} names {cli::qty(length(unknown))}{?a covariate/covariates} the fit does not have: {.val {unknown}}.",
                           i = "The covariates: {.field {available}}."))
  }
  for (name in drop[!drop %in% available]) {
    cols <- columns[[match(name, drop)]]
    fd_inform("expanded", c(i = "{.arg drop} {.val {name}} stands for the {cli::qty(length(cols))}column{?s} {.field {cols}}."))
  }
  columns <- unique(unlist(columns))
  if (length(columns) == length(available)) {
    fd_abort("argument", c("{.arg drop} removes every covariate; the short model needs at least one.",
                           i = "Benchmark a smaller group of {.field {available}}."))
  }
  list(columns = columns, label = paste(drop, collapse = "+"))
}

# The short model: the same estimator, folds, learners (with their seeds) and options on the
# data without the dropped columns. Its fit-time warnings are passed on with a note.
benchmark_refit <- function(fit, columns, label, num.threads) {
  spec <- fit$spec
  spec$X <- spec$X[, !colnames(spec$X) %in% columns, drop = FALSE]
  spec$covariates <- colnames(spec$X)
  estimator <- get(fit$refit$estimator, envir = asNamespace("fastdml"), mode = "function")
  note <- paste(cli::symbol$info, cli::format_inline(
    "Raised by the refit of the short model without {.field {label}} ({.fn sensitivity_benchmark})."))
  withCallingHandlers(
    do.call(estimator, c(list(spec), fit$refit$args, list(num.threads = num.threads))),
    fastdml_warning = function(w) {
      w$message <- paste0(conditionMessage(w), "\n", note)
      w$body <- NULL
      w$footer <- NULL
      warning(w)
      invokeRestart("muffleWarning")
    })
}

# method = "refit": strengths from the change of sigma2 and nu2 between the long and the short
# model (medians over repetitions), DESIGN.md §4.
benchmark_refit_strengths <- function(fit, short, delta) {
  long_el <- benchmark_elements(fit)
  short_el <- benchmark_elements(short)
  terms <- names(delta)
  var_y <- weighted_population_variance(fit$spec$y, fit$spec$weights)
  r2_y_long <- 1 - long_el$sigma2[terms] / var_y
  r2_y_short <- 1 - short_el$sigma2[terms] / var_y
  cf_y <- (r2_y_long - r2_y_short) / (1 - r2_y_long)
  r2_alpha <- short_el$nu2[terms] / long_el$nu2[terms]
  cf_d <- (1 - r2_alpha) / r2_alpha
  gain_y <- short_el$sigma2[terms] - long_el$sigma2[terms]
  gain_d <- long_el$nu2[terms] - short_el$nu2[terms]
  ok <- gain_y > 0 & gain_d > 0
  rho <- ifelse(ok, pmin(abs(delta) / sqrt(ifelse(ok, gain_y * gain_d, 1)), 1), NA_real_)
  list(cf_y = unname(pmax(cf_y, 0)), cf_d = unname(pmax(cf_d, 0)), rho = unname(rho))
}

# sigma2 and nu2 per term, medians over the repetitions (from sensitivity()$stats).
benchmark_elements <- function(fit) {
  stats <- sensitivity(fit, cf_y = 0, cf_d = 0)$stats
  terms <- unique(as.character(stats$term))
  aggregate <- function(column) {
    vapply(terms, function(term) stats::median(stats[[column]][stats$term == term]), numeric(1))
  }
  list(sigma2 = aggregate("sigma2"), nu2 = aggregate("nu2"))
}

weighted_population_variance <- function(y, weights) {
  w <- if (is.null(weights)) rep(1, length(y)) else weights / mean(weights)
  mu <- mean(w * y)
  mean(w * (y - mu)^2)
}

# method = "residual": partial R2 of the long model's outcome and treatment residuals on the
# standardised dropped columns, and the correlation of the fitted residuals; medians over the
# repetitions.
benchmark_residual_strengths <- function(fit, columns) {
  w <- fit$spec$weights
  w <- if (is.null(w)) rep(1, fit$n) else w / mean(w)
  Z <- standardise_columns(fit$spec$X[, columns, drop = FALSE], w)
  terms <- names(stats::coef(fit))
  per_rep <- lapply(seq_len(fit$n_rep), function(s) {
    res <- benchmark_residuals(fit, s)
    fy <- weighted_fitted(Z, res$r_y, w)
    fd <- lapply(seq_along(terms), function(k) weighted_fitted(Z, res$r_d[, k], w))
    list(r2_y = fy$r2,
         r2_d = vapply(fd, function(f) f$r2, numeric(1)),
         rho = vapply(fd, function(f) weighted_correlation(fy$fitted, f$fitted, w), numeric(1)))
  })
  med <- function(name) {
    values <- matrix(unlist(lapply(per_rep, function(r) rep_len(r[[name]], length(terms)))),
                     ncol = length(terms), byrow = TRUE)
    apply(values, 2L, stats::median)
  }
  r2_y <- med("r2_y")
  list(cf_y = r2_y / (1 - r2_y), cf_d = med("r2_d"), rho = med("rho"))
}

# The long model's residuals of repetition s: r_y (n) and r_d (n x terms).
benchmark_residuals <- function(fit, s) {
  spec <- fit$spec
  if (inherits(fit, "dml_plr")) {
    nu <- fit$nuisances
    theta <- fit$theta_rep[s]
    m <- nu$m[, s]
    g_hat <- if (identical(fit$score, "IV-type")) {
      nu$g[, s] + theta * spec$d
    } else {
      nu$l[, s] + theta * (spec$d - m)
    }
    return(list(r_y = spec$y - g_hat, r_d = matrix(spec$d - m, ncol = 1L)))
  }
  arm <- fit_arm_index(fit)
  G <- arm_outcomes(fit, s)
  g_hat <- G[cbind(seq_len(fit$n), arm + 1L)]
  if (anyNA(g_hat)) {
    fd_abort("argument", "The fit lacks an arm's outcome regression, which {.code method = \"residual\"} needs.")
  }
  M <- arm_propensities(fit, s, trimmed = TRUE)
  D <- outer(arm, seq_len(ncol(M)) - 1L, `==`) * 1
  R <- D - M
  # contrasts k vs 0: (D_k - m_k) - (D_0 - m_0); binary: D - m
  r_d <- if (inherits(fit, "dml_multi_irm")) {
    R[, -1L, drop = FALSE] - R[, 1L]
  } else {
    R[, 2L, drop = FALSE]
  }
  list(r_y = spec$y - g_hat, r_d = r_d)
}

# Columns centred and scaled by their (weighted) means and standard deviations.
standardise_columns <- function(Z, w) {
  mu <- colSums(w * Z) / sum(w)
  Z <- sweep(Z, 2L, mu)
  sd <- sqrt(colSums(w * Z^2) / sum(w))
  sweep(Z, 2L, ifelse(sd > 0, sd, 1), `/`)
}

# Weighted least squares of target on [1, Z]: the fitted values without the intercept
# (deviations from the weighted mean) and R2 = sum(w fitted^2) / sum(w (target - mean)^2).
weighted_fitted <- function(Z, target, w) {
  X1 <- cbind(1, Z)
  sw <- sqrt(w)
  beta <- qr.coef(qr(sw * X1), sw * target)
  beta[is.na(beta)] <- 0
  fitted <- drop(Z %*% beta[-1L])
  centred <- target - sum(w * target) / sum(w)
  list(fitted = fitted, r2 = sum(w * fitted^2) / sum(w * centred^2))
}

weighted_correlation <- function(a, b, w) {
  a <- a - sum(w * a) / sum(w)
  b <- b - sum(w * b) / sum(w)
  denom <- sqrt(sum(w * a^2) * sum(w * b^2))
  if (denom > 0) sum(w * a * b) / denom else NA_real_
}
