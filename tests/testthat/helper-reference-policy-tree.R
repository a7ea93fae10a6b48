# Exhaustive reference for the exact policy tree (R/policy-tree-core.R): the largest total reward
# sum_i Gamma[i, action(leaf(i))] over every tree of depth <= `depth` whose splits "x_j <= t"
# use a threshold t among the distinct values of x_j in the node (all but the largest) and leave
# at least min_node_size rows on each side; every leaf takes its best action. A tree is a leaf
# or a split with two subtrees of depth - 1, and its reward is the sum of theirs, so the maximum
# over all trees is the maximum of the leaf and, over every split, of the two sides' maxima.
ref_policy_reward <- function(X, Gamma, depth, min_node_size = 1L, rows = seq_len(nrow(X))) {
  leaf <- max(colSums(Gamma[rows, , drop = FALSE]))
  if (depth == 0L || length(rows) < 2L * min_node_size) return(leaf)
  best <- leaf
  for (j in seq_len(ncol(X))) {
    x <- X[rows, j]
    values <- sort(unique(x))
    for (t in values[-length(values)]) {
      left <- rows[x <= t]
      right <- rows[x > t]
      if (length(left) < min_node_size || length(right) < min_node_size) next
      best <- max(best, ref_policy_reward(X, Gamma, depth - 1L, min_node_size, left) +
                          ref_policy_reward(X, Gamma, depth - 1L, min_node_size, right))
    }
  }
  best
}

# The reward of a fitted tree recomputed from its predictions: sum_i Gamma[i, action(i)].
ref_policy_tree_value <- function(model, X, Gamma) {
  action <- fastdml:::policy_tree_predict(model, X, num_threads = 1L)
  sum(Gamma[cbind(seq_len(nrow(X)), action)])
}

# Leaf sizes of a fitted tree on X, by routing every row through the stored thresholds.
ref_policy_leaf_sizes <- function(model, X) {
  tree <- model$tree
  leaf <- vapply(seq_len(nrow(X)), function(i) {
    k <- 1L
    while (tree$var[k] >= 0L) {
      k <- 1L + if (X[i, tree$var[k] + 1L] <= tree$threshold[k]) tree$left[k] else tree$right[k]
    }
    k
  }, integer(1))
  as.vector(table(leaf))
}
