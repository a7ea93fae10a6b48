# Hand-run measurement (not a test): the time from an interrupt (SIGINT, as Ctrl-C) to the
# return of a fit in a callr subprocess, for the C++ linear and logistic cross-fits and an R
# learner (lrn_custom), and the default boosting learner (lrn_boost), 5 runs each, and the CPU time the process uses in the second after the
# return (threads left running would show there). Uses the helpers of the interrupt test.
# Usage, from the package root: Rscript tools/interrupt-latency.R
source("tests/testthat/helper-interrupt.R")

session <- interrupt_session()
fits <- list(
  "PLR, lrn_linear (C++)" = function() dml_plr(spec, lrn_linear(), lrn_linear(), folds = folds_60, num.threads = 2),
  "IRM, lrn_logistic (C++)" = function() dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
                                                 folds = folds_20, num.threads = 2),
  "IRM, lrn_boost (C++)" = function() dml_irm(spec, folds = folds_20, num.threads = 2),
  "PLR, lrn_custom (R lm.fit)" = function() {
    lm_learner <- lrn_custom(function(x, y) stats::lm.fit(cbind(1, x), y)$coefficients,
                             function(model, x) drop(cbind(1, x) %*% model))
    dml_plr(small, learner_outcome = lm_learner, learner_treatment = lm_learner, n_rep = 200,
            seed = 1)
  })
runs <- do.call(rbind, lapply(names(fits), function(name) {
  do.call(rbind, lapply(1:5, function(run) {
    out <- interrupt_fit(session, fits[[name]])
    data.frame(fit = name, latency = out$latency, interrupted = was_interrupted(out$result),
               cpu_after = out$cpu_after)
  }))
}))
session$close()
print(do.call(rbind, lapply(split(runs, runs$fit), function(r) {
  data.frame(fit = r$fit[1], median_latency_s = stats::median(r$latency),
             max_latency_s = max(r$latency), all_interrupted = all(r$interrupted),
             max_cpu_after_s = max(r$cpu_after))
})), row.names = FALSE, digits = 3)
