#' Policy tree: an explainable targeting rule
#'
#' Finds the tree of depth `depth` over `covariates` whose leaves assign the arm with the
#' largest total doubly robust reward, Gamma_i(k) - cost_k with the scores of [policy_value()]
#' (weighted by the observation weights), by exhaustive search as the policytree package does
#' (Athey and Wager, 2021; Sverdrup et al., 2020), in C++: every split of a column with at most
#' 255 distinct values is tried; a column with more values is tried at 255 quantile-bin edges.
#' Depth 2 costs O(n p^2 + p^2 B^2) per fit (a fraction of a second at n = 10^5, p = 10); depth
#' 3 about p B times more. To judge the rule honestly the tree is also fitted on the fit's
#' folds (first repetition) and each row gets the action of the tree that did not see it:
#' [policy_value()] of the returned object uses those out-of-fold actions; `predict()` uses the
#' tree fitted on all rows.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param covariates Names of the fit's covariates the tree may split on (default all), or a
#'   numeric matrix / data frame with one row per row of the fit.
#' @param depth Depth of the tree (1 to 3; leaves may be shallower).
#' @param cost Cost of treating one row (see [policy_value()]).
#' @param min_node_size Minimum number of rows in a leaf.
#' @param num.threads Threads.
#' @return A `fastdml_policy_tree` object: the tree (`$model`), the out-of-fold actions
#'   (`$oof_actions`), with `print` (the rule as readable conditions), `predict` and
#'   `autoplot` methods.
#' @family policy
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' tree <- policy_tree(fit, c("age", "income"), depth = 2, cost = 0.149)
#' tree
#' policy_value(fit, tree, cost = 0.149)
#' @export
policy_tree <- function(fit, covariates = NULL, depth = 2L, cost = 0, min_node_size = 1L,
                        num.threads = getOption("fastdml.num.threads", 2L)) {
  check_cate_fit(fit, "policy_tree")
  costs <- arm_costs(fit, cost)
  check_count(depth, "depth", 1L)
  if (depth > 3L) fd_abort("argument", c("{.arg depth} = {depth} is too deep for an exhaustive search.",
                                        i = "Use depth 1, 2 or 3."))
  check_count(min_node_size, "min_node_size", 1L)
  threads <- resolve_num_threads(num.threads)
  Z <- effect_modifier_matrix(fit, covariates)
  rewards <- (policy_scores(fit) - rep(costs, each = fit$n)) * unit_weights(fit$spec$weights, fit$n)
  folds <- fit$nuisances$folds
  folds <- if (is.null(folds) || anyNA(folds)) draw_folds(fit$spec, 5L, 1L, FALSE, NULL)[, 1L] else folds[, 1L]
  oof <- integer(fit$n)
  for (k in sort(unique(folds))) {
    test <- folds == k
    model_k <- policy_tree_fit(Z[!test, , drop = FALSE], rewards[!test, , drop = FALSE], depth,
                               min_node_size, num_threads = threads)
    oof[test] <- policy_tree_predict(model_k, Z[test, , drop = FALSE], threads) - 1L
  }
  model <- policy_tree_fit(Z, rewards, depth, min_node_size, num_threads = threads)
  model$training_actions <- policy_tree_predict(model, Z, threads)
  structure(list(model = model, oof_actions = oof, arms = fit_arms(fit), columns = colnames(Z),
                 depth = depth, cost = costs, n = fit$n, n_folds = length(unique(folds))),
            class = "fastdml_policy_tree")
}

#' @rdname policy_tree
#' @param object A `fastdml_policy_tree`.
#' @param newdata A data frame or matrix with the tree's covariates; `NULL` gives the actions
#'   of the tree fitted on all rows for the fit's rows.
#' @param ... Unused.
#' @return `predict()`: a factor of arm labels.
#' @export
predict.fastdml_policy_tree <- function(object, newdata = NULL, ...) {
  actions <- if (is.null(newdata)) {
    object$model$training_actions
  } else {
    policy_tree_predict(object$model, numeric_table(newdata, "newdata", object$columns))
  }
  factor(object$arms[actions], levels = object$arms)
}

#' @export
print.fastdml_policy_tree <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_policy_tree}: depth {x$depth}, {x$n} rows, cost {.val {x$cost[-1L]}}"), "\n", sep = "")
  cat(policy_tree_rules(x), sep = "\n")
  oof <- table(factor(x$arms[x$oof_actions + 1L], levels = x$arms))
  cat(sprintf("Out of fold (%d folds): %s\n", x$n_folds,
              paste(sprintf("%s %.1f%%", names(oof), 100 * oof / x$n), collapse = ", ")))
  invisible(x)
}

# The tree as indented "if" lines, one per node (preorder).
policy_tree_rules <- function(x) {
  tree <- x$model$tree
  lines <- character()
  walk <- function(node, indent, condition) {
    i <- node + 1L
    pad <- strrep("  ", indent)
    if (tree$var[i] < 0L) {
      lines <<- c(lines, sprintf("%s%s-> %s (%d rows)", pad, condition, x$arms[tree$action[i]], tree$size[i]))
      return(invisible())
    }
    name <- x$columns[tree$var[i] + 1L]
    value <- format(signif(tree$threshold[i], 4))
    lines <<- c(lines, sprintf("%s%s%d rows", pad, condition, tree$size[i]))
    walk(tree$left[i], indent + 1L, sprintf("%s <= %s: ", name, value))
    walk(tree$right[i], indent + 1L, sprintf("%s >  %s: ", name, value))
  }
  walk(0L, 0L, "")
  lines
}
