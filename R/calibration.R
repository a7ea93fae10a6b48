#' Evaluate CATE estimates without the truth: calibration and RATE
#'
#' Both use the doubly robust pseudo-outcomes Gamma of the fit (see [cate_blp()]) as unbiased
#' signals of each row's effect, so the CATE estimates should be out of fold (as those of
#' [cate_dr()] and [cate_forest()] are) or come from other data.
#' * `calibration()`: the BLP calibration test of Chernozhukov, Demirer, Duflo and
#'   Fernández-Val: weighted least squares of Gamma on `[1, S - mean(S)]` with S the estimates;
#'   the intercept (`ATE`) estimates the average effect and the slope (`HET`) is 1 for
#'   well-calibrated estimates and 0 when they carry no information on heterogeneity (robust or
#'   cluster-robust SEs as in [cate_blp()]). Then the group average effects of the rows
#'   ranked by S into `n_groups` quantile groups (rank r of n in group ceiling(r n_groups / n)),
#'   next to the mean estimate of each group (and the mean true effect when `truth` is given).
#' * `rate()`: the rank-weighted average treatment effect of Yadlowsky, Fleming, Shah,
#'   Brunskill and Wager: rows sorted by decreasing priority S; the targeting operator
#'   characteristic TOC(q) = mean Gamma of the top q share minus the mean of all;
#'   AUTOC = mean over ranks of TOC, QINI = mean over ranks of q TOC (weighted by the
#'   observation weights; tied priorities share their block's mean Gamma, which without
#'   weights gives the expected curve under random tie-breaking; tied rows stay in row order).
#'   Standard errors by the half-sample bootstrap (half of the
#'   rows, or of the clusters, drawn without replacement; SE = sd / sqrt(2)).
#'
#' @param cate A `fastdml_cate` object (e.g. from [cate_dr()], [cate_forest()], [cate_blp()])
#'   or a numeric vector of estimates, one per row of the fit.
#' @param fit The [dml_irm()] or [dml_multi_irm()] fit whose pseudo-outcomes evaluate them.
#' @param n_groups Number of quantile groups.
#' @param truth Optional true CATE per row (simulations), reported per group.
#' @param contrast For a multi-arm fit and a numeric `cate`, the contrast (arm label).
#' @inheritParams cate_blp
#' @return `calibration()`: a `fastdml_calibration` object with `$test` (terms ATE and HET),
#'   `$p_het_one` (p-value of HET = 1) and `$groups`; `rate()`: a `fastdml_rate` object with
#'   `$estimates` (AUTOC, QINI with bootstrap SEs) and `$toc` (the curve with pointwise SEs).
#'   Both have `print`, `tidy` and `autoplot` methods.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' dr <- cate_dr(fit, learner = lrn_linear())
#' calibration(dr, fit, n_groups = 4)
#' rate(dr, fit, n_boot = 50, seed = 1)
#' @export
calibration <- function(cate, fit, n_groups = 10L, truth = NULL, contrast = NULL,
                        vcov_type = c("HC0", "HC1", "HC2", "HC3"), level = 0.95) {
  inputs <- evaluation_inputs(cate, fit, contrast, "calibration")
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  check_count(n_groups, "n_groups", 2L)
  S <- inputs$S
  n <- length(S)
  if (n_groups > n / 2) fd_abort("argument", "{.arg n_groups} = {n_groups} is too many for {n} rows.")
  if (!is.null(truth)) check_truth(truth, n)
  w <- unit_weights(fit$spec$weights, fit$n)
  B <- cbind(ATE = 1, HET = S - sum(w * S) / sum(w))
  blp <- linear_projection(inputs$gamma, B, fit$spec$weights, fit$spec$cluster, vcov_type)
  se <- sqrt(diag(blp$vcov))
  group <- integer(n)
  group[order(S)] <- ceiling(seq_len(n) * n_groups / n)
  dummies <- outer(group, seq_len(n_groups), `==`) * 1
  colnames(dummies) <- seq_len(n_groups)
  gates <- linear_projection(inputs$gamma, dummies, fit$spec$weights, fit$spec$cluster, vcov_type)
  weighted_group_mean <- function(x) drop(rowsum(w * x, group)) / drop(rowsum(w, group))
  groups <- coefficient_table(gates$coefficients, sqrt(diag(gates$vcov)), level)
  names(groups)[names(groups) == "term"] <- "group"
  groups$group <- seq_len(n_groups)
  groups <- cbind(groups[1L], n = tabulate(group, n_groups), mean_prediction = weighted_group_mean(S),
                  groups[-1L])
  if (!is.null(truth)) groups$mean_truth <- weighted_group_mean(truth)
  structure(list(test = coefficient_table(blp$coefficients, se, level, contrast = inputs$contrast),
                 p_het_one = 2 * stats::pnorm(-abs((blp$coefficients[["HET"]] - 1) / se[["HET"]])),
                 groups = groups, level = level, method = inputs$method, n = n),
            class = "fastdml_calibration")
}

