#' Causal forest on the DML residuals
#'
#' A generalised random forest for the CATE (Athey, Tibshirani and Wager, 2019) grown in C++ on
#' the fit's cross-fitted residuals (DESIGN.md §4, nothing refitted): Y~ = Y - l(X) and
#' D~ = D - m(X) with l = m g1 + (1 - m) g0 (for a multi-arm contrast k, on the rows of arms 0
#' and k with m = e_k / (e_k + e_0)), averaged over repetitions. Each tree is grown on a
#' subsample, honestly: one half chooses the splits by the R-learner criterion on the
#' pseudo-outcome rho = (D~ - mean D~)((Y~ - mean Y~) - tau_P (D~ - mean D~)) of each node,
#' the other half fills the leaves' sufficient statistics. A prediction is the
#' residual-on-residual slope of the forest-weighted statistics, and its variance comes from
#' "little bags" of `ci_group_size` trees sharing a half-sample. Covariates are binned into at
#' most 255 quantile bins once per forest, so splits are found on histograms. Trees are grown
#' in parallel and every tree is seeded from `seed` + its index: the forest is bit-identical
#' for any number of threads. With clusters (`causal_data(cluster = )`), trees subsample whole
#' clusters (using all their rows) and out-of-bag predictions leave out the row's whole cluster.
#'
#' @inheritParams cate_dr
#' @param num_trees Number of trees (a multiple of `ci_group_size`).
#' @param sample_fraction Share of the rows (of the clusters, with clusters) each tree is grown
#'   on (at most 0.5 with little bags).
#' @param honesty Split the subsample into a splitting and an estimation half.
#' @param honesty_fraction Share of the subsample (of its clusters, with clusters) used to choose
#'   the splits.
#' @param mtry Mean number of covariates tried per split; default min(ceiling(sqrt(p) + 20), p).
#' @param min_node_size Minimum number of rows in a leaf.
#' @param alpha Minimum share of a node's rows (and treatment variation) in each child.
#' @param ci_group_size Trees per little bag (2 or more for variances; 1 disables them).
#' @param seed Seed of the forest (`NULL`: drawn from R's RNG, so [set.seed()] reproduces it).
#' @return A `fastdml_cate_forest` object (a `fastdml_cate`): out-of-bag `$estimates` and
#'   `$variance` for the fit's rows, `$importance`; `predict(object, newdata, variance = TRUE)`.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' cf <- cate_forest(fit, num_trees = 200, seed = 1)
#' cf
#' head(predict(cf, df[1:5, ], variance = TRUE))
#' @export
cate_forest <- function(fit, effect_modifiers = NULL, num_trees = 2000L, contrast = NULL,
                        sample_fraction = 0.5, honesty = TRUE, honesty_fraction = 0.5,
                        mtry = NULL, min_node_size = 5L, alpha = 0.05, ci_group_size = 2L,
                        seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  contrast <- fit_contrasts(fit, contrast, single = TRUE, caller = "cate_forest")[[1L]]
  threads <- resolve_num_threads(num.threads)
  Z <- effect_modifier_matrix(fit, effect_modifiers)
  options <- forest_options(num_trees, sample_fraction, honesty, honesty_fraction, mtry,
                            min_node_size, alpha, ci_group_size, ncol(Z))
  with_seed(seed, NULL)
  options$seed <- if (is.null(seed)) sample.int(.Machine$integer.max, 1L) else seed
  arm <- fit_arm_index(fit)
  rows <- which(arm == 0L | arm == contrast$arm)
  residuals <- forest_residuals(fit, contrast$arm, rows)
  weights <- fit$spec$weights
  cluster <- fit$spec$cluster
  if (!is.null(cluster)) cluster <- match(cluster[rows], sort(unique(cluster[rows])))
  model <- forest_train(Z[rows, , drop = FALSE], residuals$y, residuals$d,
                        if (is.null(weights)) NULL else weights[rows], options, threads,
                        cluster = cluster)
  oob <- forest_predict(model, NULL, variance = ci_group_size > 1L, threads)
  estimates <- variance <- rep(NA_real_, fit$n)
  estimates[rows] <- oob$estimates
  if (!is.null(oob$variance)) variance[rows] <- oob$variance
  others <- setdiff(seq_len(fit$n), rows)
  if (length(others)) {
    rest <- forest_predict(model, Z[others, , drop = FALSE], variance = ci_group_size > 1L, threads)
    estimates[others] <- rest$estimates
    if (!is.null(rest$variance)) variance[others] <- rest$variance
  }
  importance <- forest_importance(model)
  new_cate("fastdml_cate_forest",
           sprintf("causal forest (%d trees, min leaf %d, %s)", num_trees, min_node_size,
                   if (honesty) "honest" else "not honest"),
           fit, contrast, estimates, if (ci_group_size > 1L) variance,
           model = model, importance = data.frame(term = names(importance), importance = unname(importance))[order(-importance), ],
           columns = colnames(Z), num_threads = threads)
}

