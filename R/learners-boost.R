#' Histogram gradient boosting, the default nuisance learner
#'
#' Gradient-boosted regression trees grown on histograms, entirely in C++: the covariates are
#' binned once per fit (at most `max_bins` quantile bins per covariate, missing values in a bin
#' of their own) and every (nuisance, fold, repetition) task trains on those bins, in parallel
#' over the tasks. Each round adds a tree grown best-first (the leaf with the largest loss
#' reduction is split next) up to `max_depth` and `max_leaves`; a split's gain is
#' `G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda)` in the sums G, H of
#' the loss gradients and hessians, and a leaf's value is `-learning_rate * G / (H + lambda)`
#' (as in xgboost and LightGBM). The split search sums gradients rounded to 2^31 / m steps (m
#' fitting rows; at least 2,000 steps up to 10^6 rows) in exact integer histograms, which is
#' faster; leaf values use the exact sums.
#'
#' **Objective.** `"auto"` (the default) uses the logistic loss and predicts probabilities when
#' the target is 0/1 (a binary treatment, or a binary outcome), and squared error otherwise, so
#' the default learners need no change between continuous and binary outcomes. `"multiclass"`
#' (softmax) is used by the multi-arm estimator for the propensities of several arms.
#'
#' **Early stopping.** With `early_stopping_rounds > 0`, each training fold holds out a random
#' `validation_fraction` of its rows; boosting stops after `early_stopping_rounds` rounds without
#' a better validation loss and keeps the trees up to the best round, so the number of trees
#' adapts to each fold (it is reported in `nuisances(fit)$quality$rounds`). `n_rounds` is then
#' only an upper bound.
#'
#' **Defaults.** Learning rate 0.1, trees of at most 31 leaves and depth 6, L2 penalty 1, at
#' least 20 rows per leaf, and early stopping on 10% of each training fold after 10 rounds
#' without improvement (at most 500 rounds). They follow LightGBM's and scikit-learn's
#' well-tested defaults, and work without tuning from 10^3 rows (where early stopping keeps few
#' trees and the leaf-size limit keeps them shallow) to 10^7 rows (where the tree size limit
#' keeps rounds cheap). Rows are subsampled only in large folds: by default (`subsample =
#' NULL`) each round uses all fitting rows of a fold with up to 10^5 of them, and a random
#' max(30%, 10^5 rows) of larger ones (stochastic gradient boosting: on large tables it is both
#' faster and, for regression nuisances, more accurate; on small ones it costs accuracy, see
#' `inst/benchmarks/results/study_subsample_*.txt`). On large tables `learning_rate = 0.2` about
#' halves the time (half the rounds) for a slightly higher loss.
#'
#' **Reproducibility.** Randomness (the validation split, `subsample`, `colsample`) comes from
#' `seed`; with `seed = NULL` the fit's `seed` is used, or a seed drawn from R's random stream
#' when that is `NULL` too, so [set.seed()] reproduces a fit. Each task uses seed + its index,
#' so results do not depend on the number of threads. The spec's observation weights, if any,
#' weight the loss.
#'
#' @param objective `"auto"`, `"regression"` (squared error), `"binary"` (logistic; needs a 0/1
#'   target) or `"multiclass"`.
#' @param n_rounds Maximum number of boosting rounds (trees per output).
#' @param learning_rate Shrinkage of each tree, in (0, 1].
#' @param max_depth Maximum depth of a tree (the root has depth 0).
#' @param max_leaves Maximum number of leaves per tree; 0 limits the trees by `max_depth` only.
#' @param lambda L2 penalty on the leaf values.
#' @param min_child_weight Minimum sum of hessians in a leaf.
#' @param min_child_size Minimum number of rows in a leaf.
#' @param subsample Share of the fitting rows drawn for each round (each row independently), in
#'   (0, 1], or `NULL` (the default) for min(1, max(0.3, 10^5 / fitting rows)) in each fold.
#' @param colsample Share of the covariates drawn for each tree, in (0, 1].
#' @param early_stopping_rounds Rounds without improvement of the validation loss before
#'   stopping; 0 turns early stopping off (all `n_rounds` rounds are used).
#' @param validation_fraction Share of each training fold held out for early stopping, in
#'   \[0, 0.5\].
#' @param max_bins Bins per covariate (including one for missing values), 3 to 256.
#' @param seed Optional integer seed, see Details.
#' @return A `fastdml_learner` object.
#' @family learners
#' @examples
#' lrn_boost()
#' df <- sim_lesson(n = 1000, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_plr(spec, learner_outcome = lrn_boost(max_depth = 3), n_folds = 2, seed = 1)
#' nuisances(fit)$quality
#' @export
lrn_boost <- function(objective = c("auto", "regression", "binary", "multiclass"),
                      n_rounds = 500L, learning_rate = 0.1, max_depth = 6L, max_leaves = 31L,
                      lambda = 1, min_child_weight = 1e-3, min_child_size = 20L,
                      subsample = NULL, colsample = 1, early_stopping_rounds = 10L,
                      validation_fraction = 0.1, max_bins = 255L, seed = NULL) {
  objective <- arg_match(objective, c("auto", "regression", "binary", "multiclass"), "objective")
  check_count(n_rounds, "n_rounds", 1L)
  check_number(learning_rate, "learning_rate", 0, 1, open = c(TRUE, FALSE))
  check_count(max_depth, "max_depth", 0L)
  check_count(max_leaves, "max_leaves", 0L)
  if (max_leaves == 1L) fd_abort("argument", "{.arg max_leaves} must be 0 (no limit) or at least 2.")
  check_number(lambda, "lambda", 0, Inf, open = c(FALSE, TRUE))
  check_number(min_child_weight, "min_child_weight", 0, Inf, open = c(FALSE, TRUE))
  check_count(min_child_size, "min_child_size", 1L)
  if (!is.null(subsample)) check_number(subsample, "subsample", 0, 1, open = c(TRUE, FALSE))
  check_number(colsample, "colsample", 0, 1, open = c(TRUE, FALSE))
  check_count(early_stopping_rounds, "early_stopping_rounds", 0L)
  check_number(validation_fraction, "validation_fraction", 0, 0.5, open = FALSE)
  check_count(max_bins, "max_bins", 3L)
  if (max_bins > 256L) fd_abort("argument", "{.arg max_bins} must be at most 256, not {max_bins}.")
  if (!is.null(seed)) check_count(seed, "seed", 0L)
  params <- list(objective = objective, n_rounds = as.integer(n_rounds),
                 learning_rate = as.double(learning_rate), max_depth = as.integer(max_depth),
                 max_leaves = as.integer(max_leaves), lambda = as.double(lambda),
                 min_child_weight = as.double(min_child_weight),
                 min_child_size = as.integer(min_child_size),
                 subsample = if (is.null(subsample)) 0 else as.double(subsample),
                 colsample = as.double(colsample),
                 early_stopping_rounds = as.integer(early_stopping_rounds),
                 validation_fraction = as.double(validation_fraction),
                 max_bins = as.integer(max_bins))
  learner <- new_learner("boost", ridge = NA_real_, label = boost_label(params),
                         classifier = objective == "binary")
  learner$params <- params
  learner$seed <- seed
  learner
}

