#' Accuracy of CATE estimates against the true effects (simulations)
#'
#' Compares one or several sets of CATE estimates with the true effects of the same rows, as
#' in a simulation study or the held-out evaluation of `vignette("onboarding-targeting")`:
#' root mean squared error, mean absolute error, Pearson correlation, the bias of the implied
#' average effect, the mean true effect among the rows with the top `top` share of estimates
#' (ties by row order) and the share of the truly top rows they capture; with `cost`, the
#' shares of rows whose estimated and whose true effect exceed it, the precision of the rule
#' "treat if the estimate exceeds the cost" (share of the rows it treats whose true effect
#' exceeds the cost) and its true net value per row, mean of 1{estimate > cost} (truth - cost).
#' Means are weighted by
#' `weights` (the correlation is not). With `segments`, the bias per segment (mean estimate
#' minus mean truth among its rows).
#'
#' @param estimates A numeric vector, a `fastdml_cate` object (its out-of-fold estimates), or a
#'   named list of those (one row per estimator).
#' @param truth The true CATE of the same rows.
#' @param weights Optional observation weights.
#' @param top Share of rows with the largest estimates for the targeting statistics.
#' @param cost Optional cost of treating one row, in outcome units.
#' @param segments Optional named list or data frame of logical vectors (one per segment).
#' @return A `fastdml_cate_accuracy` data frame (one row per estimator) with attribute
#'   `segments` (the per-segment bias table, when asked) and `rows` (estimates and truth, for
#'   `autoplot(type = "scatter")`).
#' @family heterogeneity
#' @examples
#' truth <- rnorm(500)
#' cate_accuracy(list(good = truth + rnorm(500, sd = 0.3), poor = rnorm(500)), truth,
#'               segments = list(positive = truth > 0))
#' @export
cate_accuracy <- function(estimates, truth, weights = NULL, top = 0.2, cost = NULL, segments = NULL) {
  if (!is.list(estimates) || inherits(estimates, "fastdml_cate")) estimates <- list(estimate = estimates)
  if (is.null(names(estimates)) || any(!nzchar(names(estimates)))) {
    fd_abort("argument", "A list of {.arg estimates} must be named (one name per estimator).")
  }
  estimates <- lapply(estimates, function(e) if (inherits(e, "fastdml_cate")) e$estimates else e)
  n <- length(truth)
  check_truth(truth, n)
  for (name in names(estimates)) {
    e <- estimates[[name]]
    if (!is.numeric(e) || length(e) != n || any(!is.finite(e))) {
      fd_abort("argument", c("Estimates {.val {name}} must be {n} finite numbers, like {.arg truth}.",
                             i = "They have {length(e)} entr{?y/ies}, {sum(!is.finite(e))} non-finite."))
    }
  }
  if (!is.null(weights) && (!is.numeric(weights) || length(weights) != n || any(!is.finite(weights) | weights < 0) ||
                            !any(weights > 0))) {
    fd_abort("argument", "{.arg weights} must be {n} non-negative finite numbers, not all zero.")
  }
  w <- unit_weights(weights, n)
  check_number(top, "top", 0, 1, open = c(TRUE, FALSE))
  if (!is.null(cost)) check_number(cost, "cost")
  segments <- segment_list(segments, n)
  mean_w <- function(x, rows = TRUE) sum((w * x)[rows]) / sum(w[rows])
  n_top <- ceiling(top * n)
  true_top <- order(-truth)[seq_len(n_top)]
  table <- do.call(rbind, lapply(names(estimates), function(name) {
    e <- as.double(estimates[[name]])
    chosen <- order(-e)[seq_len(n_top)]
    row <- data.frame(estimator = name, rmse = sqrt(mean_w((e - truth)^2)), mae = mean_w(abs(e - truth)),
                      correlation = stats::cor(e, truth), ate_bias = mean_w(e) - mean_w(truth),
                      top_true_mean = mean_w(truth, chosen), top_capture = mean(true_top %in% chosen))
    if (!is.null(cost)) {
      row$share_above_cost <- mean_w(e > cost)
      row$true_share_above_cost <- mean_w(truth > cost)
      row$precision_above_cost <- if (any(e > cost)) mean_w(truth > cost, e > cost) else NA_real_
      row$true_net_value <- mean_w((e > cost) * (truth - cost))
    }
    row
  }))
  bias <- if (length(segments)) do.call(rbind, lapply(names(estimates), function(name) {
    e <- as.double(estimates[[name]])
    do.call(rbind, lapply(names(segments), function(segment) {
      rows <- segments[[segment]]
      data.frame(estimator = name, segment = segment, n = sum(rows), mean_estimate = mean_w(e, rows),
                 mean_truth = mean_w(truth, rows), bias = mean_w(e, rows) - mean_w(truth, rows))
    }))
  }))
  rows <- data.frame(estimator = rep(names(estimates), each = n),
                     estimate = unlist(estimates, use.names = FALSE), truth = rep(truth, length(estimates)))
  structure(table, segments = bias, rows = rows, top = top,
            class = c("fastdml_cate_accuracy", "data.frame"))
}

segment_list <- function(segments, n) {
  if (is.null(segments)) return(list())
  if (!is.list(segments) || is.null(names(segments)) || any(!nzchar(names(segments)))) {
    fd_abort("argument", "{.arg segments} must be a named list or data frame of logical vectors.")
  }
  for (name in names(segments)) {
    s <- segments[[name]]
    if (!is.logical(s) || length(s) != n || anyNA(s) || !any(s)) {
      fd_abort("argument", c("Segment {.val {name}} must be {n} TRUE/FALSE values without NA, some TRUE.",
                             i = "Build segments as conditions such as {.code x > median(x)}."))
    }
  }
  as.list(segments)
}

#' @export
print.fastdml_cate_accuracy <- function(x, ...) {
  rows <- attr(x, "rows")
  cat(cli::format_inline("{.cls fastdml_cate_accuracy}: {if (is.null(rows)) 'CATE estimates' else paste(nrow(rows) / nrow(x), 'rows')} against known effects"), "\n", sep = "")
  print(format_coefficient_table(as.data.frame(unclass(x)[names(x)])), row.names = FALSE)
  segments <- attr(x, "segments")
  if (!is.null(segments)) {
    cat("\nBias by segment (mean estimate - mean truth)\n")
    wide <- stats::reshape(segments[c("estimator", "segment", "bias")], idvar = "segment",
                           timevar = "estimator", direction = "wide")
    names(wide) <- sub("^bias\\.", "", names(wide))
    print(format_coefficient_table(wide), row.names = FALSE)
  }
  invisible(x)
}
