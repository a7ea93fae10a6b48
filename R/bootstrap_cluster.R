#' Cluster bootstrap of a fit's estimates, nuisances held fixed
#'
#' Resamples whole clusters (the fit's `cluster`, e.g. users of a panel; rows when there are
#' none) with replacement and recomputes each estimate from the fit's scores, theta = -sum
#' psi_b / sum psi_a over the drawn clusters (the mean doubly robust score for the ATE), with the
#' cross-fitted nuisances held fixed (`specs/recsys-aipw.md` step 4). With several repetitions
#' every repetition is recomputed from the same draws and the median taken, as in the fit. The
#' draws come from R's RNG (`sample.int(G, G, replace = TRUE)` per draw) inside a streamed C++
#' loop over per-cluster sums: memory O(n + B), never n x B. Reported: the percentile interval,
#' the bootstrap standard error, and the analytic cluster-robust one of the fit for comparison.
#'
#' @param fit A fit from [dml_irm()], [dml_plr()] or [dml_multi_irm()].
#' @param B Bootstrap draws.
#' @param seed Seed of the draws (`NULL`: the current RNG stream).
#' @param level Confidence level of the percentile intervals.
#' @return A `fastdml_bootstrap` object: `$table` (term, estimate, std.error (analytic),
#'   boot.se, conf.low, conf.high (percentile)), `$draws` (B x terms); `print` and `tidy`.
#' @family inference
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' df$store <- rep(1:40, each = 20)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"), cluster = "store")
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' bootstrap_cluster(fit, B = 200, seed = 1)
#' @export
bootstrap_cluster <- function(fit, B = 1000L, seed = NULL, level = 0.95) {
  if (!inherits(fit, "fastdml_fit")) {
    fd_abort("argument", c("{.fn bootstrap_cluster} needs a DML fit.", x = "It got a {.cls {class(fit)[1L]}}."))
  }
  check_count(B, "B", 2L)
  check_level(level)
  terms <- names(fit$coefficients)
  n_rep <- fit$n_rep
  draws <- cluster_bootstrap_draws(-matrix(fit$psi_b, nrow = fit$n), matrix(fit$psi_a, nrow = fit$n),
                                   fit$spec$cluster, B, seed)
  per_term <- vapply(seq_along(terms), function(k) {
    columns <- (k - 1L) * n_rep + seq_len(n_rep)
    apply(draws[, columns, drop = FALSE], 1L, stats::median)
  }, numeric(B))
  per_term <- matrix(per_term, nrow = B, dimnames = list(NULL, terms))
  table <- bootstrap_table(terms, unname(fit$coefficients), fit$se, per_term, level)
  structure(list(table = table, draws = per_term, B = B, level = level,
                 unit = if (is.null(fit$spec$cluster)) "rows" else sprintf("%d clusters", max(fit$spec$cluster))),
            class = "fastdml_bootstrap")
}

# Percentile limits (2 x K: lower, upper) of bootstrap draws (B x K, or a vector), type 7,
# draws that are NaN (a group absent from a resample) left out. Shared by every bootstrap.
percentile_limits <- function(draws, level) {
  probs <- c((1 - level) / 2, (1 + level) / 2)
  apply(as.matrix(draws), 2L, stats::quantile, probs = probs, names = FALSE, na.rm = TRUE, type = 7)
}

# Percentile intervals and bootstrap SEs of draws (B x K) next to estimates and analytic SEs.
bootstrap_table <- function(terms, estimate, se, draws, level) {
  limits <- percentile_limits(draws, level)
  data.frame(term = terms, estimate = estimate, std.error = se,
             boot.se = apply(draws, 2L, stats::sd, na.rm = TRUE),
             conf.low = limits[1L, ], conf.high = limits[2L, ], row.names = NULL)
}

#' @export
print.fastdml_bootstrap <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_bootstrap}: {x$B} resamples of {x$unit}, nuisances fixed; {100 * x$level}% percentile intervals"), "\n", sep = "")
  print(format_coefficient_table(x$table), row.names = FALSE)
  invisible(x)
}

#' @export
tidy.fastdml_bootstrap <- function(x, ...) x$table
