#' Group average treatment effects (GATE)
#'
#' The average effect within groups of rows: the weighted mean of the doubly robust
#' pseudo-outcomes of [cate_blp()] in each group (the regression of Gamma on the group
#' indicators), from the fit's cross-fitted nuisances. Standard errors are
#' heteroskedasticity-robust, or cluster-robust when the data have clusters (clusters may span
#' groups: the full covariance of the group effects is kept), and a Wald test of the joint
#' hypothesis that all groups share one effect is reported per contrast. For a multi-arm fit
#' every contrast is estimated unless `contrast` picks one.
#'
#' @inheritParams cate_blp
#' @param groups The group of every row of the fit: a factor, character, logical or integer
#'   vector, or the name of one of the fit's covariates (one group per distinct value); or
#'   several segmentations at once as a named list or data frame of such vectors (e.g. from
#'   [quartile_bins()]), reported one after the other.
#' @param min_rows,min_clusters Groups with fewer rows or clusters (users) are flagged
#'   (`size_ok = FALSE`): their effects rest on little data. Groups with fewer than 2 rows are
#'   an error.
#' @param B Cluster-bootstrap draws for percentile intervals of each group effect (clusters of
#'   the fit, rows without; nuisances fixed; see [bootstrap_cluster()]); 0 for none.
#' @param seed Seed of the bootstrap.
#' @param truth Optional true effect per row (simulations): its mean per group is reported
#'   (`mean_truth`) and drawn by `autoplot()`.
#' @return A `fastdml_gate` object: `$table` (segmentation, contrast, group, estimate,
#'   std.error, statistic, p.value, conf.low, conf.high, n, clusters, treated_share,
#'   mean_outcome, sd_score, mean_propensity, size_ok and, with `B > 0`, boot.low and
#'   boot.high), `$test` (segmentation, contrast, statistic, df, p.value of equal effects),
#'   `$vcov` (one covariance matrix per segmentation and contrast); with `print`, `tidy`,
#'   `coef`, `vcov`, `confint` and `autoplot` methods.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' gate(fit, groups = cut(df$age, c(0, 30, 45, 100)))
#' gate(fit, quartile_bins(df, c("age", "income")), B = 200, seed = 1)
#' @export
gate <- function(fit, groups, contrast = NULL, vcov_type = c("HC0", "HC1", "HC2", "HC3"),
                 level = 0.95, min_rows = 100L, min_clusters = 10L, B = 0L, seed = NULL, truth = NULL) {
  contrasts <- fit_contrasts(fit, contrast, caller = "gate")
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  check_count(min_rows, "min_rows", 1L)
  check_count(min_clusters, "min_clusters", 1L)
  check_count(B, "B", 0L)
  if (B == 1L) fd_abort("argument", "{.arg B} = 1 cannot give an interval; use 0 or at least 2.")
  if (!is.null(truth)) check_truth(truth, fit$n)
  segmentations <- if (is.list(groups)) groups else list(groups = groups)
  if (is.null(names(segmentations)) || any(!nzchar(names(segmentations)))) {
    fd_abort("argument", "Several segmentations in {.arg groups} must be named (a named list or data frame).")
  }
  gammas <- lapply(contrasts, function(contrast) pseudo_outcomes(fit, contrast$arm))
  parts <- unlist(lapply(names(segmentations), function(segmentation) {
    groups <- group_factor(fit, segmentations[[segmentation]])
    lapply(seq_along(contrasts), function(k) {
      gate_segmentation(fit, groups, contrasts[[k]], gammas[[k]], vcov_type, level,
                        c(rows = min_rows, clusters = min_clusters), B, seed, segmentation, truth)
    })
  }), recursive = FALSE)
  structure(list(table = do.call(rbind, lapply(parts, `[[`, "table")),
                 test = do.call(rbind, lapply(parts, function(p) as.data.frame(p$test))),
                 vcov = stats::setNames(lapply(parts, `[[`, "vcov"),
                                        vapply(parts, function(p) paste(p$test$segmentation, p$test$contrast, sep = ": "), "")),
                 level = level, vcov_type = vcov_type, clustered = !is.null(fit$spec$cluster),
                 B = B, n = fit$n),
            class = "fastdml_gate")
}

# Group effects of one segmentation and contrast: the projection of Gamma on the group
# indicators, the groups' descriptions and size flags, and optional bootstrap intervals.
gate_segmentation <- function(fit, groups, contrast, gamma, vcov_type, level, min_size, B, seed, segmentation,
                              truth) {
  G <- outer(as.integer(groups), seq_len(nlevels(groups)), `==`) * 1
  colnames(G) <- levels(groups)
  projection <- linear_projection(gamma, G, fit$spec$weights, fit$spec$cluster, vcov_type)
  est <- projection$coefficients
  table <- coefficient_table(est, sqrt(diag(projection$vcov)), level, segmentation = segmentation,
                             contrast = contrast$term)
  names(table)[names(table) == "term"] <- "group"
  w <- unit_weights(fit$spec$weights, fit$n)
  by_group <- function(x) drop(rowsum(w * x, groups)) / drop(rowsum(w, groups))
  cluster <- if (is.null(fit$spec$cluster)) seq_len(fit$n) else fit$spec$cluster
  table$n <- tabulate(groups, nlevels(groups))
  table$clusters <- vapply(levels(groups), function(g) length(unique(cluster[groups == g])), integer(1))
  table$treated_share <- by_group(fit_arm_index(fit) == contrast$arm)
  table$mean_outcome <- by_group(fit$spec$y)
  table$sd_score <- vapply(levels(groups), function(g) stats::sd(gamma[groups == g]), numeric(1))
  table$mean_propensity <- by_group(pair_propensity(fit, contrast$arm))
  table$size_ok <- table$n >= min_size[["rows"]] & table$clusters >= min_size[["clusters"]]
  if (!is.null(truth)) table$mean_truth <- by_group(truth)
  if (B > 0L) {
    draws <- cluster_bootstrap_draws(w * gamma * G, w * G, fit$spec$cluster, B, seed)
    limits <- percentile_limits(draws, level)
    table$boot.low <- limits[1L, ]
    table$boot.high <- limits[2L, ]
  }
  list(table = table, vcov = projection$vcov,
       test = c(list(segmentation = segmentation, contrast = contrast$term), equality_test(est, projection$vcov)))
}