#' @rdname calibration
#' @param q Shares at which the TOC curve is reported.
#' @param n_boot Half-sample bootstrap draws for the standard errors (0: none).
#' @param seed Seed of the bootstrap draws (`NULL`: the current RNG stream).
#' @export
rate <- function(cate, fit, q = seq(0.05, 1, by = 0.05), n_boot = 200L, contrast = NULL,
                 level = 0.95, seed = NULL) {
  inputs <- evaluation_inputs(cate, fit, contrast, "rate")
  if (!is.numeric(q) || !length(q) || anyNA(q) || any(q <= 0 | q > 1)) {
    fd_abort("argument", "{.arg q} must be shares in (0, 1], e.g. {.code seq(0.05, 1, by = 0.05)}.")
  }
  check_count(n_boot, "n_boot", 0L)
  if (n_boot == 1L) fd_abort("argument", "{.arg n_boot} = 1 cannot give a standard error; use 0 or at least 2.")
  check_level(level)
  n <- length(inputs$S)
  order_rows <- order(-inputs$S)
  sorted <- list(gamma = inputs$gamma[order_rows], w = unit_weights(fit$spec$weights, fit$n)[order_rows],
                 block = cumsum(c(TRUE, diff(inputs$S[order_rows]) != 0)))
  full <- toc_statistics(sorted, q)
  cluster <- fit$spec$cluster
  position <- integer(n)
  position[order_rows] <- seq_len(n)
  draws <- with_seed(seed, lapply(seq_len(n_boot), function(b) {
    idx <- if (is.null(cluster)) {
      sample.int(n, floor(n / 2))
    } else {
      ids <- sort(unique(cluster))
      which(cluster %in% ids[sample.int(length(ids), floor(length(ids) / 2))])
    }
    keep <- sort(position[idx])
    toc_statistics(lapply(sorted, `[`, keep), q)
  }))
  se_of <- function(field) {
    if (n_boot == 0L) return(rep(NA_real_, length(full[[field]])))
    apply(matrix(vapply(draws, `[[`, numeric(length(full[[field]])), field), ncol = n_boot), 1L, stats::sd) / sqrt(2)
  }
  estimates <- coefficient_table(c(AUTOC = full$autoc, QINI = full$qini), c(se_of("autoc"), se_of("qini")),
                                 level, contrast = inputs$contrast)
  z <- stats::qnorm((1 + level) / 2)
  toc_se <- se_of("toc")
  structure(list(estimates = estimates,
                 toc = data.frame(q = q, toc = full$toc, std.error = toc_se,
                                  conf.low = full$toc - z * toc_se, conf.high = full$toc + z * toc_se),
                 n_boot = n_boot, level = level, method = inputs$method, n = n),
            class = "fastdml_rate")
}

# TOC curve, AUTOC and QINI of rows already sorted by decreasing priority (`block` numbers the
# runs of tied priorities).
toc_statistics <- function(sorted, q) {
  w <- sorted$w
  block <- sorted$block
  gamma <- (drop(rowsum(w * sorted$gamma, block)) / drop(rowsum(w, block)))[match(block, unique(block))]
  total <- sum(w)
  cum_w <- cumsum(w)
  share <- cum_w / total
  toc <- cumsum(w * gamma) / cum_w - sum(w * gamma) / total
  at <- findInterval(q - 1e-12, share, left.open = TRUE) + 1L
  list(autoc = sum(w * toc) / total, qini = sum(w * share * toc) / total,
       toc = toc[pmin(at, length(toc))])
}

# The estimates S, pseudo-outcomes and labels for calibration() and rate().
evaluation_inputs <- function(cate, fit, contrast, caller) {
  if (inherits(cate, "fastdml_cate")) {
    if (!is.null(contrast) && !contrast %in% c(cate$contrast, fit_arms(fit)[cate$arm + 1L])) {
      fd_abort("argument", "{.arg contrast} = {.val {contrast}} differs from the contrast of {.arg cate} ({.val {cate$contrast}}).")
    }
    contrast <- cate$contrast
    method <- cate$method
    S <- cate$estimates
  } else {
    if (!is.numeric(cate)) {
      fd_abort("argument", c("{.arg cate} must be a CATE object (e.g. from {.fn cate_dr}) or a numeric vector.",
                             x = "It is a {.cls {class(cate)[1L]}}."))
    }
    S <- as.double(cate)
    method <- "supplied estimates"
  }
  chosen <- fit_contrasts(fit, contrast, single = TRUE, caller = caller)[[1L]]
  if (length(S) != fit$n) {
    fd_abort("length", c("{.arg cate} has {length(S)} estimates; the fit has {fit$n} rows.",
                         i = "Evaluate on the rows the fit was estimated on (estimates for new data need a fit on that data)."))
  }
  if (any(!is.finite(S))) fd_abort("non_finite", "{.arg cate} has {sum(!is.finite(S))} missing or non-finite estimate{?s}.")
  list(S = S, gamma = pseudo_outcomes(fit, chosen$arm), contrast = chosen$term, method = method)
}

check_truth <- function(truth, n) {
  if (!is.numeric(truth) || length(truth) != n || any(!is.finite(truth))) {
    fd_abort("argument", c("{.arg truth} must be {n} finite numbers, one per row.",
                           i = "It has {length(truth)} entr{?y/ies}."))
  }
}

#' @export
print.fastdml_calibration <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_calibration} of {x$method}, {x$n} rows"), "\n", sep = "")
  cat("BLP calibration test (HET = 1: well calibrated; HET = 0: no heterogeneity detected)\n")
  print(format_coefficient_table(x$test[-1L]), row.names = FALSE)
  cat(sprintf("p-value of HET = 1: %s\n\nGroup average effects by quantile group of the estimates\n",
              format.pval(x$p_het_one, digits = 3)))
  print(format_coefficient_table(x$groups), row.names = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_calibration <- function(x, ...) x$test

#' @export
print.fastdml_rate <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_rate}: RATE of {x$method}, {x$n} rows, {x$n_boot} half-sample bootstrap draws"), "\n", sep = "")
  print(format_coefficient_table(x$estimates[-1L]), row.names = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_rate <- function(x, ...) x$estimates
