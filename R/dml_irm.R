#' Interactive regression model (AIPW) by double/debiased machine learning
#'
#' Doubly robust estimation of the average treatment effect (ATE) or the average effect on the
#' treated (ATT) of a binary treatment, with cross-fitted outcome regressions
#' g_d(X) = E\[Y | D = d, X\] (fitted on the training rows of arm d, predicted for every row)
#' and propensity m(X) = P(D = 1 | X). Scores (DESIGN.md §4):
#' ATE psi = g1 - g0 + D (Y - g1) / m - (1 - D) (Y - g0) / (1 - m) - theta;
#' ATT psi = \[D (Y - g0) - m (1 - D) (Y - g0) / (1 - m)\] / p - D theta / p with p the treated
#' share. Propensities are clipped to `[trim, 1 - trim]` (the clipped share is reported);
#' `normalize = TRUE` uses Hajek-normalised inverse-probability weights. Observation weights
#' (from [causal_data()]) enter the scores normalised to mean one, giving weighted effects.
#'
#' The ATT divides by the treated share of the whole sample (as DoubleML for Python);
#' DoubleML-R 1.0.2 uses each test fold's treated share, so its ATT differs by a few 1e-4
#' even with the same nuisances. `vignette("messy-data")` shows how to pass fastdml's folds
#' to DoubleML and back. Each fit checks overlap for its estimand and the quality of its
#' nuisances and warns with a classed condition (see [fastdml_conditions]).
#'
#' @inheritParams dml_plr
#' @param estimand `"ATE"` or `"ATT"`.
#' @param learner_outcome Learner for g0 and g1; default [lrn_boost()] (probabilities for a
#'   0/1 outcome).
#' @param learner_treatment Learner for the propensity m, a classifier; default [lrn_boost()]
#'   (logistic loss for the 0/1 treatment), or e.g. [lrn_logistic()].
#' @param trim Propensities are clipped to `[trim, 1 - trim]`; `0 < trim < 0.5`.
#' @param normalize Use Hajek-normalised weights.
#' @param outcome_style `"t_learner"` (default): g0 and g1 are separate models fitted on each
#'   arm's rows. `"s_learner"`: one model of the outcome on the covariates and the treatment,
#'   fitted on all training rows and predicted with the treatment set to 1 and to 0
#'   (`specs/recsys-aipw.md`; trees may rarely split on the treatment, so its contrast can be
#'   close to 0, and a linear model gives one constant contrast).
#' @param nuisances Optional external nuisances: a named list with `g0`, `g1`, `m` (untrimmed
#'   propensities in \[0, 1\]) as vectors or n x n_rep matrices, optionally `folds`; the ATT
#'   does not use `g1`, which may then be left out.
#' @return An object of class `dml_irm` (and `fastdml_fit`).
#' @family estimators
#' @examples
#' df <- sim_lesson(n = 600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, estimand = "ATE", seed = 1)
#' summary(fit)
#' @export
dml_irm <- function(spec, estimand = c("ATE", "ATT"), learner_outcome = lrn_boost(),
                    learner_treatment = lrn_boost(), n_folds = 5L, n_rep = 1L,
                    folds = NULL, trim = 0.01, normalize = FALSE, nuisances = NULL,
                    seed = NULL, cluster_correction = FALSE, outcome_style = c("t_learner", "s_learner"),
                    num.threads = getOption("fastdml.num.threads", 2L)) {
  estimand <- arg_match(estimand, c("ATE", "ATT"), "estimand")
  outcome_style <- arg_match(outcome_style, c("t_learner", "s_learner"), "outcome_style")
  check_number(trim, "trim", 0, 0.5, hint = "The default 0.01 clips propensities to [0.01, 0.99].")
  check_flag(normalize, "normalize")
  setup <- dml_setup(spec, n_folds, n_rep, folds, nuisances, seed, num.threads,
                     given = c(n_folds = !missing(n_folds), n_rep = !missing(n_rep)),
                     cluster_correction = cluster_correction)
  check_treatment_type(spec, "dml_irm")
  check_learner(learner_outcome, "learner_outcome")
  check_learner(learner_treatment, "learner_treatment")
  if (is.null(nuisances)) check_folds_have_both_arms(spec, setup$folds)
  control <- spec$d == 0
  defs <- list(
    g0 = nuisance_def(learner_outcome, spec$y, spec$outcome, mask = control, subset = "control"),
    g1 = nuisance_def(learner_outcome, spec$y, spec$outcome, mask = !control, subset = "treated"),
    m = nuisance_def(learner_treatment, spec$d, spec$treatment))
  fitted <- if (outcome_style == "s_learner" && is.null(nuisances)) {
    crossfit_s_learner(spec, setup, defs)
  } else {
    fit_nuisances(spec, setup, defs, nuisances, optional = if (estimand == "ATT") "g1" else character())
  }
  m <- fitted$preds$m
  outside <- sum(m < 0 | m > 1)
  if (outside > 0 && !is.null(nuisances)) {
    fd_abort("nuisances", c("The propensity predictions {.field m} have {outside} value{?s} outside [0, 1].",
                            i = "Supply probabilities (out-of-fold predictions of a classifier)."))
  }
  if (outside > 0) {
    fd_warn("propensity", c("{outside} propensity prediction{?s} of {.val {fitted$defs$m$learner$label}} fell outside [0, 1] and {cli::qty(outside)}{?was/were} clipped to [{trim}, {1 - trim}].",
                            i = "Use a classifier such as {.fn lrn_logistic} for {.arg learner_treatment}."))
  }
  clipped <- check_overlap(m, spec$d, estimand, trim)
  scores <- core_call(.fastdml_irm_score(spec$y, spec$d, spec$weights, fitted$preds$g0,
                                         fitted$preds$g1, m, estimand, trim, normalize,
                                         setup$num_threads))
  new_dml_fit("dml_irm", spec, scores, fitted,
              list(model = "IRM", estimand = estimand, score = estimand, trim = trim, outcome_style = outcome_style,
                   normalize = normalize, clipped_share = clipped, call = match.call(),
                   refit = refit_recipe("dml_irm", fitted, "g0", "m",
                                        list(estimand = estimand, trim = trim, normalize = normalize,
                                             outcome_style = outcome_style),
                                        setup)),
              setup)
}