forest_options <- function(num_trees, sample_fraction, honesty, honesty_fraction, mtry,
                           min_node_size, alpha, ci_group_size, p) {
  check_count(ci_group_size, "ci_group_size", 1L)
  check_count(num_trees, "num_trees", ci_group_size)
  if (num_trees %% ci_group_size != 0) {
    fd_abort("argument", c("{.arg num_trees} = {num_trees} is not a multiple of {.arg ci_group_size} = {ci_group_size}.",
                           i = "Trees come in little bags of {ci_group_size}; use e.g. {.code num_trees = {ci_group_size * ceiling(num_trees / ci_group_size)}}."))
  }
  upper <- if (ci_group_size > 1L) 0.5 else 1
  check_number(sample_fraction, "sample_fraction", 0, upper, open = c(TRUE, FALSE),
               hint = if (ci_group_size > 1L) "With little bags (ci_group_size > 1) each tree subsamples half of the rows at most; use ci_group_size = 1 for larger subsamples.")
  check_flag(honesty, "honesty")
  check_number(honesty_fraction, "honesty_fraction", 0, 1)
  if (is.null(mtry)) mtry <- min(ceiling(sqrt(p) + 20), p)
  check_count(mtry, "mtry", 1L)
  if (mtry > p) fd_abort("argument", "{.arg mtry} = {mtry} exceeds the {p} effect modifier{?s}.")
  check_count(min_node_size, "min_node_size", 1L)
  check_number(alpha, "alpha", 0, 0.25, open = c(FALSE, TRUE))
  list(num_trees = as.integer(num_trees), sample_fraction = sample_fraction, honesty = honesty,
       honesty_fraction = honesty_fraction, mtry = as.integer(mtry),
       min_node_size = as.integer(min_node_size), alpha = alpha,
       ci_group_size = as.integer(ci_group_size))
}

#' @rdname cate_forest
#' @param object A `fastdml_cate_forest` object.
#' @param newdata A data frame or matrix with the effect modifiers; `NULL` gives the out-of-bag
#'   estimates of the fit's rows.
#' @param variance Also return the variance of each prediction.
#' @param ... Unused.
#' @export
predict.fastdml_cate_forest <- function(object, newdata = NULL, variance = FALSE,
                                        num.threads = getOption("fastdml.num.threads", 2L), ...) {
  check_flag(variance, "variance")
  if (variance && is.null(object$variance) && object$model$options$ci_group_size < 2L) {
    fd_abort("argument", "Variances need little bags: refit with {.code ci_group_size = 2}.")
  }
  if (is.null(newdata)) {
    return(if (variance) data.frame(estimate = object$estimates, variance = object$variance) else object$estimates)
  }
  Z <- numeric_table(newdata, "newdata", object$columns)
  out <- forest_predict(object$model, Z, variance, resolve_num_threads(num.threads))
  if (variance) data.frame(estimate = out$estimates, variance = out$variance) else out$estimates
}

#' @export
print.fastdml_cate_forest <- function(x, ...) {
  NextMethod()
  top <- utils::head(x$importance, 5L)
  cat("Variable importance (split frequency): ",
      paste(sprintf("%s %.2f", top$term, top$importance), collapse = ", "), "\n", sep = "")
  invisible(x)
}
