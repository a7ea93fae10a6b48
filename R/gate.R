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
#'   vector, or the name of one of the fit's covariates (one group per distinct value).
#' @param min_rows Groups with fewer rows are an error (the effect is not estimable).
#' @return A `fastdml_gate` object: `$table` (contrast, group, estimate, std.error, statistic,
#'   p.value, conf.low, conf.high, n), `$test` (contrast, statistic, df, p.value of equal
#'   effects), `$vcov` (one covariance matrix per contrast); with `print`, `tidy`, `coef`,
#'   `vcov`, `confint` and `autoplot` methods.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' gate(fit, groups = cut(df$age, c(0, 30, 45, 100)))
#' @export
gate <- function(fit, groups, contrast = NULL, vcov_type = c("HC0", "HC1", "HC2", "HC3"),
                 level = 0.95, min_rows = 2L) {
  contrasts <- fit_contrasts(fit, contrast, caller = "gate")
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  check_count(min_rows, "min_rows", 2L)
  groups <- group_factor(fit, groups, min_rows)
  G <- outer(as.integer(groups), seq_len(nlevels(groups)), `==`) * 1
  colnames(G) <- levels(groups)
  counts <- tabulate(groups, nlevels(groups))
  parts <- lapply(contrasts, function(contrast) {
    gamma <- pseudo_outcomes(fit, contrast$arm)
    projection <- linear_projection(gamma, G, fit$spec$weights, fit$spec$cluster, vcov_type)
    est <- projection$coefficients
    table <- coefficient_table(est, sqrt(diag(projection$vcov)), level, contrast = contrast$term)
    names(table)[names(table) == "term"] <- "group"
    table$n <- counts
    list(table = table, vcov = projection$vcov,
         test = c(list(contrast = contrast$term), equality_test(est, projection$vcov)))
  })
  structure(list(table = do.call(rbind, lapply(parts, `[[`, "table")),
                 test = do.call(rbind, lapply(parts, function(p) as.data.frame(p$test))),
                 vcov = stats::setNames(lapply(parts, `[[`, "vcov"), vapply(contrasts, `[[`, "", "term")),
                 level = level, vcov_type = vcov_type, clustered = !is.null(fit$spec$cluster),
                 n = fit$n),
            class = "fastdml_gate")
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

group_factor <- function(fit, groups, min_rows) {
  if (is.character(groups) && length(groups) == 1L && fit$n > 1L) {
    if (!groups %in% colnames(fit$spec$X)) {
      fd_abort("column", c("{.field {groups}} is not a covariate of the fit.",
                           i = "Pass the group of every row as a vector, or the name of a covariate."))
    }
    values <- fit$spec$X[, groups]
    if (length(unique(values)) > 20L) {
      fd_abort("argument", c("Covariate {.field {groups}} has {length(unique(values))} distinct values: too many groups.",
                             i = "Cut it into groups first, e.g. {.code cut(x, quantile(x, 0:4 / 4), include.lowest = TRUE)}."))
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
  small <- names(counts)[counts < min_rows]
  if (length(small)) {
    fd_abort("argument", c("Groups with fewer than {min_rows} rows: {.val {small}}.",
                           i = "Merge small groups with others."))
  }
  groups
}

#' @export
print.fastdml_gate <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_gate}: group average effects, {x$vcov_type} SE{if (x$clustered) ', cluster-robust' else ''}, {x$n} rows"), "\n", sep = "")
  for (term in unique(x$table$contrast)) {
    if (length(unique(x$table$contrast)) > 1L) cat("\n", term, "\n", sep = "")
    tab <- x$table[x$table$contrast == term, -1L]
    print(format_coefficient_table(tab), row.names = FALSE)
    test <- x$test[x$test$contrast == term, ]
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
  stats::setNames(object$table$estimate,
                  if (length(object$vcov) > 1L) paste(object$table$contrast, object$table$group, sep = ": ") else object$table$group)
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
