# The exact policy tree engine of DESIGN.md §4, "Decide" (R/policy-tree-core.R,
# src/core/policy/): the reward against the exhaustive search of helper-reference-policy-tree.R
# for depth 1, 2 and 3 (ties, repeated covariate values, min_node_size), bit-identical results
# across thread counts, and the same reward as policytree::policy_tree() on covariates with few
# distinct values (where both searches are exact over the same splits).

# Tiny data: covariates with many repeated values (`levels` distinct values per column), rewards
# on a coarse grid (many ties between actions and between splits).
tiny_policy_data <- function(n, p, A, seed, levels = 5L, grid = 0.5) {
  set.seed(seed)
  X <- matrix(sample.int(levels, n * p, replace = TRUE) / levels, n, p)
  Gamma <- matrix(grid * round(rnorm(n * A) / grid), n, A)
  Gamma[, 1] <- Gamma[, 1] + grid * (X[, 1] > 0.5)
  list(X = X, Gamma = Gamma)
}

expect_reward_equal <- function(fit, expected, Gamma) {
  expect_lt(abs(fit$reward - expected), 1e-10 * max(1, sum(abs(Gamma))))
}

# The fitted tree's leaves hold at least min_node_size rows, its reward is the sum of the
# rewards of its predicted actions, and its node sizes agree with routing by the thresholds.
expect_valid_tree <- function(fit, X, Gamma, min_node_size) {
  leaves <- fit$tree$var < 0L
  expect_true(all(fit$tree$size[leaves] >= min(min_node_size, nrow(X))))
  expect_equal(sort(fit$tree$size[leaves]), sort(ref_policy_leaf_sizes(fit, X)))
  expect_lt(abs(fit$reward - ref_policy_tree_value(fit, X, Gamma)), 1e-10 * max(1, sum(abs(Gamma))))
  expect_true(all(fit$tree$action[leaves] %in% seq_len(ncol(Gamma))))
  expect_true(all(is.na(fit$tree$action[!leaves])))
}

test_that("depth-1 and depth-2 trees reach the exhaustive optimum on tiny data", {
  cases <- expand.grid(seed = 1:6, A = 2:3, depth = 1:2, min_node_size = c(1L, 4L))
  for (k in seq_len(nrow(cases))) {
    case <- cases[k, ]
    d <- tiny_policy_data(n = 16L + 4L * case$seed, p = 1L + case$seed %% 3L, A = case$A,
                          seed = case$seed)
    fit <- fastdml:::policy_tree_fit(d$X, d$Gamma, depth = case$depth,
                                     min_node_size = case$min_node_size, num_threads = 2L)
    expected <- ref_policy_reward(d$X, d$Gamma, case$depth, case$min_node_size)
    expect_reward_equal(fit, expected, d$Gamma)
    expect_valid_tree(fit, d$X, d$Gamma, case$min_node_size)
    expect_lte(length(fit$tree$var), 2^(case$depth + 1) - 1)
  }
})

test_that("continuous covariates, n = 40, p = 3, and heavy ties are handled exactly", {
  for (seed in 1:4) {
    set.seed(100 + seed)
    X <- matrix(rnorm(40 * 3), 40, 3)
    Gamma <- matrix(rnorm(40 * 3), 40, 3)
    for (depth in 1:2) {
      fit <- fastdml:::policy_tree_fit(X, Gamma, depth = depth, min_node_size = 3L)
      expect_reward_equal(fit, ref_policy_reward(X, Gamma, depth, 3L), Gamma)
      expect_valid_tree(fit, X, Gamma, 3L)
    }
  }
  # Identical reward columns: every tree has the same reward, so the tree is a single leaf
  # taking the first action.
  d <- tiny_policy_data(30L, 2L, 2L, seed = 9)
  same <- cbind(d$Gamma[, 2], d$Gamma[, 2])
  fit <- fastdml:::policy_tree_fit(d$X, same, depth = 2L)
  expect_identical(fit$tree$var, -1L)
  expect_identical(fit$tree$action, 1L)
  expect_equal(fit$reward, sum(same[, 1]))
  # A constant covariate cannot split; integer-valued rewards give exact ties between splits.
  X <- cbind(1, rep(1:4, each = 8))
  Gamma <- cbind(0, rep(c(1, -1, -1, 1), each = 8) + rep(c(0, 1), 16))
  for (depth in 1:2) {
    fit <- fastdml:::policy_tree_fit(X, Gamma, depth = depth)
    expect_reward_equal(fit, ref_policy_reward(X, Gamma, depth), Gamma)
    expect_false(0L %in% fit$tree$var)
  }
})

