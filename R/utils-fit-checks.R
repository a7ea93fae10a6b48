# Fit-time checks shared by the estimators (DESIGN.md §6). Each raises a classed warning
# (fastdml_warning_<what>) that names the nuisance or column and the fix, or a classed error
# when the estimate would be meaningless. Thresholds are constants here, documented in
# ?fastdml_conditions.

fit_check_limits <- list(
  min_r2 = -0.1,                # out-of-fold R2 below this and below -6 (p + 1) / n: worse than
                                # the mean, beyond the expected cost of fitting p noise terms
  separation = 10 * .Machine$double.eps,  # probabilities this close to 0 or 1 (as glm())
  weak_treatment = 0.01,        # residual share of Var(D) below this: weak identification
  degenerate_treatment = 1e-10, # ... below this: no variation left, the estimate is noise
  few_clusters = 10L,           # fewer clusters: the cluster-robust SE is unreliable
  overlap_edge = 0.05,          # share of relevant propensities beyond [0.01, 0.99]
  overlap_ess = 0.15,           # effective sample size of the weights / group size
  clipped = 0.05                # share of propensities clipped to [trim, 1 - trim]
)

# `cluster_correction`: NULL where the estimator has no such option.
check_cluster_count <- function(spec, cluster_correction = NULL) {
  if (is.null(spec$cluster)) return(invisible())
  g <- max(spec$cluster)
  if (g < fit_check_limits$few_clusters) {
    hint <- if (isFALSE(cluster_correction)) {
      "Use {.code cluster_correction = TRUE} (G/(G - 1) factor), or interpret the intervals with care."
    } else {
      "Interpret the intervals with care; more clusters would help."
    }
    fd_warn("few_clusters", c("Only {g} clusters in {.field cluster}: the cluster-robust standard error is unreliable with fewer than about {fit_check_limits$few_clusters}.",
                              i = hint))
  }
}

# Out-of-fold quality of every nuisance, and near-separation of classifiers.
check_nuisance_fit <- function(quality, defs, preds, p) {
  pooled <- quality[is.na(quality$fold) & !is.na(quality$r2)]
  for (name in unique(pooled$nuisance)) {
    rows <- pooled$nuisance == name
    r2 <- min(pooled$r2[rows])
    if (r2 < min(fit_check_limits$min_r2, -6 * (p + 1) / min(pooled$n[rows]))) {
      fd_warn("nuisance_fit", c("Nuisance {.field {name}} ({defs[[name]]$learner$label}) predicts worse than a constant out of fold: R2 = {format(r2, digits = 3)}.",
                                i = "The learner overfits; use a simpler or regularised learner (e.g. {.code lrn_linear(ridge = 1)}) or fewer covariate terms."))
    }
  }
  limit <- fit_check_limits$separation
  for (name in names(defs)) {
    learner <- defs[[name]]$learner
    if (!isTRUE(learner$classifier) || learner$kind == "external" || is.null(preds[[name]])) next
    extreme <- mean(preds[[name]] < limit | preds[[name]] > 1 - limit)
    if (extreme > 0) {
      fd_warn("separation", c("Nuisance {.field {name}} ({defs[[name]]$learner$label}): {format_share(extreme)} of the out-of-fold probabilities are numerically 0 or 1 (near-separation).",
                              i = "A covariate (almost) determines the target; use {.code lrn_logistic(ridge = 1)} or drop the separating covariate."))
    }
  }
  invisible()
}

