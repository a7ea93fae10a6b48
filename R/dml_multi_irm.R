#' Multi-treatment interactive model (AIPW) by double/debiased machine learning
#'
#' Effects of several mutually exclusive treatment arms against a control arm, each with the
#' doubly robust score of the interactive model (DESIGN.md §4, "Multi-treatment IRM";
#' `specs/cx-multitreatment.md` §2). One multinomial propensity model m_k(X) = P(arm k | X) and
#' one outcome regression g_k(X) = E\[Y | arm k, X\] per arm (fitted on that arm's training
#' rows, predicted for every row) are cross-fitted on folds stratified on the arm. For contrast
#' k against control 0:
#' ATE psi = g_k - g_0 + D_k (Y - g_k) / m_k - D_0 (Y - g_0) / m_0 - theta_k;
#' ATT (effect on arm k) psi = \[D_k (Y - g_0) - m_k D_0 (Y - g_0) / m_0\] / p_k - D_k theta_k / p_k
#' with p_k the share of arm k. The joint influence functions of all contrasts give `vcov()`.
#'
#' **Trimming.** Every arm's propensity is floored at `trim` and the other arms are rescaled to
#' fill the rest of the unit mass (repeated until none is below `trim`), so rows still sum to
#' one and no propensity used in a score is below `trim`. With two arms this is the binary
#' clip to `[trim, 1 - trim]`, and the results equal [dml_irm()]'s. (The CX case study's
#' reference simply renormalises after flooring, which can leave a floored arm slightly below
#' `trim`; the difference is confined to the floored rows.) `normalize = TRUE` divides each
#' arm's inverse-propensity weights by their mean (Hajek), the binary rule with two arms.
#'
#' **Relative effects.** `100 theta_k / mu` with mu the AIPW estimate of E\[Y(0)\] (ATE:
#' mean of g_0 + D_0 (Y - g_0) / m_0, not the raw control mean) or of E\[Y(0) | arm k\] (ATT),
#' with a delta-method interval from the joint influence functions of theta_k and mu.
#'
#' **Propensity learners.** [lrn_logistic()] fits a multinomial logistic regression (softmax,
#' Newton) and [lrn_boost()] a softmax boosting model, both in C++; any other learner (e.g.
#' [lrn_ranger()], [lrn_custom()], [lrn_stack()]) is fitted one arm against the rest and its
#' probabilities are rescaled to sum to one per row.
#'
#' @inheritParams dml_irm
#' @param spec A [causal_data()] object whose treatment is a factor or character column of
#'   arms (choose the control arm with its `control` argument); a binary treatment is the
#'   two-arm case.
#' @param estimand `"ATE"` or `"ATT"` (the effect of each arm on the rows of that arm).
#' @param learner_outcome Learner of every arm's outcome regression; default [lrn_boost()]
#'   (probabilities for a 0/1 outcome).
#' @param learner_treatment Learner of the arm propensities; default [lrn_boost()] (softmax).
#' @param trim Every arm's propensity is floored at `trim`; `0 < trim < 1 / (number of arms)`.
#' @param nuisances Optional external nuisances: a named list with `g_<arm>` and `m_<arm>`
#'   (raw propensities in \[0, 1\]) for every arm, as vectors or n x n_rep matrices, optionally
#'   `folds`; the ATT does not need the `g_<arm>` of the non-control arms.
#' @return An object of class `dml_multi_irm` (and `fastdml_fit`) with one coefficient per
#'   contrast, named `"<arm> vs <control>"`; `vcov()` is their joint covariance, and
#'   `relative_effects(fit)` the relative effects. `nuisances(fit)` has `g_<arm>` and
#'   `m_<arm>` (raw) for every arm.
#' @family estimators
#' @examples
#' d <- sim_cx(n = 3000, seed = 1)
#' spec <- causal_data(d, outcome = "y", treatment = "arm", control = "control",
#'                     covariates = c("age", "risk_latent", "prev_contact", "prev_repeat",
#'                                    "prev_apps", "prev_util"))
#' fit <- dml_multi_irm(spec, learner_outcome = lrn_logistic(),
#'                      learner_treatment = lrn_logistic(), seed = 1)
#' fit
#' vcov(fit)
#' @export
dml_multi_irm <- function(spec, estimand = c("ATE", "ATT"), learner_outcome = lrn_boost(),
                          learner_treatment = lrn_boost(), n_folds = 5L, n_rep = 1L,
                          folds = NULL, trim = 0.01, normalize = FALSE, nuisances = NULL,
                          seed = NULL, cluster_correction = FALSE,
                          num.threads = getOption("fastdml.num.threads", 2L)) {
  estimand <- arg_match(estimand, c("ATE", "ATT"), "estimand")
  setup <- dml_setup(spec, n_folds, n_rep, folds, nuisances, seed, num.threads,
                     given = c(n_folds = !missing(n_folds), n_rep = !missing(n_rep)),
                     cluster_correction = cluster_correction)
  check_treatment_type(spec, "dml_multi_irm", c("binary", "multi"))
  arms <- spec$treatment_levels
  n_arms <- length(arms)
  check_number(trim, "trim", 0, 1 / n_arms, open = c(TRUE, TRUE),
               hint = "The default 0.01 floors every arm's propensity at 0.01.")
  check_flag(normalize, "normalize")
  check_learner(learner_outcome, "learner_outcome")
  check_learner(learner_treatment, "learner_treatment")
  if (is.null(nuisances)) check_folds_have_both_arms(spec, setup$folds)
  defs <- multi_irm_defs(spec, learner_outcome, learner_treatment)
  optional <- if (estimand == "ATT") paste0("g_", arms[-1L]) else character()
  fitted <- fit_nuisances(spec, setup, defs, nuisances, optional = optional)
  fitted$preds <- arm_propensity_predictions(fitted, spec, learner_treatment, is.null(nuisances))
  M <- fitted$preds[paste0("m_", arms)]
  clipped <- check_multi_overlap(M, spec, trim)
  scores <- core_call(.fastdml_multi_irm_score(spec$y, spec$d, spec$weights,
                                               unname(fitted$preds[paste0("g_", arms)]),
                                               unname(M), estimand, trim, normalize,
                                               setup$num_threads))
  new_multi_fit(spec, scores, fitted, setup,
                list(model = "multi-arm IRM", estimand = estimand, score = estimand, trim = trim,
                     normalize = normalize, clipped_share = clipped, call = match.call(),
                     refit = refit_recipe("dml_multi_irm", fitted, names(defs)[1L],
                                          names(defs)[length(defs)],
                                          list(estimand = estimand, trim = trim, normalize = normalize),
                                          setup)))
}

