#' Partially linear model by double/debiased machine learning
#'
#' Estimates theta in Y = theta D + g(X) + e, E\[D | X\] = m(X), with cross-fitted nuisances and
#' a Neyman-orthogonal score (Chernozhukov et al. 2018). Scores (DESIGN.md §4):
#' partialling out psi = (Y - l - theta (D - m)) (D - m) with l = E\[Y | X\];
#' IV-type psi = (Y - theta D - g) (D - m) with g fitted to Y - theta_0 D, theta_0 the
#' partialling-out estimate of the same repetition. Estimates pool the scores of all folds
#' ("DML2"); repetitions are aggregated by the median; standard errors come from the influence
#' function (cluster-robust when the data have clusters).
#'
#' @param spec A [causal_data()] object, or a [causal_table()] for the scale-out back ends.
#' @param learner_outcome Learner for l = E\[Y | X\] (and g for the IV-type score); default
#'   [lrn_boost()], which fits probabilities for a 0/1 outcome.
#' @param learner_treatment Learner for m = E\[D | X\]; default [lrn_boost()] (probabilities for
#'   a 0/1 treatment).
#' @param score `"partialling out"` (default) or `"IV-type"`.
#' @param n_folds Number of cross-fitting folds.
#' @param n_rep Number of repetitions of the cross-fitting with fresh folds.
#' @param folds Optional fold ids: a vector of length n or an n x n_rep matrix of 1..K; then
#'   `n_folds` and `n_rep` follow from it.
#' @param nuisances Optional external nuisances: a named list of out-of-fold predictions
#'   (vectors or n x n_rep matrices) `l`, `m` (and `g` for IV-type), optionally `folds`; no
#'   learner is fitted then.
#' @param seed Optional seed for drawing the folds (`set.seed` semantics; the RNG state is
#'   restored), also used by [lrn_boost()] learners without a seed of their own. `NULL` uses
#'   the current RNG stream (for the folds, and a seed for the boosting learners drawn from it,
#'   so [set.seed()] reproduces the fit).
#' @param ipw CI-DML (specs/amazon-ci-dml.md): `"none"` (the plain PLR), or `"ATE"` / `"ATT"`
#'   to solve the residual regression by weighted least squares with IPW weights
#'   D/e + (1-D)/(1-e) (ATE) or D + (1-D) e/(1-e) (ATT). The weighted regression targets a
#'   weighted average of effects (close to the ATT only when propensities are small) and is not
#'   orthogonal to outcome-model error; [dml_irm()] gives the doubly robust ATE/ATT.
#' @param trim Propensity trimming level alpha in \[0, 0.5): with `trim_mode = "drop"` rows
#'   with m outside \[alpha, 1 - alpha\] are dropped (the paper uses 0.001); the propensity of
#'   the weights is clipped into that interval in both modes.
#' @param trim_mode `"drop"` (the paper) or `"clip"`.
#' @param rescale Rescale the propensity of the weights to e * mean(D) / mean(e) over the
#'   retained rows (then clipped); D - m keeps the raw m.
#' @param intercept Add an intercept to the residual regression.
#' @param backend `"memory"` (default), `"duckdb"`, `"dbplyr"` or `"mirai"` for a
#'   [causal_table()]: the CI-DML fit then runs as passes of per-fold sufficient statistics
#'   (with [lrn_linear()] / [lrn_logistic()] nuisances) next to the data, on folds from
#'   [hash_folds()] of the table's id and `seed`; the estimates equal the in-memory fit on
#'   the same folds. It returns a `dml_plr_scaled` object (`tidy(fit, vcov = )`, `coef`,
#'   `confint`, `glance`).
#' @param cluster_correction With clusters, multiply the cluster-robust variance by
#'   G / (G - 1) (G clusters), the usual small-sample correction.
#' @param num.threads Threads for the C++ cross-fit; default
#'   `getOption("fastdml.num.threads", 2)`, capped by `OMP_THREAD_LIMIT`. Results do not depend
#'   on it.
#' @details With `ipw`, `trim`, `rescale` or `intercept` set, the estimate is the weighted
#'   residual regression of CI-DML; its reported standard error is HC0 (cluster-robust with
#'   clusters); `tidy(fit, vcov = c("const", "HC0", "HC1", "HC2", "HC3"))` gives the others and
#'   [update()] re-scores with other options without refitting the nuisances.
#' @return An object of class `dml_plr` (and `fastdml_fit`): use [coef()], [vcov()],
#'   [confint()], [summary()], [tidy()], [glance()], [nuisances()].
#' @family estimators
#' @examples
#' df <- sim_lesson(n = 600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_plr(spec, n_folds = 2, seed = 1)
#' fit
#' tidy(fit)
#' @export
dml_plr <- function(spec, learner_outcome = lrn_boost(), learner_treatment = lrn_boost(),
                    score = c("partialling out", "IV-type"), n_folds = 5L, n_rep = 1L,
                    folds = NULL, nuisances = NULL, seed = NULL, ipw = "none", trim = 0,
                    trim_mode = "drop", rescale = FALSE, intercept = FALSE,
                    cluster_correction = FALSE, backend = "memory",
                    num.threads = getOption("fastdml.num.threads", 2L)) {
  score <- arg_match(score, c("partialling out", "IV-type"), "score")
  ci_options <- ci_dml_options(ipw, trim, trim_mode, rescale, intercept)
  if (inherits(spec, "fastdml_table")) {
    if (!is.null(folds) || !is.null(nuisances) || n_rep != 1L || score != "partialling out") {
      fd_abort("argument", "A {.fn causal_table} fit takes hash folds from {.arg seed}: drop {.arg folds}, {.arg nuisances}, {.arg n_rep} and {.arg score}.")
    }
    return(dml_plr_table(spec, learner_outcome, learner_treatment, n_folds, seed, ci_options,
                         backend, resolve_num_threads(num.threads)))
  }
  if (!identical(backend, "memory")) {
    fd_abort("argument", c("{.code backend = \"{backend}\"} needs a {.fn causal_table} (a DuckDB table, Parquet files, a lazy table or partitions).",
                           i = "A {.fn causal_data} spec is fitted in memory."))
  }
  check_ci_dml_spec(spec, ci_options, score)
  setup <- dml_setup(spec, n_folds, n_rep, folds, nuisances, seed, num.threads,
                     given = c(n_folds = !missing(n_folds), n_rep = !missing(n_rep)),
                     cluster_correction = cluster_correction)
  check_treatment_type(spec, "dml_plr", c("binary", "continuous"))
  check_learner(learner_outcome, "learner_outcome")
  check_learner(learner_treatment, "learner_treatment")
  if (is.null(nuisances) && isTRUE(learner_treatment$classifier) && spec$treatment_type == "binary") {
    check_folds_have_both_arms(spec, setup$folds)
  }
  defs <- list(l = nuisance_def(learner_outcome, spec$y, spec$outcome),
               m = nuisance_def(learner_treatment, spec$d, spec$treatment))
  if (score == "IV-type" && !is.null(nuisances)) {
    defs$g <- nuisance_def(learner_outcome, spec$y, spec$outcome)
  }
  fitted <- fit_nuisances(spec, setup, defs, nuisances)
  residual_share <- check_treatment_residual(spec, fitted$preds$m)
  if (score == "IV-type" && is.null(nuisances)) {
    fitted$preds$g <- crossfit_g(spec, setup, fitted$preds, fitted$defs$l$learner)
    fitted$defs$g <- nuisance_def(fitted$defs$l$learner, spec$y, spec$outcome)
  }
  p <- fitted$preds
  scores <- if (ci_options$active) ci_dml_scores(spec, p, ci_options) else
    core_call(.fastdml_plr_score(spec$y, spec$d, spec$weights, p$l, p$m, p$g, score, setup$num_threads))
  fit <- new_dml_fit("dml_plr", spec, scores, fitted,
                     list(model = "PLR", estimand = "PLR", score = score,
                          treatment_residual_share = residual_share, call = match.call(),
                          refit = refit_recipe("dml_plr", fitted, "l", "m",
                                               c(list(score = score), ci_options[1:5]), setup)),
                     setup)
  if (ci_options$active) fit$ci_dml <- c(ci_options, list(retained_share = scores$retained_share))
  fit
}

# IV-type nuisance g = E[Y - theta_0 D | X], theta_0 the partialling-out estimate per repetition.
crossfit_g <- function(spec, setup, preds, learner) {
  initial <- core_call(.fastdml_plr_score(spec$y, spec$d, spec$weights, preds$l, preds$m, NULL,
                                          "partialling out", setup$num_threads))
  theta0 <- core_call(.fastdml_inference(initial$psi_a, initial$psi_b, NULL, 0L, FALSE,
                                         setup$num_threads))$theta_rep
  g <- matrix(NA_real_, spec$n, ncol(setup$folds))
  for (s in seq_len(ncol(setup$folds))) {
    def <- list(g = nuisance_def(learner, spec$y - theta0[s] * spec$d, spec$outcome))
    g[, s] <- crossfit_nuisances(spec, setup$folds[, s, drop = FALSE], def, setup$num_threads)$preds$g
  }
  g
}