# Wald test that all entries of theta are equal: R theta = 0 with rows theta_g - theta_1.
equality_test <- function(theta, V) {
  k <- length(theta)
  if (k < 2L) return(list(statistic = NA_real_, df = 0L, p.value = NA_real_))
  R <- cbind(-1, diag(k - 1L))
  diff <- R %*% theta
  statistic <- drop(crossprod(diff, solve(R %*% V %*% t(R), diff)))
  list(statistic = statistic, df = k - 1L,
       p.value = stats::pchisq(statistic, k - 1L, lower.tail = FALSE))
}

group_factor <- function(fit, groups) {
  if (is.character(groups) && length(groups) == 1L && fit$n > 1L) {
    if (!groups %in% colnames(fit$spec$X)) {
      fd_abort("column", c("{.field {groups}} is not a covariate of the fit.",
                           i = "Pass the group of every row as a vector, or the name of a covariate."))
    }
    values <- fit$spec$X[, groups]
    if (length(unique(values)) > 20L) {
      fd_abort("argument", c("Covariate {.field {groups}} has {length(unique(values))} distinct values: too many groups.",
                             i = "Cut it into groups first, e.g. with {.fn quartile_bins}."))
    }
    groups <- values
  }
  if (!is.atomic(groups) || length(groups) != fit$n) {
    fd_abort("length", c("{.arg groups} has {length(groups)} entries; the fit has {fit$n} rows.",
                         i = "Pass one group per row of the fit, in the same order."))
  }
  if (anyNA(groups)) {
    fd_abort("non_finite", c("{.arg groups} has {sum(is.na(groups))} missing value{?s}.",
                          i = "Give those rows a group of their own (e.g. {.val missing})."))
  }
  groups <- droplevels(as.factor(groups))
  counts <- table(groups)
  small <- names(counts)[counts < 2L]
  if (length(small)) {
    fd_abort("argument", c("Groups with fewer than 2 rows: {.val {small}}.",
                           i = "Merge small groups with others."))
  }
  groups
}

#' @export
print.fastdml_gate <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_gate}: group average effects, {x$vcov_type} SE{if (x$clustered) ', cluster-robust' else ''}{if (x$B > 0) paste0(', ', x$B, ' bootstrap draws') else ''}, {x$n} rows"), "\n", sep = "")
  blocks <- unique(x$table[c("segmentation", "contrast")])
  shown <- c("group", "estimate", "std.error", "conf.low", "conf.high", "boot.low", "boot.high", "n",
             "clusters", "treated_share", "size_ok", "mean_truth")
  for (b in seq_len(nrow(blocks))) {
    rows <- x$table$segmentation == blocks$segmentation[b] & x$table$contrast == blocks$contrast[b]
    if (nrow(blocks) > 1L) cat("\n", blocks$segmentation[b], " (", blocks$contrast[b], ")\n", sep = "")
    tab <- x$table[rows, intersect(shown, names(x$table))]
    if (!x$clustered) tab$clusters <- NULL
    print(format_coefficient_table(tab), row.names = FALSE)
    test <- x$test[x$test$segmentation == blocks$segmentation[b] & x$test$contrast == blocks$contrast[b], ]
    if (test$df > 0) {
      cat(sprintf("Equal effects across groups: chi2(%d) = %.3f, p = %s\n", test$df, test$statistic,
                  format.pval(test$p.value, digits = 3)))
    }
  }
  invisible(x)
}

#' @export
tidy.fastdml_gate <- function(x, ...) x$table

#' @export
coef.fastdml_gate <- function(object, ...) {
  tab <- object$table
  stats::setNames(tab$estimate, if (length(object$vcov) > 1L) paste(tab$segmentation, tab$contrast, tab$group, sep = ": ") else tab$group)
}

#' @export
vcov.fastdml_gate <- function(object, ...) {
  if (length(object$vcov) == 1L) object$vcov[[1L]] else object$vcov
}

#' @export
confint.fastdml_gate <- function(object, parm, level = object$level, ...) {
  se <- object$table$std.error
  z <- stats::qnorm((1 + level) / 2)
  out <- cbind(object$table$estimate - z * se, object$table$estimate + z * se)
  dimnames(out) <- list(names(coef(object)), sprintf("%.1f %%", 100 * c((1 - level) / 2, (1 + level) / 2)))
  if (missing(parm)) out else out[parm, , drop = FALSE]
}