test_that("min_node_size bounds every leaf and can force a single leaf", {
  d <- tiny_policy_data(36L, 3L, 3L, seed = 21)
  for (m in c(1L, 5L, 9L, 12L, 18L)) {
    fit <- fastdml:::policy_tree_fit(d$X, d$Gamma, depth = 2L, min_node_size = m)
    expect_reward_equal(fit, ref_policy_reward(d$X, d$Gamma, 2L, m), d$Gamma)
    expect_valid_tree(fit, d$X, d$Gamma, m)
  }
  fit <- fastdml:::policy_tree_fit(d$X, d$Gamma, depth = 2L, min_node_size = 19L)
  expect_identical(fit$tree$var, -1L)
  expect_equal(fit$reward, max(colSums(d$Gamma)))
  zero <- fastdml:::policy_tree_fit(d$X, d$Gamma, depth = 0L)
  expect_identical(zero$tree$action, which.max(colSums(d$Gamma)))
})

test_that("depth-3 trees reach the exhaustive optimum on tiny data", {
  for (seed in 1:4) {
    d <- tiny_policy_data(n = 12L + seed, p = 2L, A = 2L + seed %% 2L, seed = 30 + seed,
                          levels = 7L)
    for (m in c(1L, 2L)) {
      fit <- fastdml:::policy_tree_fit(d$X, d$Gamma, depth = 3L, min_node_size = m)
      expect_reward_equal(fit, ref_policy_reward(d$X, d$Gamma, 3L, m), d$Gamma)
      expect_valid_tree(fit, d$X, d$Gamma, m)
      expect_lte(length(fit$tree$var), 15L)
    }
  }
})

test_that("a planted depth-2 rule is recovered, and predictions follow the thresholds", {
  set.seed(5)
  n <- 3000
  X <- matrix(round(runif(n * 3), 2), n, 3, dimnames = list(NULL, c("a", "b", "c")))
  best <- ifelse(X[, 1] <= 0.5, ifelse(X[, 2] <= 0.3, 1L, 2L), ifelse(X[, 3] <= 0.7, 2L, 3L))
  Gamma <- matrix(0, n, 3, dimnames = list(NULL, c("none", "email", "call")))
  Gamma[cbind(seq_len(n), best)] <- 1
  fit <- fastdml:::policy_tree_fit(X, Gamma, depth = 2L)
  expect_equal(fit$reward, n)
  expect_identical(fastdml:::policy_tree_predict(fit, X), best)
  expect_identical(fit$colnames, c("a", "b", "c"))
  expect_identical(fit$action_names, c("none", "email", "call"))
  expect_identical(fit$tree$var[1], 0L)
  new_x <- matrix(runif(600), 200, 3)
  new_best <- ifelse(new_x[, 1] <= 0.5, ifelse(new_x[, 2] <= 0.3, 1L, 2L),
                     ifelse(new_x[, 3] <= 0.7, 2L, 3L))
  expect_gt(mean(fastdml:::policy_tree_predict(fit, new_x) == new_best), 0.97)
  expect_identical(fastdml:::policy_tree_predict(fit, as.data.frame(new_x)),
                   fastdml:::policy_tree_predict(fit, new_x))
  expect_error(fastdml:::policy_tree_predict(fit, new_x[, 1:2]))
  expect_error(fastdml:::policy_tree_fit(X, Gamma[, 1, drop = FALSE]))
  X[1, 1] <- NA
  expect_error(fastdml:::policy_tree_fit(X, Gamma))
})