boost_label <- function(params) {
  size <- if (params$max_leaves > 0L) sprintf("%d leaves", params$max_leaves) else sprintf("depth %d", params$max_depth)
  stopping <- if (params$early_stopping_rounds > 0L) "early stopping" else sprintf("%d rounds", params$n_rounds)
  sprintf("boost(%s, %s)", size, stopping)
}

# A core group fitting nuisance definitions with a boosting learner (seed resolved): one
# definition, or the one-hot targets of a multinomial model (softmax objective).
boost_group <- function(defs, weights) {
  first <- defs[[1L]]
  list(learner = boost_core_spec(first$learner, first$target, first$mask, length(defs) > 1L),
       targets = lapply(defs, function(def) as.double(def$target)), mask = first$mask,
       weights = weights)
}

# The core's specification of a boosting learner: the softmax objective for several one-hot
# targets; for one target "auto" resolved to "binary" for a 0/1 target (on the rows it is
# trained on) and "regression" otherwise.
boost_core_spec <- function(learner, target, mask, multiclass = FALSE) {
  params <- learner$params
  if (multiclass) {
    params$objective <- "multiclass"
  } else if (params$objective == "multiclass") {
    fd_abort("learner", c("{.code lrn_boost(objective = \"multiclass\")} fits the propensities of several treatment arms; this nuisance has one target.",
                          i = "Use {.code objective = \"auto\"} (the default) or {.val binary}."))
  } else if (params$objective == "auto") {
    trained <- if (is.null(mask)) target else target[mask == 1L]
    params$objective <- if (all(trained == 0 | trained == 1)) "binary" else "regression"
  }
  c(list(kind = "boost", ridge = NA_real_, seed = as.double(learner$seed)), params)
}

# Boosting learners without a seed (also inside stacks) get the fit's seed, or one drawn from
# R's random stream (once per fit, and only when some learner needs it), so that set.seed()
# reproduces a fit.
resolve_learner_seeds <- function(defs, seed) {
  unseeded <- function(learner) identical(learner$kind, "boost") && is.null(learner$seed)
  needs <- vapply(defs, function(def) {
    unseeded(def$learner) || any(vapply(def$learner$learners, unseeded, logical(1)))
  }, logical(1))
  if (!any(needs)) return(defs)
  drawn <- if (is.null(seed)) sample.int(.Machine$integer.max, 1L) else as.integer(seed)
  for (name in names(defs)[needs]) {
    if (unseeded(defs[[name]]$learner)) defs[[name]]$learner$seed <- drawn
    for (base in names(defs[[name]]$learner$learners)) {
      if (unseeded(defs[[name]]$learner$learners[[base]])) defs[[name]]$learner$learners[[base]]$seed <- drawn
    }
  }
  defs
}