# S-learner outcome nuisances: one model of Y on [X, D] cross-fitted on the fit's folds. The
# table is stacked three times, (X, D) as observed (the training rows), (X, 1) and (X, 0)
# (never trained on, predicted by the model of their row's fold), so g1 and g0 are out of
# fold. The propensity is cross-fitted as usual. Quality is reported against each arm's rows.
crossfit_s_learner <- function(spec, setup, defs) {
  n <- spec$n
  fitted <- fit_nuisances(spec, setup, defs["m"], NULL)
  stacked <- spec
  stacked$X <- rbind(cbind(spec$X, .treatment = spec$d), cbind(spec$X, .treatment = 1),
                     cbind(spec$X, .treatment = 0))
  stacked$n <- 3L * n
  stacked$weights <- if (is.null(spec$weights)) NULL else rep(spec$weights, 3L)
  folds <- rbind(setup$folds, setup$folds, setup$folds)
  outcome <- defs$g0$learner
  def <- nuisance_def(outcome, c(spec$y, rep(0, 2L * n)), spec$outcome, mask = rep(c(TRUE, FALSE), c(n, 2L * n)))
  seeded <- resolve_learner_seeds(list(g = def), setup$seed)
  g <- crossfit_nuisances(stacked, folds, seeded, setup$num_threads)$preds$g
  label <- sprintf("S-learner %s", outcome$label)
  for (arm in c("g0", "g1")) {
    fitted$defs[[arm]] <- defs[[arm]]
    fitted$defs[[arm]]$learner$label <- label
    fitted$seeded[[arm]] <- defs[[arm]]
    fitted$seeded[[arm]]$learner <- seeded$g$learner
  }
  fitted$preds$g1 <- g[n + seq_len(n), , drop = FALSE]
  fitted$preds$g0 <- g[2L * n + seq_len(n), , drop = FALSE]
  fitted$defs <- fitted$defs[c("g0", "g1", "m")]
  fitted$preds <- fitted$preds[c("g0", "g1", "m")]
  fitted
}
