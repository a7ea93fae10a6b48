# The exact policy tree engine (DESIGN.md §4, "Decide": exhaustive shallow policy trees):
# internal functions behind policy_tree(). The C++ core (src/core/policy/) finds the tree of a
# given depth that maximises the total reward sum_i Gamma[i, action(leaf(i))], as policytree
# does (Sverdrup, Kanodia, Zhou, Athey & Wager 2020; Athey & Wager 2021), exactly over the bin
# edges of the binned covariates; see policy_tree.h and policy_search_node.h for the rules.

#' Fit an exact policy tree
#'
#' Candidate thresholds are the FeatureBins bin edges of each column: a column with at most
#' `max_bins - 1` distinct values gets one bin per value, so the search is then exact over all
#' splits of the data (as `policytree::policy_tree()`); a column with more distinct values is
#' cut at quantile edges and the search is exact over those. Depth 2 costs
#' O(n p^2 A + p^2 B^2 A); depth 3 about p B times as much.
#'
#' @param X Double matrix n x p of covariates (finite).
#' @param Gamma Double matrix n x A (A >= 2) of rewards, e.g. doubly robust scores minus costs.
#' @param depth Maximum depth of the tree (>= 0); leaves may be shallower.
#' @param min_node_size Minimum number of training rows in every leaf.
#' @param max_bins Bins per column including FeatureBins' missing-value bin (3..256).
#' @param num_threads Number of threads.
#' @return An object of class `fastdml_policy_tree_model`: a list with `tree` (the nodes in
#'   preorder, node 1 the root: `var` the 0-based split column or -1 for a leaf, `threshold` the
#'   split value (rows with x <= threshold go left; NA for leaves), `left`, `right` the 0-based
#'   child nodes (-1 for leaves), `action` the 1-based column of Gamma of a leaf (NA for
#'   splits), `size` the training rows reaching the node), `reward` (sum_i Gamma[i, action(i)]
#'   of the tree on the training rows), `depth`, `min_node_size`, `max_bins`, `n`, `p`,
#'   `colnames` (of X) and `action_names` (of Gamma).
#' @noRd
policy_tree_fit <- function(X, Gamma, depth = 2L, min_node_size = 1L, max_bins = 256L,
                            num_threads = 2L) {
  stopifnot(is.matrix(X), is.numeric(X), nrow(X) >= 1L, ncol(X) >= 1L, all(is.finite(X)),
            is.matrix(Gamma), is.numeric(Gamma), nrow(Gamma) == nrow(X), ncol(Gamma) >= 2L,
            all(is.finite(Gamma)),
            is.numeric(depth), length(depth) == 1L, depth >= 0, depth == round(depth),
            is.numeric(min_node_size), length(min_node_size) == 1L, min_node_size >= 1,
            is.numeric(max_bins), length(max_bins) == 1L, max_bins >= 3, max_bins <= 256)
  storage.mode(X) <- "double"
  storage.mode(Gamma) <- "double"
  opts <- list(depth = as.integer(depth), min_node_size = as.integer(min_node_size),
               max_bins = as.integer(max_bins))
  fit <- .fastdml_policy_tree(X, Gamma, opts, as.integer(num_threads))
  p <- ncol(X)
  names_x <- colnames(X)
  if (is.null(names_x)) names_x <- paste0("x", seq_len(p))
  names_a <- colnames(Gamma)
  if (is.null(names_a)) names_a <- as.character(seq_len(ncol(Gamma)))
  fit$threshold[fit$var < 0L] <- NA_real_
  structure(list(tree = fit[c("var", "threshold", "left", "right", "action", "size")],
                 reward = fit$reward, depth = opts$depth, min_node_size = opts$min_node_size,
                 max_bins = opts$max_bins, n = nrow(X), p = p, colnames = names_x,
                 action_names = names_a),
            class = "fastdml_policy_tree_model")
}

#' Predict the actions of a policy tree
#'
#' @param model A `fastdml_policy_tree_model`.
#' @param X_new A matrix (or data frame) with the training columns, without missing values.
#' @param num_threads Number of threads.
#' @return Integer vector of actions, 1-based columns of the training Gamma.
#' @noRd
policy_tree_predict <- function(model, X_new, num_threads = 2L) {
  stopifnot(inherits(model, "fastdml_policy_tree_model"))
  if (is.data.frame(X_new)) X_new <- as.matrix(X_new)
  stopifnot(is.matrix(X_new), is.numeric(X_new), ncol(X_new) == model$p, !anyNA(X_new))
  storage.mode(X_new) <- "double"
  .fastdml_policy_tree_predict(model$tree, X_new, as.integer(num_threads))
}
