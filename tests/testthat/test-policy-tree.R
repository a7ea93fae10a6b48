# policy_tree(): the user-facing policy tree on a fit's doubly robust rewards — rewards,
# out-of-fold actions, prediction, printing, multi-arm fits, and agreement with policytree.

tree_case <- function(n = 1200, seed = 1, weights = FALSE) {
  set.seed(seed)
  X <- matrix(round(rnorm(n * 3), 1), n, 3, dimnames = list(NULL, paste0("x", 1:3)))
  tau <- ifelse(X[, 1] > 0, 1, -0.5) + 0.5 * (X[, 2] > 0.5)
  d <- rbinom(n, 1, plogis(0.4 * X[, 3]))
  df <- data.frame(X, d = d, y = X[, 3] + tau * d + rnorm(n))
  if (weights) df$w <- runif(n, 0.5, 2)
  list(df = df, fit = irm_linear(test_spec(df, weights = if (weights) "w"), seed = seed))
}

test_that("the tree maximises the doubly robust reward and its out-of-fold rule is honest", {
  case <- tree_case()
  fit <- case$fit
  tree <- policy_tree(fit, depth = 2, cost = 0.2)
  scores <- fastdml:::policy_scores(fit)
  rewards <- scores - rep(c(0, 0.2), each = fit$n)
  actions <- as.integer(predict(tree)) - 1L
  expect_equal(sum(rewards[cbind(seq_len(fit$n), actions + 1L)]), tree$model$reward, tolerance = 1e-8)
  # No depth-1 tree on x1 does better than the depth-2 tree.
  best_stump <- max(vapply(sort(unique(case$df$x1)), function(t) {
    left <- case$df$x1 <= t
    max(colSums(rewards[left, , drop = FALSE])) + max(colSums(rewards[!left, , drop = FALSE]))
  }, numeric(1)))
  expect_gte(tree$model$reward, best_stump - 1e-8)
  # Out-of-fold actions come from trees fitted without the row's fold.
  folds <- fit$nuisances$folds[, 1]
  k <- 2L
  train <- folds != k
  model <- fastdml:::policy_tree_fit(fit$spec$X[train, ], rewards[train, ], depth = 2)
  expect_equal(tree$oof_actions[!train], fastdml:::policy_tree_predict(model, fit$spec$X[!train, ]) - 1L)
  pv <- policy_value(fit, tree, cost = 0.2)
  expect_equal(pv$table$estimate[1], mean(rewards[cbind(seq_len(fit$n), tree$oof_actions + 1L)]), tolerance = 1e-12)
  expect_output(print(tree), "x1 <=")
  expect_s3_class(ggplot2::ggplot_build(ggplot2::autoplot(tree)), "ggplot_built")
  expect_identical(levels(predict(tree, case$df[1:5, ])), c("0", "1"))
  expect_error(predict(tree, case$df[, c("x1", "x2")]), class = "fastdml_error_column", regexp = "x3")
})

test_that("the tree reaches policytree's reward on the same scores", {
  skip_if_not_installed("policytree")
  case <- tree_case(n = 800, seed = 3, weights = TRUE)
  fit <- case$fit
  tree <- policy_tree(fit, depth = 2, cost = 0.1)
  w <- fit$spec$weights / mean(fit$spec$weights)
  rewards <- (fastdml:::policy_scores(fit) - rep(c(0, 0.1), each = fit$n)) * w
  theirs <- policytree::policy_tree(fit$spec$X, rewards, depth = 2)
  their_actions <- predict(theirs, fit$spec$X)
  expect_equal(tree$model$reward, sum(rewards[cbind(seq_len(fit$n), their_actions)]), tolerance = 1e-8)
})

test_that("multi-arm fits get a tree over all arms with per-arm costs", {
  df <- make_multi_data(n = 1500, K = 3, seed = 8)
  fit <- dml_multi_irm(multi_spec(df), learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
  tree <- policy_tree(fit, c("x1", "x2"), depth = 2, cost = c(alpha = 0.5, beta = 0.1))
  expect_identical(levels(predict(tree)), c("ctl", "alpha", "beta"))
  rewards <- fastdml:::policy_scores(fit) - rep(c(0, 0.5, 0.1), each = fit$n)
  expect_equal(sum(rewards[cbind(seq_len(fit$n), as.integer(predict(tree)))]), tree$model$reward, tolerance = 1e-8)
  pv <- policy_value(fit, tree, cost = c(alpha = 0.5, beta = 0.1))
  expect_equal(pv$rules$treated_share, mean(tree$oof_actions > 0))
})

test_that("policy_tree() validates its arguments", {
  fit <- tree_case(n = 300)$fit
  expect_error(policy_tree(fit, depth = 5), class = "fastdml_error_argument", regexp = "depth")
  expect_error(policy_tree(fit, depth = 0), class = "fastdml_error_argument")
  expect_error(policy_tree(fit, "nope"), class = "fastdml_error_column")
  expect_error(policy_tree(fit, cost = NA), class = "fastdml_error_argument")
  plr <- dml_plr(test_spec(tree_case(n = 300)$df), learner_outcome = lrn_linear(), learner_treatment = lrn_linear(), seed = 1)
  expect_error(policy_tree(plr), class = "fastdml_error_argument", regexp = "dml_irm")
})
