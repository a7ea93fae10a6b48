#' Meta-learners: T-, S- and X-learner
#'
#' Plug-in estimators of the conditional effect (uplift) tau(x) built from outcome models,
#' for teaching and comparison with the DML fits. All models are fitted on all rows (no
#' cross-fitting) with any fastdml learner; the average effect is the (weighted) mean uplift.
#' * `t_learner()`: one outcome model per arm, tau(x) = mu1(x) - mu0(x).
#' * `s_learner()`: one outcome model on the covariates, the treatment and (with
#'   `interactions = TRUE`) the treatment times each covariate, so that linear learners can
#'   express heterogeneity; tau(x) = mu(x, 1) - mu(x, 0).
#' * `x_learner()`: the X-learner of Künzel, Sekhon, Bickel and Yu (2019): arm models mu0 and mu1,
#'   imputed effects Y - mu0(X) on the treated and mu1(X) - Y on the controls, one effect model
#'   per arm on them (tau1, tau0), combined as tau(x) = e(x) tau0(x) + (1 - e(x)) tau1(x) with
#'   the propensity e from `learner_propensity`.
#'
#' The standard error of the average comes from a nonparametric bootstrap of `n_boot`
#' resamples: rows within each arm, or whole clusters (`NA` when `n_boot = 0`).
#'
#' @inheritParams diff_in_means
#' @param learner The outcome learner (and for `x_learner()` the effect learner): built-in or
#'   [lrn_custom()].
#' @param learner_propensity For `x_learner()`, the propensity classifier.
#' @param interactions For `s_learner()`, add the treatment-by-covariate products.
#' @param n_boot Bootstrap resamples for the standard error.
#' @param seed Optional seed for the bootstrap.
#' @return An object of class `fastdml_estimate` (see [diff_in_means()]) with the per-row
#'   uplift in `$uplift`.
#' @family baselines
#' @examples
#' df <- sim_lesson(600, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' t_learner(spec)
#' s_learner(spec)
#' x_learner(spec)
#' @export
t_learner <- function(spec, ..., learner = lrn_linear(), n_boot = 0L, level = 0.95,
                      seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  meta_learner_estimate(spec, "T-learner", learner, n_boot, level, seed, num.threads, function(s, threads) {
    mu <- arm_predictions(s, learner, threads)
    mu$mu1 - mu$mu0
  })
}

#' @rdname t_learner
#' @export
s_learner <- function(spec, ..., learner = lrn_linear(), interactions = TRUE, n_boot = 0L, level = 0.95,
                      seed = NULL, num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  check_flag(interactions, "interactions")
  meta_learner_estimate(spec, "S-learner", learner, n_boot, level, seed, num.threads, function(s, threads) {
    s_learner_uplift(s, learner, threads, interactions)
  })
}

# mu(x, 1) - mu(x, 0) of one outcome model fitted on all rows of [X, D] (and D X): the table is
# stacked with the treatment as observed (training rows), set to 1 and set to 0.
s_learner_uplift <- function(s, learner, threads, interactions) {
  design <- function(d) if (interactions) cbind(s$X, treatment = d, s$X * d) else cbind(s$X, treatment = d)
  n <- s$n
  both <- s
  both$X <- rbind(design(s$d), design(rep(1, n)), design(rep(0, n)))
  both$n <- 3L * n
  both$weights <- if (is.null(s$weights)) NULL else c(s$weights, rep(1, 2L * n))
  target <- c(s$y, rep(0, 2L * n))
  mask <- rep(c(TRUE, FALSE), c(n, 2L * n))
  mu <- fit_predict_full(both, learner, target, s$outcome, mask, threads, "outcome")
  mu[n + seq_len(n)] - mu[2L * n + seq_len(n)]
}

#' @rdname t_learner
#' @export
x_learner <- function(spec, ..., learner = lrn_linear(), learner_propensity = lrn_logistic(),
                      n_boot = 0L, level = 0.95, seed = NULL,
                      num.threads = getOption("fastdml.num.threads", 2L)) {
  spec <- as_binary_spec(spec, ...)
  check_learner(learner, "learner")
  check_learner(learner_propensity, "learner_propensity")
  meta_learner_estimate(spec, "X-learner", learner, n_boot, level, seed, num.threads, function(s, threads) {
    mu <- arm_predictions(s, learner, threads)
    treated <- s$d == 1
    imputed <- ifelse(treated, s$y - mu$mu0, mu$mu1 - s$y)
    tau1 <- fit_predict_full(s, learner, imputed, "imputed effect", treated, threads, "tau1")
    tau0 <- fit_predict_full(s, learner, imputed, "imputed effect", !treated, threads, "tau0")
    e <- fit_predict_full(s, learner_propensity, s$d, s$treatment, NULL, threads, "propensity")
    e <- pmin(pmax(e, 0), 1)
    e * tau0 + (1 - e) * tau1
  })
}

# Outcome models of each arm fitted on that arm's rows, predicted for every row.
arm_predictions <- function(s, learner, threads) {
  list(mu1 = fit_predict_full(s, learner, s$y, s$outcome, s$d == 1, threads, "g1"),
       mu0 = fit_predict_full(s, learner, s$y, s$outcome, s$d == 0, threads, "g0"))
}

# The average uplift of a meta-learner and its bootstrap standard error.
meta_learner_estimate <- function(spec, name, learner, n_boot, level, seed, num.threads, uplift) {
  check_count(n_boot, "n_boot", 0L)
  if (n_boot == 1) {
    fd_abort("argument", c("{.arg n_boot} = 1 cannot give a standard error.",
                           i = "Use {.code n_boot = 0} (no standard error) or at least 2 (e.g. 200)."))
  }
  check_level(level)
  threads <- resolve_num_threads(num.threads)
  average <- function(s, tau) {
    w <- observation_weights(s)
    sum(w * tau) / sum(w)
  }
  tau <- uplift(spec, threads)
  se <- NA_real_
  if (n_boot > 0) {
    boot <- with_seed(seed, vapply(seq_len(n_boot), function(b) {
      s <- resample_spec(spec, bootstrap_rows(spec))
      average(s, uplift(s, threads))
    }, numeric(1)))
    se <- stats::sd(boot)
  }
  resampled <- if (is.null(spec$cluster)) "rows within arms" else "clusters"
  out <- new_estimate(sprintf("%s (%s), average uplift; bootstrap over %s", name, learner$label, resampled),
                      spec, average(spec, tau), se, level)
  out$uplift <- tau
  out
}