# PLR: the treatment must keep variation after partialling out the covariates.
check_treatment_residual <- function(spec, m) {
  w <- if (is.null(spec$weights)) rep(1, spec$n) else spec$weights
  total <- sum(w * (spec$d - sum(w * spec$d) / sum(w))^2)
  share <- min(colSums(w * (spec$d - m)^2)) / total
  # A flexible learner only approximates an exact function (steps for a line): the exact
  # linear dependence is checked too, whatever the learner (when cheap, or when weak anyway;
  # not with p close to n, where every treatment is a linear function of the covariates).
  degenerate <- share < fit_check_limits$degenerate_treatment
  determined <- ncol(spec$X) + 1 < spec$n / 2
  if (!degenerate && determined &&
      (share < fit_check_limits$weak_treatment || as.double(spec$n) * ncol(spec$X) <= 1e7)) {
    linear <- sum(w * qr.resid(qr(cbind(1, spec$X)), spec$d)^2) / total
    degenerate <- linear < fit_check_limits$degenerate_treatment
  }
  if (degenerate) {
    fd_abort("degenerate", c("The treatment {.field {spec$treatment}} is (almost) a deterministic function of the covariates: its out-of-fold residual keeps {format(share, digits = 2)} of its variance{if (share >= fit_check_limits$degenerate_treatment) ', and it is an exact linear function of them' else ''}.",
                             i = "The effect is not identified; drop the covariates that determine the treatment."))
  }
  if (share < fit_check_limits$weak_treatment) {
    fd_warn("weak_treatment", c("The treatment {.field {spec$treatment}} is nearly explained by the covariates: its out-of-fold residual keeps only {format_share(share)} of its variance.",
                                i = "The estimate rests on little variation and may be unstable; check for covariates that (nearly) determine the treatment."))
  }
  share
}

# IRM overlap, on the propensities that matter for the estimand: for the ATE every row (small
# m for the treated and large m for the controls make large weights) and the effective sample
# size of each arm's weights relative to the arm; for the ATT only the controls' high
# propensities, and the controls' effective sample size relative to the treated group. Warns when the extreme share, the weights' effective sample
# size, or the clipped share is poor; fires also for a tiny `trim`, which clips nothing.
check_overlap <- function(m, d, estimand, trim) {
  limits <- fit_check_limits
  clipped <- colMeans(m < trim | m > 1 - trim)
  stats <- vapply(seq_len(ncol(m)), function(s) {
    e <- pmin(pmax(m[, s], trim), 1 - trim)
    raw <- m[, s]
    if (estimand == "ATE") {
      edge <- mean(raw < 0.01 | raw > 0.99)
      ess <- min(ess_ratio(1 / e[d == 1]), ess_ratio(1 / (1 - e[d == 0])))
    } else {
      edge <- mean(raw[d == 0] > 0.99)
      ess <- min(1, ess_ratio(e[d == 0] / (1 - e[d == 0])) * sum(d == 0) / sum(d == 1))
    }
    c(edge = edge, ess = ess)
  }, numeric(2))
  edge <- max(stats["edge", ])
  ess <- min(stats["ess", ])
  if (edge > limits$overlap_edge || ess < limits$overlap_ess || mean(clipped) > limits$clipped) {
    rows <- if (estimand == "ATE") "rows" else "control rows"
    fd_warn("overlap", c("Overlap is poor for the {estimand}: {format_share(edge)} of {rows} have propensities beyond [0.01, 0.99], the weights' effective sample size is {format_share(ess)} of the group, and {format_share(mean(clipped))} of the propensities were clipped to [{trim}, {1 - trim}].",
                         i = "Look at {.code autoplot(fit, type = \"overlap\")}; consider trimming the sample, other covariates, or the ATT."))
  }
  clipped
}

# Safety net: an estimate or standard error that is not finite is never returned silently
# (e.g. an arm with a single row, or outcome values so large that their variance overflows).
check_finite_result <- function(estimate, se, allow_na_se = FALSE) {
  bad <- c(estimate = any(!is.finite(estimate)), std.error = any(!is.finite(se)) && !(allow_na_se && all(is.na(se))))
  if (any(bad)) {
    fd_warn("non_finite_result", c("The {.field {names(bad)[bad]}} {?is/are} not finite.",
                                   i = "Check for an arm with very few rows or extreme outcome values (rescale the outcome)."))
  }
}

ess_ratio <- function(w) if (length(w) == 0L) 1 else sum(w)^2 / sum(w^2) / length(w)

format_share <- function(x) sprintf("%.3g%%", 100 * x)
