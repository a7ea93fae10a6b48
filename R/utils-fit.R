# Shared machinery of the DML estimators: argument checks, folds, the fit object.

dml_setup <- function(spec, n_folds, n_rep, folds, nuisances, seed, num.threads,
                      given = c(n_folds = FALSE, n_rep = FALSE), cluster_correction = FALSE) {
  check_spec(spec)
  num_threads <- resolve_num_threads(num.threads)
  check_flag(cluster_correction, "cluster_correction")
  check_count(n_folds, "n_folds", 2L)
  check_count(n_rep, "n_rep", 1L)
  with_seed(seed, NULL)
  setup <- list(num_threads = num_threads, folds = folds, given = given, n_folds = n_folds,
                n_rep = n_rep, cluster_correction = cluster_correction, seed = seed)
  if (is.null(nuisances)) {
    if (n_folds > spec$n) fd_abort("folds", "{.arg n_folds} = {n_folds} exceeds the {spec$n} rows.")
    setup$folds <- resolve_folds(spec, folds, n_folds, n_rep, seed, given)
  }
  check_cluster_count(spec, cluster_correction)
  setup
}

# Nuisance definition: what is fitted, on which target and training rows (see crossfit_nuisances).
# The mask is stored once as an integer vector, the form the C++ core reads without a copy.
nuisance_def <- function(learner, target, target_name, mask = NULL, subset = "all") {
  list(learner = learner, target = target, target_name = target_name,
       mask = if (is.null(mask)) NULL else as.integer(mask), subset = subset)
}

external_learner <- function(classifier = FALSE) {
  new_learner("external", ridge = NA_real_, label = "external", classifier = classifier)
}

# Fitted nuisances: cross-fitted by the learners, or taken from `nuisances` (external).
# `optional` nuisances may be missing from external ones (they are then dropped).
fit_nuisances <- function(spec, setup, defs, nuisances, optional = character()) {
  if (is.null(nuisances)) {
    defs <- resolve_learner_seeds(defs, setup$seed)
    fitted <- crossfit_nuisances(spec, setup$folds, defs, setup$num_threads)
    return(c(fitted, list(folds = setup$folds, seeded = defs)))
  }
  ext <- check_external_nuisances(nuisances, names(defs), spec, setup, optional)
  defs <- defs[names(ext$preds)]
  for (name in names(defs)) defs[[name]]$learner <- external_learner(defs[[name]]$learner$classifier)
  list(preds = ext$preds, folds = ext$folds, defs = defs)
}

# The fit object shared by all models: estimate, standard error, scores, nuisances, quality.
# Fit-time checks of the nuisances (check_nuisance_fit) run here, so every model inherits them.
new_dml_fit <- function(class, spec, scores, fitted, info, setup) {
  cluster <- spec$cluster
  inf <- core_call(.fastdml_inference(scores$psi_a, scores$psi_b,
                                      if (is.null(cluster)) NULL else cluster - 1L,
                                      if (is.null(cluster)) 0L else max(cluster),
                                      setup$cluster_correction, setup$num_threads))
  fit <- c(list(
    coefficients = stats::setNames(inf$theta, spec$treatment),
    se = inf$se,
    theta_rep = inf$theta_rep,
    se_rep = inf$se_rep,
    psi_a = scores$psi_a,
    psi_b = scores$psi_b
  ), fit_common_fields(spec, fitted, setup, ncol(scores$psi_a)), info)
  finish_fit(fit, class, fitted)
}

# What sensitivity_benchmark() needs to fit the model again (on other covariates) with the
# same folds, learners (their seeds resolved as in this fit) and options: the estimator's name
# and its arguments besides the data; NULL for a fit from external nuisances.
refit_recipe <- function(estimator, fitted, outcome, treatment, options, setup) {
  if (is.null(fitted$seeded)) return(NULL)
  list(estimator = estimator,
       args = c(list(learner_outcome = fitted$seeded[[outcome]]$learner,
                     learner_treatment = fitted$seeded[[treatment]]$learner,
                     folds = fitted$folds, cluster_correction = setup$cluster_correction),
                options))
}

# The fields every fit shares: nuisances and their quality, stacking weights, learners, data.
fit_common_fields <- function(spec, fitted, setup, n_rep) {
  cluster <- spec$cluster
  list(
    nuisances = c(list(folds = fitted$folds), fitted$preds),
    quality = nuisance_quality(fitted$defs, fitted$preds, fitted$folds, setup$num_threads,
                               fitted$fold_info),
    stacking = if (is.null(fitted$stacking)) data.table::data.table() else fitted$stacking,
    learners = vapply(fitted$defs, function(def) def$learner$label, character(1)),
    spec = spec,
    n = spec$n,
    n_folds = if (anyNA(fitted$folds)) NA_integer_ else max(fitted$folds),
    n_rep = n_rep,
    n_clusters = if (is.null(cluster)) NA_integer_ else max(cluster),
    cluster_correction = setup$cluster_correction
  )
}

# Class and the fit-time checks of the result and the nuisances.
finish_fit <- function(fit, class, fitted) {
  check_finite_result(fit$coefficients, fit$se)
  class(fit) <- c(class, "fastdml_fit")
  check_nuisance_fit(fit$quality, fitted$defs, fitted$preds, ncol(fit$spec$X))
  fit
}