# Nuisance definitions: g_<arm> per arm on that arm's rows; m_<arm> the one-hot targets of the
# propensity model (one multinomial group for the built-in classifiers; one binary model of
# the treated arm with two arms, so that the fit equals dml_irm()).
multi_irm_defs <- function(spec, learner_outcome, learner_treatment) {
  arms <- spec$treatment_levels
  index <- seq_along(arms) - 1L
  g <- lapply(index, function(a) {
    nuisance_def(learner_outcome, spec$y, spec$outcome, mask = spec$d == a, subset = arms[a + 1L])
  })
  names(g) <- paste0("g_", arms)
  m_index <- if (length(arms) == 2L) 1L else index
  m <- lapply(m_index, function(a) {
    def <- nuisance_def(learner_treatment, as.double(spec$d == a),
                        sprintf("%s == %s", spec$treatment, arms[a + 1L]))
    if (length(arms) > 2L && learner_treatment$kind %in% c("logistic", "boost")) def$class_group <- "m"
    def
  })
  names(m) <- paste0("m_", arms[m_index + 1L])
  c(g, m)
}

# Every arm's raw propensity: with two arms m_control = 1 - m_treated; propensities of a
# learner fitted one arm against the rest are rescaled to sum to one.
arm_propensity_predictions <- function(fitted, spec, learner_treatment, learned) {
  arms <- spec$treatment_levels
  preds <- fitted$preds
  names_m <- paste0("m_", arms)
  if (length(arms) == 2L) {
    preds[[names_m[1L]]] <- 1 - preds[[names_m[2L]]]
    return(preds)
  }
  bad <- vapply(names_m, function(name) sum(preds[[name]] < 0 | preds[[name]] > 1), numeric(1))
  if (any(bad > 0)) {
    name <- names_m[which.max(bad)]
    if (!learned) {
      fd_abort("nuisances", c("The propensity predictions {.field {name}} have {max(bad)} value{?s} outside [0, 1].",
                              i = "Supply probabilities (out-of-fold predictions of a classifier)."))
    }
    fd_warn("propensity", c("{sum(bad)} propensity prediction{?s} of {.val {learner_treatment$label}} fell outside [0, 1] and {cli::qty(sum(bad))}{?was/were} clipped to [0, 1].",
                            i = "Use a classifier such as {.fn lrn_logistic} for {.arg learner_treatment}."))
    for (name in names_m) preds[[name]] <- pmin(pmax(preds[[name]], 0), 1)
  }
  native <- learned && learner_treatment$kind %in% c("logistic", "boost")
  if (learned && !native) {
    total <- Reduce(`+`, preds[names_m])
    total[total <= 0] <- 1
    for (name in names_m) preds[[name]] <- preds[[name]] / total
  }
  preds
}

# Overlap warning of a multi-arm fit: share of rows with an arm's propensity below trim (the
# floored share, returned per repetition), and the smallest effective sample size ratio.
check_multi_overlap <- function(M, spec, trim) {
  arms <- spec$treatment_levels
  n_rep <- ncol(M[[1L]])
  clipped <- vapply(seq_len(n_rep), function(s) {
    mean(Reduce(`|`, lapply(M, function(m) m[, s] < trim)))
  }, numeric(1))
  ess <- min(vapply(seq_len(n_rep), function(s) {
    min(vapply(seq_along(arms), function(a) {
      ess_ratio(1 / pmax(M[[a]][spec$d == a - 1L, s], trim))
    }, numeric(1)))
  }, numeric(1)))
  limits <- fit_check_limits
  if (ess < limits$overlap_ess || mean(clipped) > limits$clipped) {
    fd_warn("overlap", c("Overlap is poor across the {length(arms)} arms: the inverse-propensity weights' effective sample size is {format_share(ess)} of the smallest arm, and {format_share(mean(clipped))} of the rows have an arm's propensity floored at {trim}.",
                         i = "See {.code diagnose_overlap(fit)} and {.code autoplot(fit, type = \"overlap\")}; consider other covariates or trimming the sample."))
  }
  clipped
}
