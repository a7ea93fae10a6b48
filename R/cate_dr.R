#' DR-learner of the conditional average treatment effect
#'
#' Regresses the doubly robust pseudo-outcomes of [cate_blp()] (computed from the fit's
#' cross-fitted nuisances, nothing refitted) on the effect modifiers with any learner. The
#' regression is cross-fitted on the fit's folds (first repetition), so every row's estimate
#' comes from a model that did not see it; `predict()` on new data uses one model fitted on all
#' rows. Observation weights of the fit are the learner's weights where it supports them (the
#' built-in learners do).
#'
#' @inheritParams cate_blp
#' @param effect_modifiers Names of the fit's covariates (default all), or a numeric matrix /
#'   data frame with one row per row of the fit.
#' @param learner Any fastdml learner for the final regression (default [lrn_boost()]; e.g.
#'   [lrn_linear()], [lrn_ranger()], [lrn_custom()]).
#' @param seed Seed of the learner's randomness and of the folds when the fit has none.
#' @param num.threads Threads for built-in learners.
#' @return A `fastdml_cate_dr` object (a `fastdml_cate`): `$estimates` out of fold for the
#'   fit's rows, `$pseudo_outcomes`, `$quality` (per fold: rows, RMSE, MAE and R2 of the
#'   out-of-fold predictions against the pseudo-outcomes, as `specs/recsys-aipw.md` step 7
#'   reports; R2 near or below 0 says the smoother finds little signal); `predict(object,
#'   newdata)` returns the CATE of new rows.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' dr <- cate_dr(fit, c("age", "income"), learner = lrn_linear())
#' dr
#' predict(dr, data.frame(age = c(25, 50), income = c(3000, 3000)))
#' @export
cate_dr <- function(fit, effect_modifiers = NULL, learner = lrn_boost(), contrast = NULL,
                    seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  contrast <- fit_contrasts(fit, contrast, single = TRUE, caller = "cate_dr")[[1L]]
  check_learner(learner, "learner")
  if (isTRUE(learner$classifier)) {
    fd_abort("learner", c("The DR-learner regresses continuous pseudo-outcomes; {.val {learner$label}} is a classifier.",
                          i = "Use a regression learner such as {.fn lrn_boost} or {.fn lrn_linear}."))
  }
  threads <- resolve_num_threads(num.threads)
  Z <- effect_modifier_matrix(fit, effect_modifiers)
  gamma <- pseudo_outcomes(fit, contrast$arm)
  spec <- modifier_spec(Z, gamma, fit$spec$weights)
  folds <- fit$nuisances$folds
  folds <- if (is.null(folds) || anyNA(folds)) {
    draw_folds(fit$spec, 5L, 1L, FALSE, seed)
  } else {
    folds[, 1L, drop = FALSE]
  }
  defs <- resolve_learner_seeds(list(cate = nuisance_def(learner, gamma, "pseudo-outcome")), seed)
  fitted <- crossfit_nuisances(spec, folds, defs, threads)
  estimates <- fitted$preds$cate[, 1L]
  new_cate("fastdml_cate_dr", sprintf("DR-learner (%s), cross-fitted on %d folds", learner$label, max(folds)),
           fit, contrast, estimates, pseudo_outcomes = gamma, learner = defs$cate$learner, Z = Z,
           quality = fold_fit_quality(gamma, estimates, folds[, 1L]))
}

# A minimal causal_data-like object of the effect modifiers for the learners' plumbing.
modifier_spec <- function(Z, y, weights) {
  structure(list(X = Z, y = y, d = rep(0, nrow(Z)), weights = weights, cluster = NULL,
                 n = nrow(Z), outcome = "pseudo-outcome", covariates = colnames(Z)),
            class = "fastdml_data")
}