test_that("trees and predictions are bit-identical for 1, 2 and 4 threads", {
  set.seed(7)
  n <- 20000
  X <- matrix(round(rnorm(n * 6), 2), n, 6)
  Gamma <- cbind(0, X[, 1] * X[, 2] + rnorm(n), X[, 3] - 0.5 + rnorm(n))
  for (depth in 1:2) {
    fits <- lapply(c(1L, 2L, 4L), function(k) {
      fastdml:::policy_tree_fit(X, Gamma, depth = depth, min_node_size = 10L, num_threads = k)
    })
    expect_identical(fits[[2]], fits[[1]])
    expect_identical(fits[[3]], fits[[1]])
    preds <- lapply(c(1L, 2L, 4L), function(k) fastdml:::policy_tree_predict(fits[[1]], X, k))
    expect_identical(preds[[2]], preds[[1]])
    expect_identical(preds[[3]], preds[[1]])
  }
  small <- tiny_policy_data(200L, 3L, 3L, seed = 4, levels = 20L)
  deep <- lapply(c(1L, 2L, 4L), function(k) {
    fastdml:::policy_tree_fit(small$X, small$Gamma, depth = 3L, num_threads = k)
  })
  expect_identical(deep[[2]], deep[[1]])
  expect_identical(deep[[3]], deep[[1]])
})

test_that("the reward equals policytree's on covariates with few distinct values", {
  skip_if_not_installed("policytree")
  set.seed(11)
  n <- 2000
  X <- matrix(round(pmin(pmax(rnorm(n * 4), -2.4), 2.4), 1), n, 4)
  expect_true(all(apply(X, 2, function(x) length(unique(x))) <= 50))
  for (A in 2:3) {
    effects <- cbind(0, X[, 1] + X[, 2] * (X[, 3] > 0), 0.5 - abs(X[, 4]))[, seq_len(A)]
    Gamma <- effects + matrix(rnorm(n * A), n, A)
    ours <- fastdml:::policy_tree_fit(X, Gamma, depth = 2L)
    theirs <- policytree::policy_tree(X, Gamma, depth = 2)
    reward <- sum(Gamma[cbind(seq_len(n), predict(theirs, X))])
    expect_lt(abs(ours$reward - reward), 1e-8 * max(1, abs(reward)))
    with_size <- fastdml:::policy_tree_fit(X, Gamma, depth = 2L, min_node_size = 50L)
    theirs_size <- policytree::policy_tree(X, Gamma, depth = 2, min.node.size = 50)
    reward <- sum(Gamma[cbind(seq_len(n), predict(theirs_size, X))])
    expect_lt(abs(with_size$reward - reward), 1e-8 * max(1, abs(reward)))
  }
  # Depth 1 and, on fewer rows, depth 3.
  Gamma <- cbind(0, X[, 1] - X[, 2] + rnorm(n))
  theirs <- policytree::policy_tree(X, Gamma, depth = 1)
  reward <- sum(Gamma[cbind(seq_len(n), predict(theirs, X))])
  expect_lt(abs(fastdml:::policy_tree_fit(X, Gamma, depth = 1L)$reward - reward),
            1e-8 * max(1, abs(reward)))
  rows <- 1:300
  theirs <- policytree::policy_tree(X[rows, ], Gamma[rows, ], depth = 3)
  reward <- sum(Gamma[cbind(rows, predict(theirs, X[rows, ]))])
  ours <- fastdml:::policy_tree_fit(X[rows, ], Gamma[rows, ], depth = 3L)
  expect_lt(abs(ours$reward - reward), 1e-8 * max(1, abs(reward)))
})
