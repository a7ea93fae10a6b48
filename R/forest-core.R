# The causal forest engine (DESIGN.md §4, "CATE"): internal functions behind cate_forest().
# The C++ core (src/core/cate/) grows honest causal trees on histograms of the binned effect
# modifiers Z from DML residuals, following grf's causal forest (Athey, Tibshirani & Wager 2019);
# see causal_tree.h, causal_forest.h and forest_predictor.h for the exact rules.

# Defaults of forest_train()'s options; mtry NULL means min(ceiling(sqrt(p) + 20), p) as grf,
# seed NULL a seed drawn from R's RNG, max_depth NULL no depth limit.
forest_default_options <- function() {
  list(num_trees = 2000L, sample_fraction = 0.5, honesty = TRUE, honesty_fraction = 0.5,
       mtry = NULL, min_node_size = 5L, alpha = 0.05, ci_group_size = 2L, seed = NULL,
       max_depth = NULL, stabilize_splits = TRUE)
}

#' Train a causal forest on DML residuals
#'
#' @param Z Double matrix n x p of effect modifiers (finite).
#' @param y_res,d_res Residualised outcome Y - E[Y|X] and treatment D - E[D|X], length n.
#' @param weights NULL or n positive observation weights.
#' @param cluster NULL or n integer cluster ids 1..G (every id used). With clusters the forest
#'   samples clusters instead of rows (half-samples, tree subsamples and the honesty split;
#'   sample_fraction and honesty_fraction are then shares of clusters) and a tree uses all rows
#'   of its drawn clusters (grf can instead take a fixed number of rows per cluster); out of bag
#'   a row is predicted only by trees, and little-bag groups, whose sample holds no row of its
#'   cluster. NULL gives exactly the unclustered forest.
#' @param options List overriding `forest_default_options()`: num_trees (a multiple of
#'   ci_group_size), sample_fraction (<= 0.5 with ci_group_size > 1), honesty,
#'   honesty_fraction, mtry (mean of the Poisson number of candidate covariates per split),
#'   min_node_size, alpha, ci_group_size, seed, max_depth, stabilize_splits.
#' @param num_threads Number of threads.
#' @return An object of class `fastdml_forest_model`: a list with `trees` (the compact arrays:
#'   split, child, node_offset, leaf_offset, leaf_stats), `edges` (bin edges per column, the
#'   real split thresholds), `train_bins` (the binned Z, for out-of-bag prediction),
#'   `split_counts` (p x 4 splits by depth), `n`, `p`, `colnames`, `options`, `weighted`,
#'   `cluster` (the integer ids or NULL).
#' @noRd
forest_train <- function(Z, y_res, d_res, weights = NULL, options = list(), num_threads = 2L,
                         cluster = NULL) {
  stopifnot(is.matrix(Z), is.numeric(Z), nrow(Z) >= 1L, ncol(Z) >= 1L,
            length(y_res) == nrow(Z), length(d_res) == nrow(Z), is.list(options))
  storage.mode(Z) <- "double"
  p <- ncol(Z)
  unknown <- setdiff(names(options), names(forest_default_options()))
  if (length(unknown) > 0L) stop("unknown forest options: ", paste(unknown, collapse = ", "))
  opts <- utils::modifyList(forest_default_options(), options)
  if (is.null(opts$mtry)) opts$mtry <- min(ceiling(sqrt(p) + 20), p)
  if (is.null(opts$seed)) opts$seed <- sample.int(.Machine$integer.max, 1L)
  stopifnot(opts$num_trees >= 1, opts$ci_group_size >= 1,
            opts$num_trees %% opts$ci_group_size == 0,
            is.numeric(opts$seed), length(opts$seed) == 1L, is.finite(opts$seed))
  for (name in c("num_trees", "mtry", "min_node_size", "ci_group_size")) {
    opts[[name]] <- as.integer(opts[[name]])
  }
  if (!is.null(opts$max_depth)) opts$max_depth <- as.integer(opts$max_depth)
  opts$seed <- as.double(opts$seed)
  if (!is.null(weights)) {
    stopifnot(length(weights) == nrow(Z), all(is.finite(weights)), all(weights > 0))
    weights <- as.double(weights)
  }
  if (!is.null(cluster)) {
    stopifnot(is.numeric(cluster), length(cluster) == nrow(Z), !anyNA(cluster),
              all(cluster == round(cluster)), min(cluster) >= 1)
    cluster <- as.integer(cluster)
    if (!all(tabulate(cluster) > 0L)) stop("cluster ids must be 1..G with every id used")
  }
  fit <- .fastdml_forest_train(Z, as.double(y_res), as.double(d_res), weights, cluster, opts,
                               as.integer(num_threads))
  names_z <- colnames(Z)
  if (is.null(names_z)) names_z <- paste0("x", seq_len(p))
  structure(list(trees = fit[c("split", "child", "node_offset", "leaf_offset", "leaf_stats")],
                 edges = fit$edges, train_bins = fit$bins, split_counts = fit$split_counts,
                 n = nrow(Z), p = p, colnames = names_z, options = opts,
                 weighted = !is.null(weights), cluster = cluster),
            class = "fastdml_forest_model")
}

#' Predict the CATE with a causal forest
#'
#' @param model A `fastdml_forest_model`.
#' @param Z_new NULL for out-of-bag predictions of the training rows (each row by the trees
#'   whose subsample did not hold it, or with clusters any row of its cluster; its variance from
#'   the little-bag groups whose half-sample did not hold it, or its cluster), else a matrix
#'   with the training columns.
#' @param variance Also return the little-bags variance of each estimate.
#' @param num_threads Number of threads.
#' @return list(estimates, variance): numeric vectors (variance NULL unless requested; NaN where
#'   no tree, or fewer than two groups, could be used).
#' @noRd
forest_predict <- function(model, Z_new = NULL, variance = FALSE, num_threads = 2L) {
  stopifnot(inherits(model, "fastdml_forest_model"), is.logical(variance), length(variance) == 1L)
  if (!is.null(Z_new)) {
    if (is.data.frame(Z_new)) Z_new <- as.matrix(Z_new)
    stopifnot(is.matrix(Z_new), is.numeric(Z_new), ncol(Z_new) == model$p)
    storage.mode(Z_new) <- "double"
  }
  .fastdml_forest_predict(model, Z_new, variance, as.integer(num_threads))
}

#' Split-frequency variable importance of a causal forest (grf's variable_importance()): the
#' share of the splits on each variable at depths 1..4 (root = 1), weighted by depth^-2 and
#' normalised to sum 1 over the weights.
#' @param model A `fastdml_forest_model`.
#' @return Named numeric vector, one entry per column of Z, in column order.
#' @noRd
forest_importance <- function(model) {
  stopifnot(inherits(model, "fastdml_forest_model"))
  counts <- model$split_counts
  depth <- ncol(counts)
  share <- sweep(counts, 2L, pmax(1, colSums(counts)), "/")
  weight <- seq_len(depth)^-2
  stats::setNames(drop(share %*% weight) / sum(weight), model$colnames)
}