#' @rdname cate_dr
#' @param object A `fastdml_cate_dr` object.
#' @param newdata A data frame or matrix with the effect modifiers; `NULL` gives the
#'   out-of-fold estimates of the fit's rows.
#' @param ... Unused.
#' @export
predict.fastdml_cate_dr <- function(object, newdata = NULL, num.threads = getOption("fastdml.num.threads", 2L), ...) {
  if (is.null(newdata)) return(object$estimates)
  if (identical(object$learner$kind, "stack")) {
    fd_abort("learner", c("{.fn predict} on new data is not available for a stacked DR-learner.",
                          i = "Use one learner for {.arg learner}, or the out-of-fold estimates ({.code newdata = NULL})."))
  }
  new_Z <- numeric_table(newdata, "newdata", colnames(object$Z))
  predict_on_new_rows(object$Z, object$pseudo_outcomes, object$weights, object$learner, new_Z,
                      resolve_num_threads(num.threads))
}

# Fits `learner` on (Z, y) and predicts the rows of new_Z: the training rows and the new rows
# form one table in which only the training rows are used for fitting.
predict_on_new_rows <- function(Z, y, weights, learner, new_Z, num_threads) {
  n <- nrow(Z)
  rows <- rbind(Z, new_Z)
  spec <- modifier_spec(rows, c(y, rep(0, nrow(new_Z))),
                        if (is.null(weights)) NULL else c(weights, rep(1, nrow(new_Z))))
  mask <- rep(c(TRUE, FALSE), c(n, nrow(new_Z)))
  fit_predict_full(spec, learner, spec$y, spec$outcome, mask, num_threads, "cate")[-seq_len(n)]
}

# Per-fold accuracy of out-of-fold predictions of y: rows, RMSE, MAE, R2 (1 - SSE / SST with
# the fold's own mean).
fold_fit_quality <- function(y, prediction, folds) {
  do.call(rbind, lapply(sort(unique(folds)), function(k) {
    rows <- folds == k
    error <- y[rows] - prediction[rows]
    data.frame(fold = k, n = sum(rows), rmse = sqrt(mean(error^2)), mae = mean(abs(error)),
               r2 = 1 - sum(error^2) / sum((y[rows] - mean(y[rows]))^2))
  }))
}

#' Variable importance of a CATE estimator
#'
#' Which effect modifiers drive the estimated heterogeneity. For [cate_forest()]: grf's
#' split-frequency importance (the share of splits on each variable at depths 1 to 4, weighted
#' by depth^-2). For [cate_dr()]: permutation importance of the model fitted on all rows, the
#' mean squared change of its predictions when one modifier's column is randomly permuted,
#' normalised to sum to one (a split count needs tree internals that R learners do not have;
#' the permutation measure works for every learner).
#'
#' @param object A `fastdml_cate_forest` or `fastdml_cate_dr` object.
#' @param seed Seed of the permutations (`NULL`: the current RNG stream).
#' @param num.threads Threads for built-in learners.
#' @return A data frame with `term` and `importance`, largest first.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' cate_importance(cate_dr(fit, learner = lrn_linear()), seed = 1)
#' @export
cate_importance <- function(object, seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  if (inherits(object, "fastdml_cate_forest")) return(object$importance)
  if (!inherits(object, "fastdml_cate_dr")) {
    fd_abort("argument", c("{.fn cate_importance} needs a {.fn cate_forest} or {.fn cate_dr} result.",
                           x = "It got a {.cls {class(object)[1L]}}."))
  }
  if (identical(object$learner$kind, "stack")) {
    fd_abort("learner", "Importance needs predictions on new data, not available for a stacked DR-learner.")
  }
  Z <- object$Z
  permuted <- with_seed(seed, lapply(seq_len(ncol(Z)), function(j) {
    Zj <- Z
    Zj[, j] <- Zj[sample.int(nrow(Z)), j]
    Zj
  }))
  predictions <- predict_on_new_rows(Z, object$pseudo_outcomes, object$weights, object$learner,
                                     do.call(rbind, c(list(Z), permuted)), resolve_num_threads(num.threads))
  base <- predictions[seq_len(nrow(Z))]
  change <- vapply(seq_len(ncol(Z)), function(j) {
    mean((predictions[j * nrow(Z) + seq_len(nrow(Z))] - base)^2)
  }, numeric(1))
  share <- if (sum(change) > 0) change / sum(change) else change
  out <- data.frame(term = colnames(Z), importance = share)
  out[order(-out$importance), , drop = FALSE]
}
